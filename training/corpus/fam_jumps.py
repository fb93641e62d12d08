"""Ballistic families: jump forward, jump up, hop on one leg, skip, jumping jacks.

Flight phases are exact parabolas under gravity; feet stay planted on the ground between flights and
are carried with the pelvis in the air.
"""

from __future__ import annotations

import numpy as np

from .base import Action, Ctx
from .body import LEFT, SIDE_SIGN
from .captions import num, side_word, times_word
from .curves import ballistic_height, keys, smoothstep
from .feet import Plant, foot_track
from .poses import blend, frontal, sagittal


def _series(
    ctx: Ctx,
    n: int,
    dist: float,
    flight: float,
    ground: float,
    dip: float,
    land_dip: float,
    support: str | int,
    widths: list[float] | None = None,
    tuck: float = 0.08,
    prep: float = 0.6,
    recover: float = 0.7,
) -> tuple:
    """n flights; support 'both' or the hopping side. Returns controls and event times."""
    body, style = ctx.body, ctx.style
    h0 = body.stand_height()
    take = [prep + i * (flight + ground) for i in range(n)]
    land = [t + flight for t in take]
    end = land[-1] + recover
    nf = ctx.frames(end)
    t = ctx.times(nf)
    c = ctx.neutral(nf)
    widths = widths or [style.stance_width] * (n + 1)
    centre = [np.array([0.0, i * dist]) for i in range(n + 1)]
    single = support != "both"
    shift = SIDE_SIGN[support] * 0.45 * style.stance_width if single else 0.0

    # Pelvis path: over the support, leaning into each take-off.
    lean = 0.1 * dist
    kt = [0.0, 0.45 * prep]
    kx = [0.0, shift]
    kz = [0.02, 0.02]
    for i in range(n):
        kt += [take[i], land[i]]
        kx += [shift, shift]
        kz += [centre[i][1] + lean + 0.02, centre[i + 1][1] - lean + 0.02]
    kt += [land[-1] + 0.5 * recover, end]
    kx += [0.0, 0.0]
    kz += [centre[-1][1] + 0.02] * 2
    c.root[:, 0] = keys(t, kt, kx)
    c.root[:, 2] = keys(t, kt, kz)

    h_to, h_ld = h0 + 0.02, h0
    knots = [(0.0, h0), (max(take[0] - 0.6, 0.05), h0 - 0.1 * dip), (take[0] - 0.25, h0 - dip)]
    flights = []
    for i in range(n):
        knots += [(take[i], h_to), (land[i], h_ld)]
        flights.append((take[i], land[i]))
        if i + 1 < n:
            knots.append((land[i] + 0.5 * ground, h0 - land_dip))
    knots += [(land[-1] + 0.3 * recover, h0 - land_dip), (end, h0)]
    c.root[:, 1] = ballistic_height(t, knots, flights)

    for side in (0, 1):
        s = SIDE_SIGN[side]
        offs = np.zeros((nf, 3))
        offs[:, 1] = body.ankle_height + tuck - h_to
        yaw = s * style.toe_out
        if single and side != support:
            offs[:, 0] = s * 0.5 * style.stance_width - shift
            offs[:, 1] = 0.3 - h0
            offs[:, 2] = -0.12
            plants = [
                Plant(0.0, 0.35 * prep, centre[0] + [s * 0.5 * widths[0], 0.0], yaw),
                Plant(land[-1] + 0.35 * recover, end, centre[-1] + [s * 0.5 * widths[-1], 0.0], yaw),
            ]
        else:
            foot_x = [s * 0.5 * w for w in widths]
            offs[:, 0] = keys(t, [0.0, *land], foot_x) - c.root[:, 0]
            plants = []
            for i in range(n + 1):
                t_on = 0.0 if i == 0 else land[i - 1]
                t_off = end if i == n else take[i]
                plants.append(
                    Plant(
                        t_on,
                        t_off,
                        centre[i] + [foot_x[i], 0.0],
                        yaw,
                        roll_out=0.0 if i == n else 0.55,
                        roll_out_frac=0.45,
                    )
                )
        a, fy, fp = foot_track(
            body,
            side,
            t,
            plants,
            follow=(offs, c.root),
            follow_pitch=0.35,
            follow_ramp=0.12 if not (single and side != support) else 0.3,
        )
        c.ankle[:, side], c.foot_yaw[:, side], c.foot_pitch[:, side] = a, fy, fp
    c.spine[:, 0] += keys(
        t,
        [0.0, take[0] - 0.25, take[0], land[-1], land[-1] + 0.3 * recover, end],
        [0.0, 0.25 * min(dip / 0.15, 1.5), 0.0, 0.0, 0.15 * land_dip / 0.1, 0.0],
    )
    return c, t, take, land, end


