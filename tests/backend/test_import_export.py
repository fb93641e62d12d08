"""BVH export (backend/data/exporter.py), humanoid mapping and `mogents data import` (importer.py).

Tolerances: joints written to BVH and read back with our parser must agree within 1 mm (the target of
the exporter; measured ~0.001 mm, limited by the 6 decimals of the text). Import checks compare the
dataset's new_joints with the same source pushed through the HumanML3D preprocessing directly
(resample to 20 fps, joints_to_features, features_to_joints); the BVH adds only that text rounding
and the dataset stores float32, so 1 mm is also asserted there.
"""

import re

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from backend.cli.main import main
from backend.data.exporter import TEMPLATES, joints_to_bvh, joints_to_bvh_data, write_bvh
from backend.data.importer import caption_from_stem
from backend.errors import MotionInputError
from backend.motion.bvh import BVHData, format_bvh, parse_bvh_text
from backend.motion.bvh_names import PRESETS, match_joints, resolve_joints, split_side
from backend.motion.features import features_to_joints, joints_to_features
from backend.motion.humanoid import bvh_to_smpl22
from backend.motion.kinematics import forward_kinematics
from backend.motion.resample import resample_joints
from backend.motion.rotations import axis_angle_to_quat, euler_to_matrix, matrix_to_quat
from backend.motion.skeleton import SMPL22
from tests.fixtures.bvh_motion import smooth_fk_motion, y_up_to_z_up

MM = 1e-3


def cli(capsys, *argv):
    code = main(["data", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def bvh_world_in_smpl_order(text: str, template: str) -> np.ndarray:
    data = parse_bvh_text(text, "roundtrip.bvh")
    order = [data.names.index(n) for n in TEMPLATES[template]]
    return data.world_positions()[:, order]


def expected_dataset_joints(source: np.ndarray, fps: float) -> np.ndarray:
    feats, _ = joints_to_features(resample_joints(source, fps, 20.0))
    return features_to_joints(feats)


def rename_joints(text: str, names: dict[str, str]) -> str:
    return re.sub(r"^(\s*(?:ROOT|JOINT) )(\S+)", lambda m: m.group(1) + names.get(m.group(2), m.group(2)),
                  text, flags=re.MULTILINE)


# ------------------------------------------------------------------------------------------ export


@pytest.mark.parametrize("template", ["smpl", "mixamo", "cmu"])
def test_export_then_parse_reproduces_joints(template):
    joints = smooth_fk_motion(120, seed=1)
    back = bvh_world_in_smpl_order(joints_to_bvh(joints, 20.0, template), template)
    err = np.abs(back - joints).max()
    print(f"export->parse {template}: max error {err / MM:.4f} mm")
    assert err < MM


def test_export_large_rotations_and_centimetres():
    joints = smooth_fk_motion(150, seed=7, amplitude=1.5)  # includes gimbal-lock and flip territory
    text = joints_to_bvh(joints, 30.0, "smpl", units="cm")
    assert parse_bvh_text(text).fps == pytest.approx(30.0, rel=1e-9)
    err = np.abs(bvh_world_in_smpl_order(text, "smpl") / 100.0 - joints).max()
    print(f"export->parse amplitude 1.5 rad, cm: max error {err / MM:.4f} mm")
    assert err < MM


def test_exported_rotations_are_continuous():
    joints = smooth_fk_motion(150, seed=7, amplitude=0.2, fps=30.0)
    data = joints_to_bvh_data(joints, 30.0)
    euler = data.motion[:, 3:].reshape(len(joints), 22, 3)
    q = matrix_to_quat(euler_to_matrix(euler, "ZYX"))
    step = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], axis=-1)), 0, 1)))
    print(f"largest frame-to-frame local rotation: {step.max():.1f} deg")
    assert step.max() < 20.0  # no twist flips
    assert np.abs(np.diff(euler, axis=0)).max() < 120.0  # unwrapped: no +-360 or twin-branch jumps


