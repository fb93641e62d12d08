"""Stepping locomotion families: walk, jog, run, sneak, walk backward, side-step, turn in place, arcs, spin.

Yaw convention: facing = (sin yaw, 0, cos yaw); increasing yaw turns the body to its left, which seen
from above (looking down -Y) is counterclockwise. So 'left' = 'counterclockwise' = positive yaw.
"""

from __future__ import annotations

import numpy as np

from .base import Action, Ctx
from .body import LEFT
from .captions import num, side_word
from .gait import Gait, locomotion, plan_steps

SPEEDS = ("slow", "normal", "fast")


def _straight_keys(n_steps: int, step: float, heading: float, body_yaw: float, ramp: int = 0) -> list:
    """Body keys along a straight line, step increments growing over `ramp` steps at the start and
    shrinking over `ramp` steps before the last step, which closes the feet side by side."""
    d = np.array([np.sin(heading), np.cos(heading)])
    inc = np.ones(n_steps - 1)
    for i in range(min(ramp, (n_steps - 1) // 2)):
        f = (i + 1) / (ramp + 1)
        inc[i] = min(inc[i], f)
        inc[-1 - i] = min(inc[-1 - i], f)
    s = np.concatenate([[0.0], np.cumsum(inc) * step, [inc.sum() * step]])
    return [(d * si, body_yaw) for si in s]


def _run_plan(
    ctx: Ctx,
    family: str,
    keys: list,
    gait: Gait,
    phrases: list[str],
    params: dict,
    first_side: int | None = None,
    sides: list[int] | None = None,
) -> Action:
    rng = ctx.rng
    first = int(rng.integers(2)) if first_side is None else first_side
    plan = plan_steps(
        ctx,
        keys,
        first,
        gait,
        lead_in=float(rng.uniform(0.15, 0.45)),
        settle=float(rng.uniform(0.35, 0.7)),
        sides=sides,
    )
    c = locomotion(ctx, plan, gait)
    params = {**params, "steps": len(plan.sides), "first_side": side_word(plan.sides[0])}
    return Action(family, c, phrases, params, end_pos=keys[-1][0].copy(), end_yaw=float(keys[-1][1]))


def walk(ctx: Ctx) -> Action:
    rng, tempo = ctx.rng, ctx.style.tempo
    speed = ctx.choice(SPEEDS, [0.3, 0.45, 0.25])
    cad, step = {
        "slow": (rng.uniform(85, 100), rng.uniform(0.45, 0.6)),
        "normal": (rng.uniform(100, 118), rng.uniform(0.58, 0.7)),
        "fast": (rng.uniform(116, 130), rng.uniform(0.68, 0.8)),
    }[speed]
    cad = cad * np.sqrt(tempo)
    n = int(rng.integers(3, 11))
    gait = Gait(
        step_time=60.0 / cad,
        lift=rng.uniform(0.07, 0.11),
        bob=rng.uniform(0.01, 0.02),
        lean=rng.uniform(0.0, 0.06),
        arm_gain=rng.uniform(0.8, 1.2),
    )
    k = num(n)
    ph = {
        "slow": [
            "walks forward slowly",
            "strolls forward at a slow pace",
            "slowly walks ahead",
            f"takes {k} slow steps forward",
            "ambles forward",
            f"slowly walks {k} steps forward",
        ],
        "normal": [
            "walks forward",
            "walks straight ahead",
            f"takes {k} steps forward",
            f"walks forward {k} steps",
            "walks forward at a normal pace",
            "moves forward on foot",
        ],
        "fast": [
            "walks forward quickly",
            "walks briskly ahead",
            "strides forward fast",
            f"takes {k} quick steps forward",
            "hurries forward",
            "walks fast in a straight line",
        ],
    }[speed]
    keys = _straight_keys(n, step, 0.0, 0.0, ramp=1)
    return _run_plan(ctx, "walk", keys, gait, ph, {"speed": speed, "cadence": cad, "step_length": step})


def jog(ctx: Ctx) -> Action:
    rng = ctx.rng
    cad = rng.uniform(150, 168)
    step = rng.uniform(0.7, 0.9)
    n = int(rng.integers(5, 13))
    gait = Gait(
        step_time=60.0 / cad,
        duty=rng.uniform(0.4, 0.45),
        lift=rng.uniform(0.14, 0.2),
        peak=0.4,
        roll_in=0.1,
        roll_out=0.6,
        drop=0.03,
        bob=rng.uniform(0.025, 0.035),
        running=True,
        sway=0.015,
        lean=rng.uniform(0.06, 0.12),
        arm_gain=0.7,
        arm_bend=0.85,
    )
    ph = [
        "jogs forward",
        "jogs straight ahead",
        "runs forward at a slow pace",
        "jogs forward at an easy pace",
        f"takes {num(n)} jogging steps forward",
        "trots forward",
    ]
    return _run_plan(
        ctx, "jog", _straight_keys(n, step, 0.0, 0.0, ramp=2), gait, ph, {"cadence": cad, "step_length": step}
    )


def run(ctx: Ctx) -> Action:
    rng = ctx.rng
    cad = rng.uniform(164, 184)
    step = rng.uniform(0.95, 1.25)
    n = int(rng.integers(8, 15))
    gait = Gait(
        step_time=60.0 / cad,
        duty=rng.uniform(0.32, 0.37),
        lift=rng.uniform(0.22, 0.3),
        peak=0.35,
        roll_in=0.05,
        roll_out=0.7,
        drop=0.05,
        bob=rng.uniform(0.035, 0.05),
        running=True,
        sway=0.01,
        lean=rng.uniform(0.12, 0.2),
        arm_gain=0.6,
        arm_bend=1.0,
    )
    ph = [
        "runs forward",
        "runs forward quickly",
        "sprints ahead",
        "runs straight ahead fast",
        "dashes forward",
        "runs forward at full speed",
    ]
    return _run_plan(
        ctx, "run", _straight_keys(n, step, 0.0, 0.0, ramp=3), gait, ph, {"cadence": cad, "step_length": step}
    )


def sneak(ctx: Ctx) -> Action:
    rng = ctx.rng
    cad = rng.uniform(60, 80)
    step = rng.uniform(0.4, 0.55)
    n = int(rng.integers(3, 8))
    gait = Gait(
        step_time=60.0 / cad,
        duty=0.72,
        lift=0.07,
        roll_in=0.05,
        roll_out=0.35,
        drop=rng.uniform(0.1, 0.16),
        bob=0.006,
        sway=0.03,
        lean=rng.uniform(0.25, 0.4),
        arm_gain=0.3,
        arm_bend=0.6,
        head_pitch=-0.25,
    )
    ph = [
        "sneaks forward",
        "creeps forward in a crouch",
        "sneaks forward slowly and quietly",
        "tiptoes forward bent low",
        "moves stealthily forward",
        f"sneaks forward {num(n)} steps",
    ]
    return _run_plan(
        ctx,
        "sneak",
        _straight_keys(n, step, 0.0, 0.0, ramp=1),
        gait,
        ph,
        {"cadence": cad, "step_length": step},
    )


def walk_backward(ctx: Ctx) -> Action:
    rng = ctx.rng
    cad = rng.uniform(85, 108)
    step = rng.uniform(0.35, 0.5)
    n = int(rng.integers(3, 9))
    gait = Gait(
        step_time=60.0 / cad,
        duty=0.64,
        lift=0.07,
        roll_in=0.0,
        roll_out=0.15,
        bob=0.01,
        lean=-0.02,
        arm_gain=0.5,
    )
    k = num(n)
    ph = [
        "walks backward",
        "walks backwards slowly",
        "backs up",
        f"takes {k} steps backward",
        f"walks {k} steps backwards",
        "moves backward step by step",
    ]
    return _run_plan(
        ctx,
        "walk_backward",
        _straight_keys(n, step, np.pi, 0.0, ramp=1),
        gait,
        ph,
        {"cadence": cad, "step_length": step},
    )


def side_step(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    direction = 1.0 if side == LEFT else -1.0
    pairs = int(rng.integers(2, 6))
    delta = rng.uniform(0.13, 0.2)
    keys = [(np.zeros(2), 0.0)]
    for k in range(1, 2 * pairs + 1):
        keys.append((np.array([direction * 2 * delta * ((k + 1) // 2), 0.0]), 0.0))
    gait = Gait(
        step_time=rng.uniform(0.38, 0.5),
        duty=0.66,
        lift=0.05,
        roll_in=0.0,
        roll_out=0.1,
        bob=0.008,
        sway=0.0,
        lean=0.0,
        arm_gain=0.0,
    )
    w = side_word(side)
    ph = [
        f"sidesteps to the {w}",
        f"steps sideways to the {w}",
        f"shuffles sideways to {pos_w(w)}",
        f"takes {num(pairs)} steps to the {w}",
        f"moves to the {w} with side steps",
        f"side-steps {num(pairs)} times to the {w}",
    ]
    return _run_plan(ctx, "side_step", keys, gait, ph, {"side": w, "pairs": pairs}, first_side=side)


def pos_w(w: str) -> str:
    return "{pos} " + w


def _turn_keys(angle: float, n_steps: int) -> list:
    return [(np.zeros(2), angle * min(k, n_steps - 1) / (n_steps - 1)) for k in range(n_steps + 1)]


def _turn_words(deg: int, w: str, rot: str) -> list[str]:
    if deg == 90:
        return [
            f"turns to the {w}",
            f"turns 90 degrees to the {w}",
            f"makes a quarter turn to {pos_w(w)}",
            f"turns {rot} by 90 degrees",
            f"turns {w} in place",
        ]
    if deg == 180:
        return [
            f"turns around to the {w}",
            f"turns 180 degrees to {pos_w(w)}",
            f"turns around {rot}",
            f"turns to face the opposite direction, turning {w}",
            f"does a half turn to the {w}",
        ]
    return [
        f"turns all the way around to the {w}",
        f"turns in a full circle {rot}",
        f"turns 360 degrees to the {w}",
        f"rotates {rot} in place for a full turn",
        f"makes a full turn to the {w}",
    ]


def turn_in_place(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    deg = int(ctx.choice((90, 180, 360), [0.4, 0.4, 0.2]))
    angle = np.radians(deg) * (1.0 if side == LEFT else -1.0)
    n = int(np.ceil(deg / rng.uniform(40, 55))) + 1
    gait = Gait(
        step_time=rng.uniform(0.45, 0.6),
        duty=0.56,
        lift=0.05,
        roll_in=0.0,
        roll_out=0.15,
        bob=0.006,
        sway=0.015,
        lean=0.0,
        arm_gain=0.0,
    )
    rot = "counterclockwise" if side == LEFT else "clockwise"
    ph = _turn_words(deg, side_word(side), rot)
    return _run_plan(
        ctx,
        "turn_in_place",
        _turn_keys(angle, n),
        gait,
        ph,
        {"side": side_word(side), "degrees": deg, "rotation": rot},
        first_side=side,
    )


def spin(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    deg = int(ctx.choice((360, 720), [0.85, 0.15]))
    angle = np.radians(deg) * (1.0 if side == LEFT else -1.0)
    n = int(np.ceil(deg / rng.uniform(70, 90))) + 1
    gait = Gait(
        step_time=rng.uniform(0.28, 0.36),
        duty=0.6,
        lift=0.08,
        roll_in=0.0,
        roll_out=0.3,
        bob=0.01,
        sway=0.01,
        lean=0.0,
        arm_gain=0.0,
        arm_bend=0.5,
    )
    rot = "counterclockwise" if side == LEFT else "clockwise"
    w = side_word(side)
    if deg == 360:
        ph = [
            "spins around once",
            f"spins around to the {w}",
            f"quickly spins in a full circle {rot}",
            f"twirls around {rot}",
            f"does a quick spin to the {w}",
        ]
    else:
        ph = [
            "spins around twice",
            f"spins around two times to the {w}",
            f"twirls around twice {rot}",
            f"does two quick spins {rot}",
            f"quickly turns around twice to the {w}",
        ]
    return _run_plan(
        ctx,
        "spin",
        _turn_keys(angle, n),
        gait,
        ph,
        {"side": w, "degrees": deg, "rotation": rot},
        first_side=side,
    )


def walk_arc(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    sgn = 1.0 if side == LEFT else -1.0
    deg = int(ctx.choice((90, 180, 360), [0.4, 0.3, 0.3]))
    radius = rng.uniform(0.9, 1.4) if deg == 360 else rng.uniform(1.0, 2.2)
    step = rng.uniform(0.5, 0.68)
    arc = np.radians(deg) * radius
    n = max(int(round(arc / step)) + 1, 3)
    step = arc / (n - 1)
    keys = []
    for k in range(n + 1):
        s = min(k, n - 1) * step
        a = s / radius
        keys.append((np.array([sgn * radius * (1 - np.cos(a)), radius * np.sin(a)]), sgn * a))
    gait = Gait(
        step_time=60.0 / rng.uniform(98, 116), lift=0.08, bob=0.012, lean=0.03, arm_gain=rng.uniform(0.8, 1.1)
    )
    w = side_word(side)
    rot = "counterclockwise" if side == LEFT else "clockwise"
    if deg == 90:
        ph = [
            f"walks forward and curves to the {w}",
            f"walks in an arc to the {w}",
            f"walks while turning to the {w}",
            f"follows a curved path to {pos_w(w)}",
            f"walks forward, veering {w}",
        ]
    elif deg == 180:
        ph = [
            f"walks in a half circle to the {w}",
            f"walks in a semicircle {rot}",
            f"walks around in a U-turn to the {w}",
            f"walks a half circle, turning {w}",
            f"curves around to the {w} until facing back",
        ]
    else:
        ph = [
            "walks in a circle",
            f"walks in a full circle {rot}",
            f"walks around in a circle to the {w}",
            f"circles around {rot} on foot",
            f"walks a complete circle turning {w}",
        ]
    return _run_plan(
        ctx, "walk_arc", keys, gait, ph, {"side": w, "degrees": deg, "rotation": rot, "radius": radius}
    )
