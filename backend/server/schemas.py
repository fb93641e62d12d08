"""Request models (pydantic): what each route accepts, with the limits checked before any work starts.

Every model forbids unknown fields (a typo is an error, not a silently ignored option) and rejects NaN and
infinities, which Python's JSON parser would otherwise accept from the literals NaN / Infinity.
Responses are plain JSON built by the routes (see `encoding.py`), documented in the route docstrings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..errors import MotionInputError
from ..generate.decoding import DecodeOptions
from ..generate.generator import MAX_PROMPT_CHARS, MAX_SECONDS, MIN_SECONDS

MAX_SAMPLES = 8
MAX_COMPOSE_PROMPTS = 16


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("the prompt is empty")
    return text


Prompt = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS), AfterValidator(_not_blank)]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]
Seconds = Annotated[float, Field(ge=MIN_SECONDS, le=MAX_SECONDS)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DecodeParams(StrictModel):
    cfg: float | None = Field(None, ge=0, le=30,
                              description="classifier-free guidance scale; null: the model's recommended scale")
    steps: int | None = Field(None, ge=1, le=100,
                              description="iterative decoding steps; null: the model's recommended count")
    temperature: float = Field(1.0, ge=0, le=10)
    top_k: float = Field(0.1, gt=0, le=100_000, description="fraction of codes kept (or a count >= 1)")

    def decode_options(self) -> DecodeOptions:
        return DecodeOptions(steps=self.steps, cfg_scale=self.cfg, temperature=self.temperature,
                             top_k=self.top_k).checked()


class PathIn(StrictModel):
    """A root path in the motion's frame (Y up, start at the origin facing +Z, +X its left): `points` [[t, x, z],
    ...] (seconds, metres; a smooth curve between them) or `dense` [[x, z], ...], one per frame at 20 fps."""

    points: list[Annotated[list[float], Field(min_length=3, max_length=3)]] | None = Field(
        None, max_length=10_000)
    dense: list[Annotated[list[float], Field(min_length=2, max_length=2)]] | None = Field(None, max_length=10_000)

    def to_json(self) -> dict:
        if (self.points is None) == (self.dense is None):
            raise MotionInputError('a path needs exactly one of "points" and "dense"')
        return {"points": self.points} if self.points is not None else {"dense": self.dense}


class KeyframesIn(StrictModel):
    """Poses at frames (20 fps): `joints` (K, 22, 3) SMPL-22 positions in the motion's frame; `mask` (K, 22) says
    which joints each keyframe constrains (default all; e.g. only r_wrist for an end-effector target)."""

    frames: list[int] = Field(min_length=1, max_length=200)
    joints: list[list[list[float]]] = Field(min_length=1, max_length=200)
    mask: list[list[bool]] | None = Field(None, max_length=200)

    def to_json(self) -> dict:
        return {"frames": self.frames, "joints": self.joints, **({"mask": self.mask} if self.mask else {})}


class ControlParams(BaseModel):
    path: PathIn | None = Field(None, description="root path the pelvis follows (see PathIn)")
    keyframes: KeyframesIn | None = Field(None, description="poses (or end effectors) to meet at given frames")

    def constraints(self):
        """The checked constraints (`backend.motion.constraints`), or None."""
        from ..motion.constraints import constraints_from_json

        if self.path is None and self.keyframes is None:
            return None
        return constraints_from_json(None if self.path is None else self.path.to_json(),
                                     None if self.keyframes is None else self.keyframes.to_json())


class GenerateRequest(DecodeParams, ControlParams):
    prompt: Prompt
    seconds: Seconds | None = Field(None, description="length; null: estimated from the text")
    seed: Seed = 0
    samples: int = Field(1, ge=1, le=MAX_SAMPLES)
    stream: bool = Field(False, description="NDJSON progress events, then the result")
    raw: bool = Field(False, description="the model's own joints; default: animation-ready (rigid skeleton, "
                                         "planted feet, no floor penetration, light jitter filter)")


class MotionIn(BaseModel):
    """A motion as /v1/generate returns it: features (T, D) and/or joints (T, J, 3); other keys are ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    features: list[list[float]] | None = None
    joints: list[list[list[float]]] | None = None
    fps: float = Field(20.0, gt=0, le=1000)
    prompt: str = Field("", max_length=10_000)
    seed: int = 0


class EditRequest(DecodeParams, ControlParams):
    motion: MotionIn
    prompt: Prompt
    frames: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]] | None = Field(
        None, description="feature frames [a, b) to regenerate (default: all)")
    joints: list[Name] | None = Field(None, max_length=64, description="joint names, e.g. r_wrist")
    part: list[Name] | Name | None = Field(None, description="body parts, e.g. right_arm")
    method: Literal["auto", "inpaint", "transplant"] = Field(
        "auto", description="auto: body-part edits carry the selected joints of a whole-body motion generated for "
                            "the prompt onto the input (transplant); edits with the root regenerate in place (inpaint)")
    seed: Seed = 0
    stream: bool = False
    raw: bool = Field(False, description="the model's own joints; default: animation-ready (rigid skeleton, "
                                         "planted feet, no floor penetration, light jitter filter)")


