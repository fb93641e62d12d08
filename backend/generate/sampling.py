"""Token sampling shared by the mask and residual passes: CFG mix, top-k filter, seeded Gumbel draw."""

from __future__ import annotations

import math

import numpy as np


def guided(cond: np.ndarray, uncond: np.ndarray, scale: float) -> np.ndarray:
    """Classifier-free guidance on logits: uncond + s * (cond - uncond); s = 1 is the conditional model."""
    return uncond + scale * (cond - uncond)


def top_k_filter(logits: np.ndarray, keep: float | int) -> np.ndarray:
    """Keep the k largest logits per position (k = ceil(keep * K) for a fraction), the rest -inf."""
    k_total = logits.shape[-1]
    k = int(keep) if keep >= 1 else max(1, math.ceil(keep * k_total))
    if k >= k_total:
        return logits
    kth = np.partition(logits, k_total - k, axis=-1)[..., k_total - k: k_total - k + 1]
    return np.where(logits >= kth, logits, -np.inf)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_tokens(logits: np.ndarray, temperature: float, keep: float | int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sampled ids (...) and the probability each had under the unfiltered, temperature-free softmax."""
    filtered = top_k_filter(logits, keep)
    if temperature <= 0:
        ids = filtered.argmax(-1)
    else:
        u = rng.random(filtered.shape).clip(1e-12, 1 - 1e-12)
        ids = (filtered / temperature - np.log(-np.log(u))).argmax(-1)
    probs = np.take_along_axis(softmax(logits), ids[..., None], axis=-1)[..., 0]
    return ids.astype(np.int64), probs
