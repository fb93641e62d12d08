"""Text-motion dataset for HumanML3D-layout folders (HumanML3D, KIT-ML, the procedural corpus)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from backend.errors import MotionInputError

from .config import DatasetConfig
from .entries import FilterReport, MotionEntry, build_entries
from .normalize import Normalizer
from .sampling import ItemRandomness, crop_length
from .source import open_source


class TextMotionDataset(Dataset):
    """Items of (normalised motion, caption) as the reference text-to-motion loaders build them.

    Each item is a dict:
        motion   (max_motion_length, D) float32, normalised, zero-padded after `length`
        length   int, a multiple of unit_length
        mask     (max_motion_length,) bool, True on real frames, False on padding
        text     one caption drawn at random from the entry's captions
        tokens   list of 'word/POS' strings of that caption
        clip_id  the file ID the frames come from ('M...' for mirrored copies)
        start    index of the item's first frame in new_joint_vecs/clip_id.npy

    Randomness (caption choice, crop offset, the 1-in-3 extra-unit crop) is seeded: see
    `sampling.ItemRandomness`. Call `set_epoch` at the start of each epoch when loading with
    non-persistent DataLoader workers.
    """

    def __init__(self, root: str | Path, split: str = "train", config: DatasetConfig | str | None = None, *,
                 stats_dir: str | Path | None = None, normalizer: Normalizer | None = None,
                 include_mirrored: bool = True, seed: int | np.random.Generator | None = None,
                 random_crop: bool = True, feat_bias: float = 1.0):
        src = open_source(root, split, config, stats_dir=stats_dir, normalizer=normalizer,
                          include_mirrored=include_mirrored, feat_bias=feat_bias)
        self.root, self.split, self.config, self.normalizer = src.root, src.split, src.config, src.normalizer
        self.random_crop = random_crop
        self.entries: list[MotionEntry]
        self.report: FilterReport
        self.entries, self.report = build_entries(src.root, src.ids, src.config)
        if not self.entries:
            raise MotionInputError(f"split {split!r} has no usable clips after length filtering "
                                   f"({self.config.min_frames} <= frames < {self.config.max_frames}; "
                                   f"{self.report.summary()})", str(self.root))
        self._random = ItemRandomness(seed)
        self.motions_released = False

    def release_motions(self) -> None:
        """Free the feature arrays, keeping each entry's length, captions and ids: for trainers whose items come
        from cached token maps (a 20k-clip corpus holds about 4 GB of features). Items can no longer be read."""
        zero_row = np.zeros((1, self.config.feature_dim), np.float32)
        for e in self.entries:  # a broadcast view keeps the shape (and so `length`) without the memory
            e.motion = np.broadcast_to(zero_row, e.motion.shape)
        self.motions_released = True

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        self._random.set_epoch(epoch)

    def lengths(self) -> list[int]:
        """Each item's frames before the random crop (at most max_motion_length), for length bucketing."""
        return [min(e.length, self.config.max_motion_length) for e in self.entries]

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self.entries):
            raise IndexError(index)
        if self.motions_released:
            raise RuntimeError("this dataset's motions were released (items come from cached token maps)")
        cfg = self.config
        entry = self.entries[index]
        rng = self._random.generator(index)
        caption = entry.captions[int(rng.integers(len(entry.captions)))]
        length = crop_length(entry.length, cfg.unit_length, cfg.max_motion_length,
                             rng if self.random_crop else None)
        offset = int(rng.integers(entry.length - length + 1)) if self.random_crop else 0
        motion = np.zeros((cfg.max_motion_length, cfg.feature_dim), dtype=np.float32)
        motion[:length] = self.normalizer.normalize(entry.motion[offset:offset + length])
        return {
            "motion": torch.from_numpy(motion),
            "length": length,
            "mask": torch.arange(cfg.max_motion_length) < length,
            "text": caption.text,
            "tokens": list(caption.tokens),
            "clip_id": entry.clip_id,
            "start": entry.start + offset,
        }

    def denormalize(self, motion):
        return self.normalizer.denormalize(motion)
