"""The generator API: prompts -> motions, edits and compositions, on any `GeneratorRuntime`.

Lengths are given in seconds or estimated from the text; every call is seeded (same seed, same motion).
Input problems (empty prompt, absurd length, bad range or joint names, NaN motion) raise
`MotionInputError` before any model runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import MotionInputError
from ..motion.constraints import Constraints
from ..motion.features import FeatureLayout
from ..motion.skeleton import skeleton_for_feature_dim
from ..runtime.base import GeneratorRuntime
from .decoding import DecodeOptions, RowGroupRandom, decode_motion_features
from .finish import delivered_joints, finish, merge_edit
from .motion import GeneratedMotion
from .regions import check_frames, feature_mask, paste, token_region
from .transplant import on_the_selected_side, resolve_method, transplant_features

MIN_SECONDS, MAX_SECONDS = 0.5, 10.0
MAX_PROMPT_CHARS = 500
MAX_SAMPLES = 32

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EditReport:
    """How well an edit kept what it should keep (mm; body frame = root- and heading-aligned, from the features;
    world = the delivered joints, cleaned unless raw)."""

    untouched_mpjpe_mm: float        # joints/frames outside the edit vs the input, body frame
    border_jump_mm: float            # largest per-joint step where the edit meets the kept motion (blend ramps)
    typical_step_mm: float           # the input's mean per-frame joint displacement, for scale
    input_border_step_mm: float = 0.0  # the input's own largest step over the same frames, for comparison
    untouched_world_mm: float = 0.0  # joints/frames outside the edit vs the input's, in world space
    untouched_world_max_mm: float = 0.0  # the largest of those distances
    rest_moved_mm: float = 0.0       # how far the root of the frames after the region moved (whole-body edits)
    rest_turned_deg: float = 0.0     # how far their heading turned

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in self.__dict__.items()}


@dataclass
class PreparedGeneration:
    """One generation request ready to decode (see `Generator.prepare_generation`)."""

    prompt: str
    seed: int
    options: DecodeOptions
    text: np.ndarray                 # (samples, text_dim)
    rows: np.ndarray                 # (samples,) token rows
    rng: np.random.Generator         # already advanced past the length draw, as in an unbatched call
    raw: bool = False                # the model's own joints instead of the cleaned ones

    @property
    def batch_key(self) -> tuple:
        """Requests with equal keys decode together without changing each other's motions."""
        return self.options, int(self.rows.max())