def _arm_swing(
    ctx: Ctx, c, t: np.ndarray, take: list[float], land: list[float], end: float, up: float
) -> None:
    """Arms swing back in the crouch, forward/up at take-off, settle after landing."""
    kt = [0.0, take[0] - 0.3, take[0] + 0.12]
    kv = [0.0, -0.6, up]
    for i in range(1, len(take)):
        kt += [take[i] - 0.15, take[i] + 0.1]
        kv += [-0.2, up]
    kt += [land[-1] + 0.2, end - 0.05, end]
    kv += [0.6, 0.0, 0.0]
    theta = keys(t, kt, kv)
    for side in (0, 1):
        target = sagittal(ctx.body, side, theta, ext=0.95)
        w = smoothstep(np.minimum(t / 0.3, (end - t) / 0.3))
        c.wrist[:, side] = blend(c.wrist[:, side], target, w)


def jump_forward(ctx: Ctx) -> Action:
    rng = ctx.rng
    n = int(ctx.choice((1, 2, 3), [0.55, 0.3, 0.15]))
    dist = rng.uniform(0.4, 1.1)
    c, t, take, land, end = _series(
        ctx,
        n,
        dist,
        flight=rng.uniform(0.32, 0.45),
        ground=rng.uniform(0.35, 0.5),
        dip=rng.uniform(0.16, 0.26),
        land_dip=rng.uniform(0.1, 0.16),
        support="both",
        tuck=rng.uniform(0.06, 0.14),
        prep=rng.uniform(0.8, 1.0),
    )
    _arm_swing(ctx, c, t, take, land, end, up=rng.uniform(1.1, 1.6))
    if n == 1:
        ph = [
            "jumps forward",
            "jumps forward with both feet",
            "leaps forward once",
            "does a long jump forward",
            "jumps ahead, landing on both feet",
        ]
    else:
        ph = [
            f"jumps forward {times_word(n)}",
            f"does {num(n)} jumps forward",
            f"leaps forward {times_word(n)}",
            f"jumps ahead {num(n)} times in a row" if n > 2 else "jumps forward twice in a row",
            f"hops forward on both feet {times_word(n)}",
        ]
    return Action("jump_forward", c, ph, {"count": n, "distance": dist}, end_pos=np.array([0.0, n * dist]))


def jump_up(ctx: Ctx) -> Action:
    rng = ctx.rng
    n = int(ctx.choice((1, 2, 3, 4), [0.4, 0.25, 0.2, 0.15]))
    c, t, take, land, end = _series(
        ctx,
        n,
        0.0,
        flight=rng.uniform(0.3, 0.48),
        ground=rng.uniform(0.3, 0.45),
        dip=rng.uniform(0.14, 0.24),
        land_dip=rng.uniform(0.08, 0.14),
        support="both",
        tuck=rng.uniform(0.08, 0.2),
        prep=rng.uniform(0.75, 0.95),
    )
    _arm_swing(ctx, c, t, take, land, end, up=rng.uniform(1.8, 2.6))
    if n == 1:
        ph = [
            "jumps up",
            "jumps straight up in the air",
            "jumps in place once",
            "leaps up into the air",
            "does a vertical jump",
        ]
    else:
        ph = [
            f"jumps up and down {times_word(n)}",
            f"jumps in place {times_word(n)}",
            f"does {num(n)} jumps in place",
            f"jumps straight up {times_word(n)}",
            f"bounces up in the air {times_word(n)}",
        ]
    return Action("jump_up", c, ph, {"count": n})


