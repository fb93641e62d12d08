"""Bone maps: preset detection with confidence and unmapped bones, custom JSON maps and their errors."""

import json

import pytest

from backend.errors import MotionInputError
from backend.motion.retarget import PRESET_NAMES, armature_from_dict, bone_map_from_dict, detect_bone_map
from backend.motion.skeleton import SMPL_JOINT_NAMES
from tests.fixtures.rigs import (
    ALL_RIGS,
    RigBuilder,
    add_humanoid,
    cmu_rig,
    humanoid_points,
    mixamo_rig,
    rigify_metarig_like,
    smpl_rig,
    ue4_mannequin_rig,
    ue5_mannequin_rig,
)

EXPECTED_PRESET = {
    "smpl": "smpl", "smplx": "smpl", "mixamo_prefix_cm": "mixamo", "mixamo_plain_m": "mixamo",
    "a_pose_random_roll": "mixamo", "long_legs_short_arms": "mixamo", "rigify_metarig": "rigify_metarig",
    "rigify_def": "rigify_def", "ue5": "ue5", "ue4": "ue4", "cmu": "cmu", "facing_plus_x_matrix_form": "mixamo",
}


@pytest.mark.parametrize("name", sorted(ALL_RIGS))
def test_auto_detection_picks_the_rigs_family_and_lists_unmapped_bones(name):
    arm = armature_from_dict(ALL_RIGS[name]())
    bone_map = detect_bone_map(arm)
    assert bone_map.preset == EXPECTED_PRESET[name]
    assert bone_map.confidence > 0.95
    assert bone_map.missing_joints == []
    assert list(bone_map.mapping) == list(SMPL_JOINT_NAMES)
    assert sorted(bone_map.unmapped_bones) == sorted(set(arm.names) - set(bone_map.mapping.values()))
    # the chosen preset scores at least as well as any other
    for other in PRESET_NAMES:
        assert detect_bone_map(arm, other).confidence <= bone_map.confidence + 1e-9


def test_mixamo_with_and_without_prefix_map_the_same_joints():
    with_prefix = detect_bone_map(armature_from_dict(mixamo_rig(prefix=True)))
    plain = detect_bone_map(armature_from_dict(mixamo_rig(prefix=False)))
    assert with_prefix.mapping["l_shoulder"] == "mixamorig:LeftArm"
    assert with_prefix.mapping["l_collar"] == "mixamorig:LeftShoulder"  # Mixamo's Shoulder is the clavicle
    assert {j: b.split(":")[-1] for j, b in with_prefix.mapping.items()} == plain.mapping
    assert len(with_prefix.unmapped_bones) == 65 - 22
    assert "mixamorig:LeftHandIndex2" in with_prefix.unmapped_bones


def test_rigify_metarig_maps_159_bones_and_leaves_fingers_and_face_unmapped():
    arm = armature_from_dict(rigify_metarig_like())
    bone_map = detect_bone_map(arm)
    assert arm.num_bones == 159
    assert bone_map.mapping["pelvis"] == "spine" and bone_map.mapping["head"] == "spine.006"
    assert bone_map.mapping["l_shoulder"] == "upper_arm.L" and bone_map.mapping["r_foot"] == "toe.R"
    assert len(bone_map.unmapped_bones) == 137
    assert {"spine.005", "f_index.02.L", "lid.T.R.003", "heel.02.L"} <= set(bone_map.unmapped_bones)


def test_ue4_and_ue5_are_told_apart_by_their_spines():
    ue5 = detect_bone_map(armature_from_dict(ue5_mannequin_rig()))
    ue4 = detect_bone_map(armature_from_dict(ue4_mannequin_rig()))
    assert (ue5.preset, ue5.mapping["spine3"], ue5.mapping["neck"]) == ("ue5", "spine_05", "neck_01")
    assert (ue4.preset, ue4.mapping["spine3"]) == ("ue4", "spine_03")
    assert "upperarm_twist_01_l" in ue5.unmapped_bones and "root" in ue5.unmapped_bones
    # the UE4 preset on a UE5 rig maps everything too, but knows fewer of its bones
    assert detect_bone_map(armature_from_dict(ue5_mannequin_rig()), "ue4").confidence < ue5.confidence


def test_cmu_and_mixamo_are_told_apart():
    assert detect_bone_map(armature_from_dict(cmu_rig())).mapping["spine1"] == "LowerBack"
    mixamo = detect_bone_map(armature_from_dict(mixamo_rig()), "cmu")
    assert mixamo.confidence < detect_bone_map(armature_from_dict(mixamo_rig())).confidence


