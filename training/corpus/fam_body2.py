"""Whole-body actions from key poses: pick up / put down (floor or table), lift a box, sit on a chair
and stand up, kneel, lie down and get up, touch the toes, yoga poses, arm circles, torso twists, catch,
underhand throw.

Reaches to the floor bend the knees (the pelvis drops, the legs fold by IK with the feet planted) and
the spine; a hand's world target is turned into the chest-frame target the rig wants (prims.grab).
"""

from __future__ import annotations

import numpy as np

from .base import Ctx
from .body import SIDE_SIGN
from .curves import keys
from .fam_gesture import TWO_HANDED
from .famkit import base, count, dur, pick_side, side_of
from .prims import Pose, grab, perform
from .spec import Spec

S = SIDE_SIGN
SMALL = (
    "cup",
    "ball",
    "book",
    "phone",
    "bottle",
    "pen",
    "key",
    "toy",
    "shoe",
    "hat",
    "bag",
    "apple",
    "remote",
    "wallet",
    "rock",
    "can",
    "plate",
    "towel",
    "notebook",
    "tennis ball",
    "coin",
    "spoon",
    "fork",
    "glove",
    "sock",
    "umbrella",
    "backpack",
    "folder",
    "scarf",
    "magazine",
    "newspaper",
    "teddy bear",
    "flashlight",
    "lunchbox",
    "baseball cap",
    "sunglasses",
    "candle",
    "vase",
    "bowl",
    "sponge",
    "hammer",
    "screwdriver",
    "paintbrush",
    "toy car",
    "doll",
    "shoebox",
    "tablet",
    "laptop",
    "envelope",
    "letter",
    "bag of groceries",
    "purse",
    "watering can",
    "seashell",
)


def _bend_for(surface: str, rng) -> tuple[float, float, float]:
    """(pelvis drop, spine pitch, target height) for reaching a floor or a table."""
    if surface == "floor":
        return float(rng.uniform(0.3, 0.42)), float(rng.uniform(0.75, 1.0)), 0.06
    return float(rng.uniform(0.02, 0.08)), float(rng.uniform(0.3, 0.45)), float(rng.uniform(0.72, 0.8))


def _reach_down(ctx: Ctx, p: dict, pick: bool):
    """Bend, grab (or set down) at a world point in front, rise; two hands for big objects."""
    rng = ctx.rng
    sides = (0, 1) if p["side"] == "both" else (side_of(p["side"]),)
    drop, pitch, h = _bend_for(p["surface"], rng)
    down, hold, up = dur(ctx, 0.7, 1.0), dur(ctx, 0.3, 0.6), dur(ctx, 0.7, 1.0)
    k = [0.0, 0.3, 0.3 + down, 0.3 + down + hold, 0.3 + down + hold + up, 0.3 + down + hold + up + 0.5]
    total = k[-1] + 0.3
    c = base(ctx, total)
    bent = Pose(
        drop=drop, spine=(pitch, 0, 0), pelvis=(0.35 * pitch, 0), shift=(0.0, -0.12 * drop / 0.4), head=(0.2, 0)
    )
    carry = Pose(
        wrist={s: np.array([S[s] * 0.15, -0.12, 0.3]) for s in sides}
        if len(sides) == 2
        else {sides[0]: np.array([S[sides[0]] * 0.14, -0.2, 0.28])}
    )
    if pick:
        tl = [
            (k[0], Pose()),
            (k[1], Pose()),
            (k[2], bent),
            (k[3], bent),
            (k[4], carry),
            (k[5], carry),
            (total, carry if len(sides) == 2 else Pose()),
        ]
    else:
        tl = [(k[0], carry), (k[1], carry), (k[2], bent), (k[3], bent), (k[4], Pose()), (total, Pose())]
    if len(sides) == 2:
        tl[-1] = (total, Pose())  # set big objects down again: the clip ends standing free
    perform(ctx, c, tl)
    t = ctx.times(c.frames)
    reach = keys(t, [0, k[1] + 0.3 * down, k[2], k[3], k[3] + 0.4 * up], [0, 0, 1, 1, 0])
    dist = float(rng.uniform(0.35, 0.5))
    for s in sides:
        x = S[s] * (0.18 if len(sides) == 2 else 0.12)
        grab(c, ctx.body, s, np.array([x, h + 0.05, dist]), reach)
    return c


