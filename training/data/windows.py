"""Fixed-size motion windows without text, for VQ-VAE training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from backend.errors import MotionInputError

from .config import DatasetConfig
from .layout_reader import load_features
from .normalize import Normalizer
from .sampling import ItemRandomness
from .source import open_source


class MotionWindowDataset(Dataset):
    """Every `window`-frame window of every clip in the split (clips shorter than `window` are skipped).

    Item i is the i-th window start (in steps of `stride`); with `stride` > 1 and `jitter` the start is
    moved by a seeded random amount inside its stride step. Shuffle in the DataLoader for random windows.
    Items: motion (window, D) float32 normalised, clip_id, start.
    """

    def __init__(self, root: str | Path, split: str = "train", window: int = 64,
                 config: DatasetConfig | str | None = None, *, stats_dir: str | Path | None = None,
                 normalizer: Normalizer | None = None, include_mirrored: bool = True, stride: int = 1,
                 jitter: bool = True, seed: int | np.random.Generator | None = None, feat_bias: float = 1.0):
        if window < 1 or stride < 1:
            raise MotionInputError(f"window and stride must be positive, got window={window}, stride={stride}")
        src = open_source(root, split, config, stats_dir=stats_dir, normalizer=normalizer,
                          include_mirrored=include_mirrored, feat_bias=feat_bias)
        self.root, self.split, self.config, self.normalizer = src.root, src.split, src.config, src.normalizer
        self.window, self.stride, self.jitter = window, stride, jitter
        self.clip_ids: list[str] = []
        self.motions: list[np.ndarray] = []
        counts = []
        for clip_id in src.ids:
            motion = load_features(src.root / "new_joint_vecs" / f"{clip_id}.npy", src.config.feature_dim)
            if len(motion) < window:
                continue
            self.clip_ids.append(clip_id)
            self.motions.append(motion)
            counts.append((len(motion) - window) // stride + 1)
        if not self.motions:
            raise MotionInputError(f"split {split!r} has no clip with at least {window} frames "
                                   f"({len(src.ids)} clips listed)", str(self.root))
        self._offsets = np.concatenate([[0], np.cumsum(counts)])
        self._random = ItemRandomness(seed)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def set_epoch(self, epoch: int) -> None:
        self._random.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        clip = int(np.searchsorted(self._offsets, index, side="right")) - 1
        motion = self.motions[clip]
        start = (index - int(self._offsets[clip])) * self.stride
        if self.jitter and self.stride > 1:
            room = min(self.stride, len(motion) - self.window - start + 1)
            start += int(self._random.generator(index).integers(room))
        window = self.normalizer.normalize(motion[start:start + self.window])
        return {"motion": torch.from_numpy(window), "clip_id": self.clip_ids[clip], "start": start}

    def denormalize(self, motion):
        return self.normalizer.denormalize(motion)
