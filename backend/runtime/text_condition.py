"""The text condition the transformers read: the sentence embedding, optionally with a side code.

A pooled sentence embedding barely separates "turns left" from "turns right" (MiniLM cosine up to 0.98), and
a transformer trained on it learned one preferred side per action. The "sentence+side" condition appends a
side code: the unit direction from the embedding of the prompt with its sides swapped (left <-> right,
clockwise <-> counterclockwise, `mirror_caption`) to the prompt's own embedding. It is zero for a prompt
without side words and exactly negated for the mirrored prompt, so the model reads side from one clear
signal, and the mirror-symmetric corpus teaches what its sign means.

Every graph reads the leading columns it was trained on (`fit`): the sentence part comes first, so a length
estimator or a transformer trained on the plain sentence takes the same condition array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from backend.motion.mirror import mirror_caption

SENTENCE = "sentence"
SENTENCE_SIDE = "sentence+side"
KINDS = (SENTENCE, SENTENCE_SIDE)


def condition_dim(kind: str, sentence_dim: int) -> int:
    check_kind(kind)
    return sentence_dim * (2 if kind == SENTENCE_SIDE else 1)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown text condition {kind!r}: one of {', '.join(KINDS)}")
    return kind


def side_code(sentence: np.ndarray, mirrored: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Unit vectors along sentence - mirrored (rows), zero where the two embeddings agree."""
    diff = np.asarray(sentence, np.float32) - np.asarray(mirrored, np.float32)
    norm = np.linalg.norm(diff, axis=-1, keepdims=True)
    return np.where(norm > eps, diff / np.maximum(norm, eps), 0.0).astype(np.float32)


def text_condition(encode: Callable[[list[str]], np.ndarray], prompts: Sequence[str],
                   kind: str = SENTENCE) -> np.ndarray:
    """(B, condition_dim) float32 for `prompts`, given `encode` (texts -> (B, D) sentence embeddings)."""
    prompts = list(prompts)
    sentence = np.asarray(encode(prompts), np.float32)
    if check_kind(kind) == SENTENCE:
        return sentence
    mirrored_texts = [mirror_caption(p) for p in prompts]
    changed = [i for i, (p, m) in enumerate(zip(prompts, mirrored_texts, strict=True)) if m != p]
    mirrored = sentence.copy()
    if changed:  # prompts without side words need no second encoding: their code is zero
        mirrored[changed] = np.asarray(encode([mirrored_texts[i] for i in changed]), np.float32)
    return np.concatenate([sentence, side_code(sentence, mirrored)], axis=-1)


def fit(condition: np.ndarray, dim: int) -> np.ndarray:
    """The leading `dim` columns a graph was trained on (the sentence part comes first)."""
    if condition.shape[-1] < dim:
        raise ValueError(f"a text condition of {condition.shape[-1]} columns cannot feed a graph that reads {dim}")
    return condition[..., :dim]
