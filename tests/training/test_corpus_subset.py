"""The corpus subset folder: the first originals and their mirrors, linked, with splits and metadata filtered."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.corpus.subset import main, write_subset


def _corpus(root, n=6):
    ids = [f"{i:06d}" for i in range(n)] + [f"M{i:06d}" for i in range(n)]
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True)
    for i in ids:
        np.save(root / "new_joint_vecs" / f"{i}.npy", np.zeros((4, 263), np.float32))
        np.save(root / "new_joints" / f"{i}.npy", np.zeros((4, 22, 3), np.float32))
        (root / "texts" / f"{i}.txt").write_text("a person walks#a/DET#0.0#0.0\n")
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))
    (root / "all.txt").write_text("".join(f"{i}\n" for i in ids))
    (root / "train.txt").write_text("".join(f"{i}\n" for i in ids if i[-1] in "0245"))
    (root / "test.txt").write_text("".join(f"{i}\n" for i in ids if i[-1] in "13"))
    (root / "corpus_meta.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in ids))
    return ids


def test_subset_keeps_first_originals_and_their_mirrors(tmp_path):
    _corpus(tmp_path / "src")
    sizes = write_subset(tmp_path / "src", tmp_path / "dst", originals=3)
    dst = tmp_path / "dst"
    assert sizes == {"train": 4, "test": 2, "all": 6}
    assert (dst / "test.txt").read_text().split() == ["000001", "M000001"]
    assert sorted(p.stem for p in (dst / "new_joint_vecs").iterdir()) == [
        "000000", "000001", "000002", "M000000", "M000001", "M000002"]
    linked = dst / "new_joints" / "M000002.npy"
    assert linked.is_symlink() and np.load(linked).shape == (4, 22, 3)
    assert (dst / "train.txt").read_text().split() == ["000000", "000002", "M000000", "M000002"]
    assert [json.loads(x)["id"] for x in (dst / "corpus_meta.jsonl").read_text().splitlines()] == [
        "000000", "000001", "000002", "M000000", "M000001", "M000002"]
    # rerunning over an existing subset leaves it as it is
    assert write_subset(tmp_path / "src", dst, originals=3) == sizes


def test_subset_refuses_a_folder_that_is_not_a_corpus(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not a corpus"):
        main([str(tmp_path), str(tmp_path / "out")])
