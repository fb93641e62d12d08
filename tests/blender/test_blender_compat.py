"""The places where Blender's API differs between 4.2 and 5.0, each checked on whichever bpy runs the tests.

scripts/test_blender_versions.sh runs this file (with the rest of tests/blender) under bpy 4.2 to 5.0:
pose-mode selection (Bone.select before 5.0, PoseBone.select from 5.0), keys read back for editing from
legacy and slotted actions, and the EEVEE engine's identifier (BLENDER_EEVEE_NEXT before 5.0).
"""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import motion_store, render_ops  # noqa: E402
from blender_addon.avatar.scene import set_engine  # noqa: E402
from blender_addon.keys import PoseTrack, write_action  # noqa: E402
from blender_addon.rig import selected_bone_names  # noqa: E402
from tests.blender.armature_builder import chain_armature, select_pose_bones  # noqa: E402

pytestmark = pytest.mark.blender


@pytest.fixture
def rig():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return chain_armature(6)


def test_pose_mode_selection_is_read_on_this_blender(rig):
    bpy.ops.object.mode_set(mode="POSE")
    select_pose_bones(rig, ["b1", "b4"])
    assert selected_bone_names(rig) == ["b1", "b4"]
    select_pose_bones(rig, [])
    assert selected_bone_names(rig) == []
    bpy.ops.object.mode_set(mode="OBJECT")


def test_keys_written_are_read_back_for_editing(rig):
    rng = np.random.default_rng(3)
    names = [b.name for b in rig.data.bones]
    rotations = {}
    for name in names:
        q = rng.normal(size=(9, 4)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        rotations[name] = q * np.sign(q[:, :1])
    track = PoseTrack(rotations, "b0", rng.normal(size=(9, 3)).astype(np.float32))
    action = write_action(rig, track, "read back", start_frame=3, step=2.0)
    back = motion_store.track_from_action(rig, action, 3 + 2.0 * np.arange(9))
    assert back.root_bone == "b0" and set(back.rotations) == set(names)
    for name in names:
        np.testing.assert_allclose(back.rotations[name], rotations[name], atol=1e-6)
    np.testing.assert_allclose(back.root_location, track.root_location, atol=1e-6)


@pytest.mark.parametrize("choice", list(render_ops.ENGINES))
def test_every_engine_in_the_render_panel_exists_here(choice):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    identifier = set_engine(scene, render_ops.ENGINES[choice])
    assert scene.render.engine == identifier
    if choice == "BLENDER_EEVEE":  # renamed back from BLENDER_EEVEE_NEXT in 5.0
        assert identifier in ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")
