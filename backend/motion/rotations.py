"""Batched rotation conversions in numpy. Quaternions are (w, x, y, z), arrays broadcast over leading dims.

6D rotations follow HumanML3D: the first two columns of the rotation matrix, concatenated.
Euler conversions (BVH channels) go through scipy's Rotation, which is well tested for all orders.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

_EPS = 1e-9


def normalize(v: np.ndarray, axis: int = -1) -> np.ndarray:
    n = np.linalg.norm(v, axis=axis, keepdims=True)
    return v / np.maximum(n, _EPS)


def qidentity(shape: tuple[int, ...] = ()) -> np.ndarray:
    q = np.zeros((*shape, 4))
    q[..., 0] = 1.0
    return q


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (apply b first, then a)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def qinv(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion (its conjugate)."""
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def qbetween(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction u to direction v (both (..., 3), any length)."""
    u = normalize(u)
    v = normalize(v)
    dot = np.sum(u * v, axis=-1, keepdims=True)
    axis = np.cross(u, v)
    q = np.concatenate([1.0 + dot, axis], axis=-1)
    # Opposite directions: rotate by pi about any axis perpendicular to u.
    opposite = (1.0 + dot[..., 0]) < 1e-8
    if np.any(opposite):
        uo = u[opposite]
        helper = np.where(np.abs(uo[:, :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
        perp = normalize(np.cross(uo, helper))
        q[opposite] = np.concatenate([np.zeros((len(uo), 1)), perp], axis=-1)
    return normalize(q)


def qcontinuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` (time) so consecutive quaternions have a positive dot product."""
    q = np.moveaxis(q.copy(), axis, 0)
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1
    return np.moveaxis(q, 0, axis)


def qfrom_yaw(angle: np.ndarray) -> np.ndarray:
    """Quaternion for a rotation by `angle` radians about +Y."""
    angle = np.asarray(angle, dtype=np.float64)
    q = np.zeros((*angle.shape, 4))
    q[..., 0] = np.cos(angle / 2)
    q[..., 2] = np.sin(angle / 2)
    return q


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    q = normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    m = np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], axis=-1)
    return m.reshape(*q.shape[:-1], 3, 3)


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    shape = m.shape[:-2]
    xyzw = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_quat()
    return xyzw[:, [3, 0, 1, 2]].reshape(*shape, 4)


def quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    m = quat_to_matrix(q)
    return np.concatenate([m[..., 0], m[..., 1]], axis=-1)


def cont6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    """Gram-Schmidt the two stored columns back into a rotation matrix."""
    a = normalize(d6[..., 0:3])
    b = d6[..., 3:6]
    b = normalize(b - np.sum(a * b, axis=-1, keepdims=True) * a)
    c = np.cross(a, b)
    return np.stack([a, b, c], axis=-1)


def cont6d_to_quat(d6: np.ndarray) -> np.ndarray:
    return matrix_to_quat(cont6d_to_matrix(d6))


def quat_to_axis_angle(q: np.ndarray) -> np.ndarray:
    q = normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    sin_half = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, q[..., :1])
    return q[..., 1:] / np.maximum(sin_half, _EPS) * angle


def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    axis = aa / np.maximum(angle, _EPS)
    return np.concatenate([np.cos(angle / 2), axis * np.sin(angle / 2)], axis=-1)


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic rotations in the given axis order (BVH: 'ZXY' means R = Rz @ Rx @ Ry)."""
    shape = angles_deg.shape[:-1]
    m = Rotation.from_euler(order.upper(), angles_deg.reshape(-1, 3), degrees=True).as_matrix()
    return m.reshape(*shape, 3, 3)


def matrix_to_euler(m: np.ndarray, order: str) -> np.ndarray:
    shape = m.shape[:-2]
    return Rotation.from_matrix(m.reshape(-1, 3, 3)).as_euler(order.upper(), degrees=True).reshape(*shape, 3)