def hop(ctx: Ctx) -> Action:
    rng = ctx.rng
    side = int(rng.integers(2))
    n = int(rng.integers(2, 7))
    forward = rng.random() < 0.6
    dist = rng.uniform(0.15, 0.35) if forward else 0.0
    c, t, take, land, end = _series(
        ctx,
        n,
        dist,
        flight=rng.uniform(0.22, 0.3),
        ground=rng.uniform(0.22, 0.3),
        dip=rng.uniform(0.08, 0.12),
        land_dip=rng.uniform(0.05, 0.09),
        support=side,
        tuck=0.05,
        prep=rng.uniform(0.7, 0.9),
        recover=0.8,
    )
    w = smoothstep(np.minimum(t / 0.5, (end - t) / 0.5))
    for arm in (0, 1):
        c.wrist[:, arm] = blend(c.wrist[:, arm], frontal(ctx.body, arm, np.full(len(t), 0.6), 0.9), w)
    c.pelvis[:, 1] += SIDE_SIGN[side] * 0.04 * w
    sw = side_word(side)
    where = "forward" if forward else "in place"
    ph = [
        f"hops on the {sw} leg",
        f"hops {where} on {{pos}} {sw} foot",
        f"hops {times_word(n)} on the {sw} foot",
        f"jumps {where} on one leg, the {sw} one",
        f"hops {num(n)} times on {{pos}} {sw} leg",
        f"balances on the {sw} foot and hops {where}",
    ]
    return Action(
        "hop", c, ph, {"side": sw, "count": n, "forward": forward}, end_pos=np.array([0.0, n * dist])
    )


def jumping_jacks(ctx: Ctx) -> Action:
    rng = ctx.rng
    n = int(rng.integers(2, 8))
    wide = rng.uniform(0.5, 0.68)
    widths = [ctx.style.stance_width] + [wide if i % 2 == 0 else ctx.style.stance_width for i in range(2 * n)]
    c, t, take, land, end = _series(
        ctx,
        2 * n,
        0.0,
        flight=rng.uniform(0.22, 0.28),
        ground=rng.uniform(0.18, 0.24),
        dip=0.06,
        land_dip=0.05,
        support="both",
        widths=widths,
        tuck=0.07,
        prep=rng.uniform(0.45, 0.6),
        recover=0.6,
    )
    kt = [0.0, take[0] - 0.1] + [lt + 0.08 for lt in land] + [end]
    kv = [0.1, 0.1] + [2.9 if i % 2 == 0 else 0.12 for i in range(2 * n)] + [0.1]
    theta = keys(t, kt, kv)
    for side in (0, 1):
        c.wrist[:, side] = frontal(ctx.body, side, theta, 0.95, fwd=0.05)
        c.pole[:, side] = (SIDE_SIGN[side] * 0.3, -0.3, -0.9)
    ph = [
        f"does {num(n)} jumping jacks",
        "does jumping jacks",
        f"performs {num(n)} jumping jacks",
        "jumps, spreading arms and legs, and back together",
        f"does jumping jacks {times_word(n)}",
    ]
    return Action("jumping_jacks", c, ph, {"count": n})


