"""Follow curve and Fill between keys (issue 19) on real bpy with the Rigify metarig and the fake backend, whose
generation goes through the backend's own control correction and whose /v1/retarget/to-motion is the server's.

Follow curve: the keyed root walks the curve in world space (armature moved and turned, curve moved), within a
few cm of where an even pace along the curve puts it at each frame; a non-curve object is refused and nothing
changes. Fill between keys: the user's keys at frames 1 and 60 stay exactly as they were, the frames between get
generated keys.
"""

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from mathutils import Euler, Quaternion, Vector  # noqa: E402

from tests.blender.addon_harness import (  # noqa: E402
    addon_module,
    fcurve,
    fresh_scene,
    metarig,
)

pytestmark = pytest.mark.blender


def s_curve(location=(0.4, -0.3, 0.0)) -> tuple[bpy.types.Object, np.ndarray]:
    """A poly curve object: an S bending 0.5 m either side over 3 m, and its world points."""
    t = np.linspace(0.0, 1.0, 41)
    local = np.stack([0.5 * np.sin(2 * np.pi * t), 3.0 * t, np.zeros_like(t)], axis=1)
    data = bpy.data.curves.new("Path", type="CURVE")
    data.dimensions = "3D"
    spline = data.splines.new("POLY")
    spline.points.add(len(local) - 1)
    for p, co in zip(spline.points, local, strict=True):
        p.co = (*co, 1.0)
    obj = bpy.data.objects.new("Path", data)
    bpy.context.scene.collection.objects.link(obj)
    obj.location = location
    return obj, local + np.asarray(location)


def along(points: np.ndarray, fraction: float) -> np.ndarray:
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    return np.array([np.interp(fraction * s[-1], s, points[:, k]) for k in range(3)])


def test_follow_curve_keys_the_root_along_the_curve(fake):
    scene = fresh_scene()
    rig = metarig()
    rig.location = (1.0, 2.0, 0.0)
    rig.rotation_euler = Euler((0.0, 0.0, math.radians(30.0)))
    curve, points = s_curve()
    settings = scene.mogents
    settings.follow_curve, settings.control_curve, settings.seconds = True, curve, 3.0
    bpy.context.view_layer.objects.active = rig
    fake.calls.clear()
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    kinds = [k for k, _ in fake.calls]
    assert kinds == ["to_motion", "generate", "retarget"]
    assert "path" in fake.calls[1][1] and fake.calls[2][1]["origin"] == [0.0, 0.0]
    meta = addon_module("motion_store").motion_meta(rig.animation_data.action)
    root = rig.pose.bones[meta["root_bone"]]
    last = meta["frames"] - 1
    errors = []
    for frame in range(1, last + 2, 4):
        scene.frame_set(frame)
        world = np.array(rig.matrix_world @ root.head)
        want = along(points, (frame - 1) / last)
        errors.append(np.linalg.norm(world[:2] - want[:2]))
    assert max(errors) < 0.03, errors  # metres, on the ground plane
    scene.frame_set(1)
    assert np.linalg.norm(np.array(rig.matrix_world @ root.head)[:2] - points[0, :2]) < 0.01


def test_a_non_curve_object_is_refused(fake):
    scene = fresh_scene()
    rig = metarig()
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    properties = addon_module("properties")
    assert not properties.curve_only(scene.mogents, cube)  # the picker does not offer it
    curve, _ = s_curve()
    assert properties.curve_only(scene.mogents, curve)
    scene.mogents.follow_curve = True
    scene.mogents.control_curve = cube  # a script can still set it: the operator refuses it
    bpy.context.view_layer.objects.active = rig
    fake.calls.clear()
    actions = set(bpy.data.actions)
    assert not bpy.ops.mogents.generate.poll()
    with pytest.raises(RuntimeError, match="is not a curve"):
        bpy.ops.mogents.generate()
    generate_ops = addon_module("generate_ops")
    with pytest.raises(ValueError, match="'Cube' is a mesh, not a curve object"):  # the operator's own check
        generate_ops.control_inputs(bpy.context, rig, {"seconds": 3.0}, {"options": {}, "preset": "auto"})
    assert fake.calls == [] and set(bpy.data.actions) == actions and rig.animation_data is None


KEYED = {"upper_arm.L": Quaternion((0.0, 0.0, 1.0), 0.8), "forearm.L": Quaternion((1.0, 0.0, 0.0), 0.6),
         "thigh.R": Quaternion((1.0, 0.0, 0.0), -0.5), "spine.001": Quaternion((0.0, 1.0, 0.0), 0.2)}


def test_fill_between_keys_keeps_the_users_keys_exact(fake):
    scene = fresh_scene()
    scene.frame_start, scene.frame_end = 1, 60
    rig = metarig()
    bpy.context.view_layer.objects.active = rig
    for frame, sign in ((1, 1.0), (60, -1.0)):
        scene.frame_set(frame)
        for bone, q in KEYED.items():
            pb = rig.pose.bones[bone]
            pb.rotation_mode = "QUATERNION"
            pb.rotation_quaternion = Quaternion(q.axis, q.angle * sign)
            pb.keyframe_insert("rotation_quaternion", frame=frame)
        rig.pose.bones["spine"].location = (0.0, 0.0, 0.0) if frame == 1 else (0.05, -0.3, 0.02)
        rig.pose.bones["spine"].keyframe_insert("location", frame=frame)
    user = rig.animation_data.action
    fcu = addon_module("keys").channel_fcurves
    slot = getattr(rig.animation_data, "action_slot", None)  # slots exist from 4.4
    before = {(fc.data_path, fc.array_index): [tuple(k.co) for k in fc.keyframe_points]
              for fc in fcu(user, slot)}
    scene.frame_set(1)
    pose_at_1 = {pb.name: pb.matrix.copy() for pb in rig.pose.bones}
    settings = scene.mogents
    settings.fill_keys, settings.key_source = True, "KEYED"
    fake.calls.clear()
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    to_motion = next(b for k, b in fake.calls if k == "to_motion")
    assert to_motion["pose"]["frames"] == [0, 59]
    generate = next(b for k, b in fake.calls if k == "generate")
    assert generate["keyframes"]["frames"] == [0, 59] and np.asarray(generate["keyframes"]["mask"]).all()
    action = rig.animation_data.action
    assert action != user and user.use_fake_user  # the user's action is kept as it was
    for (path, index), keys in before.items():
        fc = fcurve(action, path, index)
        assert fc is not None, path
        for frame, value in keys:
            assert fc.evaluate(frame) == pytest.approx(value, abs=1e-6), (path, index, frame)
        # generated keys between the user's: one per frame, not the user's straight interpolation
        assert len(fc.keyframe_points) == 60
    users = {(f.data_path, f.array_index): f for f in fcu(user, slot)}
    channels = [(f'pose.bones["{b}"].rotation_quaternion', i) for b in KEYED for i in range(4)]
    mid = [fcurve(action, *c).evaluate(30) for c in channels]
    assert not np.allclose(mid, [users[c].evaluate(30) for c in channels], atol=1e-3)
    scene.frame_set(2)
    scene.frame_set(1)
    for name, m in pose_at_1.items():  # every bone's pose at frame 1, not only the keyed channels
        assert np.abs(np.array(rig.pose.bones[name].matrix) - np.array(m)).max() < 1e-5, name
    assert Vector(rig.pose.bones["spine"].location).length < 1e-6
