"""Arm gesture families: wave, raise arms, point, clap, punch, throw, reach, salute.

Targets are chest-frame wrist positions (relative to spine3); +X is the body's left, so a side's
lateral direction is SIDE_SIGN[side] * x.
"""

from __future__ import annotations

import numpy as np

from .base import Action, Ctx
from .body import SIDE_SIGN
from .captions import num, side_word, times_word
from .curves import keys, smoothstep, window
from .poses import arm_at, blend, frontal, sagittal

SIDES3 = ("left", "right", "both")


def _hold(ctx: Ctx, seconds: float):
    n = ctx.frames(seconds)
    return ctx.neutral(n), ctx.times(n)


def _sides(which: str) -> tuple[int, ...]:
    return {"left": (0,), "right": (1,), "both": (0, 1)}[which]


def _hand_words(which: str) -> tuple[str, str]:
    """('with the left hand', 'left hand') style phrases."""
    if which == "both":
        return "with both hands", "both hands"
    return f"with the {which} hand", f"{{pos}} {which} hand"


def wave(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    which = ctx.choice(SIDES3, [0.4, 0.4, 0.2])
    n = int(rng.integers(2, 6))
    freq = rng.uniform(1.4, 2.4) * ctx.style.tempo
    up, lower = rng.uniform(0.45, 0.65), rng.uniform(0.45, 0.65)
    t_wave = n / freq
    total = 0.2 + up + t_wave + lower + 0.2
    c, t = _hold(ctx, total)
    t1 = 0.2 + up
    w = window(t, 0.2, total - 0.2, up)
    osc = (
        np.sin(2 * np.pi * freq * np.clip(t - t1, 0, t_wave))
        * smoothstep((t - t1) / 0.15)
        * smoothstep((t1 + t_wave - t) / 0.15)
    )
    high = rng.uniform(0.25, 0.4)
    for side in _sides(which):
        s = SIDE_SIGN[side]
        sh = body.shoulder_in_chest(side)
        target = sh + np.array([s * 0.24, high, 0.1]) * body.arm / 0.51
        tr = np.broadcast_to(target, (len(t), 3)).copy()
        tr[:, 0] += s * 0.1 * osc * (1 if side == 0 else -1 if which == "both" else 1)
        c.wrist[:, side] = blend(c.wrist[:, side], tr, w)
        c.pole[:, side] = blend(c.pole[:, side], np.array([s * 0.7, -0.7, -0.1]), w)
    c.head[:, 0] -= 0.08 * w
    hw, hand = _hand_words(which)
    arm = "both arms" if which == "both" else f"{{pos}} {which} arm"
    ph = [
        f"waves {hw}",
        f"waves {hand} {times_word(n)}" if which != "both" else f"waves both hands {times_word(n)}",
        f"raises {arm} and waves",
        f"waves hello {hw}",
        f"waves goodbye {hw}",
        f"lifts {arm} and waves {num(n)} times" if n > 2 else f"lifts {arm} and waves",
    ]
    return Action("wave", c, ph, {"side": which, "count": n, "freq": freq})


def raise_arms(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    which = ctx.choice(SIDES3, [0.25, 0.25, 0.5])
    mode = ctx.choice(("up", "forward", "sideways"), [0.5, 0.25, 0.25])
    reps = int(ctx.choice((1, 2, 3), [0.6, 0.3, 0.1]))
    rise, hold, drop = rng.uniform(0.5, 0.8), rng.uniform(0.4, 1.4), rng.uniform(0.5, 0.8)
    cyc = rise + hold + drop + 0.15
    total = 0.2 + reps * cyc + 0.1
    c, t = _hold(ctx, total)
    kt, kv = [0.0], [0.0]
    for r in range(reps):
        a = 0.2 + r * cyc
        kt += [a, a + rise, a + rise + hold, a + rise + hold + drop]
        kv += [0.0, 1.0, 1.0, 0.0]
    kt.append(total)
    kv.append(0.0)
    amt = keys(t, kt, kv)
    top = {
        "up": rng.uniform(2.6, 2.95),
        "forward": rng.uniform(1.45, 1.65),
        "sideways": rng.uniform(1.45, 1.65),
    }[mode]
    for side in _sides(which):
        theta = amt * top
        tgt = (
            frontal(body, side, theta, 0.96, fwd=0.1)
            if mode == "sideways"
            else sagittal(body, side, theta, 0.96)
        )
        w = np.clip(amt * 4, 0, 1)
        c.wrist[:, side] = blend(c.wrist[:, side], tgt, w)
    if which == "both":
        arms, obj = "both arms", "{pos} arms"
    else:
        arms, obj = f"the {which} arm", f"{{pos}} {which} arm"
    again = f" {times_word(reps)}" if reps > 1 else ""
    if mode == "up":
        ph = [
            f"raises {arms} above {{pos}} head{again}",
            f"lifts {obj} straight up{again}",
            f"raises {obj} high into the air{again}",
            f"reaches {obj} up over {{pos}} head{again}",
            f"puts {obj} up and then lowers {'them' if which == 'both' else 'it'}{again}",
        ]
    elif mode == "forward":
        ph = [
            f"raises {arms} forward to shoulder height{again}",
            f"lifts {obj} out in front{again}",
            f"extends {obj} straight forward{again}",
            f"holds {obj} out in front and lowers {'them' if which == 'both' else 'it'}{again}",
            f"raises {obj} in front of {{pos}} body{again}",
        ]
    else:
        ph = [
            f"raises {arms} out to the side{again}",
            f"lifts {obj} sideways to shoulder height{again}",
            f"extends {obj} out to the side{again}",
            f"spreads {obj} out to the side{again}",
            f"raises {obj} laterally and lowers {'them' if which == 'both' else 'it'}{again}",
        ]
    return Action("raise_arms", c, ph, {"side": which, "mode": mode, "count": reps})


def point(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    side = int(rng.integers(2))
    s = SIDE_SIGN[side]
    where = ctx.choice(("forward", "left", "right", "up"), [0.4, 0.22, 0.22, 0.16])
    d = {
        "forward": (s * 0.12, 0.15, 1.0),
        "left": (1.0, 0.15, 0.35),
        "right": (-1.0, 0.15, 0.35),
        "up": (s * 0.2, 1.0, 0.35),
    }[where]
    rise, hold = rng.uniform(0.45, 0.7), rng.uniform(0.8, 1.8)
    total = 0.2 + rise + hold + rise + 0.2
    c, t = _hold(ctx, total)
    w = window(t, 0.2, total - 0.2, rise)
    c.wrist[:, side] = blend(c.wrist[:, side], arm_at(body, side, np.array(d), 0.97), w)
    look = {"forward": 0.0, "left": 0.7, "right": -0.7, "up": 0.0}[where]
    c.head[:, 1] += look * w
    c.head[:, 0] -= (0.35 if where == "up" else 0.0) * w
    c.spine[:, 2] += 0.3 * look * w
    sw = side_word(side)
    if where == "forward":
        ph = [
            f"points forward with the {sw} hand",
            f"points straight ahead with {{pos}} {sw} arm",
            f"extends the {sw} arm and points forward",
            f"points at something in front with the {sw} hand",
        ]
    elif where == "up":
        ph = [
            f"points up with the {sw} hand",
            f"points upward with {{pos}} {sw} arm",
            f"raises the {sw} arm and points at the sky",
            f"points up above with the {sw} index finger",
        ]
    else:
        ph = [
            f"points to the {where} with the {sw} hand",
            f"points to {{pos}} {where} with {{pos}} {sw} arm",
            f"turns and points to the {where} using the {sw} hand",
            f"looks to the {where} and points that way with the {sw} arm",
        ]
    return Action("point", c, ph, {"side": sw, "direction": where})


def clap(ctx: Ctx) -> Action:
    rng = ctx.rng
    n = int(rng.integers(2, 9))
    freq = rng.uniform(1.8, 3.0) * ctx.style.tempo
    rise = rng.uniform(0.35, 0.55)
    t_clap = n / freq
    total = 0.2 + rise + t_clap + rise + 0.2
    c, t = _hold(ctx, total)
    t1 = 0.2 + rise
    w = window(t, 0.2, total - 0.2, rise)
    # apart at t1, together at t1 + (k + 0.5) / freq, apart again at the end
    phase = np.clip(t - t1, 0, t_clap) * freq
    closed = 0.5 - 0.5 * np.cos(2 * np.pi * phase)
    y, z = rng.uniform(-0.1, 0.08), rng.uniform(0.28, 0.36)
    for side in (0, 1):
        s = SIDE_SIGN[side]
        x = 0.2 + (0.035 - 0.2) * closed
        tr = np.stack([s * x, np.full_like(x, y), z - 0.04 * (1 - closed)], axis=1)
        c.wrist[:, side] = blend(c.wrist[:, side], tr, w)
        c.pole[:, side] = blend(c.pole[:, side], np.array([s * 0.6, -0.8, 0.0]), w)
    ph = [
        f"claps {{pos}} hands {times_word(n)}",
        f"claps {num(n)} times",
        "claps {pos} hands",
        "applauds, clapping in front of {pos} chest",
        f"brings {{pos}} hands together {times_word(n)}",
    ]
    return Action("clap", c, ph, {"count": n, "freq": freq})


def punch(ctx: Ctx) -> Action:
    rng = ctx.rng
    which = ctx.choice(("left", "right", "alternate"), [0.3, 0.35, 0.35])
    n = int(rng.integers(1, 7)) if which != "alternate" else int(rng.integers(2, 8))
    per = rng.uniform(0.38, 0.55) / ctx.style.tempo
    rise = rng.uniform(0.4, 0.6)
    total = 0.2 + rise + n * per + rise + 0.2
    c, t = _hold(ctx, total)
    w = window(t, 0.2, total - 0.2, rise)
    t1 = 0.2 + rise
    ext = {0: np.zeros(len(t)), 1: np.zeros(len(t))}
    for k in range(n):
        side = {"left": 0, "right": 1}.get(which, k % 2)
        a = t1 + k * per
        ext[side] = np.maximum(ext[side], keys(t, [a, a + 0.12, a + 0.18, a + per - 0.02], [0, 1, 1, 0]))
    reach = rng.uniform(0.55, 0.65)
    for side in (0, 1):
        s = SIDE_SIGN[side]
        guard = np.array([s * 0.12, 0.17, 0.22])
        hit = np.array([s * 0.04, 0.17, reach])
        tr = guard + (hit - guard) * ext[side][:, None]
        c.wrist[:, side] = blend(c.wrist[:, side], tr, w)
        c.pole[:, side] = blend(c.pole[:, side], np.array([s * 0.5, -0.9, -0.1]), w)
        c.spine[:, 2] -= s * 0.3 * ext[side]
    sw = which if which != "alternate" else ""
    if which == "alternate":
        ph = [
            f"throws {num(n)} punches, alternating fists",
            "punches forward with both fists in turn",
            f"boxes, punching {num(n)} times with alternating hands",
            "punches the air with left and right fists",
            f"throws a combination of {num(n)} punches",
        ]
    else:
        ph = [
            f"punches forward with the {sw} fist",
            f"throws {num(n)} punches with {{pos}} {sw} hand"
            if n > 1
            else f"throws a punch with {{pos}} {sw} hand",
            f"jabs {times_word(n)} with the {sw} fist",
            f"punches {times_word(n)} with the {sw} arm",
            f"strikes forward with {{pos}} {sw} fist",
        ]
    return Action("punch", c, ph, {"side": which, "count": n})


def throw(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    side = int(ctx.choice((0, 1), [0.35, 0.65]))
    s = SIDE_SIGN[side]
    wind, rel, follow, back = (
        rng.uniform(0.5, 0.8),
        rng.uniform(0.14, 0.2),
        rng.uniform(0.3, 0.4),
        rng.uniform(0.6, 0.9),
    )
    total = 0.2 + wind + 0.15 + rel + follow + back + 0.2
    c, t = _hold(ctx, total)
    a = 0.2
    kt = [
        0,
        a,
        a + wind,
        a + wind + 0.15,
        a + wind + 0.15 + rel,
        a + wind + 0.15 + rel + follow,
        total - 0.2,
        total,
    ]
    sh = body.shoulder_in_chest(side)
    hang = c.wrist[0, side]
    cock = sh + np.array([s * 0.2, 0.2, -0.25])
    release = sh + np.array([s * 0.05, 0.22, 0.45])
    through = np.array([-s * 0.12, -0.25, 0.35])
    path = keys(t, kt, [hang, hang, cock, cock, release, through, hang, hang])
    c.wrist[:, side] = path
    c.pole[:, side] = np.array([s * 0.8, -0.4, -0.2])
    tw = keys(t, kt, [0, 0, -0.45 * s, -0.45 * s, 0.2 * s, 0.35 * s, 0, 0])
    c.spine[:, 2] += tw
    c.spine[:, 0] += keys(t, kt, [0, 0, -0.12, -0.12, 0.15, 0.3, 0, 0])
    other = 1 - side
    c.wrist[:, other] = blend(
        c.wrist[:, other],
        sagittal(body, other, np.full(len(t), 1.2), 0.85),
        keys(t, kt, [0, 0, 1, 1, 0.6, 0.2, 0, 0]),
    )
    sw = side_word(side)
    ph = [
        f"throws a ball with the {sw} hand",
        f"throws something overhand with {{pos}} {sw} arm",
        f"winds up and throws with the {sw} arm",
        f"pitches a ball forward with the {sw} hand",
        f"tosses an object forward using {{pos}} {sw} hand",
    ]
    return Action("throw", c, ph, {"side": sw})


def reach(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    which = ctx.choice(SIDES3, [0.38, 0.38, 0.24])
    where = ctx.choice(("forward", "up", "down"), [0.4, 0.3, 0.3])
    rise, hold = rng.uniform(0.6, 0.9), rng.uniform(0.5, 1.2)
    total = 0.2 + rise + hold + rise + 0.2
    c, t = _hold(ctx, total)
    w = window(t, 0.2, total - 0.2, rise)
    bend = rng.uniform(0.85, 1.15)
    for side in _sides(which):
        s = SIDE_SIGN[side]
        d = {"forward": (s * 0.15, 0.1, 1.0), "up": (s * 0.2, 1.0, 0.2), "down": (s * 0.1, -0.25, 1.0)}[where]
        c.wrist[:, side] = blend(c.wrist[:, side], arm_at(body, side, np.array(d), 0.975), w)
    if where == "forward":
        c.spine[:, 0] += 0.2 * w
    elif where == "up":
        c.spine[:, 0] -= 0.08 * w
        c.head[:, 0] -= 0.3 * w
    else:
        c.spine[:, 0] += bend * w
        c.root[:, 1] -= rng.uniform(0.1, 0.25) * w
        c.root[:, 2] -= 0.08 * w
        c.pelvis[:, 0] += 0.4 * w
        for side in {0, 1} - set(_sides(which)):  # the free arm hangs with gravity, relaxed
            c.wrist[:, side] = blend(c.wrist[:, side], sagittal(body, side, (bend + 0.4) * w, 0.85), w)
    hw, hand = _hand_words(which)
    arm = "both arms" if which == "both" else f"{{pos}} {which} arm"
    if where == "forward":
        ph = [
            f"reaches forward {hw}",
            f"reaches out in front with {arm}",
            f"stretches {arm} forward to reach something",
            f"extends {arm} out in front",
            f"leans slightly and reaches forward {hw}",
        ]
    elif where == "up":
        ph = [
            f"reaches up {hw}",
            f"reaches up high with {arm}",
            f"stretches {arm} up to reach something high",
            f"reaches for something above {{pos}} head {hw}",
            f"extends {arm} upward",
        ]
    else:
        ph = [
            f"bends down and reaches toward the ground {hw}",
            f"reaches down {hw}",
            f"leans over and reaches down with {arm}",
            f"bends forward to reach something low {hw}",
            f"stoops and reaches toward the floor with {arm}",
        ]
    return Action("reach", c, ph, {"side": which, "direction": where})


def salute(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(ctx.choice((0, 1), [0.2, 0.8]))
    s = SIDE_SIGN[side]
    rise, hold = rng.uniform(0.45, 0.65), rng.uniform(0.8, 2.0)
    total = 0.2 + rise + hold + rise + 0.2
    c, t = _hold(ctx, total)
    w = window(t, 0.2, total - 0.2, rise)
    c.wrist[:, side] = blend(c.wrist[:, side], np.array([s * 0.1, 0.27, 0.14]), w)
    c.pole[:, side] = blend(c.pole[:, side], np.array([s * 1.0, 0.0, 0.2]), w)
    c.head[:, 0] -= 0.05 * w
    c.spine[:, 0] -= 0.04 * w
    sw = side_word(side)
    ph = [
        f"salutes with the {sw} hand",
        f"gives a military salute with {{pos}} {sw} hand",
        f"raises the {sw} hand to {{pos}} forehead in a salute",
        f"stands straight and salutes with the {sw} hand",
        f"brings {{pos}} {sw} hand up to {{pos}} brow and salutes",
    ]
    return Action("salute", c, ph, {"side": sw})
