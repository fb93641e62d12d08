"""Text-to-motion metrics on evaluator embeddings (numpy only), following Guo et al.'s protocol.

All distances are Euclidean. The project's evaluator returns L2-normalised embeddings, so distances lie
in [0, 2] and the numbers are not on the scale of the published HumanML3D tables (Guo et al.'s evaluator
is unnormalised); compare methods against the real-motion row of the same evaluator instead.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) distances between the rows of a (N, D) and b (M, D)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sq = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.sqrt(np.maximum(sq, 0.0))  # clamp tiny negatives from cancellation


def r_precision(text_emb: np.ndarray, motion_emb: np.ndarray, top_k: int = 3, batch_size: int = 32) -> np.ndarray:
    """Top-1..top_k accuracy of ranking each text against the motions of its batch (consecutive rows).

    The last partial batch is dropped, as in the reference protocol. Ties count in the text's favour
    (rank = number of motions strictly closer than its own), so identical embeddings score 1.0.
    """
    text_emb, motion_emb = np.asarray(text_emb), np.asarray(motion_emb)
    if text_emb.shape != motion_emb.shape:
        raise ValueError(f"text and motion embeddings differ in shape: {text_emb.shape} vs {motion_emb.shape}")
    batches = len(text_emb) // batch_size
    if batches == 0:
        raise ValueError(f"need at least one full batch of {batch_size}, got {len(text_emb)} rows")
    hits = np.zeros(top_k)
    for b in range(batches):
        sl = slice(b * batch_size, (b + 1) * batch_size)
        dist = euclidean_distance_matrix(text_emb[sl], motion_emb[sl])
        rank = (dist < np.diag(dist)[:, None]).sum(1)
        hits += (rank[:, None] < np.arange(1, top_k + 1)[None, :]).sum(0)
    return hits / (batches * batch_size)


def matching_score(text_emb: np.ndarray, motion_emb: np.ndarray) -> float:
    """MM-Dist: mean distance between each text and its own motion."""
    diff = np.asarray(text_emb, dtype=np.float64) - np.asarray(motion_emb, dtype=np.float64)
    return float(np.linalg.norm(diff, axis=1).mean())


def activation_stats(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of embeddings (N, D), N >= 2."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2 or len(emb) < 2:
        raise ValueError(f"need at least 2 embeddings of shape (N, D), got {emb.shape}")
    return emb.mean(0), np.cov(emb, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) between two Gaussians."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched shapes: mu {mu1.shape}/{mu2.shape}, sigma {s1.shape}/{s2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        # singular product (fewer samples than dimensions): regularise both sides a little
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        # sqrtm of a near-singular PSD product picks up round-off imaginary parts; large ones mean trouble
        imag = np.abs(covmean.imag).max()
        if imag > 1e-3 * max(1.0, np.abs(covmean.real).max()):
            warnings.warn(f"frechet_distance: sqrtm has an imaginary part of {imag:.3g}", stacklevel=2)
        covmean = covmean.real
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def fid_from_embeddings(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two sets of embeddings."""
    return frechet_distance(*activation_stats(a), *activation_stats(b))


def diversity(emb: np.ndarray, pairs: int = 300, rng: np.random.Generator | None = None) -> float:
    """Mean distance between `pairs` random pairs of embeddings (two draws without replacement)."""
    emb = np.asarray(emb, dtype=np.float64)
    if len(emb) < 2:
        raise ValueError(f"diversity needs at least 2 embeddings, got {len(emb)}")
    rng = rng if rng is not None else np.random.default_rng(0)
    n = min(pairs, len(emb))
    first = rng.choice(len(emb), n, replace=False)
    second = rng.choice(len(emb), n, replace=False)
    return float(np.linalg.norm(emb[first] - emb[second], axis=1).mean())


def multimodality(emb: np.ndarray, pairs: int = 10, rng: np.random.Generator | None = None) -> float:
    """Mean distance between pairs of generations of the same text; emb is (texts, repeats, D)."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 3 or emb.shape[1] < 2:
        raise ValueError(f"multimodality needs embeddings of shape (texts, repeats >= 2, D), got {emb.shape}")
    rng = rng if rng is not None else np.random.default_rng(0)
    n = min(pairs, emb.shape[1])
    first = rng.choice(emb.shape[1], n, replace=False)
    second = rng.choice(emb.shape[1], n, replace=False)
    return float(np.linalg.norm(emb[:, first] - emb[:, second], axis=-1).mean())


def mean_and_interval(values) -> tuple[float, float]:
    """Mean and the 95% half-width 1.96 * std / sqrt(n) over repeats (std with ddof=0, as the reference)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("no values to aggregate")
    return float(v.mean()), float(1.96 * v.std() / np.sqrt(v.size))


def mpjpe(pred_joints: np.ndarray, true_joints: np.ndarray, root_aligned: bool = True,
          scale: float = 1000.0) -> float:
    """Mean per-joint position error over (..., J, 3) arrays; `scale` converts to mm (1000 for metres).

    Root alignment subtracts joint 0 per frame from both, so trajectory drift is not counted.
    """
    pred = np.asarray(pred_joints, dtype=np.float64)
    true = np.asarray(true_joints, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(f"joint arrays must share a (..., J, 3) shape, got {pred.shape} and {true.shape}")
    if root_aligned:
        pred = pred - pred[..., :1, :]
        true = true - true[..., :1, :]
    return float(np.linalg.norm(pred - true, axis=-1).mean() * scale)
