"""Training tasks of the retrieval models for the shared loop, and the registry of retrieval kinds.

    tmr      TMR-like transformer on normalised raw features (`tmr.py`)
    patches  Motion Patches ViT (`patches_model.py`)
    lavimo   LAVIMO 2-/3-modal (E's `lavimo_task.build_task(config, seed)`, imported lazily)

Config files (TOML) have [data] (root, val_split, stats_clips), [text] (`TextEncoderConfig`), [model] (the
kind's config) and [train] (`TrainConfig`). `build_task(kind, config)` -> (task, TrainConfig);
`model_from_meta(kind, meta)` rebuilds a trained model from a checkpoint's meta (export, torch encoders).
"""

from __future__ import annotations

import importlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training.train.config import config_section
from training.train.loop import TrainConfig, unwrap

from .data import RetrievalDataset, collate_retrieval
from .losses import similar_captions, symmetric_infonce
from .text import TextEncoderConfig
from .tmr import TMRConfig, TMRModel, build_tmr

KINDS = ("tmr", "patches", "lavimo")
SECTIONS = {"data", "text", "model", "train", "out"}
VAL_BATCH = 32
EMBED_BATCH = 64


def _text_config(config: dict) -> TextEncoderConfig:
    return config_section(TextEncoderConfig, config.get("text"), "[text]")


def _data_section(config: dict, extra: tuple[str, ...] = ()) -> dict:
    data = dict(config.get("data", {}))
    unknown = sorted(set(data) - {"root", "val_split", *extra})
    if unknown:
        raise ValueError(f"unknown [data] keys: {unknown}")
    if not data.get("root"):
        raise ValueError("no dataset: set [data] root or pass --data")
    if not Path(data["root"]).is_dir():
        raise FileNotFoundError(f"dataset folder not found: {data['root']} (make one with `mogents data synth`)")
    return data


class ContrastiveRetrievalTask:
    """Shared by the TMR-like and patch models: caption/motion pairs, symmetric InfoNCE (optionally with TMR's
    negative filtering), validation R@1/R@3 text->motion on batches of 32."""

    kind = ""
    with_joints = False

    def __init__(self, data_root: str | Path, text_cfg: TextEncoderConfig, seed: int = 0, val_split: str = "val"):
        self.data_root, self.text_cfg, self.seed, self.val_split = Path(data_root), text_cfg, seed, val_split
        self._train = RetrievalDataset(self.data_root, "train", seed=seed, random_crop=True,
                                       with_joints=self.with_joints)
        self.normalizer = self._train.normalizer
        self.data_config = self._train.config
        self._val: RetrievalDataset | None = None
        self._sentence_model = None

    # --- the Task protocol ---------------------------------------------------------------------------------

    def train_dataset(self) -> RetrievalDataset:
        return self._train

    def collate(self, items: list) -> Any:
        return collate_retrieval(items)

    def loss(self, model: nn.Module, batch: Any, step: int) -> dict[str, torch.Tensor]:
        text, motion, temperature = model(batch)
        inner = unwrap(model)
        exclude = None
        threshold = float(inner.cfg.filter_threshold)
        if threshold > 0:
            sentences = self.sentence_model(inner).sentence_embeddings(batch["text"], text.device)
            exclude = similar_captions(sentences, threshold)
        loss = symmetric_infonce(text, motion, temperature, exclude)
        with torch.no_grad():
            target = torch.arange(len(text), device=text.device)
            acc = ((text @ motion.T).argmax(1) == target).float().mean()
        out = {"loss": loss, "t2m_acc": acc, "temperature": temperature.detach()}
        if exclude is not None:
            n = len(text)
            out["filtered"] = (exclude.float().sum() - exclude.diagonal().float().sum()) / max(n * (n - 1), 1)
        return out

    def sentence_model(self, model: nn.Module):
        """The sentence model that judges caption similarity for negative filtering: the bundled MiniLM (a
        sentence-transformer, as TMR's all-mpnet-base-v2 is). It is the text base itself by default; another base
        (e.g. DistilBERT, whose mean-pooled vectors are all alike) gets a separate frozen MiniLM."""
        if model.text.cfg.base == "minilm":
            return model.text.base
        if self._sentence_model is None:
            from .text import FrozenTextBase

            self._sentence_model = FrozenTextBase("minilm", model.text.cfg.max_tokens)
        return self._sentence_model

    def _val_dataset(self) -> RetrievalDataset:
        if self._val is None:
            self._val = RetrievalDataset(self.data_root, self.val_split, normalizer=self.normalizer, seed=self.seed,
                                         random_crop=False, with_joints=self.with_joints)
        self._val.set_epoch(0)  # the same captions at every evaluation
        return self._val

    @torch.no_grad()
    def embed(self, model: nn.Module, dataset: RetrievalDataset) -> tuple[np.ndarray, np.ndarray]:
        """Text and motion embeddings of every item of `dataset`, in order."""
        device = next(model.parameters()).device
        texts, motions = [], []
        for start in range(0, len(dataset), EMBED_BATCH):
            batch = self.collate([dataset[i] for i in range(start, min(start + EMBED_BATCH, len(dataset)))])
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            text, motion, _ = model(batch)
            texts.append(text.cpu().numpy())
            motions.append(motion.cpu().numpy())
        return np.concatenate(texts), np.concatenate(motions)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        from backend.retrieve.metrics import batched_metrics

        text, motion = self.embed(model, self._val_dataset())
        size = min(VAL_BATCH, len(text))
        table = batched_metrics(text, motion, batch_size=size, seed=0)
        return {"val_t2m_R1": table["t2m"]["R@1"], "val_t2m_R3": table["t2m"]["R@3"],
                "val_m2t_R1": table["m2t"]["R@1"], "val_batch": float(size)}

    def meta(self) -> dict:
        cfg = self.data_config
        return {"text": asdict(self.text_cfg), "mean": self.normalizer.mean.tolist(),
                "std": self.normalizer.std.tolist(), "fps": cfg.fps, "feature_dim": cfg.feature_dim,
                "data": {"root": str(self.data_root), "dataset": cfg.name, "seed": self.seed,
                         "max_motion_length": cfg.max_motion_length}}


