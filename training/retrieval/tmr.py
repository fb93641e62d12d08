"""A TMR-like contrastive baseline on raw features: the row "transformer on HumanML3D features" of the table.

Text: the shared `TokenTextEncoder` (frozen base + small transformer, CLS) -> Linear to E.
Motion: normalised 263-d features -> Linear -> [CLS] + frames with learned positions (up to `max_frames`) ->
transformer encoder with a key padding mask -> CLS -> Linear to E. Both L2-normalised.
Objective: symmetric InfoNCE with a learnable temperature and TMR's negative filtering (captions whose
sentence-model cosine exceeds `filter_threshold` are not used as negatives). TMR's VAE and motion decoder
are left out: only its retrieval encoders matter here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .losses import LearnableTemperature
from .text import TextEncoderConfig, TextGraph, TokenTextEncoder

KIND = "tmr"


@dataclass
class TMRConfig:
    feature_dim: int = 263
    embed_dim: int = 256
    width: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1
    max_frames: int = 224         # learned positions; the data's crops are at most 196 frames
    temperature: float = 0.07
    learn_temperature: bool = True
    filter_threshold: float = 0.8  # TMR's negative filtering; 0 switches it off


class MotionTransformer(nn.Module):
    """(B, T, D) normalised features + lengths -> (B, width): CLS output of a transformer encoder."""

    def __init__(self, feature_dim: int, width: int, layers: int, heads: int, dropout: float, max_frames: int):
        super().__init__()
        self.max_frames = max_frames
        self.input = nn.Linear(feature_dim, width)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.zeros(1, max_frames + 1, width))
        nn.init.normal_(self.cls, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        # no dropout on the attention probabilities (the rest of the layer keeps it): on (B, heads, T, T) maps of
        # 200-frame clips drawing the mask costs more than the whole layer on a CPU
        layer.self_attn.dropout = 0.0
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.input(motion[:, :self.max_frames])
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos[:, :x.shape[1]]
        steps = torch.arange(x.shape[1] - 1, device=x.device)[None, :]
        real = steps < lengths.to(x.device)[:, None]
        keep = torch.cat([torch.ones_like(real[:, :1]), real], dim=1)
        return self.norm(self.encoder(x, src_key_padding_mask=~keep)[:, 0])


class FeatureMotionGraph(nn.Module):
    """(motion (B, T, D) normalised, lengths (B,)) -> L2-normalised (B, E)."""

    def __init__(self, encoder: nn.Module, proj: nn.Module):
        super().__init__()
        self.encoder, self.proj = encoder, proj

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.encoder(motion, lengths)), dim=-1)


class TMRModel(nn.Module):
    kind = KIND
    motion_input = "features"

    def __init__(self, cfg: TMRConfig, text_cfg: TextEncoderConfig):
        super().__init__()
        self.cfg, self.text_cfg = cfg, text_cfg
        self.text = TokenTextEncoder(text_cfg)
        self.text_proj = nn.Linear(self.text.width, cfg.embed_dim)
        self.motion = MotionTransformer(cfg.feature_dim, cfg.width, cfg.layers, cfg.heads, cfg.dropout,
                                        cfg.max_frames)
        self.motion_proj = nn.Linear(cfg.width, cfg.embed_dim)
        self.temperature = LearnableTemperature(cfg.temperature, cfg.learn_temperature)

    # training-time encoders (captions through the frozen base's cache)
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        return F.normalize(self.text_proj(self.text.forward_texts(texts)), dim=-1)

    def encode_motion(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.motion_proj(self.motion(motion, lengths)), dim=-1)

    def encode_batch(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.as_tensor(batch["length"], device=batch["motion"].device)
        return self.encode_texts(batch["text"]), self.encode_motion(batch["motion"], lengths)

    def forward(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(text (B, E), motion (B, E), temperature) of a training batch; called through DDP when distributed."""
        text, motion = self.encode_batch(batch)
        return text, motion, self.temperature()

    # the uniform export interface
    def text_graph(self) -> nn.Module:
        return TextGraph(self.text, self.text_proj)

    def motion_graph(self) -> nn.Module:
        return FeatureMotionGraph(self.motion, self.motion_proj)

    def video_graph(self) -> None:
        return None

    def describe(self) -> dict:
        return {"model": asdict(self.cfg), "text": asdict(self.text_cfg)}


def build_tmr(meta: dict) -> TMRModel:
    """The model of a checkpoint's meta (weights loaded by the caller)."""
    return TMRModel(TMRConfig(**meta["model"]), TextEncoderConfig(**meta["text"]))
