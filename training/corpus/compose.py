"""A clip: one action, an upper-body action layered over a lower-body one, or a composition of 2-4
actions, placed in the world, padded with standing, plus variation and an optional style modifier.

Consecutive actions blend: the next action starts where (and facing where) the previous one stopped,
and the two overlap for up to ~0.8 s, the overlap adding the next action's motion onto the end of the
previous one (channels add as deviations from the junction pose), so arms that come down from one
action are already rising into the next rather than passing through the standing pose. The overlap is
only as long as each foot is still in one of the two actions, so footprints stay where they were put.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .base import Action, Ctx
from .body import sample_body, sample_style
from .controls import Controls, concat, to_world
from .curves import FPS
from .fastrot import qfrom_yaw, qrot
from .layer import overlay
from .registry import FAMILIES
from .rig import render
from .styles import StyleMod, apply_mod, sample_mod
from .variation import add_life
from .wording import clip_captions

MIN_FRAMES = 41  # features keep T - 1 >= 40 frames
MAX_FRAMES = 197  # features keep T - 1 <= 196 frames
KIND_P = {"single": 0.42, "layered": 0.2, "sequence": 0.38}
TURN_FIRST_P = 0.3  # a single action or a sequence step is preceded by a turn ("turns left, then waves")
TURNS = ("turn_in_place", "walk_arc", "spin")
N_SEQ_P = (0.55, 0.3, 0.15)  # 2, 3 or 4 actions
MAX_BLEND = 16  # frames
SOLO = {"stairs_up", "stairs_down"}  # end (or start) off the floor level: never chained
QUIET_M = 0.002  # an ankle counts as still when it stays this close to its end (start) position


@dataclass
class Clip:
    joints: np.ndarray
    captions: list[str]  # whole-clip captions
    actions: list[Action]
    spans: list[tuple[int, int]] = field(default_factory=list)  # frame range of each action
    windows: list[tuple[str, float, float]] = field(default_factory=list)  # (caption, start s, end s)
    mod: StyleMod | None = None
    tempo: float | None = None  # the performer's tempo where it alone sets the speed (tempo words are true of it)

    @property
    def families(self) -> list[str]:
        out = []
        for a in self.actions:
            out += [p.family for p in a.parts] if a.parts else [a.family]
        return out

    @property
    def layered(self) -> bool:
        return any(a.parts for a in self.actions)


def _families(actions: list[Action]) -> list[str]:
    out = []
    for a in actions:
        out += [p.family for p in a.parts] if a.parts else [a.family]
    return out


def _single(actions: list[Action]) -> tuple[str, str] | None:
    fams = _families(actions)
    return (fams[0], FAMILIES[fams[0]].group) if len(fams) == 1 else None


def _sample_family(ctx: Ctx, exclude: set[str], need: str | None = None) -> str:
    names = [n for n in FAMILIES if n not in exclude and (need is None or getattr(FAMILIES[n], need))]
    w = np.array([FAMILIES[n].weight for n in names])
    return names[int(ctx.rng.choice(len(names), p=w / w.sum()))]


def make_layered(ctx: Ctx, lower: str | None = None, upper: str | None = None) -> Action | None:
    for _ in range(4):
        up = FAMILIES[upper or _sample_family(ctx, set(), "upper")].make(ctx)
        for _ in range(3):
            lo = FAMILIES[lower or _sample_family(ctx, set(), "base")].make(ctx)
            if lo.frames <= MAX_FRAMES - 2:
                act = overlay(ctx, lo, up)
                if act is not None:
                    return act
    return None


def plan_actions(ctx: Ctx, families: list[str] | None = None, kind: str | None = None) -> list[Action]:
    """Draw actions (or make the given families) whose total length fits a clip."""
    if families is not None:
        return [FAMILIES[f].make(ctx) for f in families]
    kind = kind or str(ctx.rng.choice(list(KIND_P), p=list(KIND_P.values())))
    if kind == "layered":
        act = make_layered(ctx)
        if act is not None:
            return [act]
        kind = "single"
    count = 1 if kind == "single" else int(ctx.rng.choice(3, p=N_SEQ_P)) + 2
    actions: list[Action] = []
    used = 0
    if ctx.rng.random() < TURN_FIRST_P and count < 4:  # turn, then act: more heading change, as in real data
        turn = FAMILIES["turn_in_place"].make(ctx)
        if turn.frames < 70:
            actions.append(turn)
            used += turn.frames - 1
    for i in range(count):
        for _attempt in range(5):
            exclude = {a.family for a in actions}
            if count > 1 or actions:
                exclude |= SOLO
            if actions and actions[-1].family in TURNS:
                exclude |= set(TURNS)
            if actions and i < count - 1:  # standing still ends a sequence ("..., then stands still") or opens it
                exclude.add("idle")
            if kind == "sequence" and i > 0 and ctx.rng.random() < 0.15:
                action = make_layered(ctx)
                if action is None:
                    continue
            else:
                action = FAMILIES[_sample_family(ctx, exclude)].make(ctx)
            if used + action.frames - 1 <= MAX_FRAMES - 2 + MAX_BLEND * len(actions):
                actions.append(action)
                used += action.frames - 1
                break
        else:
            break
    if not actions:  # every draw was too long: a short standing clip still tells the truth
        actions.append(FAMILIES["idle"].make(ctx))
    return actions


def _quiet(ankles: np.ndarray, from_end: bool) -> np.ndarray:
    """(2,) frames at the end (or start) over which each ankle stays put."""
    a = ankles[::-1] if from_end else ankles
    d = np.linalg.norm(a - a[:1], axis=-1) > QUIET_M  # (T, 2)
    return np.array([int(np.argmax(d[:, s])) if d[:, s].any() else len(a) for s in (0, 1)])


def _blend_frames(ctx: Ctx, a: Controls, b: Controls) -> int:
    qa, qb = _quiet(a.ankle, True), _quiet(b.ankle, False)
    allowed = int(min(max(qa[0], qb[0]), max(qa[1], qb[1])))
    cap = int(ctx.rng.integers(6, MAX_BLEND + 1))
    return max(0, min(allowed, cap, a.frames // 2, b.frames // 2))


def _join(prev: Controls, nxt: Controls, k: int) -> Controls:
    """prev followed by nxt, overlapping k frames in which nxt's motion adds onto prev's end."""
    if k <= 0:
        return concat([prev, Controls(**{f.name: getattr(nxt, f.name)[1:] for f in fields(Controls)})])
    parts = {}
    for f in fields(Controls):
        p, n = getattr(prev, f.name), getattr(nxt, f.name)
        over = p[-k:] + (n[:k] - n[:1])
        parts[f.name] = np.concatenate([p[:-k], over, n[k:]], axis=0)
    return Controls(**parts)


def _floor_under(c: Controls, frame: int) -> float:
    """Height of the floor under the feet at `frame`: the lower ankle target (standing ankles sit at the same
    height above whatever floor they stand on)."""
    return float(c.ankle[frame, :, 1].min())


def _lift(c: Controls, dy: float) -> None:
    c.root[:, 1] += dy
    c.ankle[..., 1] += dy


def assemble(ctx: Ctx, actions: list[Action]) -> tuple[Controls, list[tuple[int, int]]]:
    pos, yaw = np.zeros(2), 0.0
    total_est = sum(a.frames - 1 for a in actions) + 1
    need = max(MIN_FRAMES - total_est, 0)
    lead = int(ctx.rng.integers(0, 6)) + need // 2 + need % 2
    c = ctx.neutral(max(lead, 1))
    spans = []
    for a in actions:
        w = to_world(a.controls, pos, yaw)
        if not spans:  # stand on the floor the first action starts from (the top of a staircase going down)
            _lift(c, _floor_under(w, 0) - _floor_under(c, -1))
        k = _blend_frames(ctx, c, w) if spans else 0
        start = c.frames - k if spans else c.frames - 1
        c = _join(c, w, k if spans else 1)
        spans.append((start, start + w.frames))
        step = qrot(qfrom_yaw(np.array(yaw)), np.array([a.end_pos[0], 0.0, a.end_pos[1]]))
        pos = pos + step[[0, 2]]
        yaw += a.end_yaw
    spare = MAX_FRAMES - c.frames
    tail = min(int(ctx.rng.integers(0, 6)) + max(MIN_FRAMES - c.frames, 0), max(spare, 0))
    if tail:  # stand still where the last action ended, on the floor it ended on (the top of the stairs)
        rest = to_world(ctx.neutral(tail + 1), pos, yaw)
        _lift(rest, _floor_under(c, -1) - _floor_under(rest, 0))
        c = _join(c, rest, 0)
    if c.frames > MAX_FRAMES:  # the lead-in standing is the first to go
        cut = c.frames - MAX_FRAMES
        c = Controls(**{f.name: getattr(c, f.name)[cut:] for f in fields(Controls)})
        spans = [(max(s - cut, 0), e - cut) for s, e in spans]
    return c, spans


def make_clip(
    rng: np.random.Generator,
    families: list[str] | None = None,
    n_captions: int | None = None,
    kind: str | None = None,
    mod: StyleMod | str | None = None,
) -> Clip:
    """A clip; `families` forces the actions (no modifier unless `mod` is given), else all is drawn."""
    body, style = sample_body(rng), sample_style(rng)
    if isinstance(mod, str):
        from .styles import MODS

        mod = MODS[mod]
    if mod is None and families is None:
        mod = sample_mod(rng)
    ctx = Ctx(body, apply_mod(style, mod), rng, mod)
    actions = plan_actions(ctx, families, kind)
    controls, spans = assemble(ctx, actions)
    if mod is not None:
        controls.root[:, 1] -= mod.crouch
    add_life(controls, ctx.style, rng)
    joints = render(controls, ctx.body)
    count = n_captions or int(rng.choice([3, 4, 5], p=[0.5, 0.35, 0.15]))
    own_speed = any(FAMILIES[f].group in ("locomotion", "jump") or f == "spin" for f in _families(actions))
    tempo = None if own_speed else ctx.style.tempo
    whole, windows = clip_captions(rng, actions, [(s / FPS, (e - 1) / FPS) for s, e in spans], count, mod,
                                   tempo, _single(actions))
    return Clip(joints, whole, actions, spans, windows, mod, tempo)
