"""Training the evaluator with the shared loop (`training.train.loop.train`)."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training.data.collate import collate, trim_to_longest
from training.data.text_motion import TextMotionDataset
from training.train.loop import TrainConfig

from .evaluator import KIND, Evaluator, EvaluatorConfig, build_vocab, caption_key, info_nce, load_word_table
from .metrics import matching_score, r_precision

VAL_BATCH = 32


def same_caption_matrix(texts: list[str], tokens: list[list[str]] | None) -> torch.Tensor:
    keys = [caption_key(t, tokens[i] if tokens else None) for i, t in enumerate(texts)]
    index: dict[str, int] = {}
    codes = torch.tensor([index.setdefault(k, len(index)) for k in keys])
    return codes[:, None] == codes[None, :]


class EvaluatorTask:
    """kind='evaluator': contrastive text/motion encoders on a HumanML3D-layout dataset."""

    kind = KIND

    def __init__(self, data_root: str | Path, model_cfg: EvaluatorConfig | None = None, seed: int = 0, *,
                 val_split: str = "val"):
        self.data_root = Path(data_root)
        self.seed = seed
        self.val_split = val_split
        self._train = TextMotionDataset(self.data_root, "train", seed=seed, random_crop=True)
        self.normalizer = self._train.normalizer
        # the features' width comes from the data, whatever the config says
        self.model_cfg = replace(model_cfg or EvaluatorConfig(), feature_dim=self._train.config.feature_dim)
        captions = [(c.text, list(c.tokens)) for e in self._train.entries for c in e.captions]
        self.vocab_ids = build_vocab(captions, self.model_cfg.text_model)
        self._val: TextMotionDataset | None = None

    def build_model(self) -> nn.Module:
        table = load_word_table(self.vocab_ids, self.model_cfg.text_model)
        return Evaluator(self.model_cfg, self.vocab_ids, self.normalizer.mean, self.normalizer.std, table)

    def train_dataset(self) -> TextMotionDataset:
        return self._train

    def collate(self, items: list) -> Any:
        return trim_to_longest(collate(items))

    def loss(self, model: nn.Module, batch: Any, step: int) -> dict[str, torch.Tensor]:
        tokens = batch["tokens"]
        if model.cfg.plain_text_prob > 0:
            # some captions go in as raw text without tags, so callers without POS tokens are covered
            drop = torch.rand(len(tokens)) < model.cfg.plain_text_prob
            tokens = [None if d else t for d, t in zip(drop.tolist(), tokens, strict=True)]
        text = model.encode_text(batch["text"], tokens)
        motion = model.encode_motion(batch["motion"], batch["length"])
        same = same_caption_matrix(batch["text"], batch["tokens"]).to(text.device)
        temperature = model.temperature
        loss = info_nce(text, motion, temperature, same)
        with torch.no_grad():
            acc = ((text @ motion.T).argmax(1) == torch.arange(len(text), device=text.device)).float().mean()
        return {"loss": loss, "t2m_acc": acc, "temperature": temperature.detach()}

    def _val_dataset(self) -> TextMotionDataset:
        if self._val is None:
            self._val = TextMotionDataset(self.data_root, self.val_split, normalizer=self.normalizer,
                                          seed=self.seed, random_crop=True)
        self._val.set_epoch(0)  # the same captions and crops at every evaluation
        return self._val

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        text_emb, motion_emb = embed_dataset(model, self._val_dataset())
        batch = min(VAL_BATCH, len(text_emb))
        top = r_precision(text_emb, motion_emb, top_k=3, batch_size=batch)
        return {"val_R1": float(top[0]), "val_R3": float(top[2]),
                "val_mm_dist": matching_score(text_emb, motion_emb), "val_batch": float(batch)}

    def meta(self) -> dict:
        return {"model": asdict(self.model_cfg), "vocab_ids": list(self.vocab_ids),
                "mean": self.normalizer.mean.tolist(), "std": self.normalizer.std.tolist(),
                "data": {"root": str(self.data_root), "dataset": self._train.config.name, "seed": self.seed}}


@torch.no_grad()
def embed_dataset(model: Evaluator, dataset: TextMotionDataset, batch_size: int = 64
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Text and motion embeddings of every item, in dataset order."""
    texts, motions = [], []
    for start in range(0, len(dataset), batch_size):
        batch = trim_to_longest(collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]))
        texts.append(model.encode_text(batch["text"], batch["tokens"]).cpu().numpy())
        motions.append(model.encode_motion(batch["motion"], batch["length"]).cpu().numpy())
    return np.concatenate(texts), np.concatenate(motions)


def build_task(config: dict, data_root: str | Path | None = None) -> tuple[EvaluatorTask, TrainConfig]:
    """Task and TrainConfig from a config dict with [data], [model], [train] sections (a loaded TOML).

    `data_root` overrides `[data] root`.
    """
    unknown = sorted(set(config) - {"data", "model", "train"})
    if unknown:
        raise ValueError(f"unknown evaluator config sections: {unknown}")
    data = dict(config.get("data", {}))
    root = data_root if data_root is not None else data.pop("root", None)
    data.pop("root", None)
    val_split = data.pop("val_split", "val")
    if data:
        raise ValueError(f"unknown [data] keys: {sorted(data)}")
    if root is None:
        raise ValueError("no dataset: set [data] root or pass data_root")
    train_cfg = TrainConfig.from_dict(dict(config.get("train", {})))
    model_cfg = EvaluatorConfig.from_dict(dict(config.get("model", {})))
    return EvaluatorTask(root, model_cfg, seed=train_cfg.seed, val_split=val_split), train_cfg
