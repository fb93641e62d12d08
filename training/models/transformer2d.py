"""The MoGenTS masked transformer over a spatial-temporal token map (frames x joints).

Tokens get a 2D sinusoidal position encoding (half the channels encode time, half the joint). The
text embedding, projected, forms an extra row of tokens in front of the first frame. Each block
applies the three attention kinds of the paper in turn:
    spatial-temporal 2D attention   every token attends to all tokens (and the text row)
    joint-spatial attention         tokens of one frame attend to each other
    joint-temporal attention        tokens of one joint attend along time (and to its text token)
The same module, with `num_joints=1`-style 1D maps, gives the 1D baseline (`attention="2d"` only).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .attention import encoder_layer


@dataclass
class Transformer2DConfig:
    num_codes: int = 256
    num_joints: int = 22          # token columns (joints or joint groups)
    max_frames: int = 64          # token rows (motion frames / 4)
    text_dim: int = 384
    dim: int = 256
    heads: int = 4
    layers: int = 4               # blocks; each holds the configured attention kinds
    ff: int = 1024
    dropout: float = 0.1
    attention: tuple[str, ...] = ("2d", "spatial", "temporal")
    cond_drop: float = 0.1        # classifier-free guidance dropout of the text
    attention_impl: str = "sdpa"  # "sdpa" (fused attention) or "reference" (nn.TransformerEncoderLayer)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["attention"] = list(self.attention)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Transformer2DConfig:
        """The inverse of `to_dict` (a checkpoint's or generator.json's "transformer" entry)."""
        d = dict(d)
        if "attention" in d:
            d["attention"] = tuple(d["attention"])
        return cls(**d)

    @property
    def mask_id(self) -> int:
        return self.num_codes

    @property
    def pad_id(self) -> int:
        return self.num_codes + 1


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = positions.float()[:, None] * freq[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def position_encoding_2d(frames: int, joints: int, dim: int) -> torch.Tensor:
    """(frames, joints, dim): the first half encodes the frame index, the second half the joint."""
    t = sinusoid(torch.arange(frames), dim // 2)
    j = sinusoid(torch.arange(joints), dim - dim // 2)
    return torch.cat([t[:, None].expand(frames, joints, -1), j[None].expand(frames, joints, -1)], dim=-1)


def _layer(cfg: Transformer2DConfig, kind: str) -> nn.Module:
    # joint-spatial and joint-temporal attention only see short sequences (J tokens, F+1 <= 50 rows)
    return encoder_layer(cfg.dim, cfg.heads, cfg.ff, cfg.dropout, cfg.attention_impl, short=kind != "2d")


class TokenMapBackbone(nn.Module):
    """Text row + 2D position encoding + blocks of the configured attention kinds, shared by the mask
    and residual transformers. Input: embedded tokens (B, F, J, D); output: hidden states (B, F, J, D)."""

    def __init__(self, cfg: Transformer2DConfig):
        super().__init__()
        self.cfg = cfg
        self.text_proj = nn.Linear(cfg.text_dim, cfg.dim)
        self.text_joint_emb = nn.Parameter(torch.zeros(cfg.num_joints, cfg.dim))
        self.null_text = nn.Parameter(torch.zeros(cfg.text_dim))
        self.register_buffer("pos", position_encoding_2d(cfg.max_frames + 1, cfg.num_joints, cfg.dim),
                             persistent=False)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({kind: _layer(cfg, kind) for kind in cfg.attention}) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, x: torch.Tensor, text: torch.Tensor, frame_valid: torch.Tensor,
                drop_text: torch.Tensor | None = None) -> torch.Tensor:
        b, f, j, d = x.shape
        if self.training and drop_text is None and self.cfg.cond_drop > 0:
            drop_text = torch.rand(b, device=x.device) < self.cfg.cond_drop
        if drop_text is not None:  # rows with drop_text use the learned null condition (CFG)
            text = torch.where(drop_text[:, None], self.null_text[None].expand_as(text), text)
        text_row = self.text_proj(text)[:, None] + self.text_joint_emb[None]
        x = torch.cat([text_row[:, None], x], dim=1) + self.pos[: f + 1][None]  # (B, F+1, J, D)
        valid = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), frame_valid], dim=1)
        pad = ~valid  # (B, F+1)
        for block in self.blocks:
            if "2d" in block:
                x = block["2d"](x.reshape(b, (f + 1) * j, d),
                                src_key_padding_mask=pad[:, :, None].expand(b, f + 1, j).reshape(b, -1))
                x = x.reshape(b, f + 1, j, d)
            if "spatial" in block:
                x = block["spatial"](x.reshape(b * (f + 1), j, d)).reshape(b, f + 1, j, d)
            if "temporal" in block:
                xt = x.permute(0, 2, 1, 3).reshape(b * j, f + 1, d)
                xt = block["temporal"](xt, src_key_padding_mask=pad[:, None].expand(b, j, f + 1).reshape(b * j, -1))
                x = xt.reshape(b, j, f + 1, d).permute(0, 2, 1, 3)
        return self.norm(x[:, 1:])


class MaskTransformer2D(nn.Module):
    """Predicts the first-quantiser token at every position of a partly masked token map."""

    def __init__(self, cfg: Transformer2DConfig):
        super().__init__()
        self.cfg = cfg
        self.token_emb = nn.Embedding(cfg.num_codes + 2, cfg.dim)
        self.backbone = TokenMapBackbone(cfg)
        self.head = nn.Linear(cfg.dim, cfg.num_codes)

    def forward(self, ids: torch.Tensor, text: torch.Tensor, frame_valid: torch.Tensor,
                drop_text: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, F, J) with mask/pad ids, text (B, text_dim), frame_valid (B, F) bool -> logits (B, F, J, K)."""
        return self.head(self.backbone(self.token_emb(ids), text, frame_valid, drop_text))