def clean_prompt(prompt: str) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise MotionInputError("the prompt is empty")
    text = " ".join(prompt.split())
    if len(text) > MAX_PROMPT_CHARS:
        raise MotionInputError(f"the prompt has {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
    return text


def strip_then(prompt: str) -> str:
    """'then sit down' -> 'sit down' for a composed segment; the order is given by the sequence."""
    return re.sub(r"^(and\s+)?then[\s,]+", "", prompt.strip(), flags=re.IGNORECASE) or prompt


class Generator:
    def __init__(self, runtime: GeneratorRuntime):
        self.runtime = runtime
        self.info = runtime.info
        self.skeleton = skeleton_for_feature_dim(self.info.feature_dim)

    # ----------------------------------------------------------------------------------- lengths
    def token_rows(self, seconds: float) -> int:
        if not isinstance(seconds, int | float) or not np.isfinite(seconds):
            raise MotionInputError(f"length must be a number of seconds, got {seconds!r}")
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise MotionInputError(f"length {seconds:g} s is outside {MIN_SECONDS:g}..{MAX_SECONDS:g} s "
                                   f"(use compose for longer motions)")
        rows = int(round(seconds * self.info.fps / self.info.time_factor))
        return int(np.clip(rows, 2, self.info.max_tokens))

    def estimate_rows(self, text: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Token rows per text, sampled from the length estimator's distribution (seeded)."""
        logits = self.runtime.length_logits(text)
        lo = int(np.ceil(MIN_SECONDS * self.info.fps / self.info.time_factor))
        logits[:, :max(lo, 2)] = -np.inf
        logits[:, self.info.max_tokens + 1:] = -np.inf
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return np.array([rng.choice(len(row), p=row) for row in p], np.int64)

    # -------------------------------------------------------------------------------- generation
    def generate(self, prompt: str, seconds: float | None = None, seed: int = 0, samples: int = 1,
                 options: DecodeOptions | None = None, progress: Progress | None = None,
                 raw: bool = False, constraints: Constraints | None = None) -> list[GeneratedMotion]:
        """Motions for a prompt; their joints are animation-ready (`backend.motion.cleanup`) unless `raw`.

        With `constraints` (a root path, keyframes) the motions follow them (`backend.generate.control`)."""
        if constraints is not None and not constraints.empty:
            from .control import generate_controlled

            return generate_controlled(self, prompt, constraints, seconds, seed, samples, options, progress, raw)
        request = self.prepare_generation(prompt, seconds, seed, samples, options, progress, raw)
        return self.generate_prepared([request], progress)[0]

    def prepare_generation(self, prompt: str, seconds: float | None = None, seed: int = 0, samples: int = 1,
                           options: DecodeOptions | None = None,
                           progress: Progress | None = None, raw: bool = False) -> PreparedGeneration:
        """Checks, text embedding and lengths of one request: everything before decoding, which can then run
        alone or batched with other requests (`generate_prepared`) and give the same motions."""
        text_prompt = clean_prompt(prompt)
        if not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
            raise MotionInputError(f"samples must be 1..{MAX_SAMPLES}, got {samples!r}")
        opts = (options or DecodeOptions()).resolved(self.info).checked()
        rows_fixed = self.token_rows(seconds) if seconds is not None else None
        rng = np.random.default_rng(seed)
        text = np.repeat(self.runtime.encode_text([text_prompt]), samples, axis=0)
        if progress is not None:
            progress("text", 1, 1)
        rows = np.full(samples, rows_fixed, np.int64) if rows_fixed else self.estimate_rows(text, rng)
        return PreparedGeneration(text_prompt, seed, opts, text, rows, rng, bool(raw))

    def generate_prepared(self, requests: list[PreparedGeneration],
                          progress: Progress | None = None) -> list[list[GeneratedMotion]]:
        """Decode prepared requests in one batch; they must share options and padded length (`batch_key`)."""
        if not requests or len({r.batch_key for r in requests}) != 1:
            raise ValueError("a generation batch needs requests with the same options and padded length")
        text = np.concatenate([r.text for r in requests])
        rows = np.concatenate([r.rows for r in requests])
        rng = requests[0].rng if len(requests) == 1 else RowGroupRandom([(r.rng, len(r.rows)) for r in requests])
        feats = decode_motion_features(self.runtime, text, rows, requests[0].options, rng, progress=progress)
        out, start = [], 0
        for r in requests:
            out.append([finish(GeneratedMotion.from_features(f, self.info.fps, r.prompt, r.seed, sample=i,
                                                             options=r.options.__dict__), r.raw)
                        for i, f in enumerate(feats[start:start + len(r.rows)])])
            start += len(r.rows)
        return out

    def generate_batch(self, prompts: list[str], frames: np.ndarray, seed: int = 0,
                       options: DecodeOptions | None = None) -> list[np.ndarray]:
        """Raw features for many prompts at given lengths (frames, rounded down to whole token rows) in one
        batch: what evaluation uses."""
        opts = (options or DecodeOptions()).resolved(self.info).checked()
        texts = [clean_prompt(p) for p in prompts]
        rows = np.clip(np.asarray(frames) // self.info.time_factor, 1, self.info.max_tokens).astype(np.int64)
        rng = np.random.default_rng(seed)
        return decode_motion_features(self.runtime, self.runtime.encode_text(texts), rows, opts, rng)

    # ----------------------------------------------------------------------------------- editing
    def edit(self, motion: GeneratedMotion, prompt: str, frames: tuple[int, int] | None = None,
             joints: list[int] | None = None, seed: int = 0, options: DecodeOptions | None = None,
             blend: int | None = None, progress: Progress | None = None,
             raw: bool = False, constraints: Constraints | None = None,
             method: str = "auto") -> tuple[GeneratedMotion, EditReport]:
        """Regenerate `joints` (default all) over feature frames [a, b) (default all) from `prompt`.

        `method`: 'inpaint' regenerates the selected joints' tokens with the rest of the motion known;
        'transplant' (`transplant.py`) generates the prompt over the region as a whole-body motion and carries
        the selected joints onto the input's body; 'auto' (default) transplants body-part edits and inpaints
        edits that include the root.

        `blend` is the length in frames of the ramps that join the edit to the kept motion; by default
        (`auto_blend`) it grows with the pose gap at the borders, so a very different action is eased in.
        The result is the complete edited motion: its features are the input's outside the region, its joints
        are merged once (`finish.merge_edit`): the input's delivered joints outside the region, exactly, and
        after a whole-body edit the rest continues from where the edit ends. With `constraints` the complete
        result then follows them (`control.edit_controlled`), which changes the motion outside the region too.
        """
        if constraints is not None and not constraints.empty:
            from .control import edit_controlled

            return edit_controlled(self, motion, prompt, constraints, frames, joints, seed, options, progress, raw)
        text_prompt = clean_prompt(prompt)
        self.check_fps(motion)
        feats = self._checked_features(motion.features)
        total = len(feats)
        a, b = frames if frames is not None else (0, total)
        check_frames(a, b, total)
        nj = self.skeleton.num_joints
        joints = sorted(set(joints)) if joints else list(range(nj))
        if any(not 0 <= j < nj for j in joints):
            raise MotionInputError(f"joint indices must be in 0..{nj - 1}")
        try:
            method = resolve_method(method, joints, nj)
        except ValueError as err:
            raise MotionInputError(str(err)) from None
        opts = (options or DecodeOptions()).resolved(self.info).checked()
        tf = self.info.time_factor
        rows = -(-total // tf)
        if rows > self.info.max_tokens:
            raise MotionInputError(f"the motion has {total} frames; editing works on up to {self.info.max_frames}")
        rng = np.random.default_rng(seed)
        text = self.runtime.encode_text([text_prompt])
        if method == "transplant":
            region_rows = np.array([max(-(-(b - a) // tf), 1)], np.int64)
            donor = decode_motion_features(self.runtime, text, region_rows, opts, rng, progress=progress)[0]
            donor, mirrored_donor = on_the_selected_side(donor, joints, self.skeleton)
            generated = transplant_features(feats, donor, (a, b), joints, self.skeleton)
        else:
            mirrored_donor = False
            padded = np.concatenate([feats, np.repeat(feats[-1:], rows * tf - total, axis=0)])
            known = self.runtime.encode_motion(self.info.normalize(padded)[None])
            editable = token_region(self.info, (a, b), joints, nj, rows)[None]
            lengths = np.array([rows], np.int64)
            generated = decode_motion_features(self.runtime, text, lengths, opts, rng, known, editable,
                                               progress)[0][:total]
        if blend is None:
            blend = auto_blend(feats, generated, (a, b), joints)
        out = paste(feats, generated, (a, b), feature_mask(nj, joints), blend)
        result = GeneratedMotion.from_features(out, self.info.fps, text_prompt, seed, edit={
            "frames": [a, b], "joints": joints, "source_prompt": motion.prompt, "blend": blend, "method": method,
            "mirrored_donor": mirrored_donor})
        before, meta, scale = delivered_joints(feats, self.info.fps, raw)
        after, meta, _ = delivered_joints(result.features, self.info.fps, raw, root_scale=scale)
        if not raw:
            after = merge_edit(before, after, feats, result.features, (a, b), joints, scale)
        result.joints = after.astype(np.float32)
        result.meta.update(meta)
        report = edit_report(feats, result.features, (a, b), joints, blend)
        return result, world_report(report, before, after, (a, b), joints)

    def complete(self, motion: GeneratedMotion, prompt: str, seconds: float, side: str = "suffix",
                 seed: int = 0, options: DecodeOptions | None = None,
                 progress: Progress | None = None, raw: bool = False) -> GeneratedMotion:
        """Extend a motion by `seconds` after (suffix) or before (prefix) it, keeping the existing frames."""
        self.check_fps(motion)
        feats = self._checked_features(motion.features)
        extra_rows = self.token_rows(seconds)
        tf = self.info.time_factor
        keep_rows = min(len(feats) // tf, self.info.max_tokens - extra_rows)
        if keep_rows < 1:
            raise MotionInputError("the requested extension leaves no room for context")
        ctx = feats[-keep_rows * tf:] if side == "suffix" else feats[:keep_rows * tf]
        filler = np.repeat(ctx[-1:] if side == "suffix" else ctx[:1], extra_rows * tf, axis=0)
        joined = np.concatenate([ctx, filler] if side == "suffix" else [filler, ctx])
        a, b = (len(ctx), len(joined)) if side == "suffix" else (0, extra_rows * tf)
        edited, _ = self.edit(GeneratedMotion.from_features(joined, self.info.fps, motion.prompt, motion.seed),
                              prompt, (a, b), None, seed, options, progress=progress, raw=True)
        if side == "suffix":
            full = np.concatenate([feats[:len(feats) - len(ctx)], edited.features])
        else:
            full = np.concatenate([edited.features, feats[len(ctx):]])
        return finish(GeneratedMotion.from_features(full, self.info.fps, clean_prompt(prompt), seed,
                                                    completion={"side": side, "seconds": seconds}), raw)

    def compose(self, prompts: list[str], seconds: list[float | None] | None = None, seed: int = 0,
                options: DecodeOptions | None = None, progress: Progress | None = None,
                start: GeneratedMotion | None = None, raw: bool = False) -> GeneratedMotion:
        """One motion doing each prompt in turn; each segment is generated as a completion of the previous
        one, so the transitions are generated too. With `start`, every prompt continues that motion (the
        add-on's "then ..." at the playhead), and the result's root path has the start's scale."""
        if not prompts:
            raise MotionInputError("compose needs at least one prompt")
        if start is not None:
            self.check_fps(start)
        cleaned = [strip_then(clean_prompt(p)) for p in prompts]
        seconds = list(seconds) if seconds else [None] * len(cleaned)
        if len(seconds) != len(cleaned):
            raise MotionInputError(f"{len(cleaned)} prompts but {len(seconds)} durations")
        rng = np.random.default_rng(seed)
        seconds = [s if s is not None else float(self.estimate_rows(self.runtime.encode_text([p]), rng)[0]
                                                 * self.info.time_factor / self.info.fps)
                   for p, s in zip(cleaned, seconds, strict=True)]
        root_scale = None
        if start is None:
            motion = self.generate(cleaned[0], seconds[0], seed, 1, options, progress, raw=True)[0]
        else:  # the given motion is the first segment; every prompt continues it
            motion = GeneratedMotion.from_features(self._checked_features(start.features), self.info.fps,
                                                   start.prompt, start.seed)
            cleaned.insert(0, start.prompt or "the given motion")
            seconds.insert(0, motion.seconds)
            if not raw:
                root_scale = delivered_joints(motion.features, self.info.fps, False)[2]
        borders = [len(motion.features)]
        for i, (p, s) in enumerate(zip(cleaned[1:], seconds[1:], strict=True), start=1):
            motion = self.complete(motion, p, s, "suffix", seed + i, options, progress, raw=True)
            borders.append(len(motion.features))
        return finish(GeneratedMotion.from_features(motion.features, self.info.fps, " then ".join(cleaned), seed,
                                                    segments=cleaned, borders=borders[:-1]), raw, root_scale)

    def check_fps(self, motion: GeneratedMotion) -> None:
        """Features are per-frame quantities at the model's rate; a motion at another rate would be misread."""
        fps = float(motion.fps)
        if not np.isfinite(fps) or abs(fps - self.info.fps) > 1e-3:
            raise MotionInputError(f"the motion is at {fps:g} fps; editing and continuing work on features at the "
                                   f"model's {self.info.fps:g} fps (as generate returns them): resample the joints "
                                   f"to {self.info.fps:g} fps and compute their features first")

    def _checked_features(self, feats: np.ndarray) -> np.ndarray:
        feats = np.asarray(feats, np.float32)
        if feats.ndim != 2 or feats.shape[1] != self.info.feature_dim:
            raise MotionInputError(f"motion features must be (T, {self.info.feature_dim}), got {feats.shape}")
        if not np.all(np.isfinite(feats)):
            raise MotionInputError("the motion contains NaN or inf values")
        if len(feats) < 2 * self.info.time_factor:
            raise MotionInputError(f"the motion is too short to edit ({len(feats)} frames)")
        return feats


def local_joints(features: np.ndarray) -> np.ndarray:
    """Joints in the body's own frame (root at the origin on the floor plane, heading +Z): pelvis height
    plus the ric positions, so trajectory and heading differences do not count."""
    feats = np.asarray(features)
    lay = FeatureLayout(skeleton_for_feature_dim(feats.shape[-1]).num_joints)
    ric = feats[:, lay.ric].reshape(len(feats), -1, 3)
    root = np.zeros((len(feats), 1, 3), feats.dtype)
    root[:, 0, 1] = feats[:, 3]
    return np.concatenate([root, ric], axis=1)


MIN_BLEND, MAX_BLEND = 4, 20  # frames: 0.2 s to 1 s at 20 fps


def auto_blend(original: np.ndarray, generated: np.ndarray, frames: tuple[int, int], joints: list[int]) -> int:
    """Ramp length that spreads the border pose gap at about the input's own brisk pace.

    The gap (largest edited-joint distance, body frame, between the input and the generated motion at the
    region's border frames) is divided by the input's 90th-percentile per-frame joint step; the result is
    kept within MIN_BLEND..MAX_BLEND and a third of the region, so both ramps fit and the middle is the
    generated motion itself.
    """
    a, b = frames
    lo, lg = local_joints(original)[:, joints], local_joints(generated)[:, joints]
    borders = [t for t, keep in ((a, a > 0), (b - 1, b < len(original))) if keep]
    if not borders or len(lo) < 2:
        return MIN_BLEND
    gap = float(np.linalg.norm(lo[borders] - lg[borders], axis=-1).max())
    pace = float(np.percentile(np.linalg.norm(np.diff(lo, axis=0), axis=-1).max(axis=1), 90))
    need = math.ceil(gap / max(pace, 1e-3))
    return int(min(max(need, MIN_BLEND), max(MIN_BLEND, min(MAX_BLEND, (b - a) // 3))))


def world_report(report: EditReport, before: np.ndarray, after: np.ndarray, frames: tuple[int, int],
                 joints: list[int]) -> EditReport:
    """`report` with the untouched error measured on the delivered world joints (T, J, 3), and how far the
    frames after the region moved and turned (only a whole-body edit moves them)."""
    from dataclasses import replace

    a, b = frames
    keep = np.ones(before.shape[:2], bool)
    keep[a:b, joints] = False
    err = np.linalg.norm(np.asarray(after, np.float64) - before, axis=-1)
    moved = turned = 0.0
    if b < len(before):
        moved = float(np.linalg.norm((after[b:, 0] - before[b:, 0])[:, [0, 2]], axis=-1).max() * 1000)
        across_b, across_a = (before[b:, 2] - before[b:, 1]), (after[b:, 2] - after[b:, 1])
        turn = np.arctan2(across_a[:, 2], across_a[:, 0]) - np.arctan2(across_b[:, 2], across_b[:, 0])
        turned = float(np.degrees(np.abs((turn + np.pi) % (2 * np.pi) - np.pi)).max())
    return replace(report, untouched_world_mm=float(err[keep].mean() * 1000) if keep.any() else 0.0,
                   untouched_world_max_mm=float(err[keep].max() * 1000) if keep.any() else 0.0,
                   rest_moved_mm=moved, rest_turned_deg=turned)


def edit_report(before: np.ndarray, after: np.ndarray, frames: tuple[int, int], joints: list[int],
                blend: int = 4) -> EditReport:
    """Pose error outside the edit and the largest joint step where the edit meets the kept motion, in the
    body frame, in mm.

    `before`/`after` are features (T, D); frames [a, b) and `joints` are the edited region. `paste` pins the
    region's first and last frames to the input and ramps the offset over `blend` frames, so a seam shows as
    a large step inside those ramps, not at frame a or b itself: the steps into frames a..a+blend and
    b-blend..b are checked, and the input's own largest step over the same frames is given beside them.
    """
    a, b = frames
    lb, la = local_joints(before), local_joints(after)
    keep = np.ones(lb.shape[:2], bool)
    keep[a:b, joints] = False
    err = np.linalg.norm(lb - la, axis=-1)
    untouched = float(err[keep].mean() * 1000) if keep.any() else 0.0
    step = np.linalg.norm(np.diff(lb, axis=0), axis=-1)
    seam = sorted({t for t in [*range(a, a + blend + 1), *range(b - blend, b + 1)] if 1 <= t < len(la)})
    if not seam:
        return EditReport(untouched, 0.0, float(step.mean() * 1000), 0.0)
    seam_idx = np.array(seam)

    def largest_step(joints_xyz: np.ndarray) -> float:
        return float(np.linalg.norm(joints_xyz[seam_idx] - joints_xyz[seam_idx - 1], axis=-1).max() * 1000)

    return EditReport(untouched, largest_step(la), float(step.mean() * 1000), largest_step(lb))
