"""Per-dimension Mean/Std normalisation of motion features, loaded from a dataset or model folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.errors import MotionInputError
from backend.motion.features import FeatureLayout
from backend.motion.skeleton import skeleton_for_feature_dim


def _load_vector(path: Path) -> np.ndarray:
    if not path.is_file():
        raise MotionInputError("statistics file not found", str(path))
    try:
        arr = np.load(path)
    except (OSError, ValueError) as err:
        raise MotionInputError(f"cannot read statistics file: {err}", str(path)) from None
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 1 or arr.size == 0:
        raise MotionInputError(f"expected a 1-D vector, got shape {np.shape(arr)}", str(path))
    if not np.all(np.isfinite(arr)):
        raise MotionInputError("statistics contain NaN or inf", str(path))
    return arr


@dataclass(frozen=True)
class Normalizer:
    """x_norm = (x - mean) / std, per feature dimension."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_dir(cls, folder: str | Path, feat_bias: float = 1.0) -> Normalizer:
        """Read `Mean.npy` and `Std.npy` from `folder` (a dataset root or a trained model's meta folder).

        `feat_bias` > 1 divides the std of the root dims (0:4) and the foot-contact dims by it, which
        up-weights them after normalisation (VQ training on HumanML3D uses 5).
        """
        folder = Path(folder)
        mean = _load_vector(folder / "Mean.npy")
        std = _load_vector(folder / "Std.npy")
        if mean.shape != std.shape:
            raise MotionInputError(f"Mean.npy has {mean.size} values but Std.npy has {std.size}", str(folder))
        if np.any(std <= 0):
            raise MotionInputError(f"Std.npy has {int(np.sum(std <= 0))} non-positive entries",
                                   str(folder / "Std.npy"))
        norm = cls(mean.astype(np.float32), std.astype(np.float32))
        return norm.with_feat_bias(feat_bias) if feat_bias != 1.0 else norm

    @property
    def dim(self) -> int:
        return int(self.mean.size)

    def with_feat_bias(self, feat_bias: float) -> Normalizer:
        try:
            layout = FeatureLayout(skeleton_for_feature_dim(self.dim).num_joints)
        except ValueError as err:
            raise MotionInputError(str(err)) from None
        std = self.std.copy()
        std[layout.root] /= feat_bias
        std[layout.contacts] /= feat_bias
        return Normalizer(self.mean, std)

    def normalize(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.std).astype(np.float32)

    def denormalize(self, features):
        """Inverse of `normalize`; accepts numpy arrays or torch tensors (on any device)."""
        if isinstance(features, np.ndarray):
            return features * self.std + self.mean
        import torch

        mean = torch.as_tensor(self.mean, dtype=features.dtype, device=features.device)
        std = torch.as_tensor(self.std, dtype=features.dtype, device=features.device)
        return features * std + mean
