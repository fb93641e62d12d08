"""Animation-ready output over real HTTP on loopback (shipped generator): on by default, "raw": true for the
model's own joints, the edit report's world-space figures, motions at other frame rates refused; and the CLI's
--raw, locally and through --server."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.cli.main import main
from backend.client import ClientError
from backend.motion.features import features_to_joints
from backend.motion.skeleton import SMPL22
from tests.fixtures.server import running_server

FAST = {"steps": 2}
PARENTS = list(SMPL22.parents[1:])


def bone_std(joints) -> float:
    j = np.asarray(joints, np.float64)
    return float(np.linalg.norm(j[:, 1:] - j[:, PARENTS], axis=-1).std(axis=0).max())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), batch_window_s=0.02) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return server.client()


def test_generate_is_clean_by_default_and_raw_on_request(client):
    clean = client.generate("a person walks forward", seconds=3.0, seed=4, **FAST)["motions"][0]
    raw = client.generate("a person walks forward", seconds=3.0, seed=4, raw=True, **FAST)["motions"][0]
    assert clean["features"] == raw["features"]
    assert bone_std(clean["joints"]) < 1e-5 < 1e-3 < bone_std(raw["joints"])
    np.testing.assert_allclose(np.asarray(raw["joints"]), features_to_joints(np.asarray(raw["features"])), atol=1e-5)
    assert np.asarray(clean["joints"])[..., 1].min() >= -1e-6
    assert clean["meta"]["raw"] is False and "root_scale" in clean["meta"]["cleanup"] and raw["meta"]["raw"] is True


def test_edit_returns_the_complete_motion_with_world_figures(client):
    source = client.generate("a person walks forward", seconds=4.0, seed=1, **FAST)["motions"][0]
    result = client.edit(source, "a person jumps forward", frames=(20, 50), seed=2, **FAST)
    report, joints = result["report"], np.asarray(result["motion"]["joints"], np.float32)
    assert set(report) >= {"untouched_mpjpe_mm", "untouched_world_mm", "rest_moved_mm", "rest_turned_deg"}
    np.testing.assert_array_equal(joints[:20], np.asarray(source["joints"], np.float32)[:20])
    assert bone_std(joints) < 1e-5
    step = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=-1)
    assert step.max() < 0.15  # the root path is continuous (no teleport where the edit ends)
    raw = client.edit(source, "a person jumps forward", frames=(20, 50), seed=2, raw=True, **FAST)
    assert raw["motion"]["features"] == result["motion"]["features"] and raw["motion"]["meta"]["raw"] is True


@pytest.mark.parametrize("route", ["edit", "compose"])
@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_motions_at_other_frame_rates_are_refused(client, route, fps):
    source = client.generate("a person walks forward", seconds=2.0, seed=1, **FAST)["motions"][0]
    motion = {"features": source["features"], "fps": fps}
    with pytest.raises(ClientError) as err:
        if route == "edit":
            client.edit(motion, "a person jumps", frames=(5, 20), **FAST)
        else:
            client.compose(["then the person sits down"], seconds=[2.0], motion=motion, **FAST)
    assert err.value.status == 400 and f"{fps:g} fps" in err.value.message and "20 fps" in err.value.message


def test_cli_raw_flag_locally_and_through_the_server(server, tmp_path, capsys):
    common = ["generate", "a person jumps", "--seconds", "2", "--seed", "5", "--steps", "2", "--quiet"]
    assert main([*common, "-o", str(tmp_path / "clean.npz")]) == 0
    assert main([*common, "--raw", "-o", str(tmp_path / "raw.npz")]) == 0
    assert main([*common, "--raw", f"--server={server.url}", "-o", str(tmp_path / "raw_remote.npz")]) == 0
    with np.load(tmp_path / "clean.npz") as c, np.load(tmp_path / "raw.npz") as r, \
            np.load(tmp_path / "raw_remote.npz") as rr:
        assert bone_std(c["joints"]) < 1e-5 < 1e-3 < bone_std(r["joints"])
        assert np.array_equal(r["joints"], rr["joints"]) and np.array_equal(c["features"], r["features"])
    capsys.readouterr()
    assert main(["edit", str(tmp_path / "clean.npz"), "--prompt", "a person waves", "--frames", "4:8", "--steps",
                 "2", "--quiet", "-o", str(tmp_path / "edited.npz")]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["untouched_world_mm"] >= 0 and "rest_moved_mm" in report
