"""Training LAVIMO (2-modal text-motion or 3-modal text-video-motion) with the shared loop.

Config sections (see training/configs/lavimo{2,3}_default.toml):
    [data]   root, frames (folder of `<clip_id>.npy` (F, R, R, 3) uint8 sampled frames; 3-modal only), val_split
    [text]   TextEncoderConfig (frozen base + transformer), as for the other retrieval kinds
    [model]  LavimoConfig keys, with [model.motion], [model.video], [model.decoder]
    [train]  TrainConfig (read by the caller, not here)

`model_from_meta(meta)` rebuilds the model of a checkpoint (the registry in `tasks.py` calls it).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from backend.errors import MotionInputError
from backend.retrieve.metrics import batched_metrics

from .data import RetrievalDataset, collate_retrieval
from .lavimo import KIND, LavimoConfig, LavimoModel, build_lavimo
from .video import check_video_config

VAL_BATCH = 32
SECTIONS = {"data", "text", "model", "train", "out"}
DATA_KEYS = {"root", "frames", "val_split"}


def check_frames_folder(dataset: RetrievalDataset, frames: int, resolution: int) -> None:
    """Every frames file the dataset will read is (frames, R, R, 3) uint8 (headers only, no pixels read)."""
    want = (frames, resolution, resolution, 3)
    for i in dataset.index:
        path = dataset.frames_dir / f"{dataset.base.entries[i].clip_id}.npy"
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise MotionInputError(f"unreadable video frames file: {err}", str(path)) from None
        if array.shape != want or array.dtype != np.uint8:
            raise MotionInputError(f"video frames must be {want} uint8 (the [model.video] frames and resolution), "
                                   f"got {array.shape} {array.dtype}", str(path))


class LavimoTask:
    """kind='lavimo': LAVIMO on a HumanML3D-layout dataset (+ sampled video frames when 3-modal)."""

    kind = KIND

    def __init__(self, data_root: str | Path, model_cfg: LavimoConfig, seed: int = 0, *,
                 frames_dir: str | Path | None = None, val_split: str = "val"):
        self.data_root = Path(data_root)
        if not self.data_root.is_dir():
            raise MotionInputError("dataset folder not found (make one with `mogents data synth`)",
                                   str(self.data_root))
        if model_cfg.has_video and not frames_dir:
            raise MotionInputError("3-modal LAVIMO needs [data] frames (a folder of sampled frames, see "
                                   "`mogents render videos --sample-frames 8`)")
        if model_cfg.has_video:
            check_video_config(model_cfg.video)
        self.frames_dir = Path(frames_dir) if model_cfg.has_video else None
        self.seed, self.val_split = seed, val_split
        self._train = RetrievalDataset(self.data_root, "train", seed=seed, random_crop=True,
                                       frames_dir=self.frames_dir)
        self.normalizer = self._train.normalizer
        data_cfg = self._train.config
        # feature width and window length come from the data, whatever the config says
        self.model_cfg = replace(model_cfg, feature_dim=data_cfg.feature_dim, max_frames=data_cfg.max_motion_length)
        if self.frames_dir is not None:
            check_frames_folder(self._train, model_cfg.video.frames, model_cfg.video.resolution)
            if self._train.missing_video:
                print(f"note: {self._train.missing_video} of {len(self._train.base)} training clips have no "
                      f"frames in {self.frames_dir} and are left out", file=sys.stderr)
        self._val: RetrievalDataset | None = None

    def build_model(self) -> nn.Module:
        torch.manual_seed(self.seed)
        return LavimoModel(self.model_cfg)

    def train_dataset(self) -> RetrievalDataset:
        return self._train

    def collate(self, items: list) -> Any:
        return collate_retrieval(items)

    def loss(self, model: nn.Module, batch: Any, step: int) -> dict[str, torch.Tensor]:
        video = batch["video"].float() / 255.0 if "video" in batch else None
        return model(batch["text"], batch["motion"], batch["length"], video)  # through DDP's forward when wrapped

    def _val_dataset(self) -> RetrievalDataset:
        if self._val is None:
            self._val = RetrievalDataset(self.data_root, self.val_split, normalizer=self.normalizer, seed=self.seed,
                                         random_crop=False, frames_dir=self.frames_dir)
            if self.frames_dir is not None:
                check_frames_folder(self._val, self.model_cfg.video.frames, self.model_cfg.video.resolution)
        self._val.set_epoch(0)  # the same captions at every evaluation
        return self._val

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        emb = embed_dataset(model, self._val_dataset())
        batch = min(VAL_BATCH, len(emb["motion"]))
        t2m = batched_metrics(emb["text"], emb["motion"], batch_size=batch, seed=self.seed)
        out = {"val_t2m_R1": t2m["t2m"]["R@1"], "val_t2m_R3": t2m["t2m"]["R@3"], "val_m2t_R1": t2m["m2t"]["R@1"]}
        if "video" in emb:
            v2m = batched_metrics(emb["video"], emb["motion"], batch_size=batch, seed=self.seed)
            out.update(val_v2m_R1=v2m["t2m"]["R@1"], val_v2m_R3=v2m["t2m"]["R@3"])
        out["val_batch"] = float(batch)
        return out

    def meta(self) -> dict:
        cfg = self.model_cfg
        meta = {"kind": KIND, "motion_input": "features", "modalities": list(cfg.modalities),
                "model": cfg.to_dict(), "embed_dim": cfg.latent, "feature_dim": cfg.feature_dim,
                "max_frames": cfg.max_frames, "fps": float(self._train.config.fps),
                "mean": self.normalizer.mean.tolist(), "std": self.normalizer.std.tolist(),
                "text": asdict(cfg.text),
                "data": {"root": str(self.data_root), "dataset": self._train.config.name, "seed": self.seed,
                         "frames": str(self.frames_dir) if self.frames_dir else None,
                         "train_clips": len(self._train), "missing_video": self._train.missing_video}}
        if cfg.has_video:
            meta["video"] = {"frames": cfg.video.frames, "resolution": cfg.video.resolution,
                             "backbone": cfg.video.backbone}
        return meta


@torch.no_grad()
def embed_dataset(model: LavimoModel, dataset: RetrievalDataset, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Normalised text, motion (and video) embeddings of every item, in dataset order."""
    out: dict[str, list[np.ndarray]] = {"text": [], "motion": []}
    if model.video is not None:
        out["video"] = []
    device = next(model.parameters()).device
    for start in range(0, len(dataset), batch_size):
        batch = collate_retrieval([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        out["text"].append(model.embed_text(batch["text"]).cpu().numpy())
        out["motion"].append(model.embed_motion(batch["motion"].to(device), batch["length"].to(device)).cpu().numpy())
        if "video" in out:
            out["video"].append(model.embed_video(batch["video"].to(device).float() / 255.0).cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def build_task(config: dict, seed: int = 0) -> LavimoTask:
    """The task from a loaded TOML config ([data], [model], [train]); `seed` seeds data order and init."""
    unknown = sorted(set(config) - SECTIONS)
    if unknown:
        raise MotionInputError(f"unknown LAVIMO config sections: {unknown}")
    data = dict(config.get("data", {}))
    bad = sorted(set(data) - DATA_KEYS)
    if bad:
        raise MotionInputError(f"unknown [data] keys: {bad} (known: {sorted(DATA_KEYS)})")
    if not data.get("root"):
        raise MotionInputError("no dataset: set [data] root")
    model_cfg = LavimoConfig.from_dict(dict(config.get("model", {})), dict(config.get("text", {})))
    return LavimoTask(data["root"], model_cfg, seed, frames_dir=data.get("frames"),
                      val_split=data.get("val_split", "val"))


def model_from_meta(meta: dict) -> LavimoModel:
    """An untrained LavimoModel of a checkpoint's meta, ready for its state dict."""
    return build_lavimo(meta)