def test_export_structure():
    data = joints_to_bvh_data(smooth_fk_motion(10), template="mixamo")
    assert data.names[0] == "mixamorig:Hips" and len(data.names) == 22
    assert data.channels[0][:3] == ["Xposition", "Yposition", "Zposition"]
    assert all(len(c) == 3 and "rotation" in c[0] for c in data.channels[1:])
    assert sorted(data.end_offsets) == [10, 11, 15, 20, 21]  # the SMPL leaves
    lengths = np.linalg.norm(data.offsets[1:], axis=-1)
    np.testing.assert_allclose(lengths, SMPL22.bone_lengths[1:], atol=1e-9)


def test_export_of_bone_local_motion_is_close():
    """HumanML3D-style FK (one rotation per bone) makes the pelvis/spine3 children non-rigid; the
    best-fit branch rotation still lands close (reported, loosely asserted)."""
    rng = np.random.default_rng(3)
    aa = gaussian_filter1d(rng.normal(size=(80, 22, 3)), 6, axis=0)
    aa *= 0.05 / aa.std()
    joints = forward_kinematics(SMPL22, axis_angle_to_quat(aa), np.array([0.0, 0.9, 0.0]),
                                offsets=SMPL22.rest_offsets)
    err = np.abs(bvh_world_in_smpl_order(joints_to_bvh(joints), "smpl") - joints).max()
    print(f"export->parse non-rigid branches (0.05 rad per bone): max error {err / MM:.2f} mm")
    assert err < 0.03


def test_export_cli_from_features_and_npz(tmp_path, capsys):
    source = smooth_fk_motion(80, seed=2)
    feats, _ = joints_to_features(source)
    np.save(tmp_path / "clip.npy", feats.astype(np.float32))
    code, out, err = cli(capsys, "export", tmp_path / "clip.npy", "--out", tmp_path / "clip.bvh", "--template", "cmu")
    assert code == 0, err
    want = features_to_joints(feats.astype(np.float32).astype(np.float64))
    got = bvh_world_in_smpl_order((tmp_path / "clip.bvh").read_text(), "cmu")
    print(f"features -> BVH -> parse: max error {np.abs(got - want).max() / MM:.4f} mm")
    assert np.abs(got - want).max() < MM

    np.savez(tmp_path / "j.npz", joints=source)
    code, _, err = cli(capsys, "export", tmp_path / "j.npz", "--out", tmp_path / "j.bvh", "--fps", 30)
    assert code == 0, err
    data = parse_bvh_text((tmp_path / "j.bvh").read_text())
    assert data.fps == pytest.approx(30.0, rel=1e-6)
    assert np.abs(bvh_world_in_smpl_order((tmp_path / "j.bvh").read_text(), "smpl") - source).max() < MM


@pytest.mark.parametrize("bad", ["shape", "nan", "template"])
def test_export_cli_errors(tmp_path, capsys, bad):
    arr = smooth_fk_motion(10)
    if bad == "shape":
        arr = arr[:, :20]
    if bad == "nan":
        arr[3, 4, 1] = np.nan
    np.save(tmp_path / "m.npy", arr)
    extra = ["--template", "unreal"] if bad == "template" else []
    code, _, err = cli(capsys, "export", tmp_path / "m.npy", "--out", tmp_path / "m.bvh", *extra)
    assert code == 2 and "error:" in err
    assert not (tmp_path / "m.bvh").exists()


# ---------------------------------------------------------------------------------------- mapping


def test_split_side_conventions():
    assert split_side("LeftUpLeg") == ("l", "upleg")
    assert split_side("mixamorig1:RightForeArm") == ("r", "forearm")
    assert split_side("UpperLeg_L") == ("l", "upperleg")
    assert split_side("thigh.R") == ("r", "thigh")
    assert split_side("left_upper_arm") == ("l", "upperarm")
    assert split_side("L_Hip") == ("l", "hip")
    assert split_side("Spine1") == (None, "spine1")


def _names_parents(template: str) -> tuple[list[str], list[int]]:
    return list(TEMPLATES[template]), list(SMPL22.parents)


