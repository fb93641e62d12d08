"""Real Blender poses the armatures where `pose_armature` says: bone matrices, posed heads, the Rigify metarig.

Runs with bpy (.venv-blender); skipped elsewhere.
"""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from mathutils import Matrix  # noqa: E402

from backend.motion.retarget import armature_from_dict, detect_bone_map, pose_armature, retarget  # noqa: E402
from backend.motion.retarget.armature import bone_matrix  # noqa: E402
from tests.fixtures.bvh_motion import smooth_fk_motion  # noqa: E402
from tests.fixtures.rigs import ALL_RIGS  # noqa: E402

pytestmark = pytest.mark.blender
MM = 1e-3


def build_armature(data: dict):
    """An armature object made from the add-on's dict (edit bones from head/tail/roll or matrix/length)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm_data = bpy.data.armatures.new("rig")
    obj = bpy.data.objects.new("rig", arm_data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for b in data["bones"]:
        e = arm_data.edit_bones.new(b["name"])
        if "matrix" in b:
            e.head, e.tail = (0, 0, 0), (0, b["length"], 0)
            e.matrix = Matrix(b["matrix"])
        else:
            e.head, e.tail, e.roll = b["head"], b["tail"], b["roll"]
    for b in data["bones"]:
        if b.get("parent"):
            arm_data.edit_bones[b["name"]].parent = arm_data.edit_bones[b["parent"]]
            arm_data.edit_bones[b["name"]].use_connect = bool(b.get("connected", False))
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def armature_dict(obj) -> dict:
    """What the add-on sends: head/tail/roll from edit mode."""
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    bones = [{"name": e.name, "parent": e.parent.name if e.parent else None, "head": list(e.head),
              "tail": list(e.tail), "roll": e.roll} for e in obj.data.edit_bones]
    bpy.ops.object.mode_set(mode="OBJECT")
    return {"bones": bones, "up": "Z"}


def blender_heads(obj, result, frames) -> dict[str, np.ndarray]:
    out = {b.name: np.zeros((len(frames), 3)) for b in obj.pose.bones}
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    for i, t in enumerate(frames):
        for name, q in result.rotations.items():
            obj.pose.bones[name].rotation_quaternion = [float(x) for x in q[t]]
        obj.pose.bones[result.root_bone].location = [float(x) for x in result.root_location[t]]
        bpy.context.view_layer.update()
        for pb in obj.pose.bones:
            out[pb.name][i] = pb.head
    return out


def test_bone_matrices_match_blender():
    rng = np.random.default_rng(1)
    data = {"bones": []}
    directions = list(rng.normal(size=(30, 3))) + [np.array([0, -1.0, 0]), np.array([1e-3, -1.0, 0]),
                                                     np.array([0, -1.0, 1e-4]), np.array([0.05, -1.0, 0.02])]
    for i, d in enumerate(directions):
        head = rng.normal(size=3)
        data["bones"].append({"name": f"b{i}", "parent": None, "head": head.tolist(),
                              "tail": (head + d / np.linalg.norm(d)).tolist(), "roll": float(rng.uniform(-3, 3))})
    obj = build_armature(data)
    for b in data["bones"]:
        want = np.array(obj.data.bones[b["name"]].matrix_local)
        assert np.abs(bone_matrix(np.array(b["head"]), np.array(b["tail"]), b["roll"]) - want).max() < 1e-4


@pytest.mark.parametrize("name", sorted(ALL_RIGS))
def test_blender_poses_every_rig_like_pose_armature(name):
    data = ALL_RIGS[name]()
    joints = smooth_fk_motion(40, seed=4)
    arm = armature_from_dict(data)
    result = retarget(joints, arm)
    frames = [0, 13, 27, 39]
    got = blender_heads(build_armature(data), result, frames)
    want = pose_armature(arm, result)
    err = max(np.abs(got[n] - want[n][frames]).max() for n in arm.names) / result.scale
    print(f"{name}: Blender vs pose_armature max head error {err / MM:.5f} mm")
    assert err < 0.05 * MM


def test_real_rigify_metarig_is_detected_and_posed_exactly():
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    obj = bpy.context.active_object
    arm = armature_from_dict(armature_dict(obj))
    bone_map = detect_bone_map(arm)
    assert arm.num_bones == 159 and bone_map.preset == "rigify_metarig" and bone_map.confidence > 0.99
    assert len(bone_map.unmapped_bones) == 137
    joints = smooth_fk_motion(40, seed=6)
    result = retarget(joints, arm, bone_map)
    frames = [0, 20, 39]
    got = blender_heads(obj, result, frames)
    want = pose_armature(arm, result)
    assert max(np.abs(got[n] - want[n][frames]).max() for n in arm.names) < 0.05 * MM
    # the upper arm points from the shoulder joint to the elbow joint of the source
    to_arm = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    rig = got["forearm.L"] - got["upper_arm.L"]
    src = (joints[frames, 18] - joints[frames, 16]) @ to_arm.T
    cos = np.sum(rig * src, -1) / np.linalg.norm(rig, axis=-1) / np.linalg.norm(src, axis=-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.01


def test_generated_rigify_rig_maps_to_its_fk_controls():
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    arm = armature_from_dict(armature_dict(bpy.context.active_object))
    bone_map = detect_bone_map(arm)
    assert bone_map.preset == "rigify_fk"
    assert bone_map.mapping["l_shoulder"] == "upper_arm_fk.L" and bone_map.mapping["pelvis"] == "torso"
    assert detect_bone_map(arm, "rigify_def").mapping["l_shoulder"] == "DEF-upper_arm.L"
    result = retarget(smooth_fk_motion(20, seed=7), arm, bone_map)
    assert result.root_bone == "torso" and set(result.rotations) == set(arm.names)