def _pick_p(ctx: Ctx) -> dict:
    big = ctx.rng.random() < 0.35
    surface = "floor" if ctx.rng.random() < 0.6 else "table"
    obj = str(ctx.choice(TWO_HANDED if big else SMALL))
    return {
        "side": "both" if big else pick_side(ctx, 0.6),
        "object": obj,
        "surface": surface,
        "where": "the floor" if surface == "floor" else "a table",
    }


def _pick_phr(p: dict) -> list[str]:
    if p["side"] == "both":
        return [
            "(lifts|picks up) {the_obj} from {where} with both hands and sets it back down",
            "bends down, picks up {the_obj} from {where}, then puts it down again",
            "lifts {the_obj} off {where} and places it back",
            "grabs {the_obj} from {where} with both hands, lifts it, and lowers it again",
        ]
    low = p["surface"] == "floor"
    return [
        "picks up {the_obj} from {where} with {hand}",
        (
            "bends down and picks up {the_obj} with {hand}"
            if low
            else "reaches over and picks up {the_obj} from {where}"
        ),
        "grabs {the_obj} off {where} using {hand}",
        "(picks|lifts) {the_obj} up from {where}",
        ("crouches to pick something up from the floor" if low else "takes {the_obj} from {where}"),
    ]


def _put_phr(p: dict) -> list[str]:
    low = p["surface"] == "floor"
    return [
        "puts {the_obj} down on {where} with {hand}",
        ("bends down and places {the_obj} on the floor" if low else "sets {the_obj} down on {where}"),
        "(places|sets|lays) {the_obj} on {where}",
        "puts {the_obj} down on {where}",
        ("leans down to leave {the_obj} on the ground" if low else "leaves {the_obj} on {where}"),
    ]


def _sit_chair(ctx: Ctx, p: dict):
    rng, body = ctx.rng, ctx.body
    h0 = body.stand_height()
    seat = float(rng.uniform(0.47, 0.55))
    down, hold, up = dur(ctx, 0.9, 1.3), dur(ctx, 0.8, 2.2), dur(ctx, 0.9, 1.3)
    kt = np.cumsum([0.0, 0.3, 0.55 * down, 0.45 * down, hold, 0.5 * up, 0.5 * up, 0.3])
    c = base(ctx, float(kt[-1]))
    t = ctx.times(c.frames)
    c.root[:, 1] = keys(t, kt, [h0, h0, h0 - 0.25, seat, seat, h0 - 0.25, h0, h0])
    c.root[:, 2] = keys(t, kt, [0.02, 0.02, -0.15, -0.38, -0.38, -0.15, 0.02, 0.02])
    c.pelvis[:, 0] = keys(t, kt, [0, 0, 0.4, -0.05, -0.05, 0.45, 0, 0])
    c.spine[:, 0] += keys(t, kt, [0, 0, 0.55, 0.05, 0.05, 0.6, 0, 0])
    arms = keys(t, kt, [0, 0, 0.6, 1, 1, 0.6, 0, 0])
    for s in (0, 1):
        lap = np.array([S[s] * 0.15, -0.25, 0.25])
        c.wrist[:, s] = c.wrist[:, s] * (1 - arms[:, None]) + lap * arms[:, None]
    return c


