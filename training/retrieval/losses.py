"""Contrastive objectives of the retrieval models.

- `symmetric_infonce`: CLIP-style symmetric cross-entropy over a batch's similarity matrix (Motion Patches,
  TMR), with TMR's negative filtering: off-diagonal pairs whose captions are near-duplicates are removed
  from the negatives instead of being pushed apart.
- `soft_targets` + `kl_alignment`: LAVIMO's alignment, the bidirectional KL between the predicted similarity
  distribution and a target built from a frozen sentence model (caption cosine kept where >= eps, else 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def similarity_logits(a: torch.Tensor, b: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / temperature


def symmetric_infonce(a: torch.Tensor, b: torch.Tensor, temperature: torch.Tensor | float,
                      exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of the a->b and b->a cross-entropies; `exclude` (B, B) bool marks off-diagonal pairs that are not
    negatives (the diagonal is always the positive)."""
    logits = similarity_logits(a, b, temperature)
    if exclude is not None:
        eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(exclude.to(logits.device) & ~eye, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def similar_captions(sentence_emb: torch.Tensor, threshold: float = 0.8) -> torch.Tensor:
    """(B, B) bool: caption pairs whose sentence-model cosine is above `threshold` (TMR's negative filter)."""
    e = F.normalize(sentence_emb, dim=-1)
    return (e @ e.T) > threshold


def soft_targets(sentence_emb: torch.Tensor, eps: float = 0.8) -> torch.Tensor:
    """(B, B) row-stochastic target: caption cosine where >= eps (diagonal = 1), else 0, rows normalised."""
    e = F.normalize(sentence_emb, dim=-1)
    sim = (e @ e.T).clamp_min(0)
    sim = torch.where(sim >= eps, sim, torch.zeros_like(sim))
    sim.fill_diagonal_(1.0)
    return sim / sim.sum(dim=1, keepdim=True)


def kl_alignment(a: torch.Tensor, b: torch.Tensor, target: torch.Tensor,
                 temperature: torch.Tensor | float) -> torch.Tensor:
    """KL(target || softmax(sim/τ)) in both directions (rows a->b and b->a); `target` is symmetric."""
    logits = similarity_logits(a, b, temperature)
    t = target.to(logits.device)
    ab = F.kl_div(F.log_softmax(logits, dim=1), t, reduction="batchmean")
    ba = F.kl_div(F.log_softmax(logits.T, dim=1), t.T / t.T.sum(dim=1, keepdim=True), reduction="batchmean")
    return 0.5 * (ab + ba)


class LearnableTemperature(torch.nn.Module):
    """τ = exp(-log_scale) clamped to [0.01, 1]; initialised at `init` (0.07 as in CLIP / Motion Patches)."""

    def __init__(self, init: float = 0.07, learn: bool = True):
        super().__init__()
        value = torch.log(torch.tensor(1.0 / init))
        self.log_scale = torch.nn.Parameter(value) if learn else torch.nn.Parameter(value, requires_grad=False)

    def forward(self) -> torch.Tensor:
        return torch.exp(-self.log_scale).clamp(0.01, 1.0)
