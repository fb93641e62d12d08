"""Batching of dataset items (dicts) into dicts of tensors and lists."""

from __future__ import annotations

import numpy as np
import torch


def collate(batch: list[dict]) -> dict:
    """Stack tensors, turn ints into a long tensor, keep strings and token lists as Python lists."""
    if not batch:
        raise ValueError("cannot collate an empty batch")
    out = {}
    for key in batch[0]:
        values = [item[key] for item in batch]
        first = values[0]
        if isinstance(first, torch.Tensor):
            out[key] = torch.stack(values)
        elif isinstance(first, np.ndarray):
            out[key] = torch.from_numpy(np.stack(values))
        elif isinstance(first, int | np.integer) and not isinstance(first, bool):
            out[key] = torch.tensor(values, dtype=torch.long)
        else:
            out[key] = values
    return out


def trim_to_longest(batch: dict, key: str = "motion") -> dict:
    """Cut the padded time axis of `motion` and `mask` to the longest `length` in the batch."""
    longest = int(batch["length"].max())
    out = dict(batch)
    out[key] = batch[key][:, :longest]
    if "mask" in batch:
        out["mask"] = batch["mask"][:, :longest]
    return out
