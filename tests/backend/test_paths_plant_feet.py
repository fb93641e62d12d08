"""Planted feet after a root warp (backend.motion.paths.plant_feet): grounded feet stay put and step, keyed feet
stay exact, and a motion whose feet already stand still is left alone."""

from __future__ import annotations

import numpy as np

from backend.motion.paths import plant_feet
from backend.motion.quality import foot_skating
from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints

FPS = 20.0
FEET = [7, 8, 10, 11]  # l_ankle, r_ankle, l_foot, r_foot


def _standing(frames: int) -> np.ndarray:
    return walking_joints(SMPL22, frames, speed=0.0, cadence=0.0)


def _carried(frames: int, speed: float) -> np.ndarray:
    """A standing body moved along +Z at `speed` m/s: what a warp onto a path does to a motion that stands."""
    joints = _standing(frames)
    joints[..., 2] += (np.arange(frames) * speed / FPS)[:, None]
    return joints


def _forward(frames: int) -> np.ndarray:
    return np.tile([0.0, 0.0, 1.0], (frames, 1))


def _bone_std(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[:, 1:] - joints[:, list(SMPL22.parents[1:])], axis=-1).std(0).max())


def test_carried_feet_are_planted_and_step():
    joints = _carried(100, 0.4)
    assert foot_skating(joints)["skate_speed_cm_s"] > 30  # the feet slide with the body
    out = plant_feet(SMPL22, joints, _forward(100), FPS)
    assert foot_skating(out)["skate_speed_cm_s"] < 1.0
    steps = np.linalg.norm(np.diff(out, axis=0), axis=-1)
    assert steps.max() < 0.25
    # the feet keep up with the body by stepping (not left behind), one foot in the air at a time
    assert np.abs(out[-1, FEET, 2] - joints[-1, FEET, 2]).max() < 0.3
    lifted = (out[:, [7, 8], 1] - joints[:, [7, 8], 1]) > 0.02
    assert lifted.any(axis=0).all() and not lifted.all(axis=1).any()
    # only the legs below the hips move; the skeleton stays rigid and above the floor
    moved = np.flatnonzero(np.abs(out - joints).max(axis=(0, 2)) > 1e-9)
    assert set(moved) <= {4, 5, 7, 8, 10, 11}
    assert _bone_std(out) < 1e-9
    assert out[..., 1].min() >= -1e-9


def test_keyed_feet_stay_exact():
    joints = _carried(100, 0.4)
    anchors = {0: np.array([30, 70]), 1: np.array([50])}
    out = plant_feet(SMPL22, joints, _forward(100), FPS, anchors)
    for side, frames in anchors.items():
        ankle, toe = (SMPL22.feet_left, SMPL22.feet_right)[side]
        assert np.abs(out[frames][:, [ankle, toe]] - joints[frames][:, [ankle, toe]]).max() < 1e-9
    assert foot_skating(out)["skate_speed_cm_s"] < 3.0


def test_standing_feet_are_left_alone():
    joints = _standing(60)
    assert np.abs(plant_feet(SMPL22, joints, _forward(60), FPS) - joints).max() < 1e-12
