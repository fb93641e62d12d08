"""The add-on's key writer: new action per generation, exact values, NLA push, nothing written on bad input."""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon.keys import (  # noqa: E402
    PoseTrack,
    action_fcurves,
    action_name,
    key_frames,
    layered_actions,
    mapped_bones,
    mode_to_quats,
    push_to_nla,
    quats_to_mode,
    sample_track,
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


@pytest.mark.parametrize("mode", ["XYZ", "ZXY", "YXZ", "AXIS_ANGLE"])
def test_each_bone_is_keyed_in_its_own_rotation_mode(rig, mode):
    names = [b.name for b in rig.data.bones]
    for name in names[1::2]:
        rig.pose.bones[name].rotation_mode = mode
    track = _random_track(names, 20, 4)
    action = write_action(rig, track, "modes", start_frame=1)
    prop = "rotation_axis_angle" if mode == "AXIS_ANGLE" else "rotation_euler"
    paths = {fc.data_path for fc in action_fcurves(action)}
    for k, name in enumerate(names):
        expect = prop if k % 2 else "rotation_quaternion"
        assert rig.pose.bones[name].rotation_mode == (mode if k % 2 else "QUATERNION")
        assert f'pose.bones["{name}"].{expect}' in paths
    for t in (0, 7, 19):
        bpy.context.scene.frame_set(1 + t)
        for name in names:
            got = rig.pose.bones[name].matrix_basis.to_quaternion()
            assert abs(float(np.dot(np.array(got), track.rotations[name][t]))) > 1 - 1e-5


@pytest.mark.parametrize("mode", ["XYZ", "ZYX", "AXIS_ANGLE", "QUATERNION"])
def test_rotation_mode_conversion_round_trips(mode):
    q = _random_track(["a"], 50, 9).rotations["a"]
    back = mode_to_quats(quats_to_mode(q, mode), mode)
    np.testing.assert_allclose(np.abs(np.sum(back * q, axis=1)), 1.0, atol=1e-5)


def test_the_base_actions_other_channels_are_copied_and_driven_channels_dropped(rig):
    user = bpy.data.actions.new("User")
    rig.animation_data_create().action = user
    for frame, angle in ((1, 0.1), (9, 0.9)):
        rig.pose.bones["b5"].rotation_quaternion = (np.cos(angle), np.sin(angle), 0, 0)
        rig.pose.bones["b5"].keyframe_insert("rotation_quaternion", frame=frame)
        rig.pose.bones["b1"].scale = (1 + angle, 1, 1)
        rig.pose.bones["b1"].keyframe_insert("scale", frame=frame)
        rig.pose.bones["b1"].keyframe_insert("rotation_quaternion", frame=frame)
    slot = getattr(rig.animation_data, "action_slot", None)
    track = _random_track(["b0", "b1"], 10)
    action = write_action(rig, track, "copy", base=user, base_slot=slot)
    paths = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(action)}
    assert ('pose.bones["b5"].rotation_quaternion', 1) in paths and ('pose.bones["b1"].scale', 0) in paths
    b1_rot = [fc for (p, _), fc in paths.items() if p == 'pose.bones["b1"].rotation_quaternion']
    assert len(b1_rot) == 4 and all(len(fc.keyframe_points) == 10 for fc in b1_rot)  # the new keys, not the user's
    assert not any(p.startswith('pose.bones["b2"]') for p, _ in paths)
    for frame in (1, 4, 9):
        bpy.context.scene.frame_set(frame)
        assert abs(rig.pose.bones["b5"].rotation_quaternion[1] - user_curve_value(user, frame)) < 1e-6
    assert len(action_fcurves(user)) == 4 + 3 + 4  # the user's action is untouched


def user_curve_value(action, frame):
    fc = next(fc for fc in action_fcurves(action) if fc.data_path == 'pose.bones["b5"].rotation_quaternion'
              and fc.array_index == 1)
    return fc.evaluate(frame)


def test_key_frames_whole_and_subframes():
    frames, times = key_frames(1, 1.2, 11, whole_frames=False)
    np.testing.assert_allclose(frames, 1 + 1.2 * np.arange(11))
    frames, times = key_frames(1, 1.2, 11, whole_frames=True)  # 20 fps motion, 24 fps scene: 1.0 .. 13.0
    np.testing.assert_array_equal(frames, np.arange(1, 14))
    np.testing.assert_allclose(times, np.arange(13) / 1.2)
    track = _random_track(["a"], 11)
    sampled = sample_track(track, times)
    assert sampled.frames == 13
    np.testing.assert_allclose(sampled.rotations["a"][[0, 6, 12]], track.rotations["a"][[0, 5, 10]], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(sampled.rotations["a"], axis=1), 1.0, atol=1e-6)


def test_only_the_bone_maps_bones_come_from_a_retarget_answer():
    answer = {"rotations": {"a": [[1, 0, 0, 0]], "b": [[1, 0, 0, 0]], "finger": [[1, 0, 0, 0]]},
              "root_bone": "a", "root_location": [[0, 0, 0]], "bone_map": {"mapping": {"pelvis": "a", "head": "b"}}}
    assert mapped_bones(answer) == {"a", "b"}
    assert set(PoseTrack.from_retarget(answer).rotations) == {"a", "b"}
