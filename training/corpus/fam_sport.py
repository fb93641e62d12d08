"""Sports and martial moves from strike primitives (anticipation, strike, follow-through, recovery):
boxing jab, cross, hook, uppercut and guard; side and roundhouse kicks; golf, tennis, baseball swings
and pitch; basketball dribble and shot; jump rope.
"""

from __future__ import annotations

import numpy as np

from .base import Ctx
from .body import SIDE_SIGN
from .curves import keys, window
from .fam_jumps import _series
from .famkit import base, count, dur, osc, pick_side, side_of
from .prims import Pose, perform
from .spec import Spec

S = SIDE_SIGN


def _guard(s: int) -> np.ndarray:
    return np.array([S[s] * 0.1, 0.2, 0.22])


def _box_stance(ctx: Ctx, c, t, lead: int) -> None:
    """Fists up, chin down, a slight crouch and a bounce; the pelvis turned a little off the lead side."""
    on = window(t, 0.0, t[-1], 0.35)
    for s in (0, 1):
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + _guard(s) * on[:, None]
        c.pole[:, s] = c.pole[:, s] * (1 - on[:, None]) + np.array([S[s] * 0.5, -0.9, -0.1]) * on[:, None]
    c.head[:, 0] += 0.12 * on
    c.root[:, 1] -= (0.04 + 0.012 * np.sin(2 * np.pi * 2.2 * t)) * on
    c.yaw -= S[lead] * 0.25 * on


PUNCH_PATHS = {
    # chest-frame (x outward, y, z) waypoints of the punching fist: chamber -> impact
    "jab": ([0.1, 0.2, 0.22], [0.03, 0.21, 0.6]),
    "cross": ([0.1, 0.2, 0.2], [-0.04, 0.2, 0.62]),
    "hook": ([0.35, 0.18, 0.3], [-0.06, 0.2, 0.42]),
    "uppercut": ([0.12, -0.12, 0.25], [0.02, 0.3, 0.38]),
}


def _punch(ctx: Ctx, p: dict):
    kind = p["punch"]
    s = side_of(p["side"])
    per = dur(ctx, 0.5, 0.7)
    total = 0.5 + p["count"] * per + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    lead = s if kind in ("jab",) else 1 - s
    _box_stance(ctx, c, t, lead)
    a, b = (np.array(v) * [S[s], 1, 1] for v in PUNCH_PATHS[kind])
    ext = np.zeros(len(t))
    cham = np.zeros(len(t))
    for k in range(p["count"]):
        t0 = 0.5 + k * per
        cham = np.maximum(cham, keys(t, [t0, t0 + 0.12, t0 + 0.2, t0 + per - 0.05], [0, 1, 0, 0]))
        ext = np.maximum(ext, keys(t, [t0 + 0.1, t0 + 0.22, t0 + 0.28, t0 + per - 0.02], [0, 1, 1, 0]))
    g = _guard(s)
    path = g + (a - g) * cham[:, None] * (1 - ext[:, None]) + (b - g) * ext[:, None]
    on = window(t, 0.0, t[-1], 0.35)[:, None]
    c.wrist[:, s] = c.wrist[0, s] * (1 - on) + path * on
    twist = {"jab": 0.15, "cross": 0.45, "hook": 0.55, "uppercut": 0.3}[kind] * ctx.amp
    c.spine[:, 2] -= S[s] * twist * ext
    c.yaw -= S[s] * 0.3 * twist * ext
    if kind == "uppercut":
        c.root[:, 1] -= 0.05 * cham
    return c


def _guard_fam(ctx: Ctx, p: dict):
    hold = dur(ctx, 1.5, 3.0)
    c = base(ctx, hold + 0.6)
    t = ctx.times(c.frames)
    lead = side_of(p["side"])
    _box_stance(ctx, c, t, lead)
    c.root[:, 0] += 0.03 * np.sin(2 * np.pi * 0.8 * t) * window(t, 0, t[-1], 0.4)
    return c


