"""The rig back to the motion frame (backend/motion/retarget/inverse.py and POST /v1/retarget/to-motion): a rig's
rest pose is SMPL's rest pose, a retargeted motion's posed bones give its joints back, a curve in armature space
becomes a path that the retargeted root follows, bad input is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.retarget import RetargetOptions, armature_from_dict, detect_bone_map, retarget
from backend.motion.retarget.fk import pose_matrices
from backend.motion.retarget.inverse import RigSpace, ground_path, joints_from_pose
from backend.motion.skeleton import SMPL22
from backend.server.routes_retarget import to_motion_payload
from backend.server.schemas import ToMotionRequest
from tests.fixtures.bvh_motion import smooth_fk_motion
from tests.fixtures.rigs import mixamo_rig, rigify_metarig_like

RIGS = {"metarig": rigify_metarig_like, "mixamo_cm": mixamo_rig}


def _space(rig: dict) -> tuple[RigSpace, object]:
    arm = armature_from_dict(rig)
    return RigSpace(arm, detect_bone_map(arm)), arm


def _pose(arm, result) -> dict[str, np.ndarray]:
    m = pose_matrices(arm, result)
    return {name: m[:, i] for i, name in enumerate(arm.names)}


@pytest.mark.parametrize("rig", RIGS)
def test_rest_pose_is_smpl_rest_pose(rig):
    space, arm = _space(RIGS[rig]())
    rest = {name: arm.rest[i][None] for i, name in enumerate(arm.names)}
    joints, mask = joints_from_pose(space, rest)
    expected = SMPL22.rest_joints()
    expected = expected - [expected[0, 0], 0, expected[0, 2]]
    assert mask.all()
    # the torso is SMPL's exactly; the limbs point where the rig's rest limbs point (metarig/Mixamo: a T-pose-ish)
    torso = [SMPL22.joint_names.index(n) for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head", "l_hip")]
    assert np.abs(joints[0, torso] - expected[torso]).max() < 1e-6
    lengths = np.linalg.norm(joints[0, 1:] - joints[0, list(SMPL22.parents[1:])], axis=-1)
    assert np.allclose(lengths, np.linalg.norm(SMPL22.rest_offsets[1:], axis=-1), atol=1e-9)


@pytest.mark.parametrize("rig", RIGS)
def test_posed_rig_gives_the_motion_back(rig):
    joints = smooth_fk_motion(40, seed=3, amplitude=0.3)
    space, arm = _space(RIGS[rig]())
    result = retarget(joints, arm, space.bone_map, RetargetOptions(foot_cleanup=False, scale=space.scale,
                                                                   origin=(0.0, 0.0)))
    back, mask = joints_from_pose(space, _pose(arm, result))
    assert mask.all()
    err = np.linalg.norm(back - joints, axis=-1)
    assert np.abs(back[:, 0, [0, 2]] - joints[:, 0, [0, 2]]).max() < 1e-4  # the root lands where it was
    assert err.max() < 1e-4, err.max()  # SMPL proportions and directions: the same joints (metres)


def test_curve_becomes_a_path_the_root_follows():
    space, arm = _space(mixamo_rig())  # centimetres
    t = np.linspace(0, 3, 13)
    curve = np.stack([100 * np.sin(t), 150 * t - 40, np.zeros_like(t)], axis=1)  # armature space, Z up, facing -Y
    path = ground_path(space, t, curve)
    # facing -Y is the motion's +Z, the rig's left (+X in Blender) is the motion's +X; cm -> m by the leg scale
    assert space.scale == pytest.approx(100.0, rel=0.05)
    assert np.allclose(path[:, 1] * space.scale, curve[:, 0] - space.origin[0], atol=1e-6)
    assert np.allclose(path[:, 2] * space.scale, -(curve[:, 1] - space.origin[1]), atol=1e-6)
    joints = smooth_fk_motion(len(t), seed=1)
    joints[:, :, 0] += (path[:, 1] - joints[:, 0, 0])[:, None]
    joints[:, :, 2] += (path[:, 2] - joints[:, 0, 2])[:, None]
    result = retarget(joints, arm, space.bone_map, RetargetOptions(foot_cleanup=False, scale=space.scale,
                                                                   origin=(0.0, 0.0)))
    root = pose_matrices(arm, result)[:, arm.index[space.bone_map.mapping["pelvis"]], :3, 3]
    assert np.abs(root[:, :2] - curve[:, :2]).max() < 1e-3  # armature units (cm)


def test_route_answers_path_and_keyframes_for_generate():
    rig = rigify_metarig_like()
    space, arm = _space(rig)
    pelvis = space.bone_map.mapping["pelvis"]
    rest = {name: [arm.rest[i].tolist()] * 2 for i, name in enumerate(arm.names)}
    req = ToMotionRequest(armature=rig, path={"times": [0, 1, 2], "points": [[0, 0, 0], [0, -1, 0], [0.5, -2, 0]]},
                          pose={"frames": [0, 40], "matrices": rest})
    out = to_motion_payload(req)
    assert out["origin"] == [0.0, 0.0] and out["scale"] == pytest.approx(space.scale)
    assert np.asarray(out["path"]["points"]).shape == (3, 3) and out["path"]["points"][1][2] > 0  # ahead is +Z
    assert out["keyframes"]["frames"] == [0, 40] and np.asarray(out["keyframes"]["joints"]).shape == (2, 22, 3)
    # only the pelvis given: only the pelvis and the torso joints below it that follow it rigidly are unmasked
    only = ToMotionRequest(armature=rig, pose={"frames": [5], "matrices": {pelvis: rest[pelvis][:1]}})
    mask = np.asarray(to_motion_payload(only)["keyframes"]["mask"])
    assert mask[0, 0] and mask.sum() == 1


@pytest.mark.parametrize("body, message", [
    ({}, "give a path"),
    ({"path": {"times": [0, 0.1], "points": [[0, 0, 0], [0, -500, 0]]}}, "too fast"),
    ({"path": {"times": [1, 0.5], "points": [[0, 0, 0], [0, -1, 0]]}}, "must increase"),
    ({"pose": {"frames": [0], "matrices": {"nope": [np.eye(4).tolist()]}}}, "not in the armature"),
    ({"pose": {"frames": [0], "matrices": {"spine": [[[1, 0], [0, 1]]]}}}, "4, 4"),
])
def test_bad_input_is_refused(body, message):
    with pytest.raises(MotionInputError, match=message):
        to_motion_payload(ToMotionRequest(armature=rigify_metarig_like(), **body))
