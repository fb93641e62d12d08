"""The add-on's key writer: new action per generation, exact values, NLA push, nothing written on bad input."""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon.keys import (  # noqa: E402
    PoseTrack,
    action_fcurves,
    action_name,
    layered_actions,
    push_to_nla,
    write_action,
)
from tests.blender.armature_builder import chain_armature  # noqa: E402

pytestmark = pytest.mark.blender


def _random_track(names, frames, seed=0):
    rng = np.random.default_rng(seed)
    rotations = {}
    for name in names:
        q = rng.normal(size=(frames, 4)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        q *= np.sign(q[:, :1])  # w >= 0: Blender keeps the sign of what we key
        rotations[name] = q
    loc = rng.normal(size=(frames, 3)).astype(np.float32)
    return PoseTrack(rotations, names[0], loc)


@pytest.fixture
def rig():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return chain_armature(12)


def test_keys_match_the_track_at_every_frame(rig):
    names = [b.name for b in rig.data.bones]
    track = _random_track(names, 30)
    action = write_action(rig, track, "a person waves", start_frame=5)
    assert rig.animation_data.action == action
    assert action.name == action_name("a person waves")
    for t in (0, 13, 29):
        bpy.context.scene.frame_set(5 + t)
        for name in names:
            got = np.array(rig.pose.bones[name].rotation_quaternion)
            np.testing.assert_allclose(got, track.rotations[name][t], atol=1e-5)
        np.testing.assert_allclose(np.array(rig.pose.bones[names[0]].location), track.root_location[t], atol=1e-5)


def test_curves_are_grouped_by_bone_on_this_blenders_action_api(rig):
    names = [b.name for b in rig.data.bones]
    action = write_action(rig, _random_track(names, 6), "group check")
    curves = action_fcurves(action)
    assert len(curves) == 4 * len(names) + 3  # quaternion per bone + the root's location
    for fc in curves:
        bone = fc.data_path.split('"')[1]
        assert fc.group is not None and fc.group.name == bone
        assert len(fc.keyframe_points) == 6
    # 4.4+ write a slotted action and bind the slot; 4.2 and 4.3 the flat legacy F-curves
    assert layered_actions() == hasattr(rig.animation_data, "action_slot")
    if layered_actions():
        assert len(action.slots) == 1 and rig.animation_data.action_slot == action.slots[0]
        assert len(action.layers) == 1 and len(action.layers[0].strips[0].channelbags) == 1
    else:
        assert len(action.fcurves) == len(curves)


def test_each_generation_gets_a_new_action_and_the_users_action_survives(rig):
    names = [b.name for b in rig.data.bones]
    user = bpy.data.actions.new("UserWalk")
    rig.animation_data_create().action = user
    first = write_action(rig, _random_track(names, 5, 1), "walk")
    second = write_action(rig, _random_track(names, 5, 2), "walk")
    assert first != second and rig.animation_data.action == second
    assert "UserWalk" in bpy.data.actions


def test_unknown_bone_is_refused_before_anything_is_created(rig):
    before = len(bpy.data.actions)
    track = _random_track(["b0", "no_such_bone"], 5)
    with pytest.raises(ValueError, match="no_such_bone"):
        write_action(rig, track, "x")
    assert len(bpy.data.actions) == before


def test_push_to_nla_frees_the_active_action(rig):
    names = [b.name for b in rig.data.bones]
    action = write_action(rig, _random_track(names, 8), "jump", start_frame=10)
    strip = push_to_nla(rig, action, start_frame=10)
    assert rig.animation_data.action is None
    assert strip.action == action and strip.frame_start == 10
    bpy.context.scene.frame_set(12)  # the NLA strip still drives the pose
    q = np.array(rig.pose.bones["b3"].rotation_quaternion)
    assert abs(float(np.dot(q, _random_track(names, 8).rotations["b3"][2]))) > 0.999