def _kneel(ctx: Ctx, p: dict):
    body = ctx.body
    k = side_of(p["side"])
    h0 = body.stand_height()
    down, hold, up = dur(ctx, 0.9, 1.2), dur(ctx, 1.0, 2.4), dur(ctx, 0.9, 1.2)
    kt = np.cumsum([0.0, 0.3, 0.5 * down, 0.5 * down, hold, 0.5 * up, 0.5 * up, 0.3])
    c = base(ctx, float(kt[-1]))
    t = ctx.times(c.frames)
    knee_h = body.thigh * 0.98 + 0.05
    c.root[:, 1] = keys(t, kt, [h0, h0, h0 - 0.2, knee_h + body.hip_drop, knee_h + body.hip_drop, h0 - 0.2, h0, h0])
    c.root[:, 2] = keys(t, kt, [0.02, 0.02, 0.05, 0.08, 0.08, 0.05, 0.02, 0.02])
    c.root[:, 0] += keys(t, kt, [0, 0, S[1 - k] * 0.05, 0, 0, S[1 - k] * 0.05, 0, 0])
    # kneeling leg: the foot lifts, goes back under the body and sets down with the toes tucked
    back = np.array([0.0, 0.09, -0.42])
    up = np.array([0.0, 0.12, 0.0])
    over = back + np.array([0.0, 0.16, 0.05])
    a0, a1, b0, b1 = kt[1], kt[3], kt[4], kt[6]
    times = [
        0.0,
        a0,
        a0 + 0.2 * (a1 - a0),
        a0 + 0.65 * (a1 - a0),
        a1,
        b0,
        b0 + 0.35 * (b1 - b0),
        b0 + 0.8 * (b1 - b0),
        b1,
        kt[-1],
    ]
    rel = keys(t, times, [np.zeros(3), np.zeros(3), up, over, back, back, over, up, np.zeros(3), np.zeros(3)])
    c.ankle[:, k] = c.ankle[0, k] + rel
    c.foot_pitch[:, k] = keys(t, times, [0, 0, 0.2, 0.9, 1.1, 1.1, 0.9, 0.2, 0, 0])
    c.spine[:, 0] += keys(t, kt, [0, 0, 0.25, 0.1, 0.1, 0.3, 0, 0])
    return c


def _lie(ctx: Ctx, p: dict):
    body = ctx.body
    h0 = body.stand_height()
    parts = [
        0.3,
        dur(ctx, 0.8, 1.0),
        dur(ctx, 0.6, 0.8),
        dur(ctx, 0.7, 1.0),
        dur(ctx, 1.0, 2.2),
        dur(ctx, 0.8, 1.0),
        dur(ctx, 0.7, 0.9),
        dur(ctx, 0.8, 1.0),
        0.3,
    ]
    kt = np.cumsum([0.0, *parts])
    c = base(ctx, float(kt[-1]))
    t = ctx.times(c.frames)
    seat = 0.2
    flat = 0.17
    c.root[:, 1] = keys(t, kt, [h0, h0, h0 - 0.42, seat, flat, flat, seat, h0 - 0.42, h0, h0])
    c.root[:, 2] = keys(t, kt, [0.02, 0.02, -0.1, -0.42, -0.5, -0.5, -0.42, -0.1, 0.02, 0.02])
    c.pelvis[:, 0] = keys(t, kt, [0, 0, 0.35, -0.3, -1.35, -1.35, -0.3, 0.4, 0, 0])
    c.spine[:, 0] = c.spine[:, 0] + keys(t, kt, [0, 0, 0.35, 0.35, -0.15, -0.15, 0.4, 0.5, 0, 0])
    c.head[:, 0] += keys(t, kt, [0, 0, -0.2, -0.1, 0.25, 0.25, -0.1, -0.25, 0, 0])
    legs = keys(t, kt, [0, 0, 0, 0, 1, 1, 0, 0, 0, 0])
    for s in (0, 1):
        out = np.array([S[s] * 0.05, 0.0, 0.55])
        c.ankle[:, s] = c.ankle[0, s] + legs[:, None] * out
        c.ankle[:, s, 1] += 1.0 * legs * (1 - legs)  # the legs lift a little as they stretch out
        c.foot_pitch[:, s] = -1.0 * legs
        hand = np.array([S[s] * 0.35, -0.3, 0.08])
        c.pole[:, s] = c.pole[:, s] * (1 - legs[:, None]) + np.array([S[s] * 0.8, -0.3, 0.3]) * legs[:, None]
        arm_w = keys(t, kt, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0])
        c.wrist[:, s] = c.wrist[:, s] * (1 - arm_w[:, None]) + hand * arm_w[:, None]
    return c


