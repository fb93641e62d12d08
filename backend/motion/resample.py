"""Frame-rate conversion of joint trajectories."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import interp1d

from ..errors import MotionInputError


def resample_joints(joints: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Resample (T, ...) positions from fps_in to fps_out by linear interpolation over time.

    The output covers the same time span: frame k is at k / fps_out seconds, up to the last input frame.
    """
    if fps_in <= 0 or fps_out <= 0:
        raise MotionInputError(f"frame rates must be positive, got {fps_in} -> {fps_out}")
    joints = np.asarray(joints, dtype=np.float64)
    if abs(fps_in - fps_out) < 1e-9 or len(joints) < 2:
        return joints.copy()
    duration = (len(joints) - 1) / fps_in
    n_out = int(np.floor(duration * fps_out + 1e-6)) + 1
    t_in = np.arange(len(joints)) / fps_in
    t_out = np.arange(n_out) / fps_out
    return interp1d(t_in, joints, axis=0, assume_sorted=True)(t_out)