def test_a_wrong_preset_scores_low_and_lists_missing_joints():
    bone_map = detect_bone_map(armature_from_dict(mixamo_rig()), "rigify_def")
    assert bone_map.confidence < 0.1
    assert set(bone_map.missing_joints) == set(SMPL_JOINT_NAMES)
    assert bone_map.mapping == {}


def test_a_rig_without_arms_keeps_the_legs_and_reports_the_arms_missing():
    data = mixamo_rig()
    arm_words = ("Shoulder", "Arm", "Hand")
    data["bones"] = [b for b in data["bones"] if not any(w in b["name"] for w in arm_words)]
    bone_map = detect_bone_map(armature_from_dict(data))
    assert bone_map.preset == "mixamo"
    assert set(bone_map.missing_joints) == {f"{s}_{p}" for s in "lr" for p in ("collar", "shoulder", "elbow", "wrist")}
    assert 0.5 < bone_map.confidence < 0.8


def test_generic_names_are_recognised_by_words():
    points = humanoid_points()
    names = {"pelvis": "Pelvis_jnt", "spine1": "Spine_01", "spine2": "Spine_02", "spine3": "Chest", "neck": "Neck",
             "head": "Head"}
    for s, side in (("l", "L"), ("r", "R")):
        names.update({f"{s}_hip": f"{side}_UpperLeg", f"{s}_knee": f"{side}_LowerLeg",
                      f"{s}_ankle": f"{side}_Foot", f"{s}_foot": f"{side}_Toes", f"{s}_collar": f"{side}_Clavicle",
                      f"{s}_shoulder": f"{side}_UpperArm", f"{s}_elbow": f"{side}_LowerArm",
                      f"{s}_wrist": f"{side}_Hand"})
    b = RigBuilder()
    add_humanoid(b, points, names)
    bone_map = detect_bone_map(armature_from_dict(b.to_dict()))
    assert bone_map.preset == "generic"
    for joint in ("pelvis", "l_hip", "r_knee", "l_shoulder", "r_elbow", "l_wrist", "head"):
        assert bone_map.mapping[joint] == names[joint]
    assert bone_map.confidence < 0.9  # word matching is trusted less than a named preset


def test_unknown_preset_is_a_user_error():
    with pytest.raises(MotionInputError, match="unknown bone-map preset 'maximo'"):
        detect_bone_map(armature_from_dict(smpl_rig()), "maximo")


def test_custom_map_accepts_smplx_names_and_round_trips_as_json():
    arm = armature_from_dict(mixamo_rig(prefix=False))
    custom = {"mapping": {"pelvis": "Hips", "left_hip": "LeftUpLeg", "l_knee": "LeftLeg", "R_HIP": "RightUpLeg",
                          "spine3": "Spine2", "head": None}}
    bone_map = bone_map_from_dict(custom, arm)
    assert bone_map.preset == "custom"
    assert bone_map.mapping == {"pelvis": "Hips", "l_hip": "LeftUpLeg", "r_hip": "RightUpLeg", "l_knee": "LeftLeg",
                                "spine3": "Spine2"}
    assert "head" in bone_map.missing_joints and "LeftArm" in bone_map.unmapped_bones
    assert 0 < bone_map.confidence < 0.5
    again = bone_map_from_dict(json.loads(json.dumps(bone_map.to_dict())), arm)
    assert again.mapping == bone_map.mapping
    assert bone_map_from_dict({"pelvis": "Hips"}, arm).mapping == {"pelvis": "Hips"}  # bare object


@pytest.mark.parametrize("custom, message", [
    ("Hips", "must be a JSON object"),
    ({"mapping": {}}, "non-empty 'mapping'"),
    ({"mapping": []}, "non-empty 'mapping'"),
    ({"mapping": {"pelvis": None}}, "maps no joints"),
    ({"mapping": {"pelvis": "Hipz"}}, "bone 'Hipz' \\(for pelvis\\) is not in the armature"),
    ({"mapping": {"tail": "Hips"}}, "unknown SMPL joint 'tail'"),
    ({"mapping": {"pelvis": 3}}, "must be a bone name"),
    ({"mapping": {"pelvis": "Hips", "spine1": "Hips"}}, "mapped to both pelvis and spine1"),
    ({"mapping": {"l_hip": "LeftUpLeg", "left_hip": "LeftLeg"}}, "joint l_hip is mapped twice"),
    ({"mapping": {"l_hip": "LeftLeg", "l_knee": "LeftUpLeg"}}, "l_knee \\(LeftUpLeg\\) must be a descendant of l_hip"),
])
def test_bad_custom_maps_are_rejected(custom, message):
    arm = armature_from_dict(mixamo_rig(prefix=False))
    with pytest.raises(MotionInputError, match=message):
        bone_map_from_dict(custom, arm)