def _toe_touch(ctx: Ctx, p: dict):
    per = dur(ctx, 1.6, 2.4)
    tl: list = [(0.0, Pose()), (0.3, Pose())]
    t0 = 0.3
    for _ in range(p["count"]):
        bent = Pose(
            spine=(1.25 * ctx.amp, 0, 0),
            pelvis=(0.6, 0),
            shift=(0, -0.1),
            head=(0.1, 0),
            wrist={s: np.array([S[s] * 0.12, -0.45, 0.42]) for s in (0, 1)},
        )
        tl += [(t0 + 0.4 * per, bent), (t0 + 0.6 * per, bent), (t0 + per, Pose())]
        t0 += per
    tl.append((t0 + 0.3, Pose()))
    return perform(ctx, base(ctx, t0 + 0.3), tl)


def _yoga(ctx: Ctx, p: dict):
    body = ctx.body
    s = side_of(p["side"])
    hold = dur(ctx, 1.5, 3.0)
    rise = dur(ctx, 0.8, 1.1)
    total = 0.3 + rise + hold + rise + 0.3
    c = base(ctx, total)
    up = {q: np.array([S[q] * 0.05, 0.62, 0.08]) for q in (0, 1)}
    if p["pose"] == "tree pose":
        stand = 1 - s
        pose = Pose(
            shift=(S[stand] * 0.45 * ctx.style.stance_width, 0),
            wrist=up,
            ankle={s: np.array([-S[s] * 0.08, 0.42, 0.02])},
            pitch={s: 0.6},
            pole={q: np.array([S[q] * 0.9, 0.2, 0.0]) for q in (0, 1)},
        )
    elif p["pose"] == "chair pose":
        pose = Pose(
            drop=0.25,
            shift=(0, -0.12),
            pelvis=(0.4, 0),
            spine=(0.3, 0, 0),
            wrist={q: np.array([S[q] * 0.15, 0.55, 0.3]) for q in (0, 1)},
        )
    elif p["pose"] == "mountain pose":
        pose = Pose(wrist=up, head=(-0.15, 0), spine=(-0.06, 0, 0))
    else:  # warrior: wide stance, front knee bent, arms out to the sides
        pose = Pose(
            drop=0.18,
            ankle={s: np.array([0.0, 0.0, 0.45]), 1 - s: np.array([0, 0, -0.3])},
            wrist={q: np.array([S[q] * 0.7, 0.16, 0.05]) for q in (0, 1)},
            head=(0, 0.5 * S[s]),
        )
    if p["pose"] == "warrior pose":
        # the feet step out (lifting) and back: key them as swings
        k = [0.0, 0.3, 0.3 + 0.5 * rise, 0.3 + rise, 0.3 + rise + hold, 0.3 + 1.5 * rise + hold, total - 0.3, total]
        t = ctx.times(c.frames)
        for q, z in ((s, 0.45), (1 - s, -0.3)):
            rel = keys(
                t,
                k,
                [
                    [0, 0, 0],
                    [0, 0, 0],
                    [0, 0.08, 0.5 * z],
                    [0, 0, z],
                    [0, 0, z],
                    [0, 0.08, 0.5 * z],
                    [0, 0, 0],
                    [0, 0, 0],
                ],
            )
            c.ankle[:, q] = c.ankle[0, q] + rel
        pose.ankle = {}
    tl = [
        (0.0, Pose()),
        (0.3, Pose()),
        (0.3 + rise, pose),
        (0.3 + rise + hold, pose),
        (total - 0.3, Pose()),
        (total, Pose()),
    ]
    del body
    return perform(ctx, c, tl)


def _arm_circles(ctx: Ctx, p: dict):
    per = dur(ctx, 0.6, 0.9)
    total = 0.5 + p["count"] * per + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    env = np.clip(np.minimum(t - 0.1, total - 0.1 - t) / 0.4, 0, 1)
    ang = 2 * np.pi * np.clip(t - 0.5, 0, p["count"] * per) / per * (1 if p["direction"] == "forward" else -1)
    for s in (0, 1):
        sh = ctx.body.shoulder_in_chest(s)
        r = 0.12
        tgt = sh + np.stack([np.full(len(t), S[s] * 0.48), r * np.cos(ang), r * np.sin(ang)], axis=1)
        c.wrist[:, s] = c.wrist[:, s] * (1 - env[:, None]) + tgt * env[:, None]
    return c


