"""What a generator runtime is: the model folder's description and the calls decoding makes.

A generator folder (written by `mogents export onnx`) holds `generator.json` plus the files it names.
`GeneratorInfo` is that JSON, parsed and checked. Two runtimes implement `GeneratorRuntime`: ONNX
Runtime (`backend.runtime.onnx_runtime`, what users run) and torch (`training.inference.torch_runtime`,
for development); decoding and editing (`backend.generate`) are written once, in numpy, against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .text_condition import SENTENCE, condition_dim

FORMAT = "mogents-generator"
PAPER_STEPS = 10  # MoGenTS / MoMask iterative decoding steps
PAPER_CFG = 4.0   # MoMask's classifier-free guidance scale for the base layer


@dataclass(frozen=True)
class GeneratorInfo:
    fps: float                   # 20 (HumanML3D) or 12.5 (KIT)
    feature_dim: int             # 263 or 251
    time_factor: int             # motion frames per token row (4)
    max_frames: int              # longest motion in frames (196)
    num_codes: int               # codebook size K
    num_quantizers: int          # residual layers Q
    columns: int                 # token-map width J (joints, body-part groups, +1 aux, or 1 for 1D)
    text_dim: int
    length_classes: int          # length estimator classes (length // time_factor)
    mean: np.ndarray = field(repr=False)
    std: np.ndarray = field(repr=False)
    name: str = "generator"
    extra: dict = field(default_factory=dict, repr=False)
    decode_steps: int = PAPER_STEPS  # the model's recommended decoding steps (generator.json "decoding")
    decode_cfg: float = PAPER_CFG    # ... and guidance scale (its "cfg")
    condition: str = SENTENCE        # the text condition `encode_text` returns (backend.runtime.text_condition)

    @property
    def condition_dim(self) -> int:
        """Columns of `encode_text`'s output: text_dim (the sentence), twice that with the side code."""
        return condition_dim(self.condition, self.text_dim)

    @property
    def mask_id(self) -> int:
        return self.num_codes

    @property
    def pad_id(self) -> int:
        return self.num_codes + 1

    @property
    def max_tokens(self) -> int:
        return self.max_frames // self.time_factor

    def normalize(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.std).astype(np.float32)

    def denormalize(self, features: np.ndarray) -> np.ndarray:
        return (features * self.std + self.mean).astype(np.float32)


class GeneratorRuntime(Protocol):
    info: GeneratorInfo
    provider: str                # e.g. "CPUExecutionProvider", "CUDAExecutionProvider", "torch-cpu"

    def encode_text(self, prompts: list[str]) -> np.ndarray:
        """(B, info.condition_dim) float32 text conditions (sentence embeddings first)."""

    def mask_logits(self, ids: np.ndarray, text: np.ndarray, frame_valid: np.ndarray,
                    drop_text: np.ndarray) -> np.ndarray:
        """ids (B, F, J) int64 (mask_id / pad_id allowed), text (B, E) float32, frame_valid (B, F) bool,
        drop_text (B,) bool (True: unconditional row for CFG) -> logits (B, F, J, K) float32."""

    def residual_logits(self, ids: np.ndarray, layer: np.ndarray, text: np.ndarray, frame_valid: np.ndarray,
                        drop_text: np.ndarray) -> np.ndarray:
        """ids (B, F, J, Q) int64 (layers >= layer ignored), layer (B,) int64 in 1..Q-1 -> (B, F, J, K)."""

    def length_logits(self, text: np.ndarray) -> np.ndarray:
        """(B, E) -> (B, length_classes) float32."""

    def encode_motion(self, features: np.ndarray) -> np.ndarray:
        """Normalised features (B, T, D), T a multiple of time_factor -> ids (B, T/4, J, Q) int64."""

    def decode_motion(self, ids: np.ndarray) -> np.ndarray:
        """ids (B, F, J, Q) int64 -> normalised features (B, F * time_factor, D) float32."""
