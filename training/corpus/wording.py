"""A clip's captions: whole-clip sentences and, for compositions, one time-windowed line per action."""

from __future__ import annotations

import numpy as np

from .base import Action
from .language import digits_sometimes, expand, parallel, pick_subject, progressive, sentence, sequence
from .styles import StyleMod


def verb_phrase(rng: np.random.Generator, a: Action, subj, k: int) -> str:
    """The k-th phrase choice of an action, filled; a layered action gives 'lower while upper-ing'."""
    if a.parts:
        lo, up = a.parts
        return f"{verb_phrase(rng, lo, subj, k)} while {progressive(verb_phrase(rng, up, subj, k + 1))}"
    template = a.phrases[(k + int(rng.integers(len(a.phrases)))) % len(a.phrases)]
    return expand(template, a.slots, rng, subj)


def _whole(rng: np.random.Generator, actions: list[Action], k: int, mod: StyleMod | None) -> str:
    subj = pick_subject(rng)
    if len(actions) == 1 and actions[0].parts:
        lo, up = actions[0].parts
        return parallel(rng, subj, verb_phrase(rng, lo, subj, k), verb_phrase(rng, up, subj, k), mod)
    vps = [verb_phrase(rng, a, subj, k) for a in actions]
    return sequence(rng, subj, vps, mod)


def clip_captions(
    rng: np.random.Generator,
    actions: list[Action],
    spans_s: list[tuple[float, float]],
    count: int,
    mod: StyleMod | None,
) -> tuple[list[str], list[tuple[str, float, float]]]:
    whole: list[str] = []
    for attempt in range(4 * count + 8):
        if len(whole) >= count:
            break
        text = digits_sometimes(_whole(rng, actions, attempt, mod), rng)
        if text not in whole:
            whole.append(text)
    windows: list[tuple[str, float, float]] = []
    if len(actions) > 1:
        for a, (start, end) in zip(actions, spans_s, strict=True):
            subj = pick_subject(rng)
            text = digits_sometimes(sentence(rng, subj, verb_phrase(rng, a, subj, 0), mod), rng)
            windows.append((text, round(start, 2), round(max(end, start + 0.1), 2)))
    return whole, windows