def _kick(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    stand = 1 - s
    per = dur(ctx, 1.1, 1.4)
    total = 0.6 + p["count"] * per + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    shift = window(t, 0.1, total - 0.1, 0.45)
    c.root[:, 0] += S[stand] * 0.45 * ctx.style.stance_width * shift
    flat = c.ankle[0, s].copy()
    h = p["height"]
    kt, rel, lean, yaw = [0.0, 0.55], [[0, 0, 0]] * 2, [0.0, 0.0], [0.0, 0.0]
    for k in range(p["count"]):
        a = 0.6 + k * per
        if p["kick"] == "side":
            chamber, hit = [S[s] * 0.05, 0.45, 0.15], [S[s] * 0.55, h, 0.05]
            lk, yk = S[stand] * 0.45, 0.0
        else:  # roundhouse: the hip turns over, the shin whips across the front
            chamber, hit = [S[s] * 0.25, 0.45, 0.1], [-S[s] * 0.05, h, 0.55]
            lk, yk = S[stand] * 0.25, -S[s] * 0.6
        kt += [a + 0.3 * per, a + 0.45 * per, a + 0.6 * per, a + 0.8 * per, a + per - 0.05]
        rel += [chamber, hit, chamber, [0, 0.05, 0], [0, 0, 0]]
        lean += [lk * 0.5, lk, lk * 0.5, 0, 0]
        yaw += [yk * 0.5, yk, yk * 0.5, 0, 0]
    kt.append(total)
    rel.append([0, 0, 0])
    lean.append(0.0)
    yaw.append(0.0)
    c.ankle[:, s] = flat + keys(t, kt, rel)
    c.foot_pitch[:, s] = 0.5 * (c.ankle[:, s, 1] - flat[1] > 0.1)
    c.spine[:, 1] += keys(t, kt, lean)
    c.yaw += keys(t, kt, yaw)
    for q in (0, 1):
        c.wrist[:, q] = c.wrist[:, q] * (1 - 0.8 * shift[:, None]) + _guard(q) * 0.8 * shift[:, None]
    return c


def _two_hand_swing(
    ctx: Ctx,
    p: dict,
    back: np.ndarray,
    through: np.ndarray,
    address: np.ndarray,
    bend: float,
    twist: float,
    drop: float = 0.0,
):
    """Both hands together on a club or bat: address, backswing, strike, follow-through, recover."""
    right = p["side"] == "right"  # right-handed players swing from their right to their left
    m = 1.0 if right else -1.0
    wb, sw, fo, rc = dur(ctx, 0.8, 1.1), dur(ctx, 0.2, 0.3), dur(ctx, 0.4, 0.6), dur(ctx, 0.6, 0.9)
    k = np.cumsum([0.0, 0.3, 0.5, wb, sw, fo, 0.4, rc, 0.3])

    def both(v, yaw, sp):
        v = np.array(v) * [m, 1, 1]
        return Pose(
            wrist={0: v + [0.03, 0, 0], 1: v - [0.03, 0, 0]}, spine=(bend, 0, m * sp * ctx.amp), yaw=m * yaw, drop=drop
        )

    adr = both(address, 0.0, 0.0)
    top = both(back, -0.25, -twist)
    hit = both(address + np.array([0, 0.02, 0.05]), 0.05, 0.1)
    fin = both(through, 0.35, twist)
    tl = [
        (k[0], Pose()),
        (k[1], Pose()),
        (k[2], adr),
        (k[3], top),
        (k[4], hit),
        (k[5], fin),
        (k[6], fin),
        (k[7], Pose()),
        (k[8], Pose()),
    ]
    return perform(ctx, base(ctx, float(k[-1])), tl)


def _golf(ctx, p):
    return _two_hand_swing(
        ctx, p, np.array([-0.35, 0.3, 0.1]), np.array([0.3, 0.35, 0.05]), np.array([0.0, -0.35, 0.32]), 0.45, 0.7, 0.04
    )


def _bat(ctx, p):
    return _two_hand_swing(
        ctx,
        p,
        np.array([-0.22, 0.22, -0.02]),
        np.array([0.35, 0.1, 0.1]),
        np.array([0.0, -0.02, 0.45]),
        0.12,
        0.8,
        0.05,
    )


def _tennis(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    stroke = p["stroke"]
    wb, sw, fo, rc = dur(ctx, 0.6, 0.8), dur(ctx, 0.18, 0.26), dur(ctx, 0.35, 0.5), dur(ctx, 0.6, 0.8)
    k = np.cumsum([0.0, 0.3, wb, sw, fo, 0.3, rc, 0.3])
    if stroke == "serve":
        toss = {1 - s: np.array([S[1 - s] * 0.1, 0.55, 0.3])}
        cock = Pose(wrist={s: np.array([S[s] * 0.25, 0.25, -0.2]), **toss}, spine=(-0.15, 0, -S[s] * 0.3), drop=0.08)
        hit = Pose(wrist={s: np.array([S[s] * 0.1, 0.62, 0.3])}, spine=(0.05, 0, S[s] * 0.2))
        fin = Pose(wrist={s: np.array([-S[s] * 0.2, -0.25, 0.35])}, spine=(0.3, 0, S[s] * 0.35))
    elif stroke == "forehand":
        cock = Pose(
            wrist={s: np.array([S[s] * 0.5, 0.0, -0.2])}, spine=(0.1, 0, -S[s] * 0.6), yaw=-S[s] * 0.3, drop=0.06
        )
        hit = Pose(wrist={s: np.array([S[s] * 0.25, -0.05, 0.5])}, spine=(0.1, 0, 0), drop=0.06)
        fin = Pose(wrist={s: np.array([-S[s] * 0.25, 0.25, 0.2])}, spine=(0.05, 0, S[s] * 0.5), yaw=S[s] * 0.2)
    else:  # backhand: the racket starts across the body
        cock = Pose(
            wrist={s: np.array([-S[s] * 0.35, -0.05, 0.05])}, spine=(0.1, 0, S[s] * 0.6), yaw=S[s] * 0.35, drop=0.06
        )
        hit = Pose(wrist={s: np.array([S[s] * 0.05, -0.05, 0.52])}, spine=(0.1, 0, 0), drop=0.06)
        fin = Pose(wrist={s: np.array([S[s] * 0.45, 0.25, 0.2])}, spine=(0.05, 0, -S[s] * 0.45), yaw=-S[s] * 0.2)
    tl = [
        (k[0], Pose()),
        (k[1], Pose()),
        (k[2], cock),
        (k[3], hit),
        (k[4], fin),
        (k[5], fin),
        (k[6], Pose()),
        (k[7], Pose()),
    ]
    return perform(ctx, base(ctx, float(k[-1])), tl)


def _pitch(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    front = 1 - s
    wb, sw, fo, rc = dur(ctx, 0.8, 1.0), dur(ctx, 0.18, 0.25), dur(ctx, 0.4, 0.5), dur(ctx, 0.7, 0.9)
    k = np.cumsum([0.0, 0.3, wb, sw, fo, rc, 0.3])
    stance = S[s] * 0.45 * ctx.style.stance_width
    lift = Pose(
        wrist={s: np.array([S[s] * 0.05, 0.0, 0.3]), front: np.array([S[front] * 0.05, 0.0, 0.3])},
        ankle={front: np.array([0.0, 0.4, 0.15])},
        pitch={front: 0.4},
        shift=(stance, 0),
        spine=(-0.05, 0, -S[s] * 0.4),
    )
    cock = Pose(
        wrist={s: np.array([S[s] * 0.25, 0.25, -0.25]), front: np.array([S[front] * 0.35, 0.1, 0.3])},
        ankle={front: np.array([0.0, 0.0, 0.35])},
        shift=(0, 0.15),
        spine=(-0.1, 0, -S[s] * 0.5),
        drop=0.06,
    )
    rel = Pose(
        wrist={s: np.array([S[s] * 0.05, 0.22, 0.45])},
        ankle={front: np.array([0.0, 0.0, 0.35])},
        shift=(0, 0.2),
        spine=(0.2, 0, S[s] * 0.3),
        drop=0.1,
    )
    fin = Pose(
        wrist={s: np.array([-S[s] * 0.15, -0.3, 0.35])},
        ankle={front: np.array([0.0, 0.0, 0.35])},
        shift=(0, 0.2),
        spine=(0.45, 0, S[s] * 0.4),
        drop=0.1,
    )
    tl = [
        (k[0], Pose()),
        (k[1], Pose()),
        (k[1] + 0.6 * wb, lift),
        (k[2], cock),
        (k[3], rel),
        (k[4], fin),
        (k[5] - 0.35 * rc, Pose(ankle={front: np.array([0.0, 0.14, 0.2])})),
        (k[5], Pose()),
        (k[6], Pose()),
    ]
    return perform(ctx, base(ctx, float(k[-1])), tl)


def _dribble(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    per = dur(ctx, 0.45, 0.6)
    total = 0.5 + p["count"] * per + 0.5
    c = base(ctx, total)
    t = ctx.times(c.frames)
    on = window(t, 0.05, total - 0.05, 0.4)
    c.root[:, 1] -= 0.1 * on
    c.spine[:, 0] += 0.25 * on
    bounce = osc(t, 0.5, p["count"], per)
    hand = np.array([S[s] * 0.28, -0.3, 0.3])[None] + bounce[:, None] * np.array([0, -0.12, 0.02])
    c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + hand * on[:, None]
    c.wrist[:, 1 - s] = c.wrist[:, 1 - s] * (1 - on[:, None]) + np.array([S[1 - s] * 0.25, -0.15, 0.25]) * on[:, None]
    c.head[:, 0] -= 0.1 * on
    return c


def _shot(ctx: Ctx, p: dict):
    dip, up, hold = dur(ctx, 0.5, 0.7), dur(ctx, 0.3, 0.4), dur(ctx, 0.4, 0.6)
    s = side_of(p["side"])
    k = np.cumsum([0.0, 0.3, dip, up, hold, 0.7, 0.3])
    load = Pose(
        drop=0.16,
        spine=(0.15, 0, 0),
        wrist={s: np.array([S[s] * 0.08, 0.05, 0.3]), 1 - s: np.array([-S[s] * 0.02, 0.08, 0.32])},
    )
    rel = Pose(
        drop=-0.03,
        wrist={s: np.array([S[s] * 0.1, 0.62, 0.3]), 1 - s: np.array([-S[s] * 0.0, 0.45, 0.32])},
        head=(-0.2, 0),
        spine=(-0.05, 0, 0),
    )
    tl = [(k[0], Pose()), (k[1], Pose()), (k[2], load), (k[3], rel), (k[4], rel), (k[5], Pose()), (k[6], Pose())]
    c = perform(ctx, base(ctx, float(k[-1])), tl)
    t = ctx.times(c.frames)
    heel = keys(t, [0, k[2], k[3], k[4], k[5]], [0, 0, 0.5, 0.5, 0])
    from .feet import heel_raise

    for q in (0, 1):
        for i in np.flatnonzero(heel > 1e-4):
            c.ankle[i, q] = heel_raise(ctx.body, q, c.ankle[0, q], float(c.foot_yaw[0, q]), heel[i : i + 1])[0]
        c.foot_pitch[:, q] += heel
    return c


def _rope(ctx: Ctx, p: dict):
    rng = ctx.rng
    n = p["count"]
    c, t, take, land, end = _series(
        ctx,
        n,
        0.0,
        flight=float(rng.uniform(0.2, 0.26)),
        ground=float(rng.uniform(0.16, 0.22)),
        dip=0.06,
        land_dip=0.04,
        support="both",
        tuck=0.04,
        prep=float(rng.uniform(0.5, 0.65)),
        recover=0.6,
    )
    on = window(t, 0.1, end - 0.1, 0.3)
    period = take[1] - take[0] if n > 1 else 0.45
    ang = 2 * np.pi * (t - take[0]) / period
    for s in (0, 1):
        hand = np.array([S[s] * 0.3, -0.3, 0.12])[None] + 0.06 * np.stack(
            [np.zeros(len(t)), np.sin(ang), np.cos(ang)], axis=1
        )
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + hand * on[:, None]
    return c


PUNCH_WORDS = {"jab": "jab", "cross": "cross", "hook": "hook", "uppercut": "uppercut"}


def _punch_spec(kind: str, p_right: float) -> Spec:
    w = PUNCH_WORDS[kind]
    return Spec(
        f"box_{kind}",
        "sport",
        0.6,
        lambda c: {"punch": kind, "side": pick_side(c, p_right), "count": count(c, 1, 4)},
        _punch,
        lambda p: [
            f"throws {{n}} {w}" + (("es" if w == "cross" else "s") if p["count"] > 1 else "") + " with {fist}"
            if p["count"] > 1
            else f"throws a {w} with {{fist}}",
            f"(boxes|spars), throwing {'a' if p['count'] == 1 else '{n}'} {{side}} {w}"
            + (("es" if w == "cross" else "s") if p["count"] > 1 else ""),
            f"punches with a {{side}} {w} {{times}}",
            f"does a {{side}} {w} {{times}} from a boxing stance",
            f"raises {{pos}} fists and throws a {{side}} {w}" + (" {times}" if p["count"] > 1 else ""),
        ],
        upper=True,
    )


SPECS = [
    _punch_spec("jab", 0.35),
    _punch_spec("cross", 0.65),
    _punch_spec("hook", 0.5),
    _punch_spec("uppercut", 0.5),
    Spec(
        "box_guard",
        "sport",
        0.5,
        lambda c: {"side": pick_side(c)},
        _guard_fam,
        lambda p: [
            "holds up {pos} fists in a boxing guard",
            "stands in a boxing stance",
            "bounces in a fighting stance, fists up",
            "keeps {pos} guard up like a boxer",
            "gets into a boxing stance and bobs",
        ],
        upper=True,
    ),
    Spec(
        "side_kick",
        "sport",
        0.7,
        lambda c: {
            "kick": "side",
            "side": pick_side(c),
            "count": count(c, 1, 3),
            "height": float(c.rng.uniform(0.45, 0.7)),
        },
        _kick,
        lambda p: [
            "does a side kick with {leg}",
            "kicks out to the side with {foot} {times}",
            "throws {n} side kicks with {leg}" if p["count"] > 1 else "throws a side kick with {leg}",
            "lifts {leg} and kicks sideways {times}",
        ],
    ),
    Spec(
        "roundhouse_kick",
        "sport",
        0.7,
        lambda c: {
            "kick": "roundhouse",
            "side": pick_side(c),
            "count": count(c, 1, 3),
            "height": float(c.rng.uniform(0.5, 0.8)),
        },
        _kick,
        lambda p: [
            "does a roundhouse kick with {leg}",
            "throws a {side} roundhouse kick {times}",
            "swings {leg} around in a roundhouse kick",
            "spins {pos} hip and kicks with {foot} {times}",
            "performs {n} roundhouse kicks with {leg}" if p["count"] > 1 else "performs a roundhouse kick",
        ],
    ),
    Spec(
        "golf_swing",
        "sport",
        0.8,
        lambda c: {"side": pick_side(c, 0.8)},
        _golf,
        lambda p: [
            "swings a golf club",
            "takes a golf swing",
            "(hits|drives) a golf ball with a full swing",
            "swings a club back and through like a golfer",
            "tees off with a golf swing",
        ],
    ),
    Spec(
        "baseball_swing",
        "sport",
        0.7,
        lambda c: {"side": pick_side(c, 0.75)},
        _bat,
        lambda p: [
            "swings a baseball bat",
            "takes a swing with a bat",
            "swings a bat like a batter hitting a ball",
            "hits a baseball with a (full|hard) swing of the bat",
            "bats, swinging through the strike zone",
        ],
    ),
    Spec(
        "baseball_pitch",
        "sport",
        0.6,
        lambda c: {"side": pick_side(c, 0.7)},
        _pitch,
        lambda p: [
            "pitches a baseball with {hand}",
            "winds up, lifts a leg and throws a pitch",
            "throws a baseball pitch overhand",
            "does a pitcher's windup and throws with {arm}",
            "pitches a ball like a baseball pitcher",
        ],
    ),
    Spec(
        "tennis",
        "sport",
        0.9,
        lambda c: {"side": pick_side(c, 0.75), "stroke": str(c.choice(("forehand", "backhand", "serve")))},
        _tennis,
        lambda p: {
            "forehand": [
                "hits a tennis forehand with {hand}",
                "swings a racket in a forehand",
                "plays a forehand stroke",
                "takes a forehand swing like a tennis player",
            ],
            "backhand": [
                "hits a tennis backhand with {hand}",
                "swings a racket across {pos} body in a backhand",
                "plays a backhand stroke",
                "returns the ball with a backhand",
            ],
            "serve": [
                "serves a tennis ball",
                "tosses the ball up and serves with {hand}",
                "does an overhead tennis serve",
                "serves like a tennis player",
            ],
        }[p["stroke"]],
        upper=True,
    ),
    Spec(
        "basketball_dribble",
        "sport",
        0.7,
        lambda c: {"side": pick_side(c, 0.6), "count": count(c, 3, 8), "object": "basketball"},
        _dribble,
        lambda p: [
            "dribbles a basketball with {hand}",
            "bounces a ball {n} times with {hand}",
            "dribbles a ball in place, knees bent",
            "bounces a basketball on the floor {times}",
        ],
        upper=True,
    ),
    Spec(
        "basketball_shot",
        "sport",
        0.7,
        lambda c: {"side": pick_side(c, 0.7), "object": "basketball"},
        _shot,
        lambda p: [
            "shoots a basketball",
            "takes a jump shot",
            "bends {pos} knees and shoots a ball toward the hoop",
            "shoots a free throw",
            "throws a basketball up at the basket with {hand}",
        ],
    ),
    Spec(
        "jump_rope",
        "sport",
        0.7,
        lambda c: {"count": count(c, 3, 10)},
        _rope,
        lambda p: [
            "jumps rope",
            "skips rope {n} times",
            "does {n} jumps with a jump rope",
            "jumps over a rope {times}",
            "turns a jump rope and hops over it",
        ],
    ),
]
