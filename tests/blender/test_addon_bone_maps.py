"""Bone maps live on the armature (issue 17 §2), on real bpy with a fake in-process backend.

Each armature keeps its own map in its data, through a save and a reload; a map saved on the scene by older
versions moves onto the rigs it fits; "Apply to Selected Armatures" keys several rigs from one motion, each
through its own map (one retarget request per rig), and every rig's keys are its own retarget answer.
"""

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from tests.blender.addon_harness import (  # noqa: E402
    addon_module,
    curves_by_bone,
    fresh_scene,
    metarig,
)
from tests.blender.armature_builder import build_armature  # noqa: E402
from tests.fixtures.rigs import mixamo_rig  # noqa: E402

pytestmark = pytest.mark.blender
LEFT_ARM = ("l_collar", "l_shoulder", "l_elbow", "l_wrist")


def _two_rigs() -> tuple[bpy.types.Object, bpy.types.Object]:
    """The Rigify metarig with a custom map that leaves its left arm out, and a Mixamo rig (cm) on auto-detect."""
    fresh_scene()
    mixamo = build_armature(mixamo_rig(prefix=True, scale=100.0, pose="A"), "Mixamo")
    rig = metarig()
    bpy.context.view_layer.objects.active = rig
    assert bpy.ops.mogents.detect_bone_map() == {"FINISHED"}
    settings = rig.data.mogents
    for pair in settings.bone_map:
        if pair.joint in LEFT_ARM:
            pair.bone = ""
    settings.preset = "custom"
    assert mixamo.data.mogents.preset == "auto" and not len(mixamo.data.mogents.bone_map)
    return rig, mixamo


def _select(*objs) -> None:
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj in objs)
    bpy.context.view_layer.objects.active = objs[0]


def _rig_map(obj) -> dict[str, str]:
    return {p.joint: p.bone for p in obj.data.mogents.bone_map if p.bone}


def test_apply_to_selected_keys_each_rig_through_its_own_map(fake):
    rig, mixamo = _two_rigs()
    custom = _rig_map(rig)
    assert "l_elbow" not in custom and custom["r_elbow"] == "forearm.R"
    _select(rig, mixamo)
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    assert rig.animation_data.action.get("mogents_preview") and mixamo.animation_data is None
    del fake.calls[:]

    assert bpy.ops.mogents.apply_to_selected() == {"FINISHED"}
    bodies = {body["armature"]["name"]: body for kind, body in fake.calls if kind == "retarget"}
    assert len(fake.calls) == 2 and set(bodies) == {rig.name, mixamo.name}  # one request per rig
    assert bodies[rig.name]["bone_map"] == {"mapping": custom} and "preset" not in bodies[rig.name]
    assert bodies[mixamo.name]["preset"] == "auto" and "bone_map" not in bodies[mixamo.name]
    assert bodies[rig.name]["motion"]["joints"] == bodies[mixamo.name]["motion"]["joints"]  # one motion

    # the preview was replaced by a kept action: two actions, one per rig, none a preview
    assert len(bpy.data.actions) == 2 and not [a for a in bpy.data.actions if a.get("mogents_preview")]
    for obj in (rig, mixamo):
        action = obj.animation_data.action
        assert action.use_fake_user and not action.get("mogents_preview")
        answer = fake.retarget(bodies[obj.name])  # the same answer again: the backend is deterministic
        mapping = answer["bone_map"]["mapping"]
        assert json.loads(action["mogents"])["bone_map"] == mapping
        rotated = {b for b, props in curves_by_bone(action).items()
                   if props & {"rotation_quaternion", "rotation_euler"}}
        assert rotated == set(mapping.values())
        for frame in (1, 23, 60):
            bpy.context.scene.frame_set(frame)
            for bone in mapping.values():
                pb, quats = obj.pose.bones[bone], answer["rotations"][bone]
                got = np.asarray(pb.rotation_quaternion if pb.rotation_mode == "QUATERNION"
                                 else pb.rotation_euler.to_quaternion())
                assert abs(np.dot(got, quats[frame - 1])) > 1 - 1e-5, (obj.name, bone, frame)
            root = obj.pose.bones[answer["root_bone"]]
            np.testing.assert_allclose(root.location, answer["root_location"][frame - 1], atol=1e-4)
    assert rig.animation_data.action != mixamo.animation_data.action
    assert "upper_arm.L" not in curves_by_bone(rig.animation_data.action)  # left out of the metarig's map
    assert "mixamorig:LeftArm" in curves_by_bone(mixamo.animation_data.action)


