"""User inputs -> encoder-graph inputs -> embeddings, for every retrieval model kind (numpy only).

One class holds the preprocessing so that the ONNX runtime (`onnx_retrieval.OnnxRetrievalRuntime`) and the
torch adapter of training checkpoints (`training.retrieval.encoders`) embed exactly alike; a subclass only
says how a graph runs (`_run(role, feeds)`). Graph roles and inputs:

    text_encoder    word_ids, pos, lengths (evaluator) | input_ids, attention_mask (token-id models) -> (B, E)
    motion_encoder  "features": motion float32 (B, T, D) normalised, lengths int64 (B,)           -> (B, E)
                    "patches":  image float32 (B, 3, frames, 5 * points) z-normalised, lengths (B,) -> (B, E)
    video_encoder   frames float32 (B, F, R, R, 3) in [0, 1]                                      -> (B, E)

Motions longer than the encoder's training window (`info.max_frames`) are embedded as the normalised mean of
half-overlapping windows. Patch models take HumanML3D features (decoded to joints) or joint positions of any
skeleton whose five body-part chains are known (`encode_joints`), which is what makes them skeleton-agnostic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import MotionInputError
from .runtime import RetrievalInfo

TEXT_BATCH = 256
MOTION_BATCH = 64
MOTION_INPUTS = ("features", "patches")


def window_starts(frames: int, window: int) -> list[int]:
    """Start frames of windows of `window` frames covering `frames`, at most half a window apart."""
    if frames <= window:
        return [0]
    count = int(np.ceil((frames - window) / (window / 2))) + 1
    return [int(round(s)) for s in np.linspace(0, frames - window, count)]


def normalize_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class PatchSettings:
    """How a patch model's image is built: `frames` rows, 5 chains of `points` each, per-point stats."""

    frames: int
    points: int
    stats: object          # backend.motion.patches.PatchStats


@dataclass(frozen=True)
class VideoSettings:
    frames: int            # sampled frames per video (LAVIMO: 8)
    resolution: int        # square side the frames are resized to


def resolve_chains(skeleton) -> list[tuple[int, ...]]:
    """The five body-part chains of `skeleton`: a known name ("smpl22", "kit21", ...), a `Skeleton`, or the
    chains themselves (five index sequences, e.g. from `chains_from_parents` for an imported BVH rig)."""
    from ..motion.patches import body_part_chains
    from ..motion.skeleton import Skeleton, get_skeleton

    if isinstance(skeleton, str):
        try:
            skeleton = get_skeleton(skeleton)
        except KeyError as err:
            raise MotionInputError(str(err.args[0])) from None
    if isinstance(skeleton, Skeleton):
        return [tuple(c) for c in body_part_chains(skeleton)]
    try:
        chains = [tuple(int(j) for j in c) for c in skeleton]
    except (TypeError, ValueError):
        raise MotionInputError("skeleton must be a skeleton name, a Skeleton or five joint-index chains") from None
    if len(chains) != 5 or any(len(c) < 2 for c in chains):
        raise MotionInputError(f"expected five body-part chains of at least 2 joints, got {len(chains)} chains")
    return chains


