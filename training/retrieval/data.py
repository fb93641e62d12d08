"""Training data of the retrieval models: caption + motion window (+ the clip's sampled video frames).

Wraps `TextMotionDataset` (HumanML3D layout, seeded caption choice and crops) and adds, per item:
    joints   (max_motion_length, J, 3) float32 joint positions of the window (zero-padded), for Motion Patches
    video    (F, R, R, 3) uint8 frames of the whole clip, when a frames folder is given (`mogents render videos
             --sample-frames 8` writes `<clip_id>.npy` there); clips without frames are left out and counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from backend.errors import MotionInputError
from backend.motion.features import features_to_joints
from backend.motion.skeleton import skeleton_for_feature_dim
from training.data.collate import collate, trim_to_longest
from training.data.text_motion import TextMotionDataset


class RetrievalDataset(Dataset):
    def __init__(self, root: str | Path, split: str = "train", *, normalizer=None, seed: int = 0,
                 random_crop: bool = True, frames_dir: str | Path | None = None, with_joints: bool = False,
                 include_mirrored: bool = True):
        self.base = TextMotionDataset(root, split, normalizer=normalizer, seed=seed, random_crop=random_crop,
                                      include_mirrored=include_mirrored)
        self.normalizer = self.base.normalizer
        self.config = self.base.config
        self.with_joints = with_joints
        self.skeleton = skeleton_for_feature_dim(self.config.feature_dim)
        self.frames_dir = Path(frames_dir) if frames_dir else None
        self.index = list(range(len(self.base)))
        self.missing_video = 0
        if self.frames_dir is not None:
            if not self.frames_dir.is_dir():
                raise MotionInputError("video frames folder not found (see `mogents render videos --sample-frames`)",
                                       str(self.frames_dir))
            have = {p.stem for p in self.frames_dir.glob("*.npy")}
            self.index = [i for i in self.index if self.base.entries[i].clip_id in have]
            self.missing_video = len(self.base) - len(self.index)
            if not self.index:
                raise MotionInputError(f"no clip of split {split!r} has frames in the folder", str(self.frames_dir))

    def __len__(self) -> int:
        return len(self.index)

    def set_epoch(self, epoch: int) -> None:
        self.base.set_epoch(epoch)

    def __getitem__(self, i: int) -> dict:
        item = self.base[self.index[i]]
        if self.with_joints:
            n = item["length"]
            raw = self.normalizer.denormalize(item["motion"][:n].numpy())
            joints = np.zeros((len(item["motion"]), self.skeleton.num_joints, 3), np.float32)
            joints[:n] = features_to_joints(raw, self.skeleton)
            item["joints"] = torch.from_numpy(joints)
        if self.frames_dir is not None:
            frames = np.load(self.frames_dir / f"{item['clip_id']}.npy")
            item["video"] = torch.from_numpy(np.ascontiguousarray(frames))
        return item


def collate_retrieval(items: list[dict]) -> dict:
    batch = trim_to_longest(collate(items))
    if "joints" in batch:
        batch["joints"] = batch["joints"][:, :batch["motion"].shape[1]]
    return batch
