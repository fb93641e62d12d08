"""Physical plausibility metrics for joint motions (T, J, 3), Y up, metres, floor at y = 0 by default.

Definitions (used by the corpus benchmark and tests, and meaningful for any motion):
- bone length variation: per bone, (max - min) / mean length over the clip; reported as the worst bone.
- foot contact: a foot joint (the skeleton's ankles and toes) is in contact in a frame when it is within
  `contact_height` of its own resting level (its 5th-percentile height, but never counted above
  `max_rest` over the floor) and moves slower than `contact_speed`. Only frames whose neighbour is also in
  contact count, so a foot touching down at speed does not register as sliding.
- foot skating: horizontal distance a foot joint travels while in contact, summed per contact phase (cm);
  reported as the worst phase and the mean slide speed over all contact frames (cm/s).
- foot glide: mean horizontal speed of a foot joint over the frames it is within `contact_height` of its resting
  level (and so is its neighbour frame), with no speed gate (cm/s). A walker's grounded feet mostly stand, so it
  stays low; a body carried faster than it steps slides its feet along the floor too fast to count as contact,
  which foot skating (speed-gated) cannot see, only its falling contact fraction.
- ground penetration: how far the lowest joint goes below the floor (cm).
- jerk: magnitude of the third time derivative of joint positions (m/s^3); pops show up as a large p99
  or max acceleration.
- knee bend: flexion must fold the shank behind the thigh, i.e. (thigh x shank) points to the body's
  left; reported as the most negative normalised value (about -sin of a backward bend).
"""

from __future__ import annotations

import numpy as np

from .rotations import normalize
from .skeleton import SMPL22, Skeleton

CONTACT_HEIGHT = 0.03  # m above the foot joint's resting level
CONTACT_SPEED = 0.5  # m/s
MAX_REST = 0.12  # m; a foot joint whose lowest level is higher than this never counts as grounded


def bone_length_variation(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """(J,) relative variation (max - min) / mean of each bone's length (0 for the root)."""
    out = np.zeros(skeleton.num_joints)
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        length = np.linalg.norm(joints[:, j] - joints[:, p], axis=-1)
        out[j] = (length.max() - length.min()) / max(length.mean(), 1e-9)
    return out


def foot_joint_ids(skeleton: Skeleton = SMPL22) -> list[int]:
    return [*skeleton.feet_left, *skeleton.feet_right]


def feet_on_the_floor(joints: np.ndarray, skeleton: Skeleton = SMPL22, floor: float = 0.0) -> np.ndarray:
    """(T, F) bool: each foot joint within CONTACT_HEIGHT of its resting level (its 5th-percentile height, but
    never counted above MAX_REST over the floor)."""
    height = joints[:, foot_joint_ids(skeleton), 1] - floor
    return height < np.minimum(np.percentile(height, 5, axis=0), MAX_REST) + CONTACT_HEIGHT


def foot_contact_mask(
    joints: np.ndarray, skeleton: Skeleton = SMPL22, fps: float | None = None, floor: float = 0.0
) -> np.ndarray:
    """(T, F) contact flags for the foot joints (left ankle, left toe, right ankle, right toe for SMPL)."""
    fps = fps or skeleton.fps
    feet = joints[:, foot_joint_ids(skeleton)]
    speed = np.zeros(feet.shape[:2])
    step = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * fps
    speed[1:] = step
    speed[0] = step[0] if len(step) else 0.0
    return feet_on_the_floor(joints, skeleton, floor) & (speed < CONTACT_SPEED)


def foot_skating(
    joints: np.ndarray, skeleton: Skeleton = SMPL22, fps: float | None = None, floor: float = 0.0
) -> dict[str, float]:
    """Worst slide of one contact phase (cm), mean slide speed in contact (cm/s), contact fraction."""
    fps = fps or skeleton.fps
    feet = joints[:, foot_joint_ids(skeleton)]
    contact = foot_contact_mask(joints, skeleton, fps, floor)
    both = contact[1:] & contact[:-1]
    slide = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1) * both
    worst = 0.0
    for f in range(feet.shape[1]):
        run = 0.0
        for t in range(len(both)):
            if both[t, f]:
                run += slide[t, f]
                worst = max(worst, run)
            else:
                run = 0.0
    n_contact = int(both.sum())
    return {
        "skate_max_cm": 100.0 * worst,
        "skate_speed_cm_s": 100.0 * float(slide.sum()) * fps / max(n_contact, 1),
        "contact_fraction": float(contact.mean()),
    }


def foot_glide(joints: np.ndarray, skeleton: Skeleton = SMPL22, fps: float | None = None,
               floor: float = 0.0) -> float:
    """Mean horizontal speed (cm/s) of foot joints while on the ground (see the module doc); 0 if never."""
    fps = fps or skeleton.fps
    feet = joints[:, foot_joint_ids(skeleton)]
    low = feet_on_the_floor(joints, skeleton, floor)
    both = low[1:] & low[:-1]
    speed = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1) * fps
    return 100.0 * float(speed[both].mean()) if both.any() else 0.0


def ground_penetration(joints: np.ndarray, floor: float = 0.0) -> float:
    """Deepest point below the floor over all joints and frames (cm, 0 if none)."""
    return 100.0 * max(0.0, floor - float(joints[..., 1].min()))


def jerk_stats(joints: np.ndarray, fps: float = 20.0) -> dict[str, float]:
    if len(joints) < 4:
        return {"jerk_mean": 0.0, "jerk_p99": 0.0, "accel_max": 0.0}
    acc = np.linalg.norm(np.diff(joints, 2, axis=0), axis=-1) * fps**2
    jerk = np.linalg.norm(np.diff(joints, 3, axis=0), axis=-1) * fps**3
    return {
        "jerk_mean": float(jerk.mean()),
        "jerk_p99": float(np.percentile(jerk, 99)),
        "accel_max": float(acc.max()),
    }


def knee_bend(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> float:
    """Most negative normalised (thigh x shank) . body-left over both legs and all frames (>= 0 is good)."""
    worst = np.inf
    legs = []
    for foot in (skeleton.feet_left[0], skeleton.feet_right[0]):
        chain = next(c for c in skeleton.kinematic_chain if foot in c)
        legs.append(chain[1:4])
    left_hip, right_hip = legs[0][0], legs[1][0]
    across = normalize(joints[:, left_hip] - joints[:, right_hip])
    for hip, knee, ankle in legs:
        a = joints[:, knee] - joints[:, hip]
        b = joints[:, ankle] - joints[:, knee]
        n = np.cross(a, b) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))[:, None]
        worst = min(worst, float(np.min(np.sum(n * across, axis=-1))))
    return worst


def quality_report(
    joints: np.ndarray, skeleton: Skeleton = SMPL22, fps: float | None = None, floor: float = 0.0
) -> dict[str, float]:
    """All metrics for one clip as a flat dict."""
    fps = fps or skeleton.fps
    joints = np.asarray(joints, dtype=np.float64)
    out = {
        "bone_var_max": float(bone_length_variation(joints, skeleton).max()),
        "penetration_cm": ground_penetration(joints, floor),
        "knee_bend_min": knee_bend(joints, skeleton),
    }
    out.update(foot_skating(joints, skeleton, fps, floor))
    out.update(jerk_stats(joints, fps))
    return out