class TMRTask(ContrastiveRetrievalTask):
    kind = "tmr"

    def __init__(self, data_root, model_cfg: TMRConfig, text_cfg: TextEncoderConfig, seed: int = 0,
                 val_split: str = "val"):
        super().__init__(data_root, text_cfg, seed, val_split)
        model_cfg.feature_dim = self.data_config.feature_dim  # the data decides, whatever the config says
        self.model_cfg = model_cfg

    def build_model(self) -> nn.Module:
        return TMRModel(self.model_cfg, self.text_cfg)

    def meta(self) -> dict:
        return {**super().meta(), "kind": self.kind, "motion_input": "features", "model": asdict(self.model_cfg),
                "max_frames": min(self.model_cfg.max_frames, self.data_config.max_motion_length)}


class PatchesTask(ContrastiveRetrievalTask):
    kind = "patches"
    with_joints = True

    def __init__(self, data_root, model_cfg, text_cfg: TextEncoderConfig, seed: int = 0, val_split: str = "val",
                 stats_clips: int = 0):
        from backend.motion.patches import body_part_chains, fit_patch_stats

        super().__init__(data_root, text_cfg, seed, val_split)
        from .patches_model import create_vit

        create_vit(model_cfg.vit, model_cfg.frames, model_cfg.points, model_cfg.vit_args)  # a bad name fails now
        if model_cfg.vit_weights and not Path(model_cfg.vit_weights).is_file():
            raise FileNotFoundError(f"ViT weights file not found: {model_cfg.vit_weights}")
        self.model_cfg = model_cfg
        self.skeleton = self._train.skeleton
        self.chains = [tuple(c) for c in body_part_chains(self.skeleton)]
        self.stats = fit_patch_stats(self._stat_motions(stats_clips), self.chains, model_cfg.points)
        self.stats_clips = stats_clips
        self.pretrained: dict | None = None

    def _stat_motions(self, limit: int):
        """Joints of the training clips (a seeded subset of `limit` when > 0) for the per-point statistics."""
        from backend.motion.features import features_to_joints

        entries = self._train.base.entries
        order = np.arange(len(entries))
        if 0 < limit < len(entries):
            order = np.sort(np.random.default_rng(self.seed).choice(len(entries), limit, replace=False))
        for i in order:
            yield features_to_joints(entries[i].motion, self.skeleton)

    def collate(self, items: list) -> Any:
        from backend.motion.patches import normalized_patch_image

        batch = collate_retrieval(items)
        joints = batch.pop("joints").numpy()
        lengths = np.asarray(batch["length"])
        images = np.stack([normalized_patch_image(joints[i, :lengths[i]], self.chains, self.stats,
                                                  frames=self.model_cfg.frames).image for i in range(len(joints))])
        batch["image"] = torch.from_numpy(images)
        return batch

    def build_model(self) -> nn.Module:
        from .patches_model import PatchesModel

        model = PatchesModel(self.model_cfg, self.text_cfg)
        self.pretrained = model.pretrained
        return model

    def meta(self) -> dict:
        return {**super().meta(), "kind": self.kind, "motion_input": "patches", "model": asdict(self.model_cfg),
                "max_frames": min(self.model_cfg.frames, self.data_config.max_motion_length),
                "patches": {"frames": self.model_cfg.frames, "points": self.model_cfg.points,
                            "skeleton": self.skeleton.name, "chains": [list(c) for c in self.chains],
                            "stats_clips": self.stats_clips, "pretrained": self.pretrained},
                "patch_stats": {"mean": self.stats.mean.tolist(), "std": self.stats.std.tolist()}}


