"""Inputs that pass the request schema but describe nothing workable get a 4xx with a clear JSON error, never a
500: a rig whose bones all start at one point, a motion whose joints are all zero, a video .npy whose
header claims more frames and pixels than any upload holds (checked before anything is allocated)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from backend.client import ClientError
from backend.motion.skeleton import SMPL22
from tests.fixtures.rigs import humanoid_points, smpl_rig
from tests.fixtures.server import running_server

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), warmup=False) as srv:
        yield srv


def _one_point_rig() -> dict:
    """The SMPL rig with every bone's head moved to one point (tails keep their direction and length)."""
    rig = smpl_rig()
    point = np.array([0.0, 0.0, 1.0])
    bones = [{**b, "head": point.tolist(), "tail": (point + np.subtract(b["tail"], b["head"])).tolist()}
             for b in rig["bones"]]
    return {**rig, "bones": bones}


def _rest_joints(frames: int = 10) -> list:
    points = humanoid_points()
    pose = np.stack([points[name] for name in SMPL22.joint_names])
    return np.repeat(pose[None], frames, axis=0).tolist()


ZERO_JOINTS = np.zeros((10, 22, 3)).tolist()


@pytest.mark.parametrize(("armature", "joints", "needle"), [
    (_one_point_rig(), _rest_joints(), "all start at one point"),
    (_one_point_rig(), ZERO_JOINTS, "all start at one point"),
    (smpl_rig(), ZERO_JOINTS, "all 22 joints at one point"),
], ids=["one-point rig", "one-point rig, zero joints", "zero joints"])
def test_degenerate_retarget_inputs_are_400(server, armature, joints, needle):
    with pytest.raises(ClientError) as err:
        server.client().retarget(armature, {"joints": joints})
    assert err.value.status == 400 and needle in err.value.message, err.value.message


def test_a_degenerate_rig_is_refused_by_bone_map_detection_too(server):
    with pytest.raises(ClientError) as err:
        server.client().detect_bone_map(_one_point_rig())
    assert err.value.status == 400 and "all start at one point" in err.value.message


def _npy_claiming(shape: tuple[int, ...], data: bytes = b"\0" * 64) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return out.getvalue() + data


@pytest.mark.parametrize("shape", [(3600, 8192, 8192, 3), (8, 64, 64, 3)], ids=["huge header", "short data"])
def test_a_video_npy_whose_header_claims_more_than_it_holds_is_refused(server, shape):
    raw = _npy_claiming(shape)
    with pytest.raises(ClientError) as err:  # multipart upload
        server.client().retrieve(video=raw, k=3)
    assert err.value.status == 400 and "header" in err.value.message, err.value.message
    body = {"video": {"data": base64.b64encode(raw).decode(), "filename": "clip.npy"}, "k": 3}
    with pytest.raises(ClientError) as err:  # JSON body
        server.client().request("POST", "/v1/retrieve", body)
    assert err.value.status == 400 and "header" in err.value.message
    assert server.client().health()["status"] == "ok"
    assert json.dumps(err.value.message)  # a plain message, no traceback


@pytest.mark.parametrize(("armature", "joints", "needle"), [
    (_one_point_rig(), _rest_joints(), "all start at one point"),
    (smpl_rig(), ZERO_JOINTS, "all 22 joints at one point"),
], ids=["one-point rig", "zero joints"])
def test_the_cli_refuses_the_same_inputs_and_writes_nothing(tmp_path, capsys, armature, joints, needle):
    from backend.cli.main import main

    (tmp_path / "rig.json").write_text(json.dumps(armature))
    np.save(tmp_path / "motion.npy", np.asarray(joints, np.float32))
    out = tmp_path / "out.json"
    code = main(["retarget", str(tmp_path / "motion.npy"), "--armature", str(tmp_path / "rig.json"), "-o", str(out)])
    assert code == 2 and needle in capsys.readouterr().err and not out.exists()
