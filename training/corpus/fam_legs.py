"""Leg action families: kick, squat, lunge, knee raise, stomp, balance on one leg.

Single-leg actions first move the pelvis over the standing foot; the moving foot's ankle follows
monotone keys that start and end exactly on its planted spot, so the feet never slide.
"""

from __future__ import annotations

import numpy as np

from .base import Action, Ctx
from .body import SIDE_SIGN
from .captions import num, side_word, times_word
from .curves import keys, smooth_noise, window
from .feet import Plant, foot_track, heel_raise
from .poses import blend, frontal, sagittal


def _base(ctx: Ctx, seconds: float):
    n = ctx.frames(seconds)
    return ctx.neutral(n), ctx.times(n)


def _shift_onto(
    ctx: Ctx, c, t: np.ndarray, stance: int, start: float, end: float, ramp: float = 0.4
) -> np.ndarray:
    """Move the pelvis over the stance foot between start and end; returns the weight (T,)."""
    w = window(t, start, end, ramp)
    s = SIDE_SIGN[stance]
    c.root[:, 0] += s * 0.45 * ctx.style.stance_width * w
    c.pelvis[:, 1] -= s * 0.05 * w  # hip of the lifted leg rises a little
    c.spine[:, 1] += s * 0.06 * w  # upper body re-centres
    return w


def _foot_keys(ctx: Ctx, c, t: np.ndarray, side: int, kt: list[float], rel: list, pitch: list[float]) -> None:
    """Ankle of `side` through keys given relative to its planted flat position."""
    flat = c.ankle[0, side].copy()
    pts = np.asarray(rel, dtype=np.float64) + flat
    c.ankle[:, side] = keys(t, kt, pts)
    c.foot_pitch[:, side] = keys(t, kt, pitch)


