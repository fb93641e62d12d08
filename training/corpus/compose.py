"""A clip: one to three actions placed end to end in the world, padded with standing, plus variation.

Every action starts and ends in the performer's neutral stance with eased motion, so consecutive actions
join without a jump in position or velocity; the next action starts where (and facing where) the
previous one stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.motion.rotations import qfrom_yaw, qrot

from .base import Action, Ctx
from .body import sample_body, sample_style
from .captions import make_captions
from .controls import Controls, concat, to_world
from .registry import FAMILIES
from .rig import render
from .variation import add_life

MIN_FRAMES = 41  # features keep T - 1 >= 40 frames
MAX_FRAMES = 197  # features keep T - 1 <= 196 frames
N_ACTIONS_P = (0.55, 0.33, 0.12)


@dataclass
class Clip:
    joints: np.ndarray
    captions: list[str]
    actions: list[Action]
    spans: list[tuple[int, int]] = field(default_factory=list)  # frame range of each action

    @property
    def families(self) -> list[str]:
        return [a.family for a in self.actions]


def _sample_family(ctx: Ctx, exclude: set[str]) -> str:
    names = [n for n in FAMILIES if n not in exclude]
    w = np.array([FAMILIES[n].weight for n in names])
    return names[int(ctx.rng.choice(len(names), p=w / w.sum()))]


def plan_actions(ctx: Ctx, families: list[str] | None = None) -> list[Action]:
    """Draw actions (or make the given families) whose total length fits a clip."""
    if families is not None:
        return [FAMILIES[f].make(ctx) for f in families]
    count = int(ctx.rng.choice(3, p=N_ACTIONS_P)) + 1
    actions: list[Action] = []
    used = 0
    for _ in range(count):
        for _attempt in range(4):
            exclude = {a.family for a in actions}
            if actions:
                exclude.add("idle")
            action = FAMILIES[_sample_family(ctx, exclude)].make(ctx)
            if used + action.frames - 1 <= MAX_FRAMES - 2:
                actions.append(action)
                used += action.frames - 1
                break
        else:
            break
    if not actions:  # every draw was too long: a short standing clip still tells the truth
        actions.append(FAMILIES["idle"].make(ctx))
    return actions


def assemble(ctx: Ctx, actions: list[Action]) -> tuple[Controls, list[tuple[int, int]]]:
    pos, yaw = np.zeros(2), 0.0
    parts: list[Controls] = []
    spans = []
    total = sum(a.frames - 1 for a in actions) + 1
    spare = max(MAX_FRAMES - total, 0)
    need = max(MIN_FRAMES - total, 0)
    lead = min(int(ctx.rng.integers(0, 9)) + need // 2 + need % 2, spare)
    tail = min(int(ctx.rng.integers(0, 9)) + need // 2, spare - lead)
    if lead:
        parts.append(ctx.neutral(lead))
    start = lead
    for i, a in enumerate(actions):
        c = to_world(a.controls, pos, yaw)
        if i > 0:
            c = _drop_first(c)
        parts.append(c)
        spans.append((start, start + c.frames))
        start += c.frames
        step = qrot(qfrom_yaw(np.array(yaw)), np.array([a.end_pos[0], 0.0, a.end_pos[1]]))
        pos = pos + step[[0, 2]]
        yaw += a.end_yaw
    if tail:
        parts.append(to_world(ctx.neutral(tail), pos, yaw))
    return concat(parts), spans


def _drop_first(c: Controls) -> Controls:
    return concat([c]) if c.frames < 2 else Controls(**{k: v[1:] for k, v in vars(c).items()})


def make_clip(
    rng: np.random.Generator, families: list[str] | None = None, n_captions: int | None = None
) -> Clip:
    ctx = Ctx(sample_body(rng), sample_style(rng), rng)
    actions = plan_actions(ctx, families)
    controls, spans = assemble(ctx, actions)
    add_life(controls, ctx.style, rng)
    joints = render(controls, ctx.body)
    count = n_captions or int(rng.choice([3, 4, 5], p=[0.5, 0.35, 0.15]))
    captions = make_captions(rng, [a.phrases for a in actions], count)
    return Clip(joints, captions, actions, spans)
