import numpy as np
import pytest

from backend.motion.skeleton import KIT21, SMPL22, get_skeleton, skeleton_for_feature_dim


def test_smpl22_layout_matches_humanml3d():
    assert SMPL22.num_joints == 22 and SMPL22.feature_dim == 263
    assert SMPL22.parents[:4] == (-1, 0, 0, 0)
    assert SMPL22.joint_names[SMPL22.face_joints[0]] == "r_hip"
    assert SMPL22.joint_names[SMPL22.face_joints[3]] == "l_shoulder"
    assert KIT21.num_joints == 21 and KIT21.feature_dim == 251


@pytest.mark.parametrize("sk", [SMPL22, KIT21])
def test_mirror_index_is_an_involution_and_swaps_sides(sk):
    idx = sk.mirror_index
    assert np.array_equal(idx[idx], np.arange(sk.num_joints))
    for a, b in sk.mirror_pairs:
        assert sk.joint_names[a].replace("l_", "r_", 1) == sk.joint_names[b]


def test_rest_skeleton_is_a_plausible_adult():
    rest = SMPL22.rest_joints()
    assert rest[:, 1].min() == pytest.approx(0.0)
    assert 0.85 < rest[0, 1] < 1.0  # pelvis height (HumanML3D mean root height 0.94 m)
    assert 1.45 < rest[SMPL22.index("head"), 1] < 1.65
    # body left is +X
    assert rest[SMPL22.index("l_hip"), 0] > 0 > rest[SMPL22.index("r_hip"), 0]
    # left/right bone lengths agree; the feature target (HumanML3D's body) agrees to within a centimetre
    lengths = SMPL22.bone_lengths
    assert np.allclose(lengths, lengths[SMPL22.mirror_index])
    target = SMPL22.target_lengths
    assert np.abs(target - target[SMPL22.mirror_index]).max() < 0.01
    assert np.allclose(0.5 * (target + target[SMPL22.mirror_index]), lengths)
    # femur + tibia roughly 0.8 m
    assert 0.7 < lengths[SMPL22.index("l_knee")] + lengths[SMPL22.index("l_ankle")] < 0.9


def test_lookups_and_errors():
    assert get_skeleton("HumanML3D") is SMPL22
    assert skeleton_for_feature_dim(251) is KIT21
    with pytest.raises(KeyError, match="unknown joint"):
        SMPL22.index("tail")
    with pytest.raises(ValueError):
        skeleton_for_feature_dim(100)
