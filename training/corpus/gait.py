"""Stepping locomotion: footstep plan -> planted feet, pelvis path, bob, sway, arm swing.

The plan is a list of body keys B_0..B_N (stance centre x, z and body yaw). Step k (k = 1..N) puts one
foot (alternating, `first_side` first) half a stance width beside B_k, at B_k's yaw. The last key repeats
the one before it, so the last step closes the feet side by side. Each landed foot stays exactly where
it was put until it lifts again, which is what keeps foot skating at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .base import Ctx
from .body import SIDE_SIGN
from .controls import Controls
from .curves import FPS, keys
from .fastrot import qfrom_yaw, qrot
from .feet import Plant, foot_track


@dataclass
class Gait:
    step_time: float  # s per step (60 / cadence)
    duty: float = 0.62  # stance fraction of a stride; < 0.5 gives flight phases
    lift: float = 0.09  # ankle lift in swing (m)
    peak: float = 0.45  # where in the swing the lift peaks
    roll_in: float = 0.2  # toe-up at touchdown (rad)
    roll_out: float = 0.45  # heel-up at lift-off (rad)
    drop: float = 0.008  # pelvis lower than standing (m)
    bob: float = 0.015  # vertical pelvis amplitude (m)
    running: bool = False  # bob phase: high in flight instead of at mid-stance
    sway: float = 0.025  # lateral pelvis shift toward the stance foot (m)
    lean: float = 0.03  # extra forward spine pitch (rad)
    arm_gain: float = 1.0  # arm swing (rad per metre of foot lead)
    arm_bend: float = 0.0  # 0 hanging arms, 1 elbows at ~90 degrees
    width: float | None = None
    head_pitch: float = 0.0
    over: float = 0.42  # fraction of stance at which the pelvis passes over the planted ankle


@dataclass
class StepPlan:
    sides: list[int]
    land: np.ndarray  # (N,) landing time of step k = 1..N
    lift: np.ndarray  # (N,) lift-off time of the foot of step k
    foot_pos: np.ndarray  # (N, 2)
    foot_yaw: np.ndarray  # (N,)
    body_keys: list[tuple[np.ndarray, float]]
    end_time: float
    foot_y: np.ndarray | None = None  # (N,) floor height under step k (stairs, a box); None = flat floor


def _offset(yaw: float, x: float, z: float = 0.0) -> np.ndarray:
    v = qrot(qfrom_yaw(np.array(yaw)), np.array([x, 0.0, z]))
    return v[[0, 2]]


def plan_steps(
    ctx: Ctx,
    body_keys: list[tuple[np.ndarray, float]],
    first_side: int,
    gait: Gait,
    lead_in: float,
    settle: float,
    step_times: np.ndarray | None = None,
    sides: list[int] | None = None,
    heights: list[float] | np.ndarray | None = None,
) -> StepPlan:
    """Timing and footprints; `sides` overrides strict alternation (then duty must stay above 0.5)."""
    n = len(body_keys) - 1
    ts = np.full(n, gait.step_time) if step_times is None else np.asarray(step_times, float)
    # Start and stop with more double support when the steady gait has flight phases.
    duty = np.full(n, gait.duty)
    if gait.duty < 0.55:
        ramp = np.minimum(np.arange(n), np.arange(n)[::-1])
        duty = np.where(ramp == 0, 0.56, np.where(ramp == 1, 0.5 * (0.56 + gait.duty), duty))
    swing = 2.0 * ts * (1.0 - duty)
    land = np.zeros(n)
    land[0] = lead_in + swing[0]
    for k in range(1, n):
        land[k] = land[k - 1] + ts[k]
    lift = land - swing
    lift[0] = lead_in
    width = gait.width if gait.width is not None else ctx.style.stance_width
    if sides is None:
        sides = [first_side if k % 2 == 0 else 1 - first_side for k in range(n)]
    pos = np.zeros((n, 2))
    fyaw = np.zeros(n)
    for k in range(n):
        b, yaw = body_keys[k + 1]
        s = SIDE_SIGN[sides[k]]
        pos[k] = b + _offset(yaw, s * 0.5 * width)
        fyaw[k] = yaw + s * ctx.style.toe_out
    foot_y = None if heights is None else np.asarray(heights, dtype=np.float64)
    return StepPlan(sides, land, lift, pos, fyaw, body_keys, float(land[-1] + settle), foot_y)


def _plants(ctx: Ctx, plan: StepPlan, gait: Gait, side: int) -> list[Plant]:
    b0, yaw0 = plan.body_keys[0]
    s = SIDE_SIGN[side]
    width = gait.width if gait.width is not None else ctx.style.stance_width
    start = Plant(0.0, 0.0, b0 + _offset(yaw0, s * 0.5 * width), yaw0 + s * ctx.style.toe_out)
    plants = [start]
    mine = [k for k, sd in enumerate(plan.sides) if sd == side]
    start.t_off = plan.lift[mine[0]] if mine else plan.end_time
    start.roll_out = gait.roll_out if mine else 0.0
    for i, k in enumerate(mine):
        last = i == len(mine) - 1
        t_off = plan.end_time if last else plan.lift[mine[i + 1]]
        closing = k == len(plan.sides) - 1
        plants.append(
            Plant(
                plan.land[k],
                t_off,
                plan.foot_pos[k],
                plan.foot_yaw[k],
                roll_in=gait.roll_in * (0.5 if closing else 1.0),
                roll_out=0.0 if last else gait.roll_out,
                y=0.0 if plan.foot_y is None else float(plan.foot_y[k]),
            )
        )
    return plants


def _support_height(t: np.ndarray, plan: StepPlan) -> np.ndarray:
    """Floor height under the body: rises with each step onto a higher footprint (0 on a flat floor)."""
    if plan.foot_y is None:
        return np.zeros(len(t))
    # The body rises while it moves onto the new foot, from its landing to mid-stance.
    kt, kv = [0.0], [0.0]
    for k in range(len(plan.sides)):
        nxt = plan.land[k + 1] if k + 1 < len(plan.sides) else plan.end_time
        kt += [plan.land[k] + 0.05, plan.land[k] + 0.6 * (nxt - plan.land[k])]
        prev = kv[-1]
        kv += [prev, max(plan.foot_y[k], plan.foot_y[k - 1]) if k > 0 else max(plan.foot_y[k], 0.0)]
    kt.append(plan.end_time)
    kv.append(float(plan.foot_y[-1]))
    return keys(t, kt, kv)


def locomotion(ctx: Ctx, plan: StepPlan, gait: Gait) -> Controls:
    """Controls in the local frame for a step plan (upper body neutral plus arm swing and lean)."""
    n = ctx.frames(plan.end_time)
    t = ctx.times(n)
    c = ctx.neutral(n)
    body, style = ctx.body, ctx.style

    # Pelvis path: weight shift onto the stance foot, then over each footprint at mid-stance.
    b0, yaw0 = plan.body_keys[0]
    fwd = 0.02
    first = plan.sides[0]
    kt = [0.0, max(plan.lift[0] - 0.05, 0.02)]
    kp = [b0 + _offset(yaw0, 0.0, fwd), b0 + _offset(yaw0, -SIDE_SIGN[first] * gait.sway, fwd)]
    ky = [yaw0, yaw0]
    mids = []
    # The last full step gets no key: the pelvis glides from the previous footprint to its rest over the
    # final stance, so it never runs ahead of the trailing foot while that foot closes in.
    for k in range(len(plan.sides) - 2 if len(plan.sides) > 2 else len(plan.sides) - 1):
        b, yaw = plan.body_keys[k + 1]
        later = [i for i in range(k + 1, len(plan.sides)) if plan.sides[i] == plan.sides[k]]
        off_plant = plan.lift[later[0]] if later else plan.land[k + 1]
        m = plan.land[k] + gait.over * (off_plant - plan.land[k])
        mids.append(m)
        kt.append(m)
        kp.append(b + _offset(yaw, SIDE_SIGN[plan.sides[k]] * gait.sway, fwd))
        ky.append(yaw)
    b_end, yaw_end = plan.body_keys[-1]
    t_rest = plan.land[-1] + 0.5 * (plan.end_time - plan.land[-1])
    kt += [t_rest, plan.end_time]
    kp += [b_end + _offset(yaw_end, 0.0, fwd)] * 2
    ky += [yaw_end, yaw_end]
    xz = keys(t, kt, np.array(kp))
    c.root[:, 0], c.root[:, 2] = xz[:, 0], xz[:, 1]
    c.yaw[:] = keys(t, kt, ky)

    # Height: lower while moving, bob once per step.
    h0 = body.stand_height()
    hy_t = [0.0, kt[1]]
    hy = [h0, h0 - 0.3 * gait.drop]
    sign = -1.0 if gait.running else 1.0
    for i, m in enumerate(mids):
        hy_t.append(m)
        hy.append(h0 - gait.drop + sign * gait.bob)
        if i + 1 < len(mids):
            hy_t.append(0.5 * (m + mids[i + 1]))
            hy.append(h0 - gait.drop - sign * gait.bob)
    hy_t += [t_rest, plan.end_time]
    hy += [h0, h0]
    c.root[:, 1] = keys(t, hy_t, hy) + _support_height(t, plan)

    for side in (0, 1):
        a, fy, fp = foot_track(body, side, t, _plants(ctx, plan, gait, side), lift=gait.lift, peak=gait.peak)
        c.ankle[:, side], c.foot_yaw[:, side], c.foot_pitch[:, side] = a, fy, fp

    # Counter-rotation of pelvis and chest, and arm swing, follow the feet's fore-aft lead.
    inv = qfrom_yaw(-c.yaw)
    lead = np.stack([qrot(inv, c.ankle[:, s] - c.root)[:, 2] for s in (0, 1)], axis=1)
    lead = gaussian_filter1d(lead - lead.mean(axis=1, keepdims=True), 1.5, axis=0, mode="nearest")
    diff = lead[:, 0] - lead[:, 1]
    c.yaw -= 0.25 * diff
    c.spine[:, 2] += 0.2 * diff
    moving = np.clip(np.abs(np.gradient(xz, axis=0)).sum(axis=1) * FPS / 0.3, 0, 1)
    moving = gaussian_filter1d(np.maximum(moving, np.abs(diff) / 0.2), 3.0, mode="nearest").clip(0, 1)
    c.spine[:, 0] += gait.lean * moving
    c.head[:, 0] += gait.head_pitch * moving
    for side in (0, 1):
        s = SIDE_SIGN[side]
        sh = body.shoulder_in_chest(side)
        hang = c.wrist[:, side] - sh
        bent = np.array([s * 0.06, -0.27, 0.22]) * body.arm / 0.51
        w = gait.arm_bend * moving[:, None]
        rel = hang * (1.0 - w) + bent * w
        theta = np.clip(gait.arm_gain * style.arm_swing / 0.35 * lead[:, side], -0.75, 0.75)
        cos, sin = np.cos(theta), np.sin(theta)
        y, z = rel[:, 1], rel[:, 2]
        rel = np.stack([rel[:, 0], y * cos - z * sin, y * sin + z * cos], axis=1)
        c.wrist[:, side] = sh + rel
    return c
