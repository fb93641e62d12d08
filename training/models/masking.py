"""Training-time masking for the 2D token map: temporal (whole frames) then spatial (single joints).

The mask ratio follows the cosine schedule gamma = cos(pi * u / 2), u ~ U(0, 1). For each sample, a
gamma share of its valid frames is masked entirely; in the remaining frames a gamma share of the
single tokens is masked. The chosen positions are corrupted with the BERT scheme: 80% become [MASK],
10% a random token, 10% stay as they are. The loss is taken on all chosen positions.
"""

from __future__ import annotations

import math

import torch


def cosine_ratio(u: torch.Tensor) -> torch.Tensor:
    return torch.cos(math.pi * u / 2)


def sample_mask(lengths: torch.Tensor, frames: int, joints: int, generator: torch.Generator | None = None,
                ratio: torch.Tensor | None = None, spatial: bool = True) -> torch.Tensor:
    """Boolean (B, frames, joints) mask of positions to predict; frames >= lengths[b] are never chosen.

    `spatial=False` masks whole frames only (the 1D baseline's plain temporal masking)."""
    b = lengths.shape[0]
    device = lengths.device
    if ratio is None:
        ratio = cosine_ratio(torch.rand(b, generator=generator, device=device))
    valid = torch.arange(frames, device=device)[None] < lengths[:, None]  # (B, F)
    mask = torch.zeros(b, frames, joints, dtype=torch.bool, device=device)
    for i in range(b):
        n = int(lengths[i])
        n_frames = int(round(n * float(ratio[i])))
        order = torch.randperm(n, generator=generator, device=device)
        whole = order[:n_frames]
        mask[i, whole] = True
        rest = order[n_frames:]
        if len(rest) and spatial:
            n_tokens = int(round(len(rest) * joints * float(ratio[i])))
            flat = torch.randperm(len(rest) * joints, generator=generator, device=device)[:n_tokens]
            mask[i, rest[flat // joints], flat % joints] = True
    # Guarantee at least one target per sample so the loss is defined.
    empty = ~mask.flatten(1).any(1)
    for i in torch.nonzero(empty).flatten().tolist():
        t = int(torch.randint(0, max(int(lengths[i]), 1), (1,), generator=generator, device=device))
        j = int(torch.randint(0, joints, (1,), generator=generator, device=device))
        mask[i, t, j] = True
    return mask & valid[..., None]


def bert_corrupt(ids: torch.Tensor, mask: torch.Tensor, mask_id: int, num_codes: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace chosen positions: 80% -> mask_id, 10% -> random code, 10% unchanged."""
    r = torch.rand(ids.shape, generator=generator, device=ids.device)
    random_codes = torch.randint(0, num_codes, ids.shape, generator=generator, device=ids.device)
    out = ids.clone()
    out[mask & (r < 0.8)] = mask_id
    swap = mask & (r >= 0.8) & (r < 0.9)
    out[swap] = random_codes[swap]
    return out
