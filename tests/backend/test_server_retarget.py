"""Retargeting and bone maps over HTTP (real server): the same result as in-process, clear 400s."""

from __future__ import annotations

import numpy as np
import pytest

from backend.client import ClientError
from backend.generate.decoding import DecodeOptions
from backend.motion.retarget import PRESET_NAMES, RetargetOptions, armature_from_dict, detect_bone_map, retarget
from tests.fixtures.rigs import mixamo_rig, smpl_rig
from tests.fixtures.server import running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), warmup=False, retrieval=False) as srv:
        yield srv


@pytest.fixture(scope="module")
def motion(server):
    return server.services.generator.generate("a person walks forward", 3.0, 2, options=DecodeOptions(steps=2))[0]


def test_presets_and_detection(server):
    client = server.client()
    assert client.bone_maps() == ["auto", *PRESET_NAMES]
    detected = client.detect_bone_map(mixamo_rig())
    assert detected["preset"] == "mixamo" and detected["confidence"] > 0.9
    assert detected["mapping"]["l_wrist"] == "mixamorig:LeftHand" and "mixamorig:LeftHandIndex1" in \
        detected["unmapped_bones"]
    assert detected == detect_bone_map(armature_from_dict(mixamo_rig())).to_dict()
    assert client.detect_bone_map(smpl_rig(), preset="smpl")["missing_joints"] == []


@pytest.mark.parametrize("options", [{}, {"root_motion": "in_place", "foot_cleanup": False, "scale": 50.0}])
def test_retarget_equals_in_process(server, motion, options):
    rig = mixamo_rig()
    result = server.client().retarget(rig, {"joints": motion.joints, "fps": 20.0}, **options)
    local = retarget(motion.joints, armature_from_dict(rig), None, RetargetOptions(**options)).to_dict()
    assert result == local
    frames = len(motion.joints)
    assert result["frames"] == frames and np.asarray(result["root_location"]).shape == (frames, 3)
    assert all(np.asarray(q).shape == (frames, 4) for q in result["rotations"].values())
    assert result["bone_map"]["preset"] == "mixamo"


def test_retarget_from_features_with_a_custom_map(server, motion):
    rig = smpl_rig()
    custom = {"mapping": {j: j for j in ("pelvis", "l_hip", "l_knee", "l_ankle", "r_hip", "r_knee", "r_ankle",
                                         "spine1")}}
    result = server.client().retarget(rig, {"features": motion.features}, bone_map=custom)
    assert result["bone_map"]["preset"] == "custom" and "l_wrist" in result["bone_map"]["missing_joints"]
    assert any("unmapped" in w for w in result["warnings"])


@pytest.mark.parametrize("change,needle", [
    ({"preset": "nope"}, "preset"),
    ({"bone_map": {"mapping": {"pelvis": "no-such-bone"}}}, "not in the armature"),
    ({"bone_map": {"mapping": {"nose": "pelvis"}}}, "unknown SMPL joint"),
    ({"bone_map": {"mapping": {"pelvis": "pelvis"}}, "preset": "smpl"}, "not both"),
    ({"armature": {"bones": []}}, "no bones"),
    ({"armature": {"bones": [{"name": "a", "parent": "b", "head": [0, 0, 0], "tail": [0, 0, 1]}]}}, "parent"),
    ({"motion": {"joints": [[[0.0, 0.0, 0.0]] * 21]}}, "(T, 22, 3)"),
])
def test_bad_retarget_requests_are_400(server, motion, change, needle):
    body = {"armature": smpl_rig(), "motion": {"joints": motion.joints[:8]}, **change}
    with pytest.raises(ClientError) as err:
        server.client().request("POST", "/v1/retarget", body)
    assert err.value.status == 400 and needle in err.value.message
