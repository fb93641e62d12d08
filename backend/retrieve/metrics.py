"""Retrieval metrics (TMR protocols, REFERENCE.md §3): recall at k and median rank, both directions.

Embeddings are L2-normalised, so similarity is a dot product. Row i of the text embeddings and row i of the
motion embeddings form a pair. `positives[i, j]` True marks motion j as a correct answer for text i
(default: only j == i; the "identical captions count" variant also marks pairs with equal captions).
Ranks are 1-based and ties count in the query's favour.
"""

from __future__ import annotations

import numpy as np

RECALL_AT = (1, 2, 3, 5, 10)


def ranks(sim: np.ndarray, positives: np.ndarray | None = None) -> np.ndarray:
    """(N,) rank of each row's best-scoring positive column among all columns of `sim` (N, M)."""
    sim = np.asarray(sim, np.float64)
    if positives is None:
        if sim.shape[0] != sim.shape[1]:
            raise ValueError(f"a non-square similarity {sim.shape} needs an explicit positives mask")
        positives = np.eye(len(sim), dtype=bool)
    positives = np.asarray(positives, bool)
    if positives.shape != sim.shape or not positives.any(axis=1).all():
        raise ValueError("positives must match the similarity's shape and mark one column per row at least")
    best = np.where(positives, sim, -np.inf).max(axis=1)
    return 1 + (sim > best[:, None]).sum(axis=1)


def recall_table(rank: np.ndarray) -> dict[str, float]:
    """{'R@1': %, ..., 'R@10': %, 'MedR': median rank}."""
    rank = np.asarray(rank)
    table = {f"R@{k}": float(100.0 * np.mean(rank <= k)) for k in RECALL_AT}
    table["MedR"] = float(np.median(rank))
    return table


def retrieval_metrics(text_emb: np.ndarray, motion_emb: np.ndarray,
                      positives: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """{'t2m': table, 'm2t': table} over the whole gallery (protocol "All")."""
    text_emb, motion_emb = np.asarray(text_emb), np.asarray(motion_emb)
    if text_emb.shape != motion_emb.shape:
        raise ValueError(f"text and motion embeddings differ in shape: {text_emb.shape} vs {motion_emb.shape}")
    sim = text_emb @ motion_emb.T
    pos = np.eye(len(sim), dtype=bool) if positives is None else np.asarray(positives, bool)
    return {"t2m": recall_table(ranks(sim, pos)), "m2t": recall_table(ranks(sim.T, pos.T))}


def batched_metrics(text_emb: np.ndarray, motion_emb: np.ndarray, batch_size: int = 32, seed: int = 0,
                    positives: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Protocol "small batches": pairs shuffled (seeded) into batches of `batch_size` (the last partial one is
    dropped); each batch is its own gallery; tables averaged over batches (MedR too)."""
    n = len(text_emb)
    if n < batch_size:
        raise ValueError(f"need at least one full batch of {batch_size}, got {n} pairs")
    order = np.random.default_rng(seed).permutation(n)
    tables: list[dict[str, dict[str, float]]] = []
    for b in range(n // batch_size):
        idx = order[b * batch_size:(b + 1) * batch_size]
        pos = None if positives is None else np.asarray(positives, bool)[np.ix_(idx, idx)]
        tables.append(retrieval_metrics(np.asarray(text_emb)[idx], np.asarray(motion_emb)[idx], pos))
    return {d: {k: float(np.mean([t[d][k] for t in tables])) for k in tables[0][d]} for d in ("t2m", "m2t")}


# --- which gallery items count as hits (positives masks for `ranks`) ---------------------------------------

def normalize_caption(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: "A person walks." == "a person walks"."""
    kept = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower())
    return " ".join(kept.split())


def same_caption_positives(captions: list[str]) -> np.ndarray:
    """(N, N) True where two pairs have the same normalised caption (the diagonal included): Motion Patches'
    variant, where a clip and its mirrored copy or two clips described alike are both right answers."""
    keys = [normalize_caption(c) for c in captions]
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    ids = np.array([index[k] for k in keys])
    return ids[:, None] == ids[None, :]


def threshold_positives(caption_sim: np.ndarray, threshold: float) -> np.ndarray:
    """(N, N) True where the captions' similarity is >= `threshold`; the true pair (diagonal) always counts."""
    caption_sim = np.asarray(caption_sim)
    if caption_sim.ndim != 2 or caption_sim.shape[0] != caption_sim.shape[1]:
        raise ValueError(f"caption similarity must be a square matrix, got shape {caption_sim.shape}")
    return (caption_sim >= threshold) | np.eye(len(caption_sim), dtype=bool)
