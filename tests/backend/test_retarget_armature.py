"""Armature descriptions from the Blender add-on: bone matrices, ordering, every validation error."""

import math

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.retarget import armature_from_dict, pose_armature
from backend.motion.retarget.armature import bone_matrix
from tests.fixtures.rigs import ALL_RIGS, mixamo_rig, smpl_rig


def test_bone_matrix_points_y_along_the_bone_and_rolls_about_it():
    rng = np.random.default_rng(0)
    for _ in range(50):
        head, tail = rng.normal(size=3), rng.normal(size=3)
        roll = rng.uniform(-np.pi, np.pi)
        m = bone_matrix(head, tail, roll)
        rot = m[:3, :3]
        assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(rot), 1.0)
        assert np.allclose(rot[:, 1], (tail - head) / np.linalg.norm(tail - head))
        assert np.allclose(m[:3, 3], head)
        unrolled = bone_matrix(head, tail, 0.0)[:3, :3]
        # roll turns the X axis about Y by the roll angle
        assert math.isclose(np.arctan2(unrolled[:, 2] @ rot[:, 0], unrolled[:, 0] @ rot[:, 0]), -roll, abs_tol=1e-9)


def test_bone_matrix_for_bones_along_minus_y_is_a_rotation():
    for tail in ([0, -1.0, 0], [1e-7, -1.0, 0], [0, -1.0, 1e-4], [3e-3, -1.0, 0]):
        m = bone_matrix(np.zeros(3), np.array(tail), 0.4)[:3, :3]
        assert np.all(np.isfinite(m))
        assert np.allclose(m.T @ m, np.eye(3), atol=1e-9)
        assert m[:, 1] @ (np.array(tail) / np.linalg.norm(tail)) > 0.9999


def test_matrix_form_equals_head_tail_roll_form():
    a = armature_from_dict(mixamo_rig(roll="random", seed=4))
    b = armature_from_dict(mixamo_rig(roll="random", seed=4, as_matrix=True))
    assert a.names == b.names
    assert np.abs(a.rest - b.rest).max() < 1e-9
    assert np.abs(a.lengths - b.lengths).max() < 1e-9


def test_bones_are_ordered_parents_first_whatever_the_input_order():
    d = smpl_rig()
    d["bones"] = list(reversed(d["bones"]))
    arm = armature_from_dict(d)
    for i, p in enumerate(arm.parents):
        assert p < i
    assert arm.names[0] == "pelvis"
    assert arm.is_ancestor(arm.index["pelvis"], arm.index["l_wrist"])
    assert not arm.is_ancestor(arm.index["l_wrist"], arm.index["pelvis"])


@pytest.mark.parametrize("name", sorted(ALL_RIGS))
def test_identity_pose_keeps_the_rest_heads(name):
    from backend.motion.retarget import RetargetResult, detect_bone_map

    arm = armature_from_dict(ALL_RIGS[name]())
    q = np.zeros((3, 4), np.float32)
    q[:, 0] = 1
    result = RetargetResult({n: q for n in arm.names}, arm.names[0], np.zeros((3, 3), np.float32),
                            detect_bone_map(arm), 1.0)
    heads = pose_armature(arm, result)
    for n in arm.names:
        assert np.allclose(heads[n], arm.heads[arm.index[n]], atol=1e-9)


def _bones(*specs):
    return {"bones": list(specs)}


GOOD = {"name": "a", "parent": None, "head": [0, 0, 0], "tail": [0, 0, 1], "roll": 0}


@pytest.mark.parametrize("data, message", [
    ([], "JSON object"),
    ({}, "no bones"),
    ({"bones": []}, "no bones"),
    ({"bones": [GOOD] * 1001}, "at most 1000"),
    (_bones(GOOD, GOOD), "duplicate bone name 'a'"),
    (_bones(GOOD, {**GOOD, "name": "b", "parent": "zz"}), "parent 'zz' is not a bone"),
    (_bones({**GOOD, "parent": "b"}, {**GOOD, "name": "b", "parent": "a"}), "cycle"),
    (_bones({**GOOD, "parent": "a"}), "cycle"),
    (_bones({**GOOD, "head": [0, float("nan"), 0]}), "NaN or inf"),
    (_bones({**GOOD, "tail": [0, 0, float("inf")]}), "NaN or inf"),
    (_bones({**GOOD, "roll": float("nan")}), "NaN or inf"),
    (_bones({**GOOD, "tail": [0, 0, 0]}), "zero length"),
    (_bones({**GOOD, "head": [0, 0]}), "list of 3 numbers"),
    (_bones({**GOOD, "head": "up"}), "list of 3 numbers"),
    (_bones({"name": "a", "parent": None}), "needs 'head' and 'tail'"),
    (_bones({"name": "", "head": [0, 0, 0], "tail": [0, 0, 1]}), "non-empty 'name'"),
    (_bones({**GOOD, "parent": 3}), "'parent' must be a bone name"),
    (_bones("bone"), "must be an object"),
    (_bones({"name": "a", "matrix": np.eye(4).tolist(), "length": 0.0}), "zero length"),
    (_bones({"name": "a", "matrix": np.eye(3).tolist(), "length": 1.0}), "must be 4x4"),
    (_bones({"name": "a", "matrix": (2 * np.eye(4)).tolist(), "length": 1.0}), "not a rigid transform"),
    (_bones({"name": "a", "matrix": np.diag([1.0, 1, -1, 1]).tolist(), "length": 1.0}), "not a rigid transform"),
    (_bones({"name": "a", "matrix": np.full((4, 4), np.nan).tolist(), "length": 1.0}), "NaN or inf"),
    ({"bones": [GOOD], "up": "W"}, "unknown up axis"),
])
def test_invalid_armatures_are_rejected_with_a_clear_message(data, message):
    with pytest.raises(MotionInputError, match=message):
        armature_from_dict(data)


def test_accepts_y_up_and_nearly_rigid_matrices_from_float32_senders():
    m = bone_matrix(np.array([0, 1.0, 0]), np.array([0.2, 1.5, 0.1]), 0.7).astype(np.float32)
    arm = armature_from_dict({"bones": [{"name": "a", "matrix": m.tolist(), "length": 0.5}], "up": "y"})
    assert arm.up == "Y"
    rot = arm.rest[0, :3, :3]
    assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    assert np.allclose(arm.rest[0], m, atol=1e-6)