@pytest.mark.parametrize("template", ["smpl", "mixamo", "cmu", "rigify", "ue"])
def test_presets_detect_their_own_templates(template):
    names, parents = _names_parents(template)
    mapping = match_joints(names, parents, SMPL22.rest_offsets)
    assert mapping.preset == template
    assert mapping.joint_of == {j: j for j in range(22)}


def test_generic_names_map_by_words_and_spine_chain():
    generic = {"pelvis": "Pelvis", "spine1": "Spine_A", "spine2": "Spine_B", "spine3": "Chest",
               "neck": "neck_01", "head": "head", "l_hip": "thigh.L", "r_hip": "thigh.R",
               "l_knee": "LeftShin", "r_knee": "RightShin", "l_ankle": "foot_l", "r_ankle": "foot_r",
               "l_foot": "toes_l", "r_foot": "toes_r", "l_collar": "clavicle_l", "r_collar": "clavicle_r",
               "l_shoulder": "left_upper_arm", "r_shoulder": "right_upper_arm", "l_elbow": "lowerarm_l",
               "r_elbow": "lowerarm_r", "l_wrist": "Hand_L", "r_wrist": "Hand_R"}
    names = [generic[n] for n in SMPL22.joint_names]
    mapping = match_joints(names, list(SMPL22.parents), SMPL22.rest_offsets)
    assert mapping.preset == "generic"
    assert mapping.joint_of == {j: j for j in range(22)}, mapping.describe()


@pytest.mark.parametrize("preset", ["rigify", "ue"])
def test_rigify_and_ue_names(preset):
    table = PRESETS[preset].smpl_to_name()
    prefix = "DEF-" if preset == "rigify" else ""
    names = [prefix + table[n] for n in SMPL22.joint_names]
    mapping = match_joints(names, list(SMPL22.parents), SMPL22.rest_offsets)
    assert mapping.preset == preset
    assert mapping.joint_of == {j: j for j in range(22)}


def test_unmapped_required_joints_are_listed():
    with pytest.raises(MotionInputError) as info:
        resolve_joints(["Bone", "Bone.001", "Bone.002", "Bone.003"], [-1, 0, 1, 2],
                       np.ones((4, 3)), path="snake.bvh")
    msg = str(info.value)
    assert msg.startswith("snake.bvh:") and "unmapped required joints" in msg
    for joint in ("pelvis", "l_hip", "r_knee", "l_wrist", "spine", "neck or head"):
        assert joint in msg


def cmu_like_bvh(frames: int = 60, seed: int = 4) -> BVHData:
    """A skeleton laid out like the CMU conversions: zero-length LHipJoint/LowerBack/Neck/LeftShoulder
    helper joints, Neck1, file units of about 5.6 cm, random smooth rotations on every joint."""
    unit = 0.0564
    o = SMPL22.rest_offsets / unit
    spec = [  # name, parent, offset
        ("Hips", None, np.zeros(3)), ("LHipJoint", "Hips", np.zeros(3)), ("LeftUpLeg", "LHipJoint", o[1]),
        ("LeftLeg", "LeftUpLeg", o[4]), ("LeftFoot", "LeftLeg", o[7]), ("LeftToeBase", "LeftFoot", o[10]),
        ("RHipJoint", "Hips", np.zeros(3)), ("RightUpLeg", "RHipJoint", o[2]), ("RightLeg", "RightUpLeg", o[5]),
        ("RightFoot", "RightLeg", o[8]), ("RightToeBase", "RightFoot", o[11]),
        ("LowerBack", "Hips", np.zeros(3)), ("Spine", "LowerBack", o[3] + o[6]), ("Spine1", "Spine", o[9]),
        ("Neck", "Spine1", np.zeros(3)), ("Neck1", "Neck", o[12]), ("Head", "Neck1", o[15]),
        ("LeftShoulder", "Spine1", np.zeros(3)), ("LeftArm", "LeftShoulder", o[13] + o[16]),
        ("LeftForeArm", "LeftArm", o[18]), ("LeftHand", "LeftForeArm", o[20]),
        ("RightShoulder", "Spine1", np.zeros(3)), ("RightArm", "RightShoulder", o[14] + o[17]),
        ("RightForeArm", "RightArm", o[19]), ("RightHand", "RightForeArm", o[21]),
    ]
    names = [s[0] for s in spec]
    rng = np.random.default_rng(seed)
    rot = gaussian_filter1d(rng.normal(size=(frames, len(spec), 3)), 5, axis=0)
    rot = np.degrees(rot * 0.4 / rot.std())
    root = np.stack([np.linspace(0, 20, frames), np.full(frames, 17.0), np.zeros(frames)], -1)
    rz = ["Zrotation", "Yrotation", "Xrotation"]
    return BVHData(names=names, parents=[-1 if p is None else names.index(p) for _, p, _ in spec],
                   offsets=np.array([s[2] for s in spec]),
                   channels=[["Xposition", "Yposition", "Zposition", *rz]] + [rz] * (len(spec) - 1),
                   motion=np.concatenate([root, rot.reshape(frames, -1)], axis=-1), frame_time=0.05)