class ComposeRequest(DecodeParams):
    prompts: list[Prompt] = Field(min_length=1, max_length=MAX_COMPOSE_PROMPTS)
    seconds: list[Seconds | None] | None = None
    motion: MotionIn | None = Field(None, description="continue this motion (features) instead of starting anew")
    seed: Seed = 0
    stream: bool = False
    raw: bool = Field(False, description="the model's own joints; default: animation-ready (rigid skeleton, "
                                         "planted feet, no floor penetration, light jitter filter)")


class ExportRequest(StrictModel):
    motion: MotionIn
    template: Literal["smpl", "mixamo", "cmu", "rigify", "ue"] = "smpl"
    units: Literal["m", "cm"] = "m"
    fps: float | None = Field(None, gt=0, le=1000, description="default: the motion's fps")


class JobRequest(StrictModel):
    kind: Literal["generate", "edit", "compose", "library_add"]
    params: dict[str, Any] = Field(default_factory=dict)


class VideoIn(StrictModel):
    """A video file sent inline: base64 of its bytes (MP4/MOV/MKV/AVI/WebM/GIF, or a .npy array of RGB frames
    (N, H, W, 3) uint8); `filename`'s extension picks the reader."""

    data: str = Field(min_length=1, description="base64 of the file")
    filename: str | None = Field(None, max_length=500)


class RetrieveRequest(StrictModel):
    text: str | None = Field(None, max_length=2000, description="search by text")
    motion: MotionIn | None = Field(None, description="search by a motion (features as /v1/generate returns them)")
    video: VideoIn | None = Field(None, description="search by a reference video")
    k: int = Field(10, ge=1, le=1000, description="number of hits")


class LibraryAddRequest(StrictModel):
    folder: str = Field(min_length=1, max_length=4096, description="folder (or file) on the server's machine")
    split: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="for a HumanML3D-layout folder: add only this split (train, val, test, all or any SPLIT.txt "
                    "the folder has)")


class DetectRequest(StrictModel):
    armature: dict[str, Any] = Field(description="rest pose: {bones: [{name, parent, head, tail, roll}], up}")
    preset: str = Field("auto", max_length=50)


class RetargetRequest(StrictModel):
    armature: dict[str, Any] = Field(description="rest pose: {bones: [{name, parent, head, tail, roll}], up}")
    motion: MotionIn = Field(description="joints (T, 22, 3) or 263-d features")
    bone_map: dict[str, Any] | None = Field(None, description="custom map {mapping: {smpl_joint: bone}}")
    preset: str | None = Field(None, max_length=50, description="bone-map preset (default: auto-detect)")
    root_motion: Literal["full", "in_place"] = "full"
    scale: float | None = Field(None, gt=0, le=1e6, description="armature units per metre (default: from legs)")
    foot_cleanup: bool = True
    fps: float | None = Field(None, gt=0, le=1000, description="default: the motion's fps")
    origin: list[float] | None = Field(None, min_length=2, max_length=2,
                                       description="motion ground point [x, z] placed at the rig's rest pelvis "
                                                   "(default: the first frame's pelvis); [0, 0] with paths and "
                                                   "keyframes from /v1/retarget/to-motion")


class CurveIn(StrictModel):
    times: list[float] = Field(min_length=2, max_length=10_000, description="seconds from the motion's start")
    points: list[list[float]] = Field(min_length=2, max_length=10_000, description="(N, 3) armature space")


class PoseIn(StrictModel):
    frames: list[int] = Field(min_length=1, max_length=200, description="motion frames (20 fps) of the poses")
    matrices: dict[str, list[list[list[float]]]] = Field(
        description="bone -> K pose matrices 4x4 in armature space (Blender's pose_bone.matrix), one per frame")


class ToMotionRequest(StrictModel):
    armature: dict[str, Any] = Field(description="rest pose: {bones: [{name, parent, head, tail, roll}], up}")
    bone_map: dict[str, Any] | None = Field(None, description="custom map {mapping: {smpl_joint: bone}}")
    preset: str | None = Field(None, max_length=50, description="bone-map preset (default: auto-detect)")
    scale: float | None = Field(None, gt=0, le=1e6, description="armature units per metre (default: from legs)")
    path: CurveIn | None = Field(None, description="a curve in armature space -> a control path")
    pose: PoseIn | None = Field(None, description="posed bones at some frames -> control keyframes")