def test_a_variation_is_not_previewed_on_a_rig_it_was_not_fitted_to(fake):
    rig, mixamo = _two_rigs()
    _select(rig)
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    _select(mixamo)
    with pytest.raises(RuntimeError, match="fitted to 'metarig'.*Apply to Selected Armatures"):
        bpy.ops.mogents.preview_variation(index=0)
    assert mixamo.animation_data is None


def test_apply_to_selected_without_a_selected_armature_says_why(fake):
    rig, _ = _two_rigs()
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    _select(rig)
    rig.select_set(False)
    with pytest.raises(RuntimeError, match="Select the armatures to animate"):
        bpy.ops.mogents.apply_to_selected()


def test_each_rigs_map_survives_save_and_reload_on_the_armature(fake, tmp_path):
    rig, mixamo = _two_rigs()
    _select(mixamo)
    assert bpy.ops.mogents.detect_bone_map() == {"FINISHED"}
    assert (rig.data.name, mixamo.data.name) == ("metarig", "Mixamo")
    want = {"metarig": (_rig_map(rig), "custom"), "Mixamo": (_rig_map(mixamo), "auto")}
    assert want["Mixamo"][0]["l_elbow"] == "mixamorig:LeftForeArm"
    path = tmp_path / "two_rigs.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.wm.open_mainfile(filepath=str(path)) == {"FINISHED"}
    for name, (mapping, preset) in want.items():
        settings = bpy.data.armatures[name].mogents
        assert {p.joint: p.bone for p in settings.bone_map if p.bone} == mapping
        assert settings.preset == preset and settings.detected_preset
    assert not hasattr(bpy.context.scene.mogents, "bone_map")
    # the reloaded custom map is the one the next generation uses
    bpy.context.view_layer.objects.active = bpy.data.objects["metarig"]
    del fake.calls[:]
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    assert fake.calls[-1][1]["bone_map"] == {"mapping": want["metarig"][0]}


def test_a_scene_level_map_from_an_older_version_moves_onto_the_rigs_it_fits(fake, tmp_path):
    rig, mixamo = _two_rigs()
    legacy = {p.joint: p.bone for p in rig.data.mogents.bone_map}
    rig.data.mogents.bone_map.clear()
    rig.data.mogents.preset = "auto"
    scene = bpy.context.scene.mogents  # what an older version saved: the map as scene settings
    scene["bone_map"] = [{"joint": j, "bone": b} for j, b in legacy.items()]
    scene["preset"] = [item[0] for item in addon_module("properties").PRESET_ITEMS].index("custom")
    scene["detected_preset"], scene["map_confidence"] = "rigify_metarig", 0.9
    path = tmp_path / "old.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.wm.open_mainfile(filepath=str(path)) == {"FINISHED"}  # load_post migrates
    moved = bpy.data.armatures["metarig"].mogents
    assert moved.preset == "custom" and moved.detected_preset == "rigify_metarig"
    assert {p.joint: p.bone for p in moved.bone_map} == legacy
    assert not len(bpy.data.armatures["Mixamo"].mogents.bone_map)  # its bones are not the map's
    assert bpy.data.armatures["Mixamo"].mogents.preset == "auto"
    assert bpy.context.scene.mogents.get("bone_map") is None and bpy.context.scene.mogents.get("preset") is None
