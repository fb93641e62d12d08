"""What a retrieval runtime is: encoders that put text, motion (and later video) into one embedding space.

A retrieval model folder (written by `mogents export retrieval`) holds `retrieval.json` plus the files it
names. `RetrievalInfo` is the part of that JSON that callers need. Every encoder returns L2-normalised
float32 rows, so a dot product is the cosine similarity the library ranks by. The first implementation is
ONNX Runtime (`backend.retrieve.onnx_retrieval`); the Motion Patches / LAVIMO encoders plug in behind the
same protocol, adding "video" to `modalities`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

FORMAT = "mogents-retrieval"
MODALITIES = ("text", "motion", "video")


@dataclass(frozen=True)
class RetrievalInfo:
    name: str                    # identifies the embedding space: a library re-embeds when it changes
    embed_dim: int
    feature_dim: int             # 263 (HumanML3D / SMPL-22 features)
    fps: float                   # frame rate the motion encoder expects
    modalities: frozenset[str]   # {"text", "motion"}; "video" once a video encoder exists
    max_frames: int = 196        # longest window the motion encoder saw in training
    min_frames: int = 4          # shortest motion it can embed (two stride-2 convolutions)
    extra: dict = field(default_factory=dict, repr=False)

    def has(self, modality: str) -> bool:
        return modality in self.modalities


class RetrievalRuntime(Protocol):
    """Text / motion (/ video) encoders into one space.

    Optional, not part of the protocol: skeleton-agnostic models (Motion Patches) may also offer
    `encode_joints(joints: Sequence[np.ndarray], skeleton: str) -> np.ndarray`, joint positions (T_i, J, 3)
    of the named skeleton (e.g. "kit21") -> (B, embed_dim) float32, L2-normalised; the cross-skeleton
    evaluation (`mogents eval retrieval --skeleton`) calls it when present.
    """

    info: RetrievalInfo
    provider: str                # e.g. "CPUExecutionProvider", "CUDAExecutionProvider"

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(B, embed_dim) float32, L2-normalised."""

    def encode_motion(self, motions: Sequence[np.ndarray]) -> np.ndarray:
        """Raw (denormalised) features, one (T_i, feature_dim) array per motion at `info.fps`
        -> (B, embed_dim) float32, L2-normalised."""

    def encode_video(self, frames: np.ndarray) -> np.ndarray:
        """RGB frames (N, H, W, 3) uint8 of one video -> (1, embed_dim); only when "video" is a modality."""
