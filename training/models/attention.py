"""A pre-norm transformer encoder layer on `F.scaled_dot_product_attention`.

It computes what `nn.TransformerEncoderLayer(norm_first=True, activation="gelu", batch_first=True)`
computes and keeps that module's parameter names (`self_attn.in_proj_weight`, `linear1`, `norm1`, ...),
so checkpoints trained with either load into the other. What it saves: `nn.TransformerEncoderLayer`
takes its slow path in training whenever a padding mask is given (a float mask per head, softmax in
fp32, several copies), while SDPA runs a fused kernel that also accepts bf16 under autocast.

One deliberate difference: no dropout on the attention probabilities (dropout stays on the attention
output and the feed-forward branch). On this CPU, attention dropout forces SDPA off its fused kernel
and draws a random mask over every (query, key) pair: the attention then costs about 9x as much
(`python -m training.models.attention` prints the comparison).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _SelfAttention(nn.Module):
    """Holds the projections with `nn.MultiheadAttention`'s names (packed q, k, v)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)


class SDPAEncoderLayer(nn.Module):
    """`short=True` for layers that only ever see short sequences (one frame's joints, one joint's
    frames): there plain batched matmuls beat the fused CPU kernel (1.4-2x in bf16 on this CPU for 7 and
    50 tokens). The choice is made at construction so that traced/exported graphs have no shape branch."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float, short: bool = False):
        super().__init__()
        self.short = short
        self.self_attn = _SelfAttention(dim, heads)
        self.linear1 = nn.Linear(dim, ff)
        self.linear2 = nn.Linear(ff, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, src_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, D); src_key_padding_mask (B, L) bool, True where a key is padding (as PyTorch's)."""
        b, n, d = x.shape
        heads = self.self_attn.heads
        p = self.dropout if self.training else 0.0
        h = self.norm1(x)
        qkv = F.linear(h, self.self_attn.in_proj_weight, self.self_attn.in_proj_bias)
        q, k, v = qkv.view(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        keep = None if src_key_padding_mask is None else ~src_key_padding_mask[:, None, None, :]
        if self.short:
            scores = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
            if keep is not None:
                scores = scores.masked_fill(~keep, float("-inf"))
            a = scores.softmax(-1) @ v
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        x = x + F.dropout(self.self_attn.out_proj(a.transpose(1, 2).reshape(b, n, d)), p, self.training)
        h = self.linear2(F.dropout(F.gelu(self.linear1(self.norm2(x))), p, self.training))
        return x + F.dropout(h, p, self.training)


def encoder_layer(dim: int, heads: int, ff: int, dropout: float, impl: str = "sdpa",
                  short: bool = False) -> nn.Module:
    """"sdpa" (the default) or "reference" (`nn.TransformerEncoderLayer`, the path before; same weights)."""
    if impl == "sdpa":
        return SDPAEncoderLayer(dim, heads, ff, dropout, short)
    if impl == "reference":
        return nn.TransformerEncoderLayer(dim, heads, ff, dropout, activation="gelu", batch_first=True,
                                          norm_first=True)
    raise ValueError(f"unknown attention implementation {impl!r}: sdpa or reference")


def _bench() -> None:
    """Attention of the 2D map (batch 32, 50 x 7 tokens, dim 128, 4 heads) with and without dropout."""
    import time

    q = torch.randn(32, 4, 350, 32, dtype=torch.bfloat16)
    keep = torch.ones(32, 1, 1, 350, dtype=torch.bool)
    keep[..., 300:] = False
    for p in (0.0, 0.1):
        F.scaled_dot_product_attention(q, q, q, attn_mask=keep, dropout_p=p)
        t = time.perf_counter()
        for _ in range(5):
            F.scaled_dot_product_attention(q, q, q, attn_mask=keep, dropout_p=p)
        print(f"SDPA bf16, padding mask, attention dropout {p}: {(time.perf_counter() - t) / 5 * 1000:.1f} ms")


if __name__ == "__main__":
    _bench()
