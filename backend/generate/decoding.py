"""Iterative masked decoding of the token map (MaskGIT / MoMask scheme on MoGenTS's 2D map).

All editable positions start as [MASK]. At step s of S, the model predicts every masked position; the
new tokens are accepted, then the least confident of the tokens predicted at this step are masked again
so that a cos(pi/2 * (s+1)/S) share of the editable positions stays masked; the last step leaves none.
Known positions (editing, completion) are never masked or changed, and the model sees them as context.
Residual quantiser layers are then predicted one pass each. Everything is seeded by a numpy Generator,
so the same seed gives the same tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..runtime.base import GeneratorInfo, GeneratorRuntime
from .sampling import guided, sample_tokens


@dataclass(frozen=True)
class DecodeOptions:
    steps: int | None = None     # None: the model's recommended count (GeneratorInfo.decode_steps)
    cfg_scale: float | None = None  # None: the model's recommended scale (GeneratorInfo.decode_cfg)
    residual_cfg_scale: float = 5.0
    temperature: float = 1.0
    top_k: float = 0.1           # fraction of the codebook kept (or an absolute count >= 1)
    residual_temperature: float = 1.0
    residual_top_k: float = 0.1

    def resolved(self, info: GeneratorInfo) -> DecodeOptions:
        """These options with the model's step count and guidance scale filled in where none was asked for."""
        return replace(self, steps=info.decode_steps if self.steps is None else self.steps,
                       cfg_scale=info.decode_cfg if self.cfg_scale is None else self.cfg_scale)

    def checked(self) -> DecodeOptions:
        if self.steps is not None and not 1 <= self.steps <= 100:
            raise ValueError(f"steps must be in 1..100, got {self.steps}")
        if (self.cfg_scale is not None and not 0 <= self.cfg_scale <= 30) or not 0 <= self.residual_cfg_scale <= 30:
            raise ValueError("cfg scale must be in 0..30")
        if not 0 <= self.temperature <= 10 or self.top_k <= 0:
            raise ValueError("temperature must be in 0..10 and top_k positive")
        return self


Progress = Callable[[str, int, int], None]


class RowGroupRandom:
    """Random draws for a batch made of several requests, each drawing from its own generator.

    Decoding asks for uniform numbers shaped like the batch, (rows, ...); each request's generator fills its
    own rows with exactly the draw it would make alone, so a request gives the same motion whether it is
    decoded alone or batched with others (as long as the trailing shape, i.e. the padded length, is the same).
    """

    def __init__(self, groups: list[tuple[np.random.Generator, int]]):
        self.groups = groups

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        if shape[0] != sum(n for _, n in self.groups):
            raise ValueError(f"batch of {shape[0]} rows, random groups cover {sum(n for _, n in self.groups)}")
        return np.concatenate([g.random((n, *shape[1:])) for g, n in self.groups])


RandomSource = np.random.Generator | RowGroupRandom


def _cfg_call(fn, scale: float, args: tuple, text: np.ndarray, frame_valid: np.ndarray) -> np.ndarray:
    """One batched call with conditional and unconditional rows, mixed by CFG."""
    b = text.shape[0]
    if scale == 1.0:
        return fn(*args, text, frame_valid, np.zeros(b, bool))
    doubled = tuple(np.concatenate([a, a]) for a in args)
    logits = fn(*doubled, np.concatenate([text, text]), np.concatenate([frame_valid, frame_valid]),
                np.concatenate([np.zeros(b, bool), np.ones(b, bool)]))
    return guided(logits[:b], logits[b:], scale)