def _twist(ctx: Ctx, p: dict):
    per = dur(ctx, 1.0, 1.5)
    total = 0.5 + p["count"] * per + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    env = np.clip(np.minimum(t - 0.1, total - 0.1 - t) / 0.4, 0, 1)
    u = np.clip(t - 0.5, 0, p["count"] * per) / per
    c.spine[:, 2] += 0.75 * ctx.amp * np.sin(2 * np.pi * u) * env
    c.yaw += 0.15 * np.sin(2 * np.pi * u) * env
    for s in (0, 1):
        tgt = np.array([S[s] * 0.3, -0.05, 0.2])
        c.wrist[:, s] = c.wrist[:, s] * (1 - env[:, None]) + tgt * env[:, None]
    return c


def _catch(ctx: Ctx, p: dict):
    reach, wait, pull = dur(ctx, 0.4, 0.6), dur(ctx, 0.3, 0.6), dur(ctx, 0.3, 0.5)
    y = 0.25 if p["height"] == "high" else -0.05
    out = Pose(wrist={s: np.array([S[s] * 0.09, y, 0.5]) for s in (0, 1)}, spine=(0.05, 0, 0))
    held = Pose(wrist={s: np.array([S[s] * 0.09, -0.05, 0.28]) for s in (0, 1)}, spine=(-0.04, 0, 0), drop=0.04)
    k = np.cumsum([0.0, 0.3, reach, wait, pull, 0.5, 0.6, 0.3])
    tl = [
        (k[0], Pose()),
        (k[1], Pose()),
        (k[2], out),
        (k[3], out),
        (k[4], held),
        (k[5], held),
        (k[6], Pose()),
        (k[7], Pose()),
    ]
    return perform(ctx, base(ctx, float(k[-1])), tl)


