"""Dance styles: disco points, the twist, hip-hop bounce, salsa basic steps, a waltz box step."""

from __future__ import annotations

import numpy as np

from .base import Ctx
from .body import SIDE_SIGN
from .curves import window
from .famkit import base, count, dur, pick_side, side_of
from .gait import Gait, locomotion, plan_steps
from .spec import Spec

S = SIDE_SIGN


def _env(t: np.ndarray) -> np.ndarray:
    return window(t, 0.05, t[-1] - 0.05, 0.4)


def _disco(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    beat = dur(ctx, 0.45, 0.6)
    total = 0.5 + 2 * p["count"] * beat + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    on = _env(t)
    u = np.clip(t - 0.5, 0, 2 * p["count"] * beat) / (2 * beat)
    up = 0.5 + 0.5 * np.sin(2 * np.pi * u - np.pi / 2)
    hi, lo = np.array([S[s] * 0.45, 0.55, 0.2]), np.array([-S[s] * 0.15, -0.3, 0.25])
    arm = lo + (hi - lo) * up[:, None]
    c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + arm * on[:, None]
    c.wrist[:, 1 - s] = c.wrist[:, 1 - s] * (1 - on[:, None]) + np.array([S[1 - s] * 0.17, -0.38, 0.05]) * on[:, None]
    c.pelvis[:, 1] += 0.07 * np.sin(2 * np.pi * u) * on
    c.root[:, 1] -= (0.03 + 0.02 * np.sin(4 * np.pi * u)) * on
    c.head[:, 1] += 0.3 * S[s] * (up - 0.5) * on
    return c


def _twist(ctx: Ctx, p: dict):
    per = dur(ctx, 0.5, 0.7)
    total = 0.5 + p["count"] * per + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    on = _env(t)
    u = np.clip(t - 0.5, 0, p["count"] * per) / per
    sw = np.sin(2 * np.pi * u) * on
    c.yaw += 0.35 * ctx.amp * sw
    c.spine[:, 2] -= 0.5 * sw
    c.root[:, 1] -= (0.08 + 0.03 * np.abs(sw)) * on
    for s in (0, 1):
        arm = np.array([S[s] * 0.25, -0.12, 0.2]) + np.array([0, 0, 0.1]) * (S[s] * sw)[:, None]
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + arm * on[:, None]
    return c


def _hiphop(ctx: Ctx, p: dict):
    beat = dur(ctx, 0.4, 0.55)
    total = 0.5 + p["count"] * beat + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    on = _env(t)
    u = np.clip(t - 0.5, 0, p["count"] * beat) / beat
    c.root[:, 1] -= (0.05 + 0.04 * (0.5 - 0.5 * np.cos(2 * np.pi * u))) * on
    c.head[:, 0] += 0.15 * np.sin(2 * np.pi * u) * on
    c.spine[:, 0] += 0.12 * on
    for s in (0, 1):
        pump = 0.5 + 0.5 * np.sin(np.pi * u + (0 if s == 0 else np.pi))
        arm = np.array([S[s] * 0.25, -0.2, 0.2])[None] + pump[:, None] * np.array([0, 0.4, 0.15])
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + arm * on[:, None]
    c.spine[:, 1] += 0.08 * np.sin(np.pi * u) * on
    return c


def _steps_dance(ctx: Ctx, p: dict, kind: str):
    first = side_of(p["side"])
    d = float(ctx.rng.uniform(0.2, 0.3))
    keys_b = [(np.zeros(2), 0.0)]
    sides = []
    for _ in range(p["count"]):
        if kind == "salsa":
            seq = ((first, [0, d]), (1 - first, [0, 0]), (first, [0, 0]), (1 - first, [0, -d]), (first, [0, 0]),
                   (1 - first, [0, 0]))
        else:  # waltz box: forward, side, close; back, side, close
            x = S[1 - first] * d
            seq = ((first, [0, d]), (1 - first, [x, d]), (first, [x, d]), (1 - first, [x, 0]), (first, [0, 0]),
                   (1 - first, [0, 0]))
        for sd, pos in seq:
            keys_b.append((np.array(pos, float), 0.0))
            sides.append(sd)
    gait = Gait(step_time=dur(ctx, 0.38, 0.48) if kind == "salsa" else dur(ctx, 0.45, 0.55), duty=0.7, lift=0.05,
                roll_in=0.05, roll_out=0.2, bob=0.02 if kind == "waltz" else 0.012, sway=0.02, lean=0.0, arm_gain=0.0)
    plan = plan_steps(ctx, keys_b, first, gait, lead_in=0.3, settle=0.5, sides=sides)
    c = locomotion(ctx, plan, gait)
    t = ctx.times(c.frames)
    on = _env(t)
    if kind == "salsa":
        c.pelvis[:, 1] += 0.07 * np.sin(np.pi * t / gait.step_time) * on
        arms = {s: np.array([S[s] * 0.25, -0.1, 0.25]) for s in (0, 1)}
    else:
        arms = {0: np.array([0.3, 0.15, 0.15]), 1: np.array([-0.15, 0.02, 0.32])}
        c.head[:, 1] += 0.3 * on
    for s in (0, 1):
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + arms[s] * on[:, None]
    return c


SPECS = [
    Spec("disco", "dance", 0.7, lambda c: {"side": pick_side(c, 0.6), "count": count(c, 2, 5)}, _disco, lambda p: [
        "does a disco dance, pointing {hand} up and down", "dances disco style, pointing to the sky",
        "does the disco point move {times} with {hand}", "dances like in the seventies, pointing up and across"],
        upper=True),
    Spec("twist_dance", "dance", 0.6, lambda c: {"count": count(c, 3, 8)}, _twist, lambda p: [
        "does the twist", "dances the twist, swiveling {pos} hips", "twists {pos} hips and knees to the music",
        "does a twist dance with bent knees"]),
    Spec("hip_hop", "dance", 0.8, lambda c: {"count": count(c, 4, 10)}, _hiphop, lambda p: [
        "dances hip hop, bouncing to the beat", "bounces and pumps {pos} arms to the music",
        "does a hip hop groove", "dances to a beat, bobbing {pos} head", "grooves with a bounce in {pos} knees"],
        upper=True),
    Spec("salsa", "dance", 0.6, lambda c: {"side": pick_side(c), "count": count(c, 1, 3)},
         lambda ctx, p: _steps_dance(ctx, p, "salsa"), lambda p: [
             "dances salsa", "does the salsa basic step, forward and back", "steps forward and back in a salsa rhythm",
             "does {n} salsa basic steps" if p["count"] > 1 else "does one salsa basic step",
             "moves {pos} hips dancing salsa, starting with the {side} foot"]),
    Spec("waltz", "dance", 0.6, lambda c: {"side": pick_side(c), "count": count(c, 1, 2)},
         lambda ctx, p: _steps_dance(ctx, p, "waltz"), lambda p: [
             "dances a waltz box step", "waltzes in a small square", "does the waltz with arms held up as if with a "
             "partner", "steps in a box pattern like a waltz, leading with {foot}"]),
]
