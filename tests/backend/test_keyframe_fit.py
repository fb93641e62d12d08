"""Keyframe correction (backend.motion.keyframe_fit and control.corrected): hands out of reach, whole-pose keys
that swing a forearm round, two hands keyed on a body that faces elsewhere."""

from __future__ import annotations

import numpy as np

from backend.generate.control import corrected
from backend.motion.constraints import Constraints, keyframes_from_arrays
from backend.motion.keyframe_fit import fit_keyframes, keyframe_errors, reach_offset, root_offset_track
from backend.motion.paths import turn_y
from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints

FPS = 20.0
R_SHOULDER, R_ELBOW, R_WRIST = 17, 19, 21
ANKLES = [7, 8]


def _standing(frames: int) -> np.ndarray:
    """A standing body facing +Z, elbows bent a little (the arms reach further than they hang)."""
    joints = walking_joints(SMPL22, frames, speed=0.0, cadence=0.0)
    lengths = SMPL22.target_lengths
    for shoulder, elbow, wrist in ((16, 18, 20), (17, 19, 21)):
        joints[:, elbow] = joints[:, shoulder] + lengths[elbow] * np.array([0.0, -1.0, 0.0])
        joints[:, wrist] = joints[:, elbow] + lengths[wrist] * np.array([0.0, -0.6, 0.8])
    return joints


def _forward(frames: int) -> np.ndarray:
    return np.tile([0.0, 0.0, 1.0], (frames, 1))


def _wrist_key(joints: np.ndarray, frame: int, target) -> keyframes_from_arrays:
    pose = joints[[frame]].copy()
    pose[0, R_WRIST] = target
    mask = np.zeros((1, 22), bool)
    mask[0, R_WRIST] = True
    return keyframes_from_arrays([frame], pose, mask)


def _bone_std(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[:, 1:] - joints[:, list(SMPL22.parents[1:])], axis=-1).std(0).max())


def test_reach_offset_leaves_the_vertical_to_the_arm_first():
    # 0.45 m ahead and 0.4 m below a shoulder of reach 0.5: within reach sideways, not in 3D
    o = reach_offset(np.array([[0.0, -0.4, 0.45]]), np.array([0.5]), horizontal_only=True)
    assert o[1] == 0.0 and abs(o[2] - 0.15) < 1e-3
    assert np.linalg.norm(np.array([0.0, -0.4, 0.45]) - o) <= 0.5 + 1e-6


def test_root_offset_track_moves_the_body_for_a_low_target():
    joints = _standing(40)
    shoulder = joints[20, R_SHOULDER]
    target = shoulder + [0.0, -0.4, 0.4]  # a horizontal gap inside the arm's reach, a 3D one beyond it
    reach = 0.97 * (SMPL22.target_lengths[R_ELBOW] + SMPL22.target_lengths[R_WRIST])
    assert np.linalg.norm(target[[0, 2]] - shoulder[[0, 2]]) < reach < np.linalg.norm(target - shoulder)
    shift = root_offset_track(SMPL22, joints, _wrist_key(joints, 20, target))
    assert shift is not None and shift[20, 1] > 0.05  # towards +Z


def test_a_wrist_beyond_reach_is_met_and_the_feet_stay():
    joints = _standing(40)
    target = joints[20, R_SHOULDER] + [0.0, -0.85, 0.25]  # near the floor, in front: the body must go down
    keys = _wrist_key(joints, 20, target)
    out = fit_keyframes(SMPL22, joints, keys, _forward(40), SMPL22.target_lengths)
    assert keyframe_errors(out, keys).max() < 0.01
    assert out[20, 0, 1] < joints[20, 0, 1] - 0.1            # the pelvis went down ...
    assert np.abs(out[:, ANKLES] - joints[:, ANKLES]).max() < 0.01  # ... on bent knees, the feet where they were
    assert _bone_std(out) < 1e-6


def test_a_whole_pose_key_turns_a_forearm_without_flipping_it():
    joints = _standing(40)
    key = joints[[30]].copy()
    forearm = joints[30, R_WRIST] - joints[30, R_ELBOW]
    key[0, R_WRIST] = joints[30, R_ELBOW] - forearm  # the forearm reversed: raised and pointing back
    keys = keyframes_from_arrays([30], key)
    out = fit_keyframes(SMPL22, joints, keys, _forward(40))  # the motion's own bone lengths, as the key's
    assert keyframe_errors(out, keys).max() < 1e-6
    # a blend of positions takes the wrist through the elbow: the arm IK then threw the elbow 0.42 m in a frame
    # and missed the key by 1.5 cm; turning the bone keeps the elbow and swings the wrist on its arc
    assert np.linalg.norm(np.diff(out[:, R_ELBOW], axis=0), axis=-1).max() < 0.01
    assert np.linalg.norm(np.diff(out[:, R_WRIST], axis=0), axis=-1).max() < 0.2
    assert _bone_std(out) < 1e-6


def test_two_hands_keyed_on_a_body_turned_away_are_met():
    joints = _standing(40)
    turned = joints.copy()
    rel = turned - turned[:, :1]
    turned = turned[:, :1] + turn_y(rel, np.full(40, np.pi / 2))  # the same pose facing +X
    mask = np.zeros((1, 22), bool)
    mask[0, [20, 21]] = True
    keys = keyframes_from_arrays([20], turned[[20]], mask)
    out, _, _ = corrected(SMPL22, joints, _forward(40), Constraints(keyframes=keys), FPS)
    assert keyframe_errors(out, keys).max() < 0.01
