"""`mogents retarget`: writes the rotations JSON; bad input exits 2 with an error and writes nothing."""

import json

import numpy as np
import pytest

from backend.cli.main import main
from backend.motion.retarget import RetargetResult, armature_from_dict, pose_armature
from tests.fixtures.bvh_motion import smooth_fk_motion
from tests.fixtures.rigs import mixamo_rig, ue5_mannequin_rig


@pytest.fixture
def files(tmp_path):
    joints = smooth_fk_motion(40, seed=2)
    np.save(tmp_path / "walk.npy", joints)
    np.savez(tmp_path / "walk.npz", joints=joints, fps=np.float32(30.0))
    (tmp_path / "rig.json").write_text(json.dumps(mixamo_rig()))
    return tmp_path, joints


def _result_from_json(data: dict, arm) -> RetargetResult:
    from backend.motion.retarget import bone_map_from_dict

    rotations = {k: np.asarray(v, np.float32) for k, v in data["rotations"].items()}
    return RetargetResult(rotations, data["root_bone"], np.asarray(data["root_location"], np.float32),
                          bone_map_from_dict(data["bone_map"], arm), data["scale"])


def test_retarget_writes_a_json_that_poses_the_rig(files, capsys):
    tmp, joints = files
    out = tmp / "out" / "anim.json"
    assert main(["retarget", str(tmp / "walk.npy"), "--armature", str(tmp / "rig.json"), "-o", str(out)]) == 0
    assert "preset mixamo" in capsys.readouterr().out
    data = json.loads(out.read_text())
    arm = armature_from_dict(mixamo_rig())
    assert data["frames"] == 40 and data["fps"] == 20.0 and set(data["rotations"]) == set(arm.names)
    heads = pose_armature(arm, _result_from_json(data, arm))
    hips = heads["mixamorig:Hips"]
    travel = (joints[-1, 0] - joints[0, 0]) * data["scale"]
    assert np.allclose(hips[-1] - hips[0], [travel[0], -travel[2], travel[1]], atol=1e-2)  # rounded to 1e-6
    assert not list(tmp.glob("out/*.partial*"))


def test_options_in_place_scale_map_preset_and_npz_fps(files):
    tmp, _ = files
    (tmp / "ue5.json").write_text(json.dumps(ue5_mannequin_rig()))
    (tmp / "map.json").write_text(json.dumps({"mapping": {"pelvis": "pelvis", "l_hip": "thigh_l", "r_hip": "thigh_r",
                                                          "spine3": "spine_05"}}))
    out = tmp / "a.json"
    args = ["retarget", str(tmp / "walk.npz"), "--armature", str(tmp / "ue5.json"), "--in-place", "--scale", "50",
            "--no-foot-cleanup", "--map", str(tmp / "map.json"), "-o", str(out), "--quiet"]
    assert main(args) == 0
    data = json.loads(out.read_text())
    assert data["fps"] == 30.0 and data["scale"] == 50.0 and "contacts" not in data
    assert data["bone_map"]["preset"] == "custom" and data["bone_map"]["mapping"]["spine3"] == "spine_05"
    location = np.array(data["root_location"])
    arm = armature_from_dict(ue5_mannequin_rig())
    shift = location @ arm.rest[arm.index["pelvis"], :3, :3].T  # back to armature axes
    assert np.abs(shift[:, :2]).max() < 1e-4 and np.ptp(shift[:, 2]) > 0
    assert main(["retarget", str(tmp / "walk.npy"), "--armature", str(tmp / "ue5.json"), "--preset", "ue4",
                 "-o", str(tmp / "b.json"), "--quiet"]) == 0
    assert json.loads((tmp / "b.json").read_text())["bone_map"]["preset"] == "ue4"


def _bad(tmp, name, content):
    path = tmp / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_text(content)
    return str(path)


@pytest.mark.parametrize("case, message", [
    ("missing_motion", "motion file not found"),
    ("bad_motion_shape", "expected SMPL-22 joints"),
    ("nan_motion", "non-finite"),
    ("motion_type", "unknown motion type"),
    ("missing_armature", "armature file not found"),
    ("armature_not_json", "armature is not valid JSON"),
    ("duplicate_bones", "duplicate bone name"),
    ("unknown_preset", "unknown bone-map preset"),
    ("bad_map", "is not in the armature"),
    ("not_json_output", "must be a .json file"),
    ("negative_scale", "scale must be a positive number"),
])
def test_bad_input_exits_2_and_writes_nothing(files, capsys, case, message):
    tmp, joints = files
    motion, rig, out = str(tmp / "walk.npy"), str(tmp / "rig.json"), tmp / "out.json"
    extra = []
    if case == "missing_motion":
        motion = str(tmp / "nope.npy")
    elif case == "bad_motion_shape":
        motion = _bad(tmp, "bad.npy", np.zeros((10, 21, 3)))
    elif case == "nan_motion":
        motion = _bad(tmp, "nan.npy", np.full((10, 22, 3), np.nan))
    elif case == "motion_type":
        motion = _bad(tmp, "walk.bvh", "HIERARCHY")
    elif case == "missing_armature":
        rig = str(tmp / "nope.json")
    elif case == "armature_not_json":
        rig = _bad(tmp, "broken.json", "{bones: ")
    elif case == "duplicate_bones":
        data = mixamo_rig()
        data["bones"].append(dict(data["bones"][3]))
        rig = _bad(tmp, "dup.json", json.dumps(data))
    elif case == "unknown_preset":
        extra = ["--preset", "maximo"]
    elif case == "bad_map":
        extra = ["--map", _bad(tmp, "map.json", json.dumps({"mapping": {"pelvis": "Pelvis"}}))]
    elif case == "not_json_output":
        out = tmp / "out.npz"
    elif case == "negative_scale":
        extra = ["--scale", "-2"]
    code = main(["retarget", motion, "--armature", rig, "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert not out.exists()
    assert not list(tmp.glob("*.partial*"))
