"""SMPL-22 -> KIT-21 joint conversion and the converted HumanML3D-layout dataset."""

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.features import features_to_joints
from backend.motion.kit_convert import convert_dataset_to_kit, smpl22_to_kit21
from backend.motion.patches import body_part_chains, motion_to_patch_image
from backend.motion.skeleton import KIT21, SMPL22
from tests.fixtures.synthetic_motion import walking_joints

S, K = SMPL22.index, KIT21.index


def _walk(frames: int = 80, seed: int = 0) -> np.ndarray:
    base = walking_joints(SMPL22, frames, speed=1.1, turn_rate=0.4)
    return base + np.random.default_rng(seed).normal(scale=0.005, size=base.shape)


def _path_length(joints: np.ndarray, ids: list[int]) -> np.ndarray:
    return np.linalg.norm(np.diff(joints[:, ids], axis=1), axis=-1).sum(axis=1)


def test_kit_joints_sit_on_the_smpl_body():
    smpl = _walk()
    kit = smpl22_to_kit21(smpl)
    assert kit.shape == (80, 21, 3) and np.all(np.isfinite(kit))
    assert np.array_equal(kit[:, K("root")], smpl[:, S("pelvis")])  # the root path is SMPL's
    for kit_name, smpl_name in (("l_hip", "l_hip"), ("r_knee", "r_knee"), ("l_wrist", "l_wrist"),
                                ("r_shoulder", "r_shoulder"), ("lower_neck", "neck"), ("upper_neck", "head"),
                                ("l_toe", "l_foot")):
        assert np.array_equal(kit[:, K(kit_name)], smpl[:, S(smpl_name)]), kit_name
    # pelvis and torso climb the spine in order, the mid-foot is on the ankle->toe-base bone
    height = kit[:, [K("root"), K("pelvis"), K("torso"), K("lower_neck")], 1] - kit[:, :1, 1]
    assert np.all(np.diff(height, axis=1) > 0)
    for s in ("l", "r"):
        a, f, t = kit[:, K(f"{s}_ankle")], kit[:, K(f"{s}_foot")], kit[:, K(f"{s}_toe")]
        assert np.allclose(np.linalg.norm(f - a, axis=-1) + np.linalg.norm(t - f, axis=-1),
                           np.linalg.norm(t - a, axis=-1))


def test_bone_lengths_are_plausible():
    smpl, kit = _walk(), smpl22_to_kit21(_walk())
    for s in ("l", "r"):
        smpl_leg = _path_length(smpl, [S(f"{s}_{n}") for n in ("hip", "knee", "ankle", "foot")])
        kit_leg = _path_length(kit, [K(f"{s}_{n}") for n in ("hip", "knee", "ankle", "foot", "toe")])
        assert np.all(np.abs(kit_leg / smpl_leg - 1) < 0.15)
        kit_arm = _path_length(kit, [K(f"{s}_{n}") for n in ("shoulder", "elbow", "wrist")])
        assert np.allclose(kit_arm, _path_length(smpl, [S(f"{s}_{n}") for n in ("shoulder", "elbow", "wrist")]))
    # the KIT rest skeleton's proportions hold: spine root -> lower neck about as long as on SMPL
    kit_spine = _path_length(kit, [K(n) for n in ("root", "pelvis", "torso", "lower_neck")])
    smpl_spine = _path_length(smpl, [S(n) for n in ("pelvis", "spine1", "spine2", "spine3", "neck")])
    assert np.all(kit_spine <= smpl_spine + 1e-9) and np.all(kit_spine > 0.85 * smpl_spine)


def test_left_stays_left():
    kit = smpl22_to_kit21(SMPL22.rest_joints()[None])[0]
    assert kit[K("l_hip"), 0] > 0 > kit[K("r_hip"), 0]  # +X is the body's left, as in SMPL
    assert kit[K("l_shoulder"), 0] > 0 > kit[K("r_shoulder"), 0]


def _centred_patches(joints: np.ndarray, chains) -> np.ndarray:
    img, n = motion_to_patch_image(joints - joints[:, :1] * [1, 0, 1], chains)  # root-relative in xz
    img = img[:, :n]
    return img - img.mean(axis=1, keepdims=True)  # per column: the motion, not the body layout


def test_patches_of_the_converted_clip_match_the_original():
    smpl = _walk(120)
    a = _centred_patches(smpl, body_part_chains(SMPL22))
    b = _centred_patches(smpl22_to_kit21(smpl), body_part_chains(KIT21))
    corr = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert corr > 0.9
    # and a different motion does not match
    other = _centred_patches(smpl22_to_kit21(walking_joints(SMPL22, 120, speed=0.0, cadence=1.7)),
                             body_part_chains(KIT21))
    assert np.corrcoef(a.ravel(), other.ravel())[0, 1] < corr - 0.2


