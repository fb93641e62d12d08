"""Arm target helpers in the chest frame (relative to spine3) and small shared pose utilities."""

from __future__ import annotations

import numpy as np

from .body import SIDE_SIGN, Body
from .fastrot import normalize


def arm_at(body: Body, side: int, direction: np.ndarray, ext: float | np.ndarray) -> np.ndarray:
    """Wrist target: from the shoulder along `direction` (..., 3; x is toward the body's left, so pass the
    side-signed vector) at `ext` of the arm's length."""
    d = normalize(np.asarray(direction, dtype=np.float64))
    return body.shoulder_in_chest(side) + d * (np.asarray(ext)[..., None] * body.arm)


def frontal(
    body: Body, side: int, theta: np.ndarray, ext: float | np.ndarray = 0.96, fwd: float = 0.12
) -> np.ndarray:
    """Arm in the frontal plane: theta 0 hangs down, pi/2 points out to the side, ~pi points up."""
    s = SIDE_SIGN[side]
    theta = np.asarray(theta, dtype=np.float64)
    d = np.stack([s * np.sin(theta), -np.cos(theta), np.full_like(theta, fwd)], axis=-1)
    return arm_at(body, side, d, ext)


def sagittal(
    body: Body, side: int, theta: np.ndarray, ext: float | np.ndarray = 0.96, out: float = 0.12
) -> np.ndarray:
    """Arm in the sagittal plane: theta 0 hangs down, pi/2 points forward, ~pi points up, < 0 swings back."""
    s = SIDE_SIGN[side]
    theta = np.asarray(theta, dtype=np.float64)
    d = np.stack([np.full_like(theta, s * out), -np.cos(theta), np.sin(theta)], axis=-1)
    return arm_at(body, side, d, ext)


def blend(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a*(1-w) + b*w with w (T,) broadcast over trailing dims."""
    w = np.asarray(w).reshape(-1, *([1] * (np.ndim(a) - 1)))
    return a * (1.0 - w) + b * w