def skip(ctx: Ctx) -> Action:
    """Step-hop on alternating feet while travelling forward."""
    body, style, rng = ctx.body, ctx.style, ctx.rng
    n = int(rng.integers(3, 8))
    first = int(rng.integers(2))
    c1, f1, c2, f2 = (
        rng.uniform(0.14, 0.18),
        rng.uniform(0.14, 0.18),
        rng.uniform(0.1, 0.14),
        rng.uniform(0.1, 0.14),
    )
    cycle = c1 + f1 + c2 + f2
    speed = rng.uniform(1.3, 1.9)
    t0 = 0.45
    step_land = [t0 + 0.35 + i * cycle for i in range(n)]
    end = step_land[-1] + c1 + f1 + 0.4 + 0.6
    nf = ctx.frames(end)
    t = ctx.times(nf)
    c = ctx.neutral(nf)
    h0 = body.stand_height()
    t_move0, t_move1 = t0, step_land[-1] + c1 + f1
    ramp = 0.35
    vel = speed * smoothstep((t - t_move0) / ramp) * smoothstep((t_move1 - t) / ramp)
    z = np.concatenate([[0.0], np.cumsum(vel[1:] + vel[:-1]) * 0.5 / 20.0])
    c.root[:, 2] = z + 0.02

    def z_at(tt: float) -> float:
        return float(np.interp(tt, t, z))

    plants: list[list[Plant]] = [[], []]
    for side in (0, 1):
        plants[side].append(
            Plant(
                0.0,
                t0,
                np.array([SIDE_SIGN[side] * 0.5 * style.stance_width, 0.0]),
                SIDE_SIGN[side] * style.toe_out,
                roll_out=0.3,
            )
        )
    plants[1 - first][0].t_off = step_land[0] + 0.5 * c1
    knots = [(0.0, h0), (t0, h0 - 0.02)]
    flights = []
    prev_off = None
    for i in range(n):
        side = first if i % 2 == 0 else 1 - first
        s = SIDE_SIGN[side]
        a = step_land[i]
        hop_to, hop_ld, off = a + c1, a + c1 + f1, a + c1 + f1 + c2
        x, yaw = s * 0.5 * style.stance_width, s * style.toe_out
        last = i == n - 1
        plants[side].append(Plant(a, hop_to, np.array([x, z_at(a + 0.5 * c1)]), yaw, roll_out=0.4))
        plants[side].append(
            Plant(
                hop_ld,
                end if last else off,
                np.array([x, z_at(hop_ld + 0.5 * c2)]),
                yaw,
                roll_out=0.0 if last else 0.5,
            )
        )
        knots += [(a + 0.5 * c1, h0 - 0.05), (hop_to, h0), (hop_ld, h0 - 0.01)]
        flights.append((hop_to, hop_ld))
        if prev_off is not None:
            flights.append((prev_off, a))
            knots.append((a, h0 - 0.01))
        if not last:
            knots.append((off, h0))
        prev_off = off
    last_side = first if (n - 1) % 2 == 0 else 1 - first
    z_end = float(plants[last_side][-1].pos[1])
    t_close = step_land[-1] + c1 + f1 + 0.45
    closing = 1 - last_side
    plants[closing].append(
        Plant(
            t_close,
            end,
            np.array([SIDE_SIGN[closing] * 0.5 * style.stance_width, z_end]),
            SIDE_SIGN[closing] * style.toe_out,
        )
    )
    knots += [(t_close, h0 - 0.03), (end, h0)]
    c.root[:, 1] = ballistic_height(t, knots, flights)
    settle = smoothstep((t - (t_close - 0.4)) / 0.6)
    c.root[:, 2] = c.root[:, 2] * (1 - settle) + (z_end + 0.02) * settle
    c.root[:, 0] = 0.0
    for side in (0, 1):
        lifts = []
        ps = sorted(plants[side], key=lambda p: p.t_on)
        for a, b in zip(ps[:-1], ps[1:], strict=True):
            lifts.append(0.06 if b.t_on - a.t_off < 0.25 else 0.22)
        a_, fy, fp = foot_track(body, side, t, ps, lift=lifts, peak=0.4)
        c.ankle[:, side], c.foot_yaw[:, side], c.foot_pitch[:, side] = a_, fy, fp
    lead = c.ankle[:, 0, 2] - c.ankle[:, 1, 2]
    w = smoothstep(np.minimum(t / 0.4, (end - t) / 0.4))
    for side in (0, 1):
        theta = np.clip(-SIDE_SIGN[side] * 1.6 * lead, -0.6, 1.0) * w
        c.wrist[:, side] = blend(c.wrist[:, side], sagittal(body, side, theta + 0.2, 0.85), w)
    ph = [
        "skips forward",
        "skips along",
        f"skips forward {num(n)} times",
        "skips ahead with light steps",
        "does a skipping motion while moving forward",
    ]
    return Action("skip", c, ph, {"count": n}, end_pos=np.array([0.0, z_end]))


__all__ = ["LEFT", "hop", "jump_forward", "jump_up", "jumping_jacks", "skip"]
