"""Root path warping: put a motion's pelvis ground track on a requested curve and keep the body's own motion.

Each frame is moved by one rigid transform about the vertical axis through the pelvis: a translation of the
pelvis' ground point onto the requested position and a turn by the change of travel direction (the path's
tangent minus the motion's own direction of travel), so a walk turns to follow a curve, a side-step stays a
side-step and a backwards walk stays backwards. Where the motion stands still but the path moves, the body turns
to face along the path; where the path stands still, the last turn is held (interpolated between moving spans).
Outside the path's time span the motion continues from the path's ends with its own steps, turned alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .constraints import PathConstraint

MOVING = 0.25          # m/s: slower than this a track counts as standing
TURN_SMOOTH = 2.0      # frames: Gaussian sigma of the turn track


@dataclass(frozen=True)
class PathWarp:
    turn: np.ndarray        # (T,) yaw change (rad) applied about the pelvis
    source: np.ndarray      # (T, 2) the motion's own pelvis ground track
    target: np.ndarray      # (T, 2) where the pelvis goes


def yaw_of(vectors: np.ndarray) -> np.ndarray:
    """Yaw (rad) of direction vectors (..., 3) or ground (x, z) (..., 2): 0 facing +Z, +pi/2 facing +X."""
    v = np.asarray(vectors)
    x, z = (v[..., 0], v[..., 2]) if v.shape[-1] == 3 else (v[..., 0], v[..., 1])
    return np.arctan2(x, z)


def turn_y(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points (T, ..., 3) turned about +Y by `angle` (T,) (a direction of yaw a gets yaw a + angle)."""
    c, s = np.cos(angle), np.sin(angle)
    shape = (len(angle),) + (1,) * (points.ndim - 2)
    c, s = c.reshape(shape), s.reshape(shape)
    out = points.copy()
    out[..., 0] = points[..., 0] * c + points[..., 2] * s
    out[..., 2] = points[..., 2] * c - points[..., 0] * s
    return out


def turn_xz(ground: np.ndarray, angle: float) -> np.ndarray:
    """Ground vectors (N, 2) as (x, z) turned about +Y by one angle."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([ground[:, 0] * c + ground[:, 1] * s, ground[:, 1] * c - ground[:, 0] * s], axis=1)


def _speed_and_yaw(track: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    vel = np.gradient(track, axis=0) * fps if len(track) > 1 else np.zeros_like(track)
    return np.linalg.norm(vel, axis=1), np.arctan2(vel[:, 0], vel[:, 1])


def _fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unwrapped angles where `known`, linearly interpolated (held at the ends) elsewhere; 0 if none known."""
    if not known.any():
        return np.zeros(len(values))
    idx = np.flatnonzero(known)
    return np.interp(np.arange(len(values)), idx, np.unwrap(values[idx]))


def plan_warp(source: np.ndarray, heading: np.ndarray, path: PathConstraint, fps: float) -> PathWarp:
    """The warp of a motion whose pelvis ground track is `source` (T, 2) and body yaw `heading` (T,)."""
    frames = len(source)
    inside, wanted = path.sample(frames, fps)
    target = source.copy()
    target[inside] = wanted
    sp, yaw_p = _speed_and_yaw(target[inside], fps) if len(inside) else (np.zeros(0), np.zeros(0))
    sg, yaw_g = _speed_and_yaw(source, fps)
    turn = np.zeros(frames)
    known = np.zeros(frames, bool)
    if len(inside):
        moving = sp > MOVING
        walking = moving & (sg[inside] > MOVING)
        delta = np.where(walking, yaw_p - yaw_g[inside], yaw_p - heading[inside])
        turn[inside] = delta
        known[inside] = moving
    turn = _fill(turn, known)
    if len(inside) and TURN_SMOOTH > 0:
        turn = ndimage.gaussian_filter1d(turn, TURN_SMOOTH, mode="nearest")
    if len(inside):  # outside the span: the motion's own steps, turned, from the path's ends
        first, last = inside[0], inside[-1]
        before, after = np.arange(first), np.arange(last + 1, frames)
        if len(before):
            target[before] = target[first] + turn_xz(source[before] - source[first], turn[first])
        if len(after):
            target[after] = target[last] + turn_xz(source[after] - source[last], turn[last])
    return PathWarp(turn, source.copy(), target)


def apply_warp(joints: np.ndarray, warp: PathWarp) -> np.ndarray:
    """Joints (T, J, 3) moved by the warp (each frame turned about its pelvis and put on the target)."""
    ground = np.zeros((len(joints), 1, 3))
    ground[:, 0, [0, 2]] = warp.source
    out = turn_y(joints - ground, warp.turn)
    out[..., 0] += warp.target[:, None, 0]
    out[..., 2] += warp.target[:, None, 1]
    return out


def path_errors(joints: np.ndarray, path: PathConstraint, fps: float) -> np.ndarray:
    """Pelvis ground distance (m) to the path at each frame inside its span."""
    inside, wanted = path.sample(len(joints), fps)
    return np.linalg.norm(joints[inside, 0][:, [0, 2]] - wanted, axis=1)