# --- registry -------------------------------------------------------------------------------------------------

def _check_sections(config: dict, kind: str) -> None:
    unknown = sorted(set(config) - SECTIONS)
    if unknown:
        raise ValueError(f"unknown {kind} config sections: {unknown} (known: {sorted(SECTIONS)})")


def build_task(kind: str, config: dict, data_root: str | Path | None = None) -> tuple[Any, TrainConfig]:
    """(task, TrainConfig) of a retrieval kind from a loaded config; `data_root` overrides [data] root."""
    if kind not in KINDS:
        raise ValueError(f"unknown retrieval kind {kind!r}; choose one of {', '.join(KINDS)}")
    config = {**config, "data": dict(config.get("data", {}))}
    if data_root is not None:
        config["data"]["root"] = str(data_root)
    train_cfg = TrainConfig.from_dict(dict(config.get("train", {})))
    if kind == "lavimo":
        lavimo_task = importlib.import_module("training.retrieval.lavimo_task")
        return lavimo_task.build_task(config, train_cfg.seed), train_cfg
    _check_sections(config, kind)
    text_cfg = _text_config(config)
    model = dict(config.get("model", {}))
    if kind == "tmr":
        data = _data_section(config)
        task = TMRTask(data["root"], config_section(TMRConfig, model, "[model]"), text_cfg, train_cfg.seed,
                       data.get("val_split", "val"))
    else:
        from .patches_model import PatchesConfig

        data = _data_section(config, ("stats_clips",))
        task = PatchesTask(data["root"], config_section(PatchesConfig, model, "[model]"), text_cfg, train_cfg.seed,
                           data.get("val_split", "val"), int(data.get("stats_clips", 0)))
    return task, train_cfg


def model_from_meta(kind: str, meta: dict) -> nn.Module:
    """An untrained model of a checkpoint's kind and meta, ready for its state dict."""
    if kind == "tmr":
        return build_tmr(meta)
    if kind == "patches":
        from .patches_model import build_patches

        return build_patches(meta)
    if kind == "lavimo":
        lavimo_task = importlib.import_module("training.retrieval.lavimo_task")
        rebuild = getattr(lavimo_task, "model_from_meta", None)
        if rebuild is None:
            raise ValueError("training.retrieval.lavimo_task has no model_from_meta(meta) to rebuild a LAVIMO model")
        return rebuild(meta)
    raise ValueError(f"not a retrieval model kind: {kind!r} (expected one of {', '.join(KINDS)})")