def decode_base(runtime: GeneratorRuntime, text: np.ndarray, token_lengths: np.ndarray, opts: DecodeOptions,
                rng: RandomSource, known: np.ndarray | None = None, editable: np.ndarray | None = None,
                progress: Progress | None = None) -> np.ndarray:
    """First-layer ids (B, F, J): F = max token length; positions past each length hold pad_id.

    `known` (B, F, J) ids and `editable` (B, F, J) bool restrict generation to the editable positions.
    """
    info = runtime.info
    opts = opts.resolved(info)
    b, f, j = len(token_lengths), int(token_lengths.max()), info.columns
    frame_valid = np.arange(f)[None] < token_lengths[:, None]
    if editable is None:
        editable = np.ones((b, f, j), bool)
    editable = editable & frame_valid[..., None]
    ids = np.where(editable, info.mask_id, known if known is not None else info.mask_id)
    ids = np.where(frame_valid[..., None], ids, info.pad_id).astype(np.int64)
    total = editable.reshape(b, -1).sum(1)
    scores = np.where(editable, 0.0, np.inf).reshape(b, -1)  # only editable positions can be re-masked
    for step in range(opts.steps):
        logits = _cfg_call(runtime.mask_logits, opts.cfg_scale, (ids,), text, frame_valid)
        is_mask = ids == info.mask_id
        sampled, probs = sample_tokens(logits, opts.temperature, opts.top_k, rng)
        ids = np.where(is_mask, sampled, ids)
        scores = np.where(is_mask.reshape(b, -1), probs.reshape(b, -1), np.inf)
        if step + 1 < opts.steps:
            remask = np.floor(total * math.cos(math.pi / 2 * (step + 1) / opts.steps)).astype(int)
            order = np.argsort(scores, axis=1, kind="stable")
            ranks = np.argsort(order, axis=1, kind="stable")
            again = (ranks < remask[:, None]).reshape(b, f, j)
            ids = np.where(again, info.mask_id, ids)
        if progress is not None:
            progress("decode", step + 1, opts.steps)
    return ids


def decode_residual(runtime: GeneratorRuntime, base: np.ndarray, text: np.ndarray, token_lengths: np.ndarray,
                    opts: DecodeOptions, rng: RandomSource, known: np.ndarray | None = None,
                    editable: np.ndarray | None = None, progress: Progress | None = None,
                    use_residual: bool = True) -> np.ndarray:
    """All quantiser layers (B, F, J, Q): layer 0 = base; layers 1.. predicted (known where not editable).

    Without a residual model (or `use_residual=False`), layers 1.. are -1 (contribute nothing).
    """
    info = runtime.info
    b, f, j = base.shape
    q_count = info.num_quantizers
    frame_valid = np.arange(f)[None] < token_lengths[:, None]
    ids = np.full((b, f, j, q_count), -1, np.int64)
    ids[..., 0] = np.where(frame_valid[..., None], base, 0)
    if known is not None and editable is not None:
        ids = np.where(editable[..., None], ids, known)
    if not use_residual or not getattr(runtime, "has_residual", True):
        return ids
    for q in range(1, q_count):
        layer = np.full(b, q, np.int64)
        logits = _cfg_call(runtime.residual_logits, opts.residual_cfg_scale, (ids, layer), text, frame_valid)
        sampled, _ = sample_tokens(logits, opts.residual_temperature, opts.residual_top_k, rng)
        new = np.where(frame_valid[..., None], sampled, 0)
        if known is not None and editable is not None:
            new = np.where(editable, new, known[..., q])
        ids[..., q] = new
        if progress is not None:
            progress("residual", q, q_count - 1)
    return ids


def decode_features(runtime: GeneratorRuntime, ids: np.ndarray, token_lengths: np.ndarray) -> list[np.ndarray]:
    """Raw (denormalised) features per sample, each decoded at its own length (no padding leaks in)."""
    info = runtime.info
    out: list[np.ndarray | None] = [None] * len(token_lengths)
    for n in sorted(set(int(x) for x in token_lengths)):
        rows = [i for i, x in enumerate(token_lengths) if int(x) == n]
        feats = runtime.decode_motion(np.ascontiguousarray(ids[rows, :n]))
        for k, i in enumerate(rows):
            out[i] = info.denormalize(feats[k])
    return out  # type: ignore[return-value]


def decode_motion_features(runtime: GeneratorRuntime, text: np.ndarray, token_lengths: np.ndarray,
                           opts: DecodeOptions, rng: RandomSource, known: np.ndarray | None = None,
                           editable: np.ndarray | None = None, progress: Progress | None = None) -> list[np.ndarray]:
    """The whole chain: first layer, residual layers, raw features per sample (`known` is (B, F, J, Q))."""
    base = decode_base(runtime, text, token_lengths, opts, rng, None if known is None else known[..., 0], editable,
                       progress)
    ids = decode_residual(runtime, base, text, token_lengths, opts, rng, known, editable, progress)
    return decode_features(runtime, ids, token_lengths)