def kick(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    s = SIDE_SIGN[side]
    n = int(ctx.choice((1, 2, 3), [0.55, 0.3, 0.15]))
    per = rng.uniform(1.0, 1.3) / ctx.style.tempo
    height = rng.uniform(0.45, 0.75)
    total = 0.5 + n * per + 0.5
    c, t = _base(ctx, total)
    _shift_onto(ctx, c, t, 1 - side, 0.05, total - 0.05)
    kt, rel, pitch = [0.0, 0.45], [[0, 0, 0]] * 2, [0.0, 0.0]
    lean = [0.0, 0.0]
    for k in range(n):
        a = 0.5 + k * per
        kt += [a + 0.3 * per, a + 0.45 * per, a + 0.58 * per, a + 0.75 * per, a + per - 0.05]
        rel += [
            [-s * 0.02, 0.3, 0.2],
            [-s * 0.04, height, 0.62],
            [-s * 0.02, 0.32, 0.22],
            [0, 0.06, 0.04],
            [0, 0, 0],
        ]
        pitch += [0.3, 0.7, 0.3, 0.05, 0.0]
        lean += [-0.05, -0.18, -0.05, 0.0, 0.0]
    kt.append(total)
    rel.append([0, 0, 0])
    pitch.append(0.0)
    lean.append(0.0)
    _foot_keys(ctx, c, t, side, kt, rel, pitch)
    c.spine[:, 0] += keys(t, kt, lean)
    w = window(t, 0.1, total - 0.1, 0.4)
    for arm in (0, 1):
        guard = np.array([SIDE_SIGN[arm] * 0.14, 0.05, 0.25])
        c.wrist[:, arm] = blend(c.wrist[:, arm], guard, 0.8 * w)
    sw = side_word(side)
    ph = [
        f"kicks with the {sw} leg",
        f"kicks forward with {{pos}} {sw} foot",
        f"does {num(n)} front kicks with the {sw} leg" if n > 1 else f"does a front kick with the {sw} leg",
        f"kicks {times_word(n)} with the {sw} foot",
        f"lifts the {sw} leg and kicks {times_word(n)}",
    ]
    return Action("kick", c, ph, {"side": sw, "count": n})


def knee_raise(ctx: Ctx) -> Action:
    rng = ctx.rng
    which = ctx.choice(("left", "right", "alternate"), [0.3, 0.3, 0.4])
    n = int(rng.integers(1, 5)) if which != "alternate" else int(rng.integers(2, 9))
    per = rng.uniform(0.8, 1.2) / ctx.style.tempo if which != "alternate" else rng.uniform(0.55, 0.8)
    height = rng.uniform(0.35, 0.5)
    total = 0.4 + n * per + 0.4
    c, t = _base(ctx, total)
    kts = {0: [0.0], 1: [0.0]}
    rels = {0: [[0, 0, 0]], 1: [[0, 0, 0]]}
    shift = np.zeros(len(t))
    for k in range(n):
        side = {"left": 0, "right": 1}.get(which, k % 2)
        a = 0.4 + k * per
        kts[side] += [a, a + 0.45 * per, a + 0.6 * per, a + per - 0.02]
        rels[side] += [[0, 0, 0], [0, height, 0.2], [0, height, 0.2], [0, 0, 0]]
        shift += -SIDE_SIGN[side] * window(t, a - 0.2 * per, a + per, 0.3 * per)
    for side in (0, 1):
        kts[side].append(total)
        rels[side].append([0, 0, 0])
        _foot_keys(ctx, c, t, side, kts[side], rels[side], [0.0] * len(kts[side]))
    c.root[:, 0] += 0.4 * ctx.style.stance_width * np.clip(shift, -1, 1)
    c.pelvis[:, 1] += 0.05 * np.clip(shift, -1, 1)
    if which == "alternate":
        ph = [
            f"raises {{pos}} knees alternately {num(n)} times",
            f"does {num(n)} high knees in place",
            "marches in place lifting the knees high",
            "lifts one knee and then the other, again and again",
            f"alternates raising the left and right knee {num(n)} times",
        ]
    else:
        ph = [
            f"raises the {which} knee",
            f"lifts {{pos}} {which} knee up {times_word(n)}",
            f"brings the {which} knee up toward {{pos}} chest {times_word(n)}",
            f"stands on one leg and raises the {which} knee",
            f"lifts the {which} leg with the knee bent",
        ]
    return Action("knee_raise", c, ph, {"side": which, "count": n})


def stomp(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    n = int(rng.integers(1, 5))
    per = rng.uniform(0.7, 1.0) / ctx.style.tempo
    total = 0.4 + n * per + 0.4
    c, t = _base(ctx, total)
    _shift_onto(ctx, c, t, 1 - side, 0.05, total - 0.05, ramp=0.35)
    kt, rel, pitch = [0.0, 0.35], [[0, 0, 0]] * 2, [0.0, 0.0]
    for k in range(n):
        a = 0.4 + k * per
        kt += [a + 0.45 * per, a + 0.6 * per, a + 0.7 * per, a + per - 0.02]
        rel += [[0, 0.22, 0.04], [0, 0.22, 0.04], [0, 0, 0], [0, 0, 0]]
        pitch += [0.0, -0.05, 0.0, 0.0]
    kt.append(total)
    rel.append([0, 0, 0])
    pitch.append(0.0)
    _foot_keys(ctx, c, t, side, kt, rel, pitch)
    sw = side_word(side)
    ph = [
        f"stomps the {sw} foot",
        f"stamps {{pos}} {sw} foot on the ground {times_word(n)}",
        f"stomps {times_word(n)} with the {sw} foot",
        f"stomps {{pos}} {sw} foot hard",
        f"lifts the {sw} foot and stomps it down {times_word(n)}",
    ]
    return Action("stomp", c, ph, {"side": sw, "count": n})


def squat(ctx: Ctx) -> Action:
    rng = ctx.rng
    n = int(rng.integers(1, 6))
    per = rng.uniform(1.3, 2.0) / ctx.style.tempo
    depth = rng.uniform(0.22, 0.42)
    arms = ctx.choice(("forward", "hang"), [0.6, 0.4])
    total = 0.3 + n * per + 0.3
    c, t = _base(ctx, total)
    kt, kv = [0.0, 0.3], [0.0, 0.0]
    for k in range(n):
        a = 0.3 + k * per
        kt += [a + 0.45 * per, a + 0.55 * per, a + per]
        kv += [1.0, 1.0, 0.0]
    kt.append(total)
    kv.append(0.0)
    d = keys(t, kt, kv)
    c.root[:, 1] -= depth * d
    c.root[:, 2] -= 0.35 * depth * d
    c.pelvis[:, 0] += 0.5 * depth * d
    c.spine[:, 0] += 0.6 * depth * d
    if arms == "forward":
        for side in (0, 1):
            c.wrist[:, side] = blend(
                c.wrist[:, side],
                sagittal(ctx.body, side, np.full(len(t), 1.45), 0.95, 0.2),
                np.clip(d * 1.6, 0, 1),
            )
    ph = [
        f"squats {times_word(n)}",
        f"does {num(n)} squats" if n > 1 else "does a squat",
        "squats down and stands back up" + (f" {times_word(n)}" if n > 1 else ""),
        f"bends {{pos}} knees into a squat {times_word(n)}",
        f"lowers into a squat and rises {times_word(n)}",
    ]
    return Action("squat", c, ph, {"count": n, "depth": depth})


def lunge(ctx: Ctx) -> Action:
    body, rng = ctx.body, ctx.rng
    side = int(rng.integers(2))
    n = int(ctx.choice((1, 2, 3), [0.55, 0.3, 0.15]))
    length = rng.uniform(0.55, 0.75)
    step, down, hold = rng.uniform(0.45, 0.6), rng.uniform(0.5, 0.7), rng.uniform(0.2, 0.6)
    per = 2 * step + 2 * down + hold + 0.1
    total = 0.3 + n * per + 0.3
    c, t = _base(ctx, total)
    s = SIDE_SIGN[side]
    flat = c.ankle[0, side, [0, 2]]
    yaw = c.foot_yaw[0, side]
    plants = [Plant(0.0, 0.3, flat.copy(), yaw)]
    kt, kz, kd = [0.0, 0.3], [0.0, 0.0], [0.0, 0.0]
    for k in range(n):
        a = 0.3 + k * per
        out_on, out_off = a + step, a + step + 2 * down + hold
        plants.append(Plant(out_on, out_off, flat + [0.0, length], yaw, roll_in=0.15))
        plants.append(Plant(out_off + step, a + per if k < n - 1 else total, flat.copy(), yaw, roll_in=0.1))
        kt += [out_on, out_on + down, out_on + down + hold, out_off, out_off + step]
        kz += [0.45 * length, 0.45 * length, 0.45 * length, 0.45 * length, 0.0]
        kd += [0.0, 1.0, 1.0, 0.0, 0.0]
    plants[-1].t_off = total
    kt.append(total)
    kz.append(0.0)
    kd.append(0.0)
    a_, fy, fp = foot_track(body, side, t, plants, lift=0.08)
    c.ankle[:, side], c.foot_yaw[:, side], c.foot_pitch[:, side] = a_, fy, fp
    d = keys(t, kt, kd)
    c.root[:, 2] += keys(t, kt, kz)
    c.root[:, 1] -= rng.uniform(0.25, 0.33) * d
    back = 1 - side
    heel = keys(t, kt, [0.0] + [0.0] + [0.5 if v > 0 else 0.0 for v in kz[2:]]) + 0.35 * d
    c.foot_pitch[:, back] = heel
    c.ankle[:, back] = heel_raise(body, back, c.ankle[0, back], float(c.foot_yaw[0, back]), heel)
    c.spine[:, 0] -= 0.05 * d
    for arm in (0, 1):
        c.wrist[:, arm] = blend(c.wrist[:, arm], c.wrist[:, arm] + [SIDE_SIGN[arm] * 0.05, 0.0, 0.0], d)
    sw = side_word(side)
    ph = [
        f"lunges forward with the {sw} leg",
        f"steps forward into a lunge with the {sw} foot",
        f"does {num(n)} forward lunges on the {sw} leg" if n > 1 else f"does a forward lunge on the {sw} leg",
        f"lunges {times_word(n)} with {{pos}} {sw} leg forward",
        f"steps the {sw} foot forward, bends both knees and steps back",
    ]
    del s
    return Action("lunge", c, ph, {"side": sw, "count": n})


def balance(ctx: Ctx) -> Action:
    rng = ctx.rng
    stance = int(rng.integers(2))
    lifted = 1 - stance
    mode = ctx.choice(("front", "back"), [0.5, 0.5])
    hold = rng.uniform(1.8, 4.0)
    total = 0.3 + 0.6 + hold + 0.6 + 0.3
    c, t = _base(ctx, total)
    _shift_onto(ctx, c, t, stance, 0.1, total - 0.1, ramp=0.5)
    a, b = 0.3 + 0.6, 0.3 + 0.6 + hold
    up = [0.0, 0.4, 0.2] if mode == "front" else [0.0, 0.35, -0.25]
    _foot_keys(
        ctx,
        c,
        t,
        lifted,
        [0.0, 0.45, a, b, b + 0.5, total],
        [[0, 0, 0], [0, 0, 0], up, up, [0, 0, 0], [0, 0, 0]],
        [0, 0, 0.3, 0.3, 0, 0],
    )
    w = window(t, 0.3, total - 0.3, 0.6)
    wobble = smooth_noise(rng, len(t), 3, 0.3, 1.2) * w[:, None]
    c.root[:, 0] += 0.008 * wobble[:, 0]
    c.spine[:, 1] += 0.03 * wobble[:, 1]
    arms_out = rng.random() < 0.7
    for arm in (0, 1):
        if arms_out:
            theta = 1.35 + 0.1 * wobble[:, 2] * (1 if arm == 0 else -1)
            c.wrist[:, arm] = blend(c.wrist[:, arm], frontal(ctx.body, arm, theta, 0.95), w)
    sw, lw = side_word(stance), side_word(lifted)
    ph = [
        f"balances on the {sw} leg",
        f"stands on {{pos}} {sw} foot" + (" with arms out" if arms_out else ""),
        f"lifts the {lw} foot and balances on the {sw} one",
        f"stands on one leg, the {sw} one, for a while",
        f"holds {{pos}} balance on the {sw} leg with the {lw} leg raised",
    ]
    return Action("balance", c, ph, {"side": sw, "lifted": lw, "seconds": hold, "arms_out": arms_out})
