"""The SMPL-22 skeleton as the renderer needs it, and the checks and axis change applied to every motion.

The add-on must not import `backend`, so the joint names and parent indices are copied here from
`backend/motion/skeleton.py` (SMPL22: HumanML3D's `t2m_kinematic_chain`); a test compares the two.
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle", "spine3",
    "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder", "r_shoulder", "l_elbow",
    "r_elbow", "l_wrist", "r_wrist",
)
# Copied from backend/motion/skeleton.py (SMPL22.parents).
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
JOINT = {name: i for i, name in enumerate(JOINT_NAMES)}
NUM_JOINTS = len(JOINT_NAMES)
MOTION_FPS = 20.0  # HumanML3D
# Leg (hip-knee-ankle) plus spine (pelvis-neck) length of the HumanML3D reference skeleton, metres: the
# avatar's thicknesses scale with the motion's skeleton relative to this.
REFERENCE_BODY_LENGTH = 1.318


def check_joints(joints: np.ndarray, name: str = "motion") -> np.ndarray:
    """The motion as float64 (T, 22, 3); ValueError naming the problem for anything else."""
    arr = np.asarray(joints)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{name}: expected SMPL-22 joint positions of shape (T, 22, 3), got {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name}: needs at least 2 frames, got {arr.shape[0]}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: joint positions must be numbers, got dtype {arr.dtype}")
    finite = np.isfinite(arr)
    if not finite.all():
        frame, joint = np.argwhere(~finite)[0][:2]
        raise ValueError(f"{name}: non-finite value (NaN or inf) at frame {frame}, joint {JOINT_NAMES[joint]}")
    return arr.astype(np.float64)


def to_blender_axes(joints: np.ndarray) -> np.ndarray:
    """Y-up motion coordinates to Blender's Z-up: (x, y, z) -> (x, -z, y). Facing +Z becomes facing -Y."""
    joints = np.asarray(joints, dtype=np.float64)
    return np.stack([joints[..., 0], -joints[..., 2], joints[..., 1]], axis=-1)


def body_scale(joints: np.ndarray) -> float:
    """How large this skeleton is relative to HumanML3D's (median over frames; 1.0 for HumanML3D clips)."""
    chain = [(0, 3), (3, 6), (6, 9), (9, 12), (1, 4), (4, 7)]
    lengths = sum(np.linalg.norm(joints[:, b] - joints[:, a], axis=-1) for a, b in chain)
    return float(np.median(lengths) / REFERENCE_BODY_LENGTH)


def resample(joints: np.ndarray, source_fps: float, target_fps: float) -> np.ndarray:
    """Linear resampling in time, keeping the first and (within one target frame) the last pose."""
    if abs(source_fps - target_fps) < 1e-6:
        return joints
    duration = (len(joints) - 1) / source_fps
    count = int(np.floor(duration * target_fps + 1e-6)) + 1
    times = np.arange(count) / target_fps * source_fps
    lower = np.minimum(np.floor(times).astype(int), len(joints) - 1)
    upper = np.minimum(lower + 1, len(joints) - 1)
    weight = (times - lower)[:, None, None]
    return joints[lower] * (1.0 - weight) + joints[upper] * weight
