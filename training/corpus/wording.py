"""A clip's captions: whole-clip sentences and, for compositions, one time-windowed line per action."""

from __future__ import annotations

import numpy as np

from .base import Action
from .language import digits_sometimes, expand, parallel, pick_subject, progressive, sentence, sequence
from .lexicon import FAST, MANNER, PURPOSE, SLOW, STRAIGHT, TRAVEL, names_speed, scene, synonyms
from .styles import StyleMod

FAST_TEMPO = 1.1  # the performer's tempo (Style.tempo, after the modifier) from which "briskly" is true
SLOW_TEMPO = 0.88


def _subject(text: str, subj) -> str:
    return text.replace("{pos}", subj[1]).replace("{refl}", subj[2]).replace("{pron}", subj[3])


def verb_phrase(rng: np.random.Generator, a: Action, subj, k: int) -> str:
    """The k-th phrase choice of an action, filled; a layered action gives 'lower while upper-ing'."""
    if a.parts:
        lo, up = a.parts
        return f"{verb_phrase(rng, lo, subj, k)} while {progressive(verb_phrase(rng, up, subj, k + 1))}"
    template = a.phrases[(k + int(rng.integers(len(a.phrases)))) % len(a.phrases)]
    return _subject(synonyms(expand(template, a.slots, rng, subj), rng), subj)


def _whole(rng: np.random.Generator, actions: list[Action], k: int, mod: StyleMod | None) -> str:
    subj = pick_subject(rng)
    if len(actions) == 1 and actions[0].parts:
        lo, up = actions[0].parts
        return parallel(rng, subj, verb_phrase(rng, lo, subj, k), verb_phrase(rng, up, subj, k), mod)
    vps = [verb_phrase(rng, a, subj, k) for a in actions]
    return sequence(rng, subj, vps, mod)


def tempo_words(tempo: float | None) -> tuple[str, ...]:
    """Words the performer's tempo makes true (none in the middle of the range)."""
    if tempo is None:
        return ()
    return FAST if tempo >= FAST_TEMPO else SLOW if tempo <= SLOW_TEMPO else ()


def decorate(rng: np.random.Generator, text: str, mod: StyleMod | None, tempo: float | None,
             single: tuple[str, str] | None = None) -> str:
    """Add a tempo word (from the measured tempo, only where the caption names no speed), a manner word
    (only without a style modifier), a scene, or for a clip of one action (`single`: family, group) a
    purpose or a route, to a finished sentence."""
    if not text.endswith("."):
        return text
    body = text[:-1]
    if single is not None and mod is None:
        fam, group = single
        r = rng.random()
        if fam in STRAIGHT and r < 0.2:
            return f"{body} {TRAVEL[int(rng.integers(len(TRAVEL)))]}."
        if group in PURPOSE and r > 0.78:
            opts = PURPOSE[group]
            return f"{body} {opts[int(rng.integers(len(opts)))]}."
    tw = tempo_words(tempo)
    r = rng.random()
    if tw and r < 0.3 and not names_speed(body):
        return f"{body} {tw[int(rng.integers(len(tw)))]}."
    if mod is None and r < 0.42 and not tw and not names_speed(body) and " while " not in body:
        return f"{body} {MANNER[int(rng.integers(len(MANNER)))]}."
    if r > 0.8:
        return f"{body} {scene(rng)}."
    return text


def clip_captions(
    rng: np.random.Generator,
    actions: list[Action],
    spans_s: list[tuple[float, float]],
    count: int,
    mod: StyleMod | None,
    tempo: float | None = None,
    single: tuple[str, str] | None = None,
) -> tuple[list[str], list[tuple[str, float, float]]]:
    """`tempo`: the performer's tempo where it alone sets the clip's speed (None where an action's own
    parameters do, e.g. a walk's speed)."""
    whole: list[str] = []
    for attempt in range(4 * count + 8):
        if len(whole) >= count:
            break
        text = digits_sometimes(decorate(rng, _whole(rng, actions, attempt, mod), mod, tempo, single), rng)
        if text not in whole:
            whole.append(text)
    windows: list[tuple[str, float, float]] = []
    if len(actions) > 1:
        for a, (start, end) in zip(actions, spans_s, strict=True):
            subj = pick_subject(rng)
            text = digits_sometimes(decorate(rng, sentence(rng, subj, verb_phrase(rng, a, subj, 0), mod), mod,
                                             tempo), rng)
            windows.append((text, round(start, 2), round(max(end, start + 0.1), 2)))
    return whole, windows