class ResidualTransformer2D(nn.Module):
    """Predicts quantiser layer q (1..Q-1) from the sum of the embeddings of layers 0..q-1 (MoMask's
    residual transformer on the 2D map): one pass per layer, no masking."""

    def __init__(self, cfg: Transformer2DConfig, num_quantizers: int):
        super().__init__()
        self.cfg = cfg
        self.num_quantizers = num_quantizers
        self.token_emb = nn.Parameter(torch.randn(num_quantizers - 1, cfg.num_codes + 1, cfg.dim) * 0.02)
        self.layer_emb = nn.Embedding(num_quantizers, cfg.dim)
        self.backbone = TokenMapBackbone(cfg)
        self.head = nn.Linear(cfg.dim, cfg.num_codes)

    def embed_below(self, ids: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
        """Sum over quantiser layers < layer[b] of their token embeddings; ids (B, F, J, Q), -1 = pad."""
        q_count = self.num_quantizers - 1
        ids = ids[..., :q_count].clamp_min(-1)
        ids = torch.where(ids < 0, torch.full_like(ids, self.cfg.num_codes), ids)  # pad row
        per_layer = torch.stack([self.token_emb[q][ids[..., q]] for q in range(q_count)], dim=-2)  # (B,F,J,Q-1,D)
        keep = torch.arange(q_count, device=ids.device)[None] < layer[:, None]  # (B, Q-1)
        return (per_layer * keep[:, None, None, :, None].type(per_layer.dtype)).sum(-2)

    def forward(self, ids: torch.Tensor, layer: torch.Tensor, text: torch.Tensor, frame_valid: torch.Tensor,
                drop_text: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, F, J, Q), layer (B,) in 1..Q-1 -> logits of that layer (B, F, J, K)."""
        x = self.embed_below(ids, layer) + self.layer_emb(layer)[:, None, None]
        return self.head(self.backbone(x, text, frame_valid, drop_text))


class LengthEstimator(nn.Module):
    """Motion length from the text embedding, as a class over length / 4 (MoMask/MoGenTS)."""

    def __init__(self, text_dim: int = 384, hidden: int = 256, classes: int = 50, dropout: float = 0.2):
        super().__init__()
        self.classes = classes
        self.net = nn.Sequential(nn.Linear(text_dim, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden // 2), nn.GELU(), nn.Linear(hidden // 2, classes))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.net(text)