def _angle(joints, a, b, c):
    u, v = joints[:, a] - joints[:, b], joints[:, c] - joints[:, b]
    cos = np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_cmu_layout_with_helper_joints(tmp_path, capsys):
    data = cmu_like_bvh()
    motion = bvh_to_smpl22(data, "auto", "cmu.bvh")
    assert motion.mapping.preset == "cmu"
    assert motion.derived == ["spine1", "l_collar", "r_collar"]  # the zero-length helpers
    assert motion.mapping.joint_of[12] == data.names.index("Neck1")
    assert motion.units.startswith("unknown")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "cmu_walk.bvh").write_text(format_bvh(data))
    code, out, err = cli(capsys, "import", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0, err
    got = np.load(tmp_path / "ds" / "new_joints" / "cmu_walk.npy")
    src = data.world_positions()
    knee = ("LeftUpLeg", "LeftLeg", "LeftFoot")
    elbow = ("RightArm", "RightForeArm", "RightHand")
    for (a, b, c), (sa, sb, sc) in ((knee, (1, 4, 7)), (elbow, (17, 19, 21))):
        want = _angle(src, *(data.names.index(n) for n in (a, b, c)))[:-1]
        np.testing.assert_allclose(_angle(got, sa, sb, sc), want, atol=0.05)


# ----------------------------------------------------------------------------------------- import


@pytest.mark.parametrize("variant", ["cmu", "mixamo", "mixamo_noprefix", "mixamo1", "cmu_zup_cm_30fps"])
def test_import_named_bvh(tmp_path, capsys, variant):
    source = smooth_fk_motion(100, seed=5, fps=30.0 if "30fps" in variant else 20.0)
    fps = 30.0 if "30fps" in variant else 20.0
    template = variant.split("_")[0].rstrip("1")
    exported = y_up_to_z_up(source) if "zup" in variant else source
    text = joints_to_bvh(exported, fps, template, units="cm" if "cm" in variant else "m")
    if variant == "mixamo_noprefix":
        text = text.replace("mixamorig:", "")
    if variant == "mixamo1":
        text = text.replace("mixamorig:", "mixamorig1:")
    (tmp_path / "walk_forward_02.bvh").write_text(text)
    code, out, err = cli(capsys, "import", tmp_path / "walk_forward_02.bvh", "--out", tmp_path / "ds")
    assert code == 0, err
    assert f"preset {template}" in out
    got = np.load(tmp_path / "ds" / "new_joints" / "walk_forward_02.npy")
    want = expected_dataset_joints(source, fps)
    assert got.shape == want.shape
    err_mm = np.abs(got - want).max() / MM
    print(f"import {variant}: max error after canonicalisation {err_mm:.4f} mm")
    assert err_mm < 1.0
    assert (tmp_path / "ds" / "texts" / "walk_forward_02.txt").read_text().startswith("walk forward#")
    for name in ("all.txt", "train.txt", "Mean.npy", "Std.npy", "new_joint_vecs/walk_forward_02.npy"):
        assert (tmp_path / "ds" / name).exists()


def test_import_npy_fps_and_z_up(tmp_path, capsys):
    source = smooth_fk_motion(90, seed=6, fps=30.0)
    np.save(tmp_path / "jump_high.npy", y_up_to_z_up(source).astype(np.float32))
    code, out, err = cli(capsys, "import", tmp_path / "jump_high.npy", "--out", tmp_path / "ds",
                         "--fps", 30, "--up", "z")
    assert code == 0, err
    got = np.load(tmp_path / "ds" / "new_joints" / "jump_high.npy")
    want = expected_dataset_joints(source.astype(np.float32).astype(np.float64), 30.0)
    assert len(got) == len(want) == 59  # 90 frames at 30 fps -> 60 frames at 20 fps -> 59 feature rows
    err_mm = np.abs(got - want).max() / MM
    print(f"import .npy 30 fps Z-up: max error {err_mm:.4f} mm")
    assert err_mm < 1.0


def test_sidecar_captions_and_folder_recursion(tmp_path, capsys):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    source = smooth_fk_motion(60)
    write_bvh(tmp_path / "in" / "sub" / "a_clip.bvh", source, 20.0, "mixamo")
    np.save(tmp_path / "in" / "b_clip_01.npy", source)
    (tmp_path / "in" / "sub" / "a_clip.txt").write_text(
        "a person waves with the left hand\n\nsomeone greets#someone/PRON greets/VERB#0.5#2.0\n")
    code, out, err = cli(capsys, "import", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0, err
    lines = (tmp_path / "ds" / "texts" / "a_clip.txt").read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("a person waves with the left hand#") and lines[0].endswith("#0.0#0.0")
    assert lines[1] == "someone greets#someone/PRON greets/VERB#0.5#2.0"
    assert (tmp_path / "ds" / "texts" / "b_clip_01.txt").read_text().startswith("b clip#")
    assert sorted((tmp_path / "ds" / "all.txt").read_text().split()) == ["a_clip", "b_clip_01"]
    assert "imported 2 clip(s)" in out


def test_caption_from_stem():
    assert caption_from_stem("walk_forward_02") == "walk forward"
    assert caption_from_stem("JumpHigh") == "jump high"
    assert caption_from_stem("01_02") == "a person moves"


def _snake_bvh() -> str:
    return ("HIERARCHY\nROOT Bone\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation "
            "Xrotation Yrotation\n JOINT Bone.001\n {\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation Xrotation "
            "Yrotation\n  JOINT Bone.002\n  {\n   OFFSET 0 1 0\n   CHANNELS 3 Zrotation Xrotation Yrotation\n"
            "   JOINT Bone.003\n   {\n    OFFSET 0 1 0\n    CHANNELS 3 Zrotation Xrotation Yrotation\n"
            "    End Site\n    {\n     OFFSET 0 1 0\n    }\n   }\n  }\n }\n}\nMOTION\nFrames: 2\n"
            "Frame Time: 0.05\n" + "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n" * 2)


def _make_bad_input(kind: str, folder):
    """Write a good clip plus one bad input; return (path argument, text expected in the message)."""
    good = smooth_fk_motion(50)
    write_bvh(folder / "good_clip.bvh", good, 20.0, "smpl")
    if kind == "truncated_bvh":
        text = joints_to_bvh(good, 20.0, "smpl")
        (folder / "cut.bvh").write_text(text[: len(text) * 2 // 3])
        return folder, "cut.bvh"
    if kind == "snake_bvh":
        (folder / "snake.bvh").write_text(_snake_bvh())
        return folder, "unmapped required joints"
    if kind == "nan_npy":
        bad = good.copy()
        bad[10, 3, 0] = np.nan
        np.save(folder / "nan_clip.npy", bad)
        return folder, "nan_clip.npy"
    if kind == "shape_npy":
        np.save(folder / "shape_clip.npy", good[:, :21])
        return folder, "(T, 22, 3)"
    if kind == "duplicate_stem":
        (folder / "x").mkdir()
        write_bvh(folder / "x" / "good_clip.bvh", good, 20.0, "smpl")
        return folder, "share the clip id"
    if kind == "empty_folder":
        (folder / "nothing").mkdir()
        return folder / "nothing", "no .bvh or .npy files"
    if kind == "missing_path":
        return folder / "does_not_exist.bvh", "no such file"
    if kind == "bad_caption":
        (folder / "good_clip.txt").write_text("\n\n")
        return folder, "caption file is empty"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["truncated_bvh", "snake_bvh", "nan_npy", "shape_npy", "duplicate_stem",
                                  "empty_folder", "missing_path", "bad_caption"])
def test_import_errors_exit_2_and_write_nothing(tmp_path, capsys, kind):
    (tmp_path / "in").mkdir()
    arg, expected = _make_bad_input(kind, tmp_path / "in")
    out_dir = tmp_path / "out" / "ds"
    code, out, err = cli(capsys, "import", arg, "--out", out_dir)
    assert code == 2
    last = err.strip().splitlines()[-1].split("\r")[-1]  # after any progress-bar output
    assert last.startswith("error:") and expected in last, err
    assert not out_dir.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_import_refuses_non_empty_out(tmp_path, capsys):
    write_bvh(tmp_path / "c.bvh", smooth_fk_motion(50), 20.0, "smpl")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("x")
    code, _, err = cli(capsys, "import", tmp_path / "c.bvh", "--out", tmp_path / "ds")
    assert code == 2 and "not empty" in err
    assert [p.name for p in (tmp_path / "ds").iterdir()] == ["keep.txt"]


def test_preset_option_is_respected(tmp_path, capsys):
    write_bvh(tmp_path / "c.bvh", smooth_fk_motion(50), 20.0, "mixamo")
    code, _, err = cli(capsys, "import", tmp_path / "c.bvh", "--out", tmp_path / "ds", "--preset", "smpl")
    assert code == 2 and "unmapped required joints" in err
    code, _, err = cli(capsys, "import", tmp_path / "c.bvh", "--out", tmp_path / "ds", "--preset", "nope")
    assert code == 2 and "unknown joint-name preset" in err


def test_derived_joints_are_plausible():
    """A rig without toes, collars or spine2 still imports; derived joints sit near where SMPL has them."""
    frames = 30
    rest = SMPL22.rest_joints()
    root = np.stack([np.linspace(0, 1, frames), np.full(frames, rest[0, 1]), np.zeros(frames)], axis=-1)
    joints = rest[None] - rest[0] + root[:, None]  # the T-pose gliding along +X
    drop = ("l_foot", "r_foot", "l_collar", "r_collar", "spine2")
    keep = [j for j in range(22) if SMPL22.joint_names[j] not in drop]
    parents = []
    for j in keep:
        p = SMPL22.parents[j]
        while p >= 0 and p not in keep:
            p = SMPL22.parents[p]
        parents.append(keep.index(p) if p >= 0 else -1)
    offsets = np.array([rest[j] - (rest[keep[p]] if p >= 0 else 0.0) for j, p in zip(keep, parents, strict=True)])
    rz = ["Zrotation", "Yrotation", "Xrotation"]
    data = BVHData(names=[TEMPLATES["mixamo"][j] for j in keep], parents=parents, offsets=offsets,
                   channels=[["Xposition", "Yposition", "Zposition"]] + [rz] * (len(keep) - 1),
                   motion=np.concatenate([root, np.zeros((frames, 3 * (len(keep) - 1)))], axis=-1),
                   frame_time=0.05)
    motion = bvh_to_smpl22(data)
    assert sorted(motion.derived) == sorted(drop)
    err = np.linalg.norm(motion.joints - joints, axis=-1).max(axis=0)
    assert err[keep].max() < 1e-9
    print("derived joint errors (m):", {SMPL22.joint_names[j]: round(float(err[j]), 4) for j in range(22)
                                        if SMPL22.joint_names[j] in drop})
    assert err.max() < 0.03