def _underhand(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    back, swing, follow, rec = dur(ctx, 0.5, 0.7), dur(ctx, 0.2, 0.3), dur(ctx, 0.3, 0.4), dur(ctx, 0.6, 0.8)
    k = np.cumsum([0.0, 0.3, back, swing, follow, rec, 0.3])
    cock = Pose(wrist={s: np.array([S[s] * 0.22, -0.3, -0.3])}, spine=(0.2, 0, -S[s] * 0.3), drop=0.06)
    rel = Pose(wrist={s: np.array([S[s] * 0.08, -0.05, 0.5])}, spine=(0.05, 0, S[s] * 0.15), drop=0.02)
    thr = Pose(wrist={s: np.array([S[s] * 0.05, 0.2, 0.45])}, spine=(0.0, 0, S[s] * 0.25))
    tl = [(k[0], Pose()), (k[1], Pose()), (k[2], cock), (k[3], rel), (k[4], thr), (k[5], Pose()), (k[6], Pose())]
    return perform(ctx, base(ctx, float(k[-1])), tl)


SPECS = [
    Spec("pick_up", "object", 1.3, _pick_p, lambda ctx, p: _reach_down(ctx, p, True), _pick_phr),
    Spec(
        "put_down",
        "object",
        0.9,
        lambda c: {**_pick_p(c), "side": pick_side(c, 0.6), "object": str(c.choice(SMALL))},
        lambda ctx, p: _reach_down(ctx, p, False),
        _put_phr,
    ),
    Spec(
        "sit_chair",
        "body",
        1.2,
        lambda c: {},
        _sit_chair,
        lambda p: [
            "sits down on a chair and stands back up",
            "(takes a seat|sits down) on a chair, then gets up",
            "lowers {refl} onto a chair and rises again",
            "sits on a (chair|stool|bench) for a moment and stands up",
            "sits down, rests for a while, and then stands up",
        ],
    ),
    Spec(
        "kneel",
        "body",
        0.9,
        lambda c: {"side": pick_side(c)},
        _kneel,
        lambda p: [
            "kneels down on {pos} {side} knee and gets back up",
            "goes down on one knee, the {side} one",
            "kneels on the {side} knee, then stands up",
            "drops to {pos} {side} knee and rises again",
            "gets down on one knee and then stands",
        ],
    ),
    Spec(
        "lie_down",
        "body",
        0.9,
        lambda c: {},
        _lie,
        lambda p: [
            "lies down on the floor and then gets back up",
            "sits down, lies on {pos} back, and stands up again",
            "lies down on {pos} back for a moment before getting up",
            "gets down to lie on the ground, then rises",
            "(lies|lays {refl}) down flat and then stands back up",
        ],
    ),
    Spec(
        "toe_touch",
        "body",
        0.7,
        lambda c: {"count": count(c, 1, 3)},
        _toe_touch,
        lambda p: [
            "bends over and touches {pos} toes {times}",
            "touches {pos} toes {times}",
            "stretches {pos} hamstrings by reaching down to {pos} feet",
            "bends forward at the waist to touch the toes",
            "does {n} toe touches" if p["count"] > 1 else "does a toe touch",
        ],
    ),
    Spec(
        "yoga",
        "body",
        0.9,
        lambda c: {
            "side": pick_side(c),
            "pose": str(c.choice(("tree pose", "chair pose", "mountain pose", "warrior pose"))),
        },
        _yoga,
        lambda p: {
            "tree pose": [
                "does the tree pose, standing on the {other} leg",
                "holds a yoga tree pose",
                "balances on the {other} leg with the {side} foot against the knee and hands overhead",
            ],
            "chair pose": [
                "holds the yoga chair pose",
                "does a chair pose with arms raised",
                "bends {pos} knees as if sitting and raises both arms, a yoga chair pose",
            ],
            "mountain pose": [
                "does the mountain pose with arms overhead",
                "stands tall with both arms raised in yoga",
                "holds a yoga mountain pose, reaching up",
            ],
            "warrior pose": [
                "does a warrior pose with the {side} leg forward",
                "steps into a yoga warrior pose",
                "holds warrior pose with arms spread, {side} foot in front",
            ],
        }[p["pose"]],
    ),
    Spec(
        "arm_circles",
        "body",
        0.7,
        lambda c: {"count": count(c, 2, 6), "direction": str(c.choice(("forward", "backward")))},
        _arm_circles,
        lambda p: [
            "does arm circles",
            "circles both arms {direction} {times}",
            "makes {n} {direction} arm circles",
            "holds {pos} arms out to the sides and circles them {direction}",
            "rotates {pos} arms in small circles",
        ],
        upper=True,
    ),
    Spec(
        "torso_twist",
        "body",
        0.6,
        lambda c: {"count": count(c, 2, 4)},
        _twist,
        lambda p: [
            "twists {pos} torso from side to side",
            "does {n} torso twists",
            "rotates {pos} upper body left and right",
            "turns {pos} waist back and forth {times}",
            "warms up by twisting {pos} trunk",
        ],
    ),
    Spec(
        "catch",
        "object",
        0.7,
        lambda c: {
            "height": str(c.choice(("high", "low"))),
            "object": str(
                c.choice(
                    (
                        "ball",
                        "frisbee",
                        "package",
                        "football",
                        "basketball",
                        "volleyball",
                        "soccer ball",
                        "rugby ball",
                        "beach ball",
                        "pillow",
                        "set of keys",
                        "water balloon",
                        "baseball",
                        "apple",
                    )
                )
            ),
        },
        _catch,
        lambda p: [
            "catches {the_obj} with both hands",
            "reaches out and catches {the_obj}",
            "catches {the_obj} " + ("up high" if p["height"] == "high" else "in front of {pos} waist"),
            "holds out both hands and catches {the_obj}",
            "receives {the_obj} thrown at {pos} chest",
        ],
    ),
    Spec(
        "throw_underhand",
        "object",
        0.7,
        lambda c: {
            "side": pick_side(c, 0.65),
            "object": str(
                c.choice(
                    (
                        "ball",
                        "bean bag",
                        "frisbee",
                        "stone",
                        "softball",
                        "horseshoe",
                        "bowling ball",
                        "dart",
                        "paper ball",
                        "pebble",
                        "water balloon",
                        "dog toy",
                        "bocce ball",
                        "tennis ball",
                    )
                )
            ),
        },
        _underhand,
        lambda p: [
            "throws {the_obj} underhand with {hand}",
            "tosses {the_obj} underhand",
            "swings {arm} back and throws {the_obj} underhand",
            "lobs {the_obj} forward with an underhand toss",
            "pitches {the_obj} underhand using {hand}",
        ],
        upper=True,
    ),
]
