"""Plausibility metrics on hand-made motions with known answers."""

from __future__ import annotations

import numpy as np

from backend.motion.quality import (
    bone_length_variation,
    foot_contact_mask,
    foot_glide,
    foot_skating,
    ground_penetration,
    jerk_stats,
    knee_bend,
    quality_report,
)
from backend.motion.skeleton import SMPL22


def standing(frames: int = 40) -> np.ndarray:
    """Rest pose with the knees bent slightly forward, feet on the floor."""
    pose = SMPL22.rest_joints()
    for knee in (4, 5):
        pose[knee, 2] += 0.03
    return np.repeat(pose[None], frames, axis=0)


def test_still_pose_is_clean():
    j = standing()
    q = quality_report(j)
    assert q["bone_var_max"] < 1e-9
    assert q["penetration_cm"] == 0.0
    assert q["skate_max_cm"] == 0.0
    assert q["contact_fraction"] == 1.0
    assert q["jerk_mean"] == 0.0
    assert q["knee_bend_min"] > 0.0


def test_bone_length_variation_detects_stretching():
    j = standing()
    j[20:, 21] += [-0.05, 0.0, 0.0]  # right wrist pulled 5 cm further along the forearm
    var = bone_length_variation(j)
    assert var[21] > 0.15 and np.all(np.delete(var, 21) < 1e-9)


def test_sliding_planted_foot_is_skating():
    j = standing(41)
    slide = np.linspace(0.0, 0.2, 41)  # 20 cm over 2 s = 10 cm/s, slow enough to count as contact
    j[:, [7, 10], 2] += slide[:, None]
    sk = foot_skating(j)
    assert 18.0 < sk["skate_max_cm"] < 21.0
    assert sk["skate_speed_cm_s"] > 3.0


def test_fast_foot_or_lifted_foot_is_not_in_contact():
    j = standing(41)
    j[:, [8, 11], 2] += np.linspace(0.0, 1.6, 41)[:, None]  # 80 cm/s on the floor: a swinging foot
    j[:, [7, 10], 1] += np.where(np.arange(41) > 20, 0.2, 0.0)[:, None]
    mask = foot_contact_mask(j)
    assert not mask[5:, 2].any() and not mask[5:, 3].any()  # right foot moving fast
    assert mask[:20, 0].all() and not mask[22:, 0].any()  # left foot lifted after frame 20


def test_feet_dragged_along_the_floor_glide_though_too_fast_to_skate():
    j = standing(41)
    j[:, [8, 11], 2] += np.linspace(0.0, 1.6, 41)[:, None]  # the right foot dragged at 80 cm/s on the floor
    assert foot_skating(j)["skate_speed_cm_s"] == 0.0        # too fast to count as contact
    assert 38.0 < foot_glide(j) < 42.0                       # (0 + 0 + 80 + 80) / 4 foot joints
    assert foot_glide(standing(41)) == 0.0
    lifted = standing(41)
    lifted[:, [8, 11], 1] += np.where(np.arange(41) % 10 < 5, 0.0, 0.2)[:, None]  # a foot that steps: off the floor
    lifted[:, [8, 11], 2] += np.where(np.arange(41) % 10 < 5, 0.0, 0.1)[:, None]  # when it moves
    assert foot_glide(lifted) == 0.0


def test_penetration_in_cm():
    j = standing()
    j[10, 11, 1] = -0.034
    assert abs(ground_penetration(j) - 3.4) < 1e-9


def test_pop_shows_in_jerk_and_acceleration():
    j = standing()
    smooth = jerk_stats(j)
    j[20:, :, 0] += 0.1  # the whole body jumps 10 cm sideways in one frame
    popped = jerk_stats(j)
    assert popped["accel_max"] > 30 and popped["jerk_p99"] > smooth["jerk_p99"]


def test_backward_knee_is_flagged():
    j = standing()
    assert knee_bend(j) > 0
    j[:, 4, 2] -= 0.08  # left knee pushed behind the hip-ankle line
    assert knee_bend(j) < -0.05
