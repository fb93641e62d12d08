"""`mogents data stats` and `mogents data preview` on fixture datasets in the HumanML3D layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from backend.cli.main import main
from backend.data.preview import load_clip_joints, render_frame_strip, render_stick_gif
from backend.data.stats import compute_stats
from backend.data.stats_text import histogram_lines
from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints


def test_stats_counts_histogram_vocabulary_families(humanml_dataset):
    stats = compute_stats(humanml_dataset.root)
    c = stats["counts"]
    assert (c["clips"], c["original"], c["mirrored"]) == (8, 7, 1)
    assert c["captions"] == 14 and c["captions_original"] == 11 and c["captions_with_window"] == 5
    assert c["splits"] == {"train": 6, "val": 1, "test": 1, "all": 8}
    ln = stats["lengths"]
    hist = ln["histogram"]
    assert sum(hist["counts"]) == 8 and len(hist["edges"]) == len(hist["counts"]) + 1
    assert hist["counts"][1] == 1                       # the 30-frame (1.5 s) clip
    assert ln["seconds_max"] == pytest.approx(210 / 20)
    assert ln["in_training_range"] == 6                 # all but 30 and 210 frames
    assert ln["frames_total"] == sum(len(f) for f in humanml_dataset.features.values())
    assert stats["families"]["walk"] == 5 and stats["families"]["wave"] == 2
    voc = stats["vocabulary"]
    assert voc["top_verbs"][0] == ["walk", 6]
    assert "the" not in dict(voc["top_words"]) and voc["size"] == 21
    rows = {r["name"]: r for r in stats["realism"]["rows"]}
    assert rows["root height mean"]["reference"] == pytest.approx(0.9386, abs=1e-3)
    all_feats = np.concatenate(list(humanml_dataset.features.values())).astype(np.float64)
    assert rows["forward speed (dim 2, per frame)"]["dataset"] == pytest.approx(all_feats[:, 2].mean(), rel=1e-6)
    assert rows["contact on fraction, left 1"]["dataset"] == pytest.approx(all_feats[:, 259].mean(), rel=1e-6)
    assert rows["std rot (6D rotations)"]["dataset"] == pytest.approx(all_feats[:, 67:193].std(0).mean(), rel=1e-5)
    assert stats["problems"] == []


def test_stats_cli_prints_and_writes_json(humanml_dataset, tmp_path, capsys):
    out = tmp_path / "stats.json"
    assert main(["data", "stats", str(humanml_dataset.root), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Realism vs HumanML3D" in text and "walk" in text and "1-2 s |" in text
    assert json.loads(out.read_text())["counts"]["clips"] == 8


def test_stats_kit_and_problem_files(kit_dataset):
    np.save(kit_dataset.root / "new_joint_vecs" / "000006.npy", np.full((30, 251), np.nan, np.float32))
    stats = compute_stats(kit_dataset.root)
    assert stats["skeleton"] == "kit21" and stats["fps"] == 12.5
    assert stats["counts"]["clips"] == 7 and len(stats["problems"]) == 1 and "000006" in stats["problems"][0]
    assert stats["lengths"]["training_range_frames"] == [24, 200]


def test_stats_missing_dataset_exit_code(tmp_path, capsys):
    assert main(["data", "stats", str(tmp_path / "missing")]) == 2
    assert "dataset folder not found" in capsys.readouterr().err


def test_histogram_lines():
    lines = histogram_lines([0, 1, 2], [2, 4], width=10)
    assert lines[0].endswith("#####      2") and lines[1].endswith("########## 4")


def test_render_gif_and_strip(tmp_path):
    joints = walking_joints(SMPL22, 12)
    gif = render_stick_gif(joints, SMPL22, tmp_path / "walk.gif", title="a person walks", fps=20, size=160)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 12 and im.size == (160, 160)
    png = render_frame_strip(joints, SMPL22, tmp_path / "walk.png", n=4)
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 3 * im.size[1]


def test_preview_cli_writes_gif_and_strip(humanml_dataset, tmp_path, capsys):
    layout = humanml_dataset
    # a short clip keeps the test fast
    np.save(layout.root / "new_joints" / "short.npy", walking_joints(SMPL22, 10).astype(np.float32))
    (layout.root / "texts" / "short.txt").write_text("a person walks.#a/DET person/NOUN walk/VERB#0.0#0.0\n")
    out = tmp_path / "prev" / "short.gif"
    assert main(["data", "preview", str(layout.root), "short", "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 10
    assert out.with_suffix(".png").is_file()
    assert "wrote" in capsys.readouterr().out


def test_preview_recovers_joints_from_features(humanml_dataset):
    (humanml_dataset.root / "new_joints" / "000002.npy").unlink()
    joints, skeleton = load_clip_joints(humanml_dataset.root, "000002")
    assert skeleton is SMPL22 and joints.shape == (81, 22, 3)


def test_preview_unknown_id_and_missing_dataset(humanml_dataset, tmp_path, capsys):
    out = str(tmp_path / "x.gif")
    assert main(["data", "preview", str(humanml_dataset.root), "999999", "--out", out]) == 2
    assert "unknown clip id '999999'" in capsys.readouterr().err
    assert main(["data", "preview", str(tmp_path / "none"), "000001", "--out", out]) == 2
    assert "dataset folder not found" in capsys.readouterr().err
    assert not (tmp_path / "x.gif").exists()
