"""Quaternion helpers (w, x, y, z) batched over frames, written for speed on short (T, 3)/(T, 4) arrays.

The solver calls these a few hundred times per retarget, so they avoid the generic moveaxis/stack
machinery of `backend.motion.rotations` (same conventions: Hamilton product, a * b applies b first).
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def _out(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Output buffer for a binary op; operands are (T, k) with (T, k) or a single (k,)."""
    return np.empty(a.shape if a.ndim >= b.ndim else b.shape)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    out = _out(a, b)
    out[..., 0] = ay * bz - az * by
    out[..., 1] = az * bx - ax * bz
    out[..., 2] = ax * by - ay * bx
    return out


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.sqrt(dot(v, v)), _EPS)[..., None]


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = _out(a, b)
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate v (..., 3) by unit quaternions q (..., 4)."""
    u = q[..., 1:]
    t = 2.0 * cross(u, v)
    return v + q[..., :1] * t + cross(u, t)


def qbetween(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotations (T, 4) turning unit vectors a onto unit vectors b (both (T, 3))."""
    c = dot(a, b)
    q = np.empty((*c.shape, 4))
    q[..., 0] = 1.0 + c
    q[..., 1:] = cross(a, b)
    opposite = q[..., 0] < 1e-10
    if np.any(opposite):  # half turn about any axis perpendicular to a
        ao = a[opposite]
        helper = np.where(np.abs(ao[:, :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
        q[opposite] = np.concatenate([np.zeros((len(ao), 1)), unit(cross(ao, helper))], axis=-1)
    return q / np.sqrt(np.sum(q * q, axis=-1, keepdims=True))


def qaxis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations (T, 4) by `angle` (T,) about unit `axis` (T, 3)."""
    q = np.empty((*angle.shape, 4))
    q[..., 0] = np.cos(0.5 * angle)
    q[..., 1:] = axis * np.sin(0.5 * angle)[..., None]
    return q


def signed_angle(a: np.ndarray, b: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle (T,) from a to b about axis (all (T, 3); a, b perpendicular to axis)."""
    return np.arctan2(dot(axis, cross(a, b)), dot(a, b))


def wrap_angle(x: np.ndarray) -> np.ndarray:
    return (x + np.pi) % (2.0 * np.pi) - np.pi


def smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


CATCH_UP = np.deg2rad(12.0)  # rad per frame a held twist may turn beyond its measurement's own turn


def hold_blend(angle: np.ndarray, weight: np.ndarray, catch_up: float = CATCH_UP) -> np.ndarray:
    """A twist that follows `angle` as far as it is trusted: each frame moves from the previous twist towards
    the angle by its weight (1: the angle itself; 0: held), the short way round.

    Used for twists that are measured only while a limb is bent: as the measurement fades (weight -> 0) the
    twist keeps what it had instead of jumping. Blending towards the last *fully* trusted value instead (as
    this did before) turned a straightening arm back to a twist from several frames earlier: the upper arm
    rolled 30 degrees a frame while its source bend plane stood still.
    """
    angle = np.asarray(angle, np.float64)
    weight = np.clip(np.asarray(weight, np.float64), 0.0, 1.0)
    out = np.empty_like(angle)
    good = np.flatnonzero(weight >= 1.0 - 1e-9)
    current = float(angle[good[0]]) if len(good) else 0.0  # frames before the first trusted one take its value
    previous = current
    for t in range(len(angle)):
        # as fast as the measurement itself turns, plus catch_up: a limb that re-bends in another plane than the
        # one it straightened in rolls over there in a few frames instead of one (it popped 104 degrees)
        limit = catch_up + abs(float(wrap_angle(angle[t] - previous)))
        current = current + float(np.clip(weight[t] * wrap_angle(angle[t] - current), -limit, limit))
        previous = float(angle[t])
        out[t] = current
    return out


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip q -> -q along time (axis 0) so that w >= 0 on frame 0 and consecutive quaternions have
    non-negative dot products (Blender interpolates keys component-wise, so a sign flip would spin)."""
    q = np.array(q, dtype=np.float64, copy=True)
    q[:1] *= np.where(q[:1, ..., :1] < 0, -1.0, 1.0)
    if len(q) > 1:
        flips = np.where(np.sum(q[1:] * q[:-1], axis=-1, keepdims=True) < 0, -1.0, 1.0)
        q[1:] *= np.cumprod(flips, axis=0)
    return q