@pytest.mark.parametrize("bad, match", [(np.zeros((10, 21, 3)), "shape"), (np.zeros((0, 22, 3)), "frames")])
def test_bad_input_raises(bad, match):
    with pytest.raises(MotionInputError, match=match):
        smpl22_to_kit21(bad)
    nan = np.zeros((5, 22, 3))
    nan[2, 4, 0] = np.nan
    with pytest.raises(MotionInputError, match="frame 2, joint 4"):
        smpl22_to_kit21(nan)


def test_convert_dataset(humanml_dataset, tmp_path):
    src = humanml_dataset.root
    dst = tmp_path / "kit"
    report = convert_dataset_to_kit(src, dst)
    ids = (src / "all.txt").read_text().split()
    assert report.converted == len(ids) and not report.skipped and report.with_features
    for split in ("train", "val", "test", "all"):
        assert (dst / f"{split}.txt").read_text() == (src / f"{split}.txt").read_text()
    for cid in ids:
        smpl = np.load(src / "new_joints" / f"{cid}.npy")
        kit = np.load(dst / "new_joints" / f"{cid}.npy")
        vecs = np.load(dst / "new_joint_vecs" / f"{cid}.npy")
        assert kit.shape == (len(smpl), 21, 3) and kit.dtype == np.float32
        assert vecs.shape == (len(smpl) - 1, 251)
        assert np.allclose(kit[:, 0], smpl[:, 0], atol=1e-5)  # same frame, same root path
        assert np.allclose(features_to_joints(vecs.astype(np.float64), KIT21), kit[:-1], atol=1e-4)
        assert (dst / "texts" / f"{cid}.txt").read_text() == (src / "texts" / f"{cid}.txt").read_text()
    assert np.load(dst / "Mean.npy").shape == np.load(dst / "Std.npy").shape == (251,)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_convert_dataset_kit_facing_and_fps(humanml_dataset, tmp_path):
    src = humanml_dataset.root
    report = convert_dataset_to_kit(src, tmp_path / "kit", splits=["test"], facing="kit", fps=12.5)
    assert report.converted == 1 and (tmp_path / "kit" / "test.txt").read_text() == "000007\n"
    smpl = np.load(src / "new_joints" / "000007.npy")
    kit = np.load(tmp_path / "kit" / "new_joints" / "000007.npy")
    vecs = np.load(tmp_path / "kit" / "new_joint_vecs" / "000007.npy")
    assert len(kit) == int((len(smpl) - 1) / 20 * 12.5) + 1
    # turned half a turn: the walk that went +Z now goes -Z, and the features agree with the joints
    assert np.sign(smpl[-1, 0, 2]) == -np.sign(kit[-1, 0, 2]) != 0
    assert np.allclose(features_to_joints(vecs.astype(np.float64), KIT21), kit[:-1], atol=1e-4)


def test_convert_dataset_skips_missing_clips(humanml_dataset, tmp_path):
    src = humanml_dataset.root
    (src / "new_joints" / "000003.npy").unlink()
    report = convert_dataset_to_kit(src, tmp_path / "kit", features=False)
    assert report.skipped == ["000003"]
    assert "000003" not in (tmp_path / "kit" / "train.txt").read_text().split()
    assert not (tmp_path / "kit" / "new_joint_vecs").exists()


def test_convert_dataset_errors_change_nothing(humanml_dataset, tmp_path):
    src = humanml_dataset.root
    dst = tmp_path / "kit"
    dst.mkdir()
    (dst / "keep.txt").write_text("mine")
    with pytest.raises(MotionInputError, match="not empty"):
        convert_dataset_to_kit(src, dst)
    assert [p.name for p in dst.iterdir()] == ["keep.txt"]
    with pytest.raises(MotionInputError, match="no new_joints"):
        convert_dataset_to_kit(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(MotionInputError, match="split file"):
        convert_dataset_to_kit(src, tmp_path / "out", splits=["holdout"])
    with pytest.raises(MotionInputError, match="facing"):
        convert_dataset_to_kit(src, tmp_path / "out", facing="west")
    np.save(src / "new_joints" / "000006.npy", np.zeros((30, 21, 3), np.float32))  # a KIT clip among SMPL ones
    with pytest.raises(MotionInputError, match="000006.npy"):
        convert_dataset_to_kit(src, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["humanml3d", "kit"]  # nothing staged or written
