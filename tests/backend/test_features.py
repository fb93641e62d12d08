"""Feature layout and round trips (REFERENCE §1)."""

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.features import (
    FeatureLayout,
    canonicalize,
    check_features,
    features_to_joints,
    joints_to_features,
)
from backend.motion.kinematics import forward_kinematics, heading_yaw
from backend.motion.mirror import mirror_caption, mirror_features, mirror_joints
from backend.motion.resample import resample_joints
from backend.motion.rotations import axis_angle_to_quat, qfrom_yaw, qmul, qrot
from backend.motion.skeleton import KIT21, SMPL22

LAY = FeatureLayout(22)


def walking_motion(n=80, yaw0=0.7, speed=0.06, turn=0.01, seed=0):
    """A smooth synthetic motion by FK: swinging limbs, walking along a curve, starting at yaw0."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    aa = np.zeros((n, 22, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(1, 22, 3))
    aa += 0.25 * np.sin(0.3 * t[..., None] + phase) * rng.uniform(0.2, 1.0, size=(1, 22, 3))
    yaw = yaw0 + turn * np.arange(n)
    quats = axis_angle_to_quat(aa)
    quats[:, 0] = qmul(qfrom_yaw(yaw), quats[:, 0])
    step = qrot(qfrom_yaw(yaw), np.array([0.0, 0.0, speed]))
    root = np.cumsum(step, axis=0) + np.array([1.5, 0.93, -2.0])
    offsets = SMPL22.rest_offsets
    # FK on the realistic rest offsets: each joint's quaternion rotates the bone ending at it
    joints = forward_kinematics(SMPL22, quats, root, offsets=offsets)
    return joints


def test_dimensions_and_layout():
    feats, canon = joints_to_features(walking_motion())
    assert feats.shape == (79, 263) and canon.shape == (80, 22, 3)
    assert (LAY.ric.start, LAY.rot.start, LAY.vel.start, LAY.contacts.start, LAY.dim) == (4, 67, 193, 259, 263)
    assert set(np.unique(feats[:, LAY.contacts])) <= {0.0, 1.0}


def test_round_trip_is_exact_after_canonicalisation():
    feats, canon = joints_to_features(walking_motion())
    rec = features_to_joints(feats)
    assert np.abs(rec - canon[:-1]).max() < 1e-9


def test_canonical_frame_is_on_floor_at_origin_facing_plus_z():
    _, canon = joints_to_features(walking_motion(yaw0=2.5))
    assert canon[..., 1].min() == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(canon[0, 0, [0, 2]], 0.0, atol=1e-12)
    assert heading_yaw(SMPL22, canon[:1])[0] == pytest.approx(0.0, abs=1e-9)  # raw frame-0 heading, as released
    # walking "forward" in its own frame means +Z
    assert canon[-1, 0, 2] > 1.0


def test_root_features_match_motion():
    feats, canon = joints_to_features(walking_motion(speed=0.06, turn=0.0))
    # forward speed ~ 0.06 m/frame along the heading, almost nothing sideways
    assert feats[:, 2].mean() == pytest.approx(0.06, rel=0.1)
    assert abs(feats[:, 1].mean()) < 0.01
    assert np.allclose(feats[:, 3], canon[:-1, 0, 1])


def test_heading_removed_from_ric_and_invariant_to_world_yaw():
    a, _ = joints_to_features(walking_motion(yaw0=0.0))
    b, _ = joints_to_features(walking_motion(yaw0=2.0))
    assert np.allclose(a, b, atol=1e-9)


def test_rescales_to_target_skeleton():
    small = walking_motion() * 0.8
    _, canon = joints_to_features(small)
    lengths = np.linalg.norm(canon[:, 1:] - canon[:, list(SMPL22.parents[1:])], axis=-1)
    assert np.allclose(lengths, SMPL22.target_lengths[1:], atol=1e-9)


def test_contacts_follow_foot_speed():
    joints = walking_motion()
    joints[:, [7, 10]] = joints[:1, [7, 10]]  # left foot planted the whole time
    feats, _ = joints_to_features(joints, rescale=False, smooth_sigma=0)
    assert np.all(feats[:, 259:261] == 1.0)


def test_batched_recovery():
    feats, canon = joints_to_features(walking_motion())
    batch = np.stack([feats, feats])
    assert features_to_joints(batch).shape == (2, 79, 22, 3)


def test_kit_features_have_251_dims():
    rest = KIT21.rest_joints()
    joints = np.repeat(rest[None], 30, axis=0)
    joints[:, :, 2] += np.linspace(0, 1, 30)[:, None]
    feats, canon = joints_to_features(joints, KIT21)
    assert feats.shape == (29, 251)
    assert np.abs(features_to_joints(feats) - canon[:-1]).max() < 1e-9


def test_mirror_twice_is_identity_and_matches_mirrored_joints():
    joints = walking_motion()
    feats, _ = joints_to_features(joints)
    assert np.array_equal(mirror_features(mirror_features(feats)), feats)
    assert np.array_equal(mirror_joints(mirror_joints(joints)), joints)
    # exact on a symmetric body; the rescale to HumanML3D's (asymmetric) target skeleton is not a mirror
    feats, _ = joints_to_features(joints, rescale=False)
    mirrored, _ = joints_to_features(mirror_joints(joints), rescale=False)
    assert np.abs(mirror_features(feats) - mirrored).max() < 1e-9


def test_mirror_caption():
    assert mirror_caption("A man waves his left hand, turning Clockwise.") == \
        "A man waves his right hand, turning Counterclockwise."
    assert mirror_caption("leftover") == "leftover"
    # the corpus lexicon writes "leftward" for "to the left": its mirrored copies must turn the other way
    assert mirror_caption("pivots on the spot leftward/ADV, then Rightwards") == \
        "pivots on the spot rightward/ADV, then Leftwards"
    assert mirror_caption("stands upright in bright light, RIGHTWARD") == "stands upright in bright light, LEFTWARD"


def test_resample_keeps_duration_and_positions():
    joints = walking_motion(n=61)
    out = resample_joints(joints, 30.0, 20.0)
    assert out.shape == (41, 22, 3)
    assert np.allclose(out[::2], joints[::3])


@pytest.mark.parametrize("bad,match", [
    (np.zeros((10, 21, 3)), "shape"),
    (np.zeros((1, 22, 3)), "at least 2 frames"),
    (np.full((10, 22, 3), np.nan), "non-finite"),
])
def test_bad_joints_are_rejected(bad, match):
    with pytest.raises(MotionInputError, match=match):
        canonicalize(bad)


def test_bad_features_are_rejected():
    with pytest.raises(MotionInputError, match="no skeleton"):
        check_features(np.zeros((10, 100)))
    feats = np.zeros((10, 263))
    feats[3, 5] = np.inf
    with pytest.raises(MotionInputError, match="NaN"):
        check_features(feats)
