"""Whole-body families: bow, stretch, crouch, sit on the floor and stand up, dance, idle standing."""

from __future__ import annotations

import numpy as np

from .base import Action, Ctx
from .body import SIDE_SIGN
from .captions import num, side_word
from .curves import keys, smooth_noise, window
from .gait import Gait, locomotion, plan_steps
from .poses import blend, frontal, sagittal


def _base(ctx: Ctx, seconds: float):
    n = ctx.frames(seconds)
    return ctx.neutral(n), ctx.times(n)


def bow(ctx: Ctx) -> Action:
    rng = ctx.rng
    depth = rng.uniform(0.5, 1.05)
    down, hold, up = rng.uniform(0.6, 0.9), rng.uniform(0.3, 1.0), rng.uniform(0.6, 0.9)
    total = 0.3 + down + hold + up + 0.3
    c, t = _base(ctx, total)
    d = keys(t, [0, 0.3, 0.3 + down, 0.3 + down + hold, total - 0.3, total], [0, 0, 1, 1, 0, 0])
    c.spine[:, 0] += 0.65 * depth * d
    c.pelvis[:, 0] += 0.35 * depth * d
    c.root[:, 2] -= 0.07 * depth * d
    c.root[:, 1] -= 0.02 * d
    c.head[:, 0] += 0.2 * d
    hand_on_chest = rng.random() < 0.25
    for side in (0, 1):
        hang = sagittal(ctx.body, side, depth * d, 0.95, 0.1)
        c.wrist[:, side] = blend(c.wrist[:, side], hang, np.clip(d * 2, 0, 1))
    if hand_on_chest:
        c.wrist[:, 1] = blend(c.wrist[:, 1], np.array([0.02, -0.02, 0.17]), np.clip(d * 2, 0, 1))
    deep = depth > 0.8
    ph = [
        "bows",
        "bows forward",
        "takes a deep bow" if deep else "gives a slight bow",
        "bends forward at the waist in a bow",
        "bows politely" if not deep else "bows down low",
        "bows and then stands back up straight",
    ]
    return Action("bow", c, ph, {"depth": depth, "hand_on_chest": hand_on_chest})


