"""Quaternion helpers for the corpus's hot loops: the same maths as backend.motion.rotations (w, x, y, z;
broadcasting over leading dims) written out per component, without np.cross / np.moveaxis, whose
per-call overhead dominated the corpus profile (many small arrays per clip)."""

from __future__ import annotations

import numpy as np

from backend.motion.rotations import qfrom_yaw, qinv

__all__ = ["axis_angle_to_quat", "normalize", "qfrom_yaw", "qinv", "qmul", "qrot"]


def normalize(v: np.ndarray, axis: int = -1) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.maximum(np.sqrt(np.sum(v * v, axis=axis, keepdims=True)), 1e-9)


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (apply b first, then a)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    shape = np.broadcast_shapes(a.shape, b.shape)
    out = np.empty(shape)
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): v + 2w (u x v) + 2 u x (u x v)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    w, ux, uy, uz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    tx = 2.0 * (uy * vz - uz * vy)
    ty = 2.0 * (uz * vx - ux * vz)
    tz = 2.0 * (ux * vy - uy * vx)
    shape = np.broadcast_shapes(q.shape[:-1], v.shape[:-1]) + (3,)
    out = np.empty(shape)
    out[..., 0] = vx + w * tx + (uy * tz - uz * ty)
    out[..., 1] = vy + w * ty + (uz * tx - ux * tz)
    out[..., 2] = vz + w * tz + (ux * ty - uy * tx)
    return out


def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.sqrt(np.sum(aa * aa, axis=-1, keepdims=True))
    axis = aa / np.maximum(angle, 1e-9)
    return np.concatenate([np.cos(angle / 2), axis * np.sin(angle / 2)], axis=-1)