class RetrievalEncoders:
    """The RetrievalRuntime protocol over graphs run by `_run`; see the module docstring."""

    info: RetrievalInfo
    provider: str

    def __init__(self, info: RetrievalInfo, tokenizer, mean: np.ndarray | None, std: np.ndarray | None, *,
                 patches: PatchSettings | None = None, video: VideoSettings | None = None):
        self.info, self.tokenizer, self.mean, self.std = info, tokenizer, mean, std
        self.motion_input = str(info.extra.get("motion_input", "features"))
        if self.motion_input not in MOTION_INPUTS:
            raise MotionInputError(f"unknown motion input {self.motion_input!r} ({', '.join(MOTION_INPUTS)})")
        if self.motion_input == "patches" and patches is None:
            raise MotionInputError("a patch model needs its patch settings (frames, points, stats)")
        self.patches, self.video = patches, video

    def _run(self, role: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _require(self, modality: str) -> None:
        if not self.info.has(modality):
            raise MotionInputError(f"the retrieval model {self.info.name!r} has no {modality} encoder")

    # ------------------------------------------------------------------------------------------------ text

    def encode_text(self, texts: Sequence[str], mode: str | None = None) -> np.ndarray:
        """(B, E) embeddings; `mode` ("tagged" / "plain") applies to the evaluator's word/POS input only."""
        self._require("text")
        if isinstance(texts, str):
            texts = [texts]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise MotionInputError("encode_text needs a non-empty list of strings")
        out = []
        for start in range(0, len(texts), TEXT_BATCH):
            out.append(self._run("text_encoder", self.tokenizer(list(texts[start:start + TEXT_BATCH]), mode)))
        return np.concatenate(out).astype(np.float32, copy=False)

    # ---------------------------------------------------------------------------------------------- motion

    def _checked_features(self, motion: np.ndarray, index: int) -> np.ndarray:
        motion = np.asarray(motion)
        name = f"motion {index}"
        if motion.ndim != 2 or motion.shape[1] != self.info.feature_dim:
            raise MotionInputError(f"{name}: expected features of shape (T, {self.info.feature_dim}), "
                                   f"got {motion.shape}")
        if len(motion) < self.info.min_frames:
            raise MotionInputError(f"{name}: {len(motion)} frames; at least {self.info.min_frames} are needed")
        if not np.all(np.isfinite(motion)):
            raise MotionInputError(f"{name}: features contain NaN or inf")
        return motion.astype(np.float32, copy=False)

    def _pool(self, pieces: list[np.ndarray], owner: list[int], count: int, encode_batch) -> np.ndarray:
        """Embed window pieces in length-sorted batches, then average each motion's windows."""
        order = np.argsort([len(p) for p in pieces], kind="stable")
        piece_emb = np.zeros((len(pieces), self.info.embed_dim), np.float32)
        for start in range(0, len(order), MOTION_BATCH):
            idx = order[start:start + MOTION_BATCH]
            piece_emb[idx] = encode_batch([pieces[j] for j in idx])
        summed = np.zeros((count, self.info.embed_dim), np.float64)
        np.add.at(summed, np.asarray(owner), piece_emb)
        return normalize_rows(summed)

    def _windows(self, motions: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
        window = self.info.max_frames
        pieces, owner = [], []
        for i, motion in enumerate(motions):
            for start in window_starts(len(motion), window):
                pieces.append(motion[start:start + window])
                owner.append(i)
        return pieces, owner

    def _feature_batch(self, pieces: list[np.ndarray]) -> np.ndarray:
        lengths = np.array([len(p) for p in pieces], np.int64)
        batch = np.zeros((len(pieces), int(lengths.max()), self.info.feature_dim), np.float32)
        for row, p in enumerate(pieces):
            batch[row, :len(p)] = (p - self.mean) / self.std
        return self._run("motion_encoder", {"motion": batch, "lengths": lengths})

    def patch_images(self, pieces: Sequence[np.ndarray], chains) -> tuple[np.ndarray, np.ndarray]:
        """(B, 3, frames, 5 * points) z-normalised images and their valid lengths, from joint windows."""
        from ..motion.patches import motion_to_patch_image, normalize_patch_image

        cfg = self.patches
        images = np.zeros((len(pieces), 3, cfg.frames, 5 * cfg.points), np.float32)
        lengths = np.zeros(len(pieces), np.int64)
        for row, joints in enumerate(pieces):
            image, length = motion_to_patch_image(joints, chains, frames=cfg.frames, points=cfg.points)
            images[row] = normalize_patch_image(image, length, cfg.stats)
            lengths[row] = length
        return images, lengths

    def _patch_batch(self, pieces: list[np.ndarray], chains) -> np.ndarray:
        images, lengths = self.patch_images(pieces, chains)
        return self._run("motion_encoder", {"image": images, "lengths": lengths})

    def encode_motion(self, motions: Sequence[np.ndarray]) -> np.ndarray:
        """Raw HumanML3D features, one (T_i, feature_dim) array per motion -> (B, E)."""
        self._require("motion")
        if isinstance(motions, np.ndarray) and motions.ndim == 2:
            motions = [motions]
        if len(motions) == 0:
            raise MotionInputError("encode_motion needs at least one motion")
        checked = [self._checked_features(m, i) for i, m in enumerate(motions)]
        if self.motion_input == "patches":
            from ..motion.features import features_to_joints
            from ..motion.skeleton import skeleton_for_feature_dim

            skeleton = skeleton_for_feature_dim(self.info.feature_dim)
            return self._encode_joints([features_to_joints(m, skeleton).astype(np.float32) for m in checked],
                                       skeleton)
        pieces, owner = self._windows(checked)
        return self._pool(pieces, owner, len(checked), self._feature_batch)

    @property
    def encode_joints(self):
        """`encode_joints(joints, skeleton)` for skeleton-agnostic (patch) models, else None: joint positions
        (T_i, J, 3) in metres, Y up, at `info.fps`, and the skeleton as a name, a `Skeleton` or its five
        body-part chains -> (B, E)."""
        return self._encode_joints if self.motion_input == "patches" else None

    def _encode_joints(self, motions: Sequence[np.ndarray], skeleton="smpl22") -> np.ndarray:
        self._require("motion")
        chains = resolve_chains(skeleton)
        if isinstance(motions, np.ndarray) and motions.ndim == 3:
            motions = [motions]
        if len(motions) == 0:
            raise MotionInputError("encode_joints needs at least one motion")
        needed = max(max(c) for c in chains) + 1
        checked = []
        for i, m in enumerate(motions):
            m = np.asarray(m)
            if m.ndim != 3 or m.shape[2] != 3 or m.shape[1] < needed:
                raise MotionInputError(f"motion {i}: expected joints of shape (T, J >= {needed}, 3), got {m.shape}")
            if len(m) < self.info.min_frames:
                raise MotionInputError(f"motion {i}: {len(m)} frames; at least {self.info.min_frames} are needed")
            if not np.all(np.isfinite(m)):
                raise MotionInputError(f"motion {i}: joints contain NaN or inf")
            checked.append(m.astype(np.float32, copy=False))
        pieces, owner = self._windows(checked)
        return self._pool(pieces, owner, len(checked), lambda batch: self._patch_batch(batch, chains))

    # ----------------------------------------------------------------------------------------------- video

    def video_input(self, frames: np.ndarray) -> np.ndarray:
        """(1, F, R, R, 3) float32 in [0, 1]: `video.frames` frames sampled, cropped square and resized."""
        from .video_input import prepare_frames, sample_frames

        cfg = self.video
        picked = prepare_frames(sample_frames(frames, cfg.frames), cfg.resolution)
        return (picked.astype(np.float32) / 255.0)[None]

    def encode_video(self, frames: np.ndarray) -> np.ndarray:
        """RGB frames (N, H, W, 3) uint8 of one video -> (1, E)."""
        self._require("video")
        if self.video is None:
            raise MotionInputError(f"the retrieval model {self.info.name!r} lists a video encoder without "
                                   "its frame settings")
        out = self._run("video_encoder", {"frames": self.video_input(frames)})
        return normalize_rows(np.asarray(out, np.float32))