def stretch(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    mode = ctx.choice(("up", "side", "out"), [0.4, 0.35, 0.25])
    side = int(rng.integers(2))
    rise, hold = rng.uniform(0.7, 1.0), rng.uniform(1.0, 2.4)
    total = 0.3 + rise + hold + rise + 0.3
    c, t = _base(ctx, total)
    w = window(t, 0.3, total - 0.3, rise)
    if mode in ("up", "side"):
        for arm in (0, 1):
            theta = 2.95 * w
            c.wrist[:, arm] = blend(
                c.wrist[:, arm], sagittal(body, arm, theta, 0.98, 0.1), np.clip(w * 3, 0, 1)
            )
        c.spine[:, 0] -= 0.1 * w
        c.head[:, 0] -= 0.2 * w
    if mode == "side":
        lean = window(t, 0.3 + rise, total - 0.3 - rise, 0.5 * hold)
        c.spine[:, 1] += SIDE_SIGN[side] * rng.uniform(0.3, 0.45) * lean
        c.root[:, 0] -= SIDE_SIGN[side] * 0.04 * lean
    if mode == "out":
        for arm in (0, 1):
            c.wrist[:, arm] = blend(c.wrist[:, arm], frontal(body, arm, np.full(len(t), 1.55), 0.98, 0.0), w)
        c.spine[:, 0] -= 0.12 * w
        c.head[:, 0] -= 0.15 * w
    sw = side_word(side)
    if mode == "up":
        ph = [
            "stretches {pos} arms up over {pos} head",
            "reaches both arms up high and stretches",
            "stretches upward with both arms",
            "raises both arms overhead to stretch",
            "does an overhead stretch",
        ]
    elif mode == "side":
        ph = [
            f"stretches with arms overhead, leaning to the {sw}",
            f"does a side stretch to the {sw}",
            f"raises both arms and bends to the {sw}",
            f"leans {sw} with arms up to stretch {{pos}} side",
            f"stretches {{pos}} body by leaning to the {sw}",
        ]
    else:
        ph = [
            "stretches {pos} arms out to the sides",
            "spreads both arms wide and stretches",
            "stretches with arms extended sideways",
            "opens {pos} arms wide in a stretch",
            "stretches {pos} chest by spreading {pos} arms",
        ]
    return Action("stretch", c, ph, {"mode": mode, "side": sw if mode == "side" else None})


def crouch(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    down, hold, up = rng.uniform(0.7, 1.0), rng.uniform(0.8, 2.2), rng.uniform(0.8, 1.1)
    total = 0.3 + down + hold + up + 0.3
    c, t = _base(ctx, total)
    d = keys(t, [0, 0.3, 0.3 + down, 0.3 + down + hold, total - 0.3, total], [0, 0, 1, 1, 0, 0])
    drop = rng.uniform(0.38, 0.46)
    c.root[:, 1] -= drop * d
    c.root[:, 2] -= 0.14 * d
    c.pelvis[:, 0] += 0.35 * d
    c.spine[:, 0] += 0.35 * d
    c.head[:, 0] -= 0.3 * d
    for side in (0, 1):
        c.wrist[:, side] = blend(c.wrist[:, side], sagittal(body, side, np.full(len(t), 1.0), 0.8, 0.2), d)
    ph = [
        "crouches down",
        "crouches low and then stands back up",
        "squats down low for a moment",
        "gets down into a crouch, then rises",
        "crouches down, waits, and stands up again",
    ]
    return Action("crouch", c, ph, {"seconds": hold})


def sit_floor(ctx: Ctx) -> Action:
    rng, body = ctx.rng, ctx.body
    squat_t, sit_t, hold, rise_t, stand_t = (
        rng.uniform(0.8, 1.1),
        rng.uniform(0.7, 1.0),
        rng.uniform(1.0, 2.5),
        rng.uniform(0.9, 1.2),
        rng.uniform(0.7, 1.0),
    )
    kt = np.cumsum([0.0, 0.3, squat_t, sit_t, hold, rise_t, stand_t, 0.3])
    total = float(kt[-1])
    c, t = _base(ctx, total)
    h0 = body.stand_height()
    seat = rng.uniform(0.18, 0.24)
    c.root[:, 1] = keys(t, kt, [h0, h0, h0 - 0.42, seat, seat, h0 - 0.42, h0, h0])
    c.root[:, 2] = keys(t, kt, [0.02, 0.02, -0.1, -0.42, -0.42, -0.1, 0.02, 0.02])
    c.pelvis[:, 0] = keys(t, kt, [0, 0, 0.35, -0.25, -0.25, 0.4, 0, 0])
    c.spine[:, 0] += keys(t, kt, [0, 0, 0.35, 0.45, 0.35, 0.5, 0, 0])
    c.head[:, 0] += keys(t, kt, [0, 0, -0.2, -0.15, -0.1, -0.25, 0, 0])
    arm_w = keys(t, kt, [0, 0, 1, 1, 1, 1, 0, 0])
    for side in (0, 1):
        c.wrist[:, side] = blend(
            c.wrist[:, side], sagittal(body, side, np.full(len(t), 1.1), 0.8, 0.15), arm_w
        )
    ph = [
        "sits down on the floor and then stands back up",
        "sits on the ground for a moment before getting up",
        "lowers {refl} to the floor, sits, then gets up again",
        "sits down on the floor, then rises to {pos} feet",
        "takes a seat on the ground and stands up after a while",
    ]
    return Action("sit_floor", c, ph, {"seconds": hold})


def dance(ctx: Ctx) -> Action:
    """Step-touch from side to side with a bounce, hip sway and swinging arms."""
    rng, body = ctx.rng, ctx.body
    m = int(rng.integers(2, 5))
    first = int(rng.integers(2))
    d = SIDE_SIGN[first] * rng.uniform(0.22, 0.32)
    keys_b = [(np.zeros(2), 0.0)]
    sides = []
    for _ in range(m):
        for k, sd in enumerate((first, 1 - first, 1 - first, first)):
            keys_b.append((np.array([d if k < 2 else 0.0, 0.0]), 0.0))
            sides.append(sd)
    gait = Gait(
        step_time=60.0 / rng.uniform(100, 128),
        duty=0.68,
        lift=0.06,
        roll_in=0.0,
        roll_out=0.25,
        bob=rng.uniform(0.015, 0.03),
        sway=0.0,
        lean=0.0,
        arm_gain=0.0,
    )
    plan = plan_steps(ctx, keys_b, first, gait, lead_in=0.3, settle=0.5, sides=sides)
    c = locomotion(ctx, plan, gait)
    t = ctx.times(c.frames)
    w = window(t, 0.1, t[-1] - 0.1, 0.4)
    sway = np.interp(
        t, [0, *plan.land, t[-1]], [0, *[1 if i % 4 < 2 else -1 for i in range(len(plan.land))], 0]
    )
    sway = sway * SIDE_SIGN[first] * w
    c.pelvis[:, 1] -= 0.06 * sway
    c.spine[:, 1] += 0.1 * sway
    style = ctx.choice(("swing", "up"), [0.6, 0.4])
    for side in (0, 1):
        s = SIDE_SIGN[side]
        if style == "swing":
            tgt = np.stack([s * 0.2 + 0.12 * sway, np.full(len(t), -0.2), np.full(len(t), 0.25)], axis=1)
            c.wrist[:, side] = blend(c.wrist[:, side], tgt, w)
        else:
            theta = 2.5 + 0.2 * sway * s
            c.wrist[:, side] = blend(c.wrist[:, side], frontal(body, side, theta, 0.9, 0.15), w)
    ph = [
        "dances",
        "does a simple dance, stepping from side to side",
        "dances side to side",
        "steps from side to side in a little dance",
        "grooves to the music, stepping side to side",
    ]
    if style == "up":
        ph[0] = "dances with {pos} hands up"
    return Action("dance", c, ph, {"count": m, "arms": style, "steps": len(sides)})


def idle(ctx: Ctx) -> Action:
    rng = ctx.rng
    mode = ctx.choice(("still", "look", "shift", "hips", "cross"), [0.3, 0.2, 0.2, 0.15, 0.15])
    total = rng.uniform(2.0, 4.5)
    c, t = _base(ctx, total)
    w = window(t, 0.2, total - 0.2, 0.6)
    first = int(rng.integers(2))
    if mode == "look":
        q = (total - 0.6) / 4.0
        look = keys(
            t,
            [0, 0.3, 0.3 + q, 0.3 + 1.6 * q, 0.3 + 2.6 * q, 0.3 + 3.2 * q, total - 0.3, total],
            [0, 0, 1, 1, -1, -1, 0, 0],
        )
        c.head[:, 1] += look * SIDE_SIGN[first] * 0.8
        c.spine[:, 2] += 0.2 * c.head[:, 1]
    elif mode == "shift":
        n = int(rng.integers(1, 3))
        phase = np.sin(np.pi * 2 * n * (t - 0.2) / (total - 0.4) + 0.0) * w
        c.root[:, 0] += SIDE_SIGN[first] * 0.45 * ctx.style.stance_width * phase
        c.pelvis[:, 1] -= SIDE_SIGN[first] * 0.04 * phase
    elif mode == "hips":
        for side in (0, 1):
            s = SIDE_SIGN[side]
            c.wrist[:, side] = blend(c.wrist[:, side], np.array([s * 0.17, -0.42, 0.0]), w)
            c.pole[:, side] = blend(c.pole[:, side], np.array([s * 1.0, 0.0, -0.2]), w)
    elif mode == "cross":
        for side in (0, 1):
            s = SIDE_SIGN[side]
            c.wrist[:, side] = blend(c.wrist[:, side], np.array([-s * 0.12, -0.12 + 0.02 * s, 0.2]), w)
            c.pole[:, side] = blend(c.pole[:, side], np.array([s * 0.6, -0.8, 0.0]), w)
    extra = smooth_noise(rng, len(t), 2, 0.1, 0.4)
    c.head[:, 1] += 0.08 * extra[:, 0] * w
    c.spine[:, 1] += 0.02 * extra[:, 1] * w
    fw = side_word(first)
    ow = side_word(1 - first)
    ph = {
        "still": [
            "stands still",
            "stands in place",
            "stands and waits",
            "stands idle without moving much",
            "stays standing in one spot",
        ],
        "look": [
            "looks around",
            f"looks to the {fw} and then to the {ow}",
            "stands and looks around",
            f"turns {{pos}} head {fw}, then {ow}",
            "glances from side to side while standing",
        ],
        "shift": [
            "shifts {pos} weight from one foot to the other",
            "sways from side to side while standing",
            "stands and shifts {pos} weight",
            "rocks gently side to side",
            "shifts weight between {pos} feet",
        ],
        "hips": [
            "stands with {pos} hands on {pos} hips",
            "puts {pos} hands on {pos} hips",
            "rests both hands on {pos} hips",
            "stands with arms akimbo",
            "places hands on hips and waits",
        ],
        "cross": [
            "crosses {pos} arms",
            "stands with arms crossed",
            "folds {pos} arms across {pos} chest",
            "crosses {pos} arms and waits",
            "stands with {pos} arms folded",
        ],
    }[mode]
    return Action("idle", c, ph, {"mode": mode, "first": fw, "count": num(1)})
