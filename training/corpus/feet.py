"""Foot trajectories from planted intervals: a planted foot never moves; swings arc between plants.

A plant holds the ankle's flat position on the floor. Optional rolls: at touchdown the toe comes down
about the heel (ankle fixed); before lift-off the heel rises about the toe (toe fixed). Between two
plants the foot either swings along a lifted arc ('swing') or is carried with the pelvis ('follow',
for flight phases of jumps and a lifted leg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import TOE, Body
from .curves import minjerk, smoothstep, unwrap_lerp


@dataclass
class Plant:
    t_on: float
    t_off: float
    pos: np.ndarray  # (2,) ankle x, z when the foot is flat
    yaw: float
    roll_in: float = 0.0  # toe-up angle at touchdown (rad)
    roll_out: float = 0.0  # heel-up angle at lift-off (rad)
    roll_in_frac: float = 0.15
    roll_out_frac: float = 0.35
    y: float = 0.0  # floor height under this plant (stairs, a box)
    pitch0: float = 0.0  # held foot pitch (kneeling, crawling: toes tucked under)


def _foot_vec(body: Body, side: int, yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """The toe offset turned by the foot's pitch (about X, + points the toe down) then yaw (about Y); the
    rotation the rig applies, written out (this runs for every plant of every step)."""
    yaw, pitch = np.broadcast_arrays(np.asarray(yaw, dtype=np.float64), np.asarray(pitch, dtype=np.float64))
    ox, oy, oz = body.offsets[TOE[side]]
    cp, sp = np.cos(pitch), np.sin(pitch)
    y1, z1 = oy * cp - oz * sp, oy * sp + oz * cp
    cy, sy = np.cos(yaw), np.sin(yaw)
    out = np.empty((*yaw.shape, 3))
    out[..., 0] = ox * cy + z1 * sy
    out[..., 1] = y1
    out[..., 2] = -ox * sy + z1 * cy
    return out


def heel_raise(body: Body, side: int, flat: np.ndarray, yaw: float, pitch: np.ndarray) -> np.ndarray:
    """Ankle positions (n, 3) of a foot whose toe stays where it is when flat while the heel rises."""
    toe = flat + _foot_vec(body, side, np.array(yaw), np.array(0.0))
    return toe - _foot_vec(body, side, np.full(len(pitch), yaw), pitch)


def _plant_state(body: Body, side: int, p: Plant, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ankle positions (n, 3) and pitch (n,) during a plant."""
    n = len(t)
    flat = np.array([p.pos[0], body.ankle_height + p.y, p.pos[1]])
    ankle = np.broadcast_to(flat, (n, 3)).copy()
    pitch = np.full(n, p.pitch0)
    dur = max(p.t_off - p.t_on, 1e-6)
    u = (t - p.t_on) / dur
    if p.roll_in > 0:
        pitch -= p.roll_in * (1.0 - smoothstep(u / p.roll_in_frac))
    if p.roll_out > 0:
        w = smoothstep((u - (1.0 - p.roll_out_frac)) / p.roll_out_frac)
        heel = p.roll_out * w
        lifted = heel > 0
        if np.any(lifted):
            ankle[lifted] = heel_raise(body, side, flat, p.yaw, heel[lifted])
        pitch = pitch + heel
    return ankle, pitch


def foot_track(
    body: Body,
    side: int,
    t: np.ndarray,
    plants: list[Plant],
    lift: float | list[float] = 0.1,
    peak: float = 0.45,
    follow: tuple[np.ndarray, np.ndarray] | None = None,
    follow_pitch: float = 0.3,
    follow_ramp: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ankle (T, 3), foot yaw (T,), foot pitch (T,) for one foot.

    follow: (offsets (T, 3), pelvis (T, 3)); when given, gaps between plants are flights where the
    ankle is at pelvis + offset, blended in from the take-off pose and out to the landing pose.
    """
    n = len(t)
    ankle = np.zeros((n, 3))
    yaw = np.zeros(n)
    pitch = np.zeros(n)
    plants = sorted(plants, key=lambda p: p.t_on)
    swing_mask = np.zeros(n, dtype=bool)
    floor = np.zeros(n)
    for i, p in enumerate(plants):
        m = (t >= p.t_on) & (t <= p.t_off)
        if i == 0:
            m |= t < p.t_on
        if i == len(plants) - 1:
            m |= t > p.t_off
        if np.any(m):
            ankle[m], pitch[m] = _plant_state(body, side, p, np.clip(t[m], p.t_on, p.t_off))
            yaw[m] = p.yaw
        if i + 1 < len(plants):
            q = plants[i + 1]
            g = (t > p.t_off) & (t < q.t_on)
            if not np.any(g):
                continue
            swing_mask |= g
            floor[g] = np.minimum(p.y, q.y)
            a, pa = _plant_state(body, side, p, np.array([p.t_off]))
            b, pb = _plant_state(body, side, q, np.array([q.t_on]))
            u = (t[g] - p.t_off) / (q.t_on - p.t_off)
            e = minjerk(u)[:, None]
            pos = a + (b - a) * e
            if follow is None:
                expo = np.log(0.5) / np.log(peak)
                height = lift[i] if isinstance(lift, list) else lift
                pos[:, 1] += height * np.sin(np.pi * u**expo)
                pitch[g] = pa[0] + (pb[0] - pa[0]) * smoothstep(u)
            else:
                offs, pel = follow
                carried = pel[g] + offs[g]
                r = min(0.3, follow_ramp / (q.t_on - p.t_off))
                w = (smoothstep(u / r) * smoothstep((1.0 - u) / r))[:, None]
                pos = pos * (1.0 - w) + carried * w
                mid = follow_pitch * w[:, 0]
                pitch[g] = (pa[0] + (pb[0] - pa[0]) * smoothstep(u)) * (1.0 - w[:, 0]) + mid
            ankle[g] = pos
            yaw[g] = unwrap_lerp(p.yaw, q.yaw, smoothstep(u))
    # Keep the toe above the floor while the foot is in the air.
    if np.any(swing_mask):
        toe_y = ankle[swing_mask, 1] + _foot_vec(body, side, yaw[swing_mask], pitch[swing_mask])[:, 1]
        ankle[swing_mask, 1] += np.maximum(0.005 + floor[swing_mask] - toe_y, 0.0)
    return ankle, yaw, pitch
