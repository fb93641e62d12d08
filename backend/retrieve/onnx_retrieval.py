"""The retrieval runtime on ONNX Runtime (no torch): text, motion and (when exported) video encoders into one space.

`OnnxRetrievalRuntime(folder)` checks the folder (sha256) and opens one session per graph on the execution
provider chosen once, as the generator runtime does (`backend.runtime.ort_sessions.SessionSet`). What the
graphs take and how inputs are prepared is shared with the torch adapter: see `backend.retrieve.encoding`.

Folders of the first kind ("evaluator", `training.export.retrieval_export`) read captions as word pieces with
POS tags; the TMR-like, Motion Patches and LAVIMO kinds (`training.export.retrieval_encoders_export`) read the
pretrained tokenizer's ids, and patch models carry `patch_stats.npz` and their image layout in retrieval.json.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MotionInputError
from ..runtime.model_folder import load_stat
from ..runtime.ort_sessions import SessionSet, check_device
from .encoding import PatchSettings, RetrievalEncoders, VideoSettings, window_starts  # noqa: F401 - re-exported
from .folder import load_retrieval_folder
from .runtime import RetrievalInfo
from .text_input import make_text_input


def _int_field(section: dict, key: str, where: Path, low: int = 1) -> int:
    try:
        value = int(section[key])
    except (KeyError, TypeError, ValueError):
        raise MotionInputError(f"retrieval.json: missing or bad {key!r}", str(where)) from None
    if value < low:
        raise MotionInputError(f"retrieval.json: {key!r} must be at least {low}, got {value}", str(where))
    return value


def patch_settings(meta: dict, stats_path: Path, meta_path: Path) -> PatchSettings:
    """The 'patches' section of retrieval.json with the per-point statistics file."""
    from ..motion.patches import PatchStats

    section = meta.get("patches")
    if not isinstance(section, dict):
        raise MotionInputError("retrieval.json: a patch model needs a 'patches' section", str(meta_path))
    frames, points = _int_field(section, "frames", meta_path, 2), _int_field(section, "points", meta_path, 2)
    stats = PatchStats.load(stats_path)
    if tuple(stats.mean.shape) != (3, 5 * points):
        raise MotionInputError(f"patch statistics of shape {tuple(stats.mean.shape)} do not fit {points} points "
                               "per chain", str(stats_path))
    return PatchSettings(frames=frames, points=points, stats=stats)


def video_settings(meta: dict, meta_path: Path) -> VideoSettings:
    section = meta.get("video")
    if not isinstance(section, dict):
        raise MotionInputError("retrieval.json: a video model needs a 'video' section", str(meta_path))
    return VideoSettings(frames=_int_field(section, "frames", meta_path),
                         resolution=_int_field(section, "resolution", meta_path, 8))


class OnnxRetrievalRuntime(RetrievalEncoders):
    def __init__(self, folder: str | Path, device: str = "auto", threads: int | None = None, verify: bool = True):
        check_device(device, threads)
        self.folder = Path(folder)
        info: RetrievalInfo
        info, self.files, self.meta = load_retrieval_folder(self.folder, verify=verify)
        meta_path = self.folder / "retrieval.json"
        tokenizer = make_text_input(self.files["tokenizer"], self.meta.get("text") or {}) if info.has("text") \
            else None
        mean = std = None
        patches = video = None
        if info.has("motion"):
            mean = load_stat(self.files["mean"], info.feature_dim)
            std = load_stat(self.files["std"], info.feature_dim)
            if self.meta.get("motion_input") == "patches":
                patches = patch_settings(self.meta, self.files["patch_stats"], meta_path)
        if info.has("video"):
            video = video_settings(self.meta, meta_path)
        super().__init__(info, tokenizer, mean, std, patches=patches, video=video)
        self._graphs = SessionSet(self.files, ("text_encoder", "motion_encoder", "video_encoder"), device, threads,
                                  "for retrieval")
        self.sessions = self._graphs.sessions
        self.provider = self._graphs.provider

    def _run(self, role: str, feeds):
        return self._graphs.run(role, feeds)
