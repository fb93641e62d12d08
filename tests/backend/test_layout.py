import numpy as np
import pytest

from backend.data.layout import Caption, DatasetWriter, parse_caption_line, read_captions, split_ids
from backend.errors import MotionInputError
from backend.motion.features import features_to_joints
from backend.motion.skeleton import SMPL22


def moving_rest(n=40, dx=0.03):
    joints = np.repeat(SMPL22.rest_joints()[None], n, axis=0)
    joints[:, :, 2] += dx * np.arange(n)[:, None]
    joints[:, SMPL22.index("l_wrist"), 1] += 0.1 * np.sin(np.arange(n) / 3)
    return joints


def test_writer_produces_the_humanml3d_layout(tmp_path):
    out = tmp_path / "ds"
    with DatasetWriter(out) as w:
        caps = [Caption("a person walks forward."), Caption("someone raises the left hand", 0.5, 1.5)]
        w.add_joints("000", moving_rest(), caps, mirror=True)
        w.add_joints("001", moving_rest(dx=0.0), [Caption("a person stands still")])
        w.finish({"train": ["000"], "val": [], "test": ["001"]})
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["new_joints", "new_joint_vecs", "texts", "all.txt", "train.txt", "val.txt", "test.txt", "Mean.npy", "Std.npy"])
    assert (out / "train.txt").read_text().split() == ["000", "M000"]
    assert (out / "all.txt").read_text().split() == ["000", "M000", "001"]
    vecs = np.load(out / "new_joint_vecs" / "000.npy")
    assert vecs.shape == (39, 263) and vecs.dtype == np.float32
    # new_joints holds the joints recovered from new_joint_vecs, as in HumanML3D
    assert np.allclose(np.load(out / "new_joints" / "000.npy"), features_to_joints(vecs.astype(np.float64)), atol=1e-5)
    caps = read_captions(out / "texts" / "M000.txt")
    assert caps[1].text == "someone raises the right hand" and (caps[1].start, caps[1].end) == (0.5, 1.5)
    assert "right/ADJ" in caps[1].tokens and "raise/VERB" in caps[1].tokens
    std = np.load(out / "Std.npy")
    assert std.shape == (263,) and len(np.unique(std[4:67])) == 1  # group-averaged like the released stats
    assert not any(p.name.startswith(".ds.") for p in tmp_path.iterdir())


def test_failure_leaves_nothing_behind(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(MotionInputError, match="non-finite"):
        with DatasetWriter(out) as w:
            w.add_joints("000", moving_rest(), [Caption("fine")])
            bad = moving_rest()
            bad[5, 3, 1] = np.nan
            w.add_joints("001", bad, [Caption("broken")])
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_non_empty_output_and_duplicates(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("user data")
    with pytest.raises(MotionInputError, match="not empty"):
        DatasetWriter(tmp_path / "ds")
    assert (tmp_path / "ds" / "keep.txt").read_text() == "user data"
    with DatasetWriter(tmp_path / "other") as w, pytest.raises(MotionInputError, match="duplicate"):
        w.add_joints("a", moving_rest(), [Caption("x")])
        w.add_joints("a", moving_rest(), [Caption("y")])


def test_caption_line_parsing():
    cap = parse_caption_line("a man kicks.#a/DET man/NOUN kick/VERB#1.5#3.0")
    assert (cap.text, cap.start, cap.end) == ("a man kicks.", 1.5, 3.0)
    assert parse_caption_line("x#x/NOUN#nan#nan").start == 0.0
    with pytest.raises(MotionInputError):
        parse_caption_line("no separators here")


def test_split_ids_are_deterministic_and_proportional():
    ids = [f"{i:04d}" for i in range(1000)]
    a, b = split_ids(ids, seed=1), split_ids(ids, seed=1)
    assert a == b and [len(a[k]) for k in ("train", "val", "test")] == [800, 50, 150]
    assert set(a["train"]).isdisjoint(a["test"])
    assert split_ids(ids, seed=2) != a


def test_streamed_mean_std_match_the_concatenated_data(tmp_path):
    from backend.data.layout import group_averaged_std

    clips = [moving_rest(n=30 + 7 * i, dx=0.01 * i) for i in range(4)]
    with DatasetWriter(tmp_path / "ds") as w:
        feats = [w.add_joints(f"{i:03d}", c, [Caption("a person walks")]) for i, c in enumerate(clips)]
        w.finish()
    data = np.concatenate(feats).astype(np.float64)
    assert np.allclose(np.load(tmp_path / "ds" / "Mean.npy"), data.mean(axis=0), atol=1e-5)
    assert np.allclose(np.load(tmp_path / "ds" / "Std.npy"), group_averaged_std(data, 22), rtol=1e-4, atol=1e-6)
