"""Exported BVH files open in Blender's own importer and pose the bones on the source joints."""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from backend.data.exporter import TEMPLATES, write_bvh  # noqa: E402
from tests.fixtures.bvh_motion import smooth_fk_motion  # noqa: E402

pytestmark = pytest.mark.blender
MM = 1e-3


def import_bvh(path, **options):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.import_anim.bvh(filepath=str(path), update_scene_fps=True, update_scene_duration=True,
                                     **options)
    assert result == {"FINISHED"}
    return next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")


def bone_heads(arm, names, frames):
    """World positions (len(frames), len(names), 3) of the pose bones' heads; BVH frame f is scene frame f+1."""
    scene = bpy.context.scene
    out = np.zeros((len(frames), len(names), 3))
    for i, f in enumerate(frames):
        scene.frame_set(f + 1)
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        for k, name in enumerate(names):
            out[i, k] = ev.matrix_world @ ev.pose.bones[name].head
    return out


@pytest.mark.parametrize("template", ["smpl", "mixamo", "cmu"])
def test_blender_import_matches_source_joints(tmp_path, template):
    joints = smooth_fk_motion(60, seed=11)
    path = write_bvh(tmp_path / f"{template}.bvh", joints, 20.0, template)
    arm = import_bvh(path)  # defaults: axis_forward='-Z', axis_up='Y' -> Blender (x, y, z) = (x, -z, y)
    assert bpy.context.scene.render.fps == 20
    frames = [0, 13, 31, 59]
    heads = bone_heads(arm, TEMPLATES[template], frames)
    src = joints[frames]
    want = np.stack([src[..., 0], -src[..., 2], src[..., 1]], axis=-1)
    err = np.abs(heads - want).max()
    print(f"Blender import ({template}): max error {err / MM:.4f} mm")
    assert err < MM


def test_blender_import_y_up_axes_and_centimetres(tmp_path):
    joints = smooth_fk_motion(30, seed=12)
    path = write_bvh(tmp_path / "cm.bvh", joints, 20.0, "smpl", units="cm")
    arm = import_bvh(path, axis_forward="Y", axis_up="Z", global_scale=0.01)  # no axis conversion
    heads = bone_heads(arm, TEMPLATES["smpl"], [0, 29])
    err = np.abs(heads - joints[[0, 29]]).max()
    print(f"Blender import (cm, scale 0.01, no axis conversion): max error {err / MM:.4f} mm")
    assert err < MM
