"""Body-part transplant edits: the selected joints come from the donor, re-hung from the input's body."""

import numpy as np
import pytest

from backend.generate.transplant import on_the_selected_side, resolve_method, transplant_features
from backend.motion.features import FeatureLayout, features_to_joints, joints_to_features
from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints

J = {n: i for i, n in enumerate(SMPL22.joint_names)}
RIGHT_ARM = [J["r_collar"], J["r_shoulder"], J["r_elbow"], J["r_wrist"]]


@pytest.fixture(scope="module")
def walk_and_donor():
    walk = joints_to_features(walking_joints(SMPL22, 81))[0]  # 80 feature frames
    arms_up = SMPL22.rest_joints()[None].repeat(61, axis=0)
    for j in (J["r_elbow"], J["r_wrist"]):  # the right arm straight up above the shoulder
        arms_up[:, j] = arms_up[:, J["r_shoulder"]] + [0, 0.28 * (1 + (j == J["r_wrist"])), 0]
    arms_up[..., 1] -= arms_up[..., 1].min()
    return walk, joints_to_features(arms_up)[0]  # 60


def test_the_arm_comes_from_the_donor_and_hangs_from_the_input_body(walk_and_donor):
    walk, donor = walk_and_donor
    a, b = 20, 60
    out = transplant_features(walk, donor, (a, b), RIGHT_ARM, SMPL22)
    lay = FeatureLayout(22)
    ric = lambda f, j: f[:, lay.ric].reshape(len(f), 21, 3)[:, j - 1]  # noqa: E731
    spine3 = J["spine3"]
    for j in RIGHT_ARM:  # each arm joint keeps the donor's offset from spine3, the input's spine3 in the region
        np.testing.assert_allclose(ric(out, j)[a:b] - ric(walk, spine3)[a:b],
                                   ric(donor, j)[:b - a] - ric(donor, spine3)[:b - a], atol=1e-5)
    kept = np.ones(lay.dim, bool)
    for j in RIGHT_ARM:
        kept[lay.ric.start + 3 * (j - 1):lay.ric.start + 3 * j] = False
        kept[lay.rot.start + 6 * (j - 1):lay.rot.start + 6 * j] = False
        kept[lay.vel.start + 3 * j:lay.vel.start + 3 * (j + 1)] = False
    np.testing.assert_array_equal(out[:, kept], walk[:, kept])  # root, other joints and contacts untouched
    np.testing.assert_array_equal(out[:a], walk[:a])
    np.testing.assert_array_equal(out[b:], walk[b:])
    joints = features_to_joints(out, SMPL22)
    assert (joints[a:b, J["r_wrist"], 1] > joints[a:b, J["head"], 1]).all()  # the hand is up while walking
    assert not (features_to_joints(walk, SMPL22)[a:b, J["r_wrist"], 1] > joints[a:b, J["head"], 1]).any()


def test_a_selected_foot_takes_the_donor_contacts(walk_and_donor):
    walk, donor = walk_and_donor
    leg = [J["r_hip"], J["r_knee"], J["r_ankle"], J["r_foot"]]
    out = transplant_features(walk, donor, (10, 40), leg, SMPL22)
    contacts = FeatureLayout(22).contacts
    np.testing.assert_array_equal(out[10:40, contacts], donor[:30, contacts])
    np.testing.assert_array_equal(out[40:, contacts], walk[40:, contacts])


def test_bad_transplants_are_refused(walk_and_donor):
    walk, donor = walk_and_donor
    with pytest.raises(ValueError, match="root"):
        transplant_features(walk, donor, (0, 10), [0, 1], SMPL22)
    with pytest.raises(ValueError, match="donor motion has 60 frames; the region needs 70"):
        transplant_features(walk, donor, (5, 75), RIGHT_ARM, SMPL22)


def test_auto_transplants_body_parts_and_inpaints_the_root():
    assert resolve_method("auto", RIGHT_ARM, 22) == "transplant"
    assert resolve_method("auto", list(range(22)), 22) == "inpaint"
    assert resolve_method("auto", [0, 1, 4], 22) == "inpaint"
    assert resolve_method("inpaint", RIGHT_ARM, 22) == "inpaint"
    with pytest.raises(ValueError, match="leave the pelvis"):
        resolve_method("transplant", [0, 1], 22)
    with pytest.raises(ValueError, match="unknown edit method"):
        resolve_method("blend", RIGHT_ARM, 22)


def _waving(side: str, frames: int = 61) -> np.ndarray:
    """Features of a standing body waving one forearm (the other arm at rest)."""
    joints = SMPL22.rest_joints()[None].repeat(frames, axis=0)
    elbow, wrist = J[f"{side}_elbow"], J[f"{side}_wrist"]
    swing = 0.6 * np.sin(2 * np.pi * np.arange(frames) / 20.0)
    joints[:, wrist] = joints[:, elbow] + 0.25 * np.stack([np.sin(swing), np.cos(swing), 0 * swing], 1)
    joints[..., 1] -= joints[..., 1].min()
    return joints_to_features(joints)[0]


def test_a_donor_acting_with_the_other_side_is_mirrored_onto_the_selection():
    left_wave = _waving("l")
    donor, mirrored = on_the_selected_side(left_wave, RIGHT_ARM, SMPL22)
    assert mirrored
    wrist = features_to_joints(donor)[:, J["r_wrist"]]
    assert np.linalg.norm(np.diff(wrist, axis=0), axis=-1).sum() > 1.0  # the right hand now waves
    np.testing.assert_allclose(features_to_joints(donor)[:, J["r_wrist"], 0],
                               -features_to_joints(left_wave)[:, J["l_wrist"], 0], atol=1e-4)
    # the same side, both sides, or a midline selection: the donor as it is
    right_wave = _waving("r")
    assert on_the_selected_side(right_wave, RIGHT_ARM, SMPL22)[1] is False
    both = RIGHT_ARM + [J["l_collar"], J["l_shoulder"], J["l_elbow"], J["l_wrist"]]
    assert on_the_selected_side(left_wave, both, SMPL22)[1] is False
    assert on_the_selected_side(left_wave, [J["neck"], J["head"]], SMPL22)[1] is False
