"""Motion primitives the family specs are made of.

- pose-to-pose: a timeline of key poses (each a partial set of channel values, the rest neutral) eased
  through with monotone cubic splines, so holds are real holds and moves start and stop softly;
- reach/grab: a world-space hand target (a box on the floor, a door handle) turned into the chest-frame
  wrist target the rig wants, through the same torso FK the rig runs;
- swing/strike: anticipation (wind-up), a fast strike, follow-through and recovery as key times;
- the gait cycle and root paths (incl. floor heights for stairs and a box) live in gait.py; layering an
  upper-body action over a lower-body one lives in layer.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import Ctx
from .body import SIDE_SIGN, Body
from .controls import Controls
from .curves import keys
from .fastrot import qinv, qmul, qrot
from .rig import SPINE_SHARE, _seg, _ypr


@dataclass
class Pose:
    """A key pose: only the channels given differ from the neutral stance (or from the base motion)."""

    wrist: dict[int, np.ndarray] = field(default_factory=dict)  # chest-frame wrist targets
    pole: dict[int, np.ndarray] = field(default_factory=dict)  # chest-frame elbow poles
    spine: tuple[float, float, float] = (0.0, 0.0, 0.0)  # added pitch, roll, twist
    head: tuple[float, float] = (0.0, 0.0)  # added pitch, yaw
    pelvis: tuple[float, float] = (0.0, 0.0)  # added pitch, roll
    drop: float = 0.0  # pelvis lowered by (m)
    shift: tuple[float, float] = (0.0, 0.0)  # pelvis moved by (x, z) in the body frame
    yaw: float = 0.0  # body turned (feet stay)
    ankle: dict[int, np.ndarray] = field(default_factory=dict)  # foot moved from its plant (x, y, z)
    pitch: dict[int, float] = field(default_factory=dict)  # foot pitch


NEUTRAL = Pose()


def perform(ctx: Ctx, c: Controls, timeline: list[tuple[float, Pose]], gain: float = 1.0) -> Controls:
    """Ease `c` (neutral-based controls) through key poses at the given times; returns c (changed)."""
    t = ctx.times(c.frames)
    times = [k[0] for k in timeline]
    poses = [k[1] for k in timeline]
    hang = c.wrist[0].copy()
    pole0 = c.pole[0].copy()
    flat = c.ankle[0].copy()
    c.spine += gain * keys(t, times, [p.spine for p in poses])
    c.head += gain * keys(t, times, [p.head for p in poses])
    c.pelvis += gain * keys(t, times, [p.pelvis for p in poses])
    c.root[:, 1] -= gain * keys(t, times, [p.drop for p in poses])
    c.root[:, [0, 2]] += gain * keys(t, times, [p.shift for p in poses])
    c.yaw += gain * keys(t, times, [p.yaw for p in poses])
    for side in (0, 1):
        if any(side in p.wrist for p in poses):
            tr = keys(t, times, [p.wrist.get(side, hang[side]) for p in poses])
            c.wrist[:, side] = c.wrist[:, side] + gain * (tr - hang[side])
        if any(side in p.pole for p in poses):
            c.pole[:, side] = keys(t, times, [p.pole.get(side, pole0[side]) for p in poses])
        if any(side in p.ankle for p in poses):
            rel = keys(t, times, [p.ankle.get(side, np.zeros(3)) for p in poses])
            c.ankle[:, side] = flat[side] + rel
        if any(side in p.pitch for p in poses):
            c.foot_pitch[:, side] = keys(t, times, [p.pitch.get(side, 0.0) for p in poses])
    return c


def beats(start: float, parts: list[float]) -> list[float]:
    """Cumulative key times: start, start + parts[0], ..."""
    return list(np.cumsum([start, *parts]))


def strike_times(ctx: Ctx, wind: tuple[float, float], hit: tuple[float, float],
                 follow: tuple[float, float], recover: tuple[float, float]) -> list[float]:
    """Durations of anticipation, strike, follow-through and recovery (tempo-scaled, from ranges)."""
    r, k = ctx.rng, 1.0 / ctx.style.tempo
    return [k * r.uniform(*wind), k * r.uniform(*hit), k * r.uniform(*follow), k * r.uniform(*recover)]


def chest_frames(c: Controls, body: Body) -> tuple[np.ndarray, np.ndarray]:
    """(spine3 positions (T, 3), chest rotations (T, 4)) exactly as the rig computes them (before the
    pelvis is lowered for out-of-reach feet, which is rare for the poses reaches are used in)."""
    q = _ypr(c.yaw, c.pelvis[:, 0], c.pelvis[:, 1])
    pos = c.root
    for share, joint in zip(SPINE_SHARE, (3, 6, 9), strict=True):
        pos = _seg(pos, q, body.offsets[joint])
        q = qmul(q, _ypr(share * c.spine[:, 2], share * c.spine[:, 0], share * c.spine[:, 1]))
    return pos, q


def world_to_chest(c: Controls, body: Body, world: np.ndarray) -> np.ndarray:
    """Chest-frame wrist targets (T, 3) for world points (T, 3) under the controls' torso motion."""
    pos, q = chest_frames(c, body)
    return qrot(qinv(q), world - pos)


def grab(c: Controls, body: Body, side: int, world: np.ndarray, weight: np.ndarray) -> None:
    """Blend the wrist of `side` toward a world target (T, 3 or 3,) by weight (T,)."""
    w = np.broadcast_to(np.asarray(world, float), (c.frames, 3))
    target = world_to_chest(c, body, w)
    c.wrist[:, side] = c.wrist[:, side] * (1 - weight[:, None]) + target * weight[:, None]


def front(body: Body, side: int, x: float, y: float, z: float) -> np.ndarray:
    """Chest-frame point relative to the shoulder of `side`, x mirrored (positive = outward)."""
    return body.shoulder_in_chest(side) + np.array([SIDE_SIGN[side] * x, y, z]) * body.arm / 0.51


def mid(body: Body, side: int, x: float, y: float, z: float) -> np.ndarray:
    """Chest-frame point relative to the chest centre, x mirrored (positive = toward this side)."""
    return np.array([SIDE_SIGN[side] * x, y, z]) * body.arm / 0.51
