"""Residual vector quantisation with EMA codebooks, dead-code reset and quantiser dropout.

Works on any token layout: inputs are (..., D) and every leading position is one token, so the same
module quantises a 1D sequence (B, T, D) or a 2D spatial-temporal map (B, T, J, D).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class EMACodebook(nn.Module):
    """One codebook, updated by exponential moving averages of assigned vectors (no gradient)."""

    def __init__(self, num_codes: int, dim: int, decay: float = 0.99, eps: float = 1e-5,
                 dead_threshold: float = 1.0):
        super().__init__()
        self.num_codes, self.dim, self.decay, self.eps = num_codes, dim, decay, eps
        self.dead_threshold = dead_threshold
        self.register_buffer("codes", torch.zeros(num_codes, dim))
        self.register_buffer("ema_count", torch.zeros(num_codes))
        self.register_buffer("ema_sum", torch.zeros(num_codes, dim))
        self.register_buffer("initialised", torch.tensor(False))

    def _random_rows(self, x: torch.Tensor, n: int) -> torch.Tensor:
        idx = torch.randint(0, x.shape[0], (n,), device=x.device) if x.shape[0] < n else \
            torch.randperm(x.shape[0], device=x.device)[:n]
        return x[idx]

    @torch.no_grad()
    def _init_from(self, x: torch.Tensor) -> None:
        self.codes.copy_(self._random_rows(x, self.num_codes))
        self.ema_sum.copy_(self.codes)
        self.ema_count.fill_(1.0)
        self.initialised.fill_(True)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the closest code for each row of x (N, D)."""
        dist = x.pow(2).sum(-1, keepdim=True) - 2 * x @ self.codes.t() + self.codes.pow(2).sum(-1)[None]
        return dist.argmin(dim=-1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding(indices, self.codes)

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, indices: torch.Tensor) -> None:
        onehot = F.one_hot(indices, self.num_codes).type(x.dtype)
        self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.t() @ x, alpha=1 - self.decay)
        n = self.ema_count.sum()
        count = (self.ema_count + self.eps) / (n + self.num_codes * self.eps) * n  # Laplace smoothing
        self.codes.copy_(self.ema_sum / count[:, None])
        dead = self.ema_count < self.dead_threshold
        if dead.any():  # restart unused codes on random current inputs
            fresh = self._random_rows(x, int(dead.sum()))
            self.codes[dead] = fresh
            self.ema_sum[dead] = fresh
            self.ema_count[dead] = 1.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, D) -> (quantised (N, D) without straight-through, indices (N,))."""
        if self.training and not bool(self.initialised):
            self._init_from(x.detach())
        indices = self.nearest(x.detach())
        if self.training:
            self._ema_update(x.detach(), indices)
        return self.lookup(indices), indices

    @torch.no_grad()
    def perplexity(self, indices: torch.Tensor) -> float:
        p = torch.bincount(indices.flatten(), minlength=self.num_codes).float()
        p = p / p.sum().clamp_min(1)
        return float(torch.exp(-(p * (p + 1e-10).log()).sum()))


class ResidualVQ(nn.Module):
    """A stack of EMA codebooks, each quantising the residual left by the previous ones.

    Training uses quantiser dropout (MoMask/MoGenTS, p = 0.2): with that probability a batch is
    quantised with only the first n layers, n uniform in [1, num_quantizers], so the first layers
    learn to carry most of the signal.
    """

    def __init__(self, num_quantizers: int = 6, num_codes: int = 512, dim: int = 512, decay: float = 0.99,
                 dropout_prob: float = 0.2):
        super().__init__()
        self.layers = nn.ModuleList(EMACodebook(num_codes, dim, decay) for _ in range(num_quantizers))
        self.dropout_prob = dropout_prob

    @property
    def num_quantizers(self) -> int:
        return len(self.layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (..., D) -> (quantised with straight-through gradient, indices (..., Q), commitment loss).

        Dropped layers get index -1. Always in fp32, also under bf16 autocast: nearest-code search and
        the EMA statistics are too sensitive for bf16 rounding.
        """
        with torch.autocast(x.device.type, enabled=False):
            return self._forward(x.float())

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        active = self.num_quantizers
        if self.training and self.dropout_prob > 0 and torch.rand(()) < self.dropout_prob:
            active = int(torch.randint(1, self.num_quantizers + 1, ()))
        residual = flat
        total = torch.zeros_like(flat)
        indices = torch.full((flat.shape[0], self.num_quantizers), -1, dtype=torch.long, device=x.device)
        for q, layer in enumerate(self.layers[:active]):
            codes, idx = layer(residual)
            indices[:, q] = idx
            total = total + codes
            residual = residual - codes.detach()
        commit = F.mse_loss(flat, total.detach())
        quantised = flat + (total - flat).detach()
        return quantised.reshape(shape), indices.reshape(*shape[:-1], self.num_quantizers), commit

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Indices (..., Q) for x (..., D), all layers, no codebook update."""
        x = x.float()
        shape = x.shape
        residual = x.reshape(-1, shape[-1])
        out = []
        for layer in self.layers:
            idx = layer.nearest(residual)
            residual = residual - layer.lookup(idx)
            out.append(idx)
        return torch.stack(out, dim=-1).reshape(*shape[:-1], self.num_quantizers)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Sum of the codes for indices (..., q) with q <= Q; index -1 contributes nothing."""
        total = 0
        for q in range(indices.shape[-1]):
            idx = indices[..., q]
            codes = self.layers[q].lookup(idx.clamp_min(0))
            total = total + codes * (idx >= 0).unsqueeze(-1).type(codes.dtype)
        return total
