"""`mogents eval retrieval` on a small procedural corpus with the shipped ONNX retrieval model: every protocol
in the JSON, the evaluation set's rules (one caption per clip, caption windows, mirrored copies), zero-shot
classification, the video and joints paths, the markdown tables, and bad input changing nothing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from backend.cli.main import main  # noqa: E402
from backend.motion.features import joints_to_features  # noqa: E402
from backend.motion.skeleton import get_skeleton  # noqa: E402
from backend.retrieve.loader import EVALUATOR_MODEL, load_retrieval  # noqa: E402
from backend.retrieve.protocols import FAMILY_PHRASES  # noqa: E402
from training.eval.retrieval_eval import EvalClip, evaluate_retrieval, load_eval_clips, load_video  # noqa: E402
from training.eval.retrieval_table import load_results, markdown_report, markdown_table  # noqa: E402

RETRIEVAL_KEYS = {"all", "same_caption", "threshold_0.95", "threshold_0.8", "dissimilar", "batches"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """40 procedural clips plus their mirrored copies: split "all" holds 40 originals, enough for a batch of 32."""
    from training.corpus.synth import write_corpus

    return write_corpus(tmp_path_factory.mktemp("eval_retrieval") / "corpus", clips=40, seed=3, workers=1,
                        progress=False)


@pytest.fixture(scope="module")
def cli_result(corpus, tmp_path_factory) -> tuple[dict, str, str]:
    """(JSON rows, markdown file, stdout) of one full CLI run with every protocol."""
    out = tmp_path_factory.mktemp("eval_retrieval_out")
    code = main(["eval", "retrieval", "--model", str(EVALUATOR_MODEL), "--data", str(corpus), "--split", "all",
                 "--json", str(out / "r.json"), "--markdown", str(out / "r.md"), "--device", "cpu", "--quiet",
                 "--name", "shipped"])
    assert code == 0
    return json.loads((out / "r.json").read_text()), (out / "r.md").read_text(), str(out / "r.json")


@pytest.fixture(scope="module")
def runtime():
    return load_retrieval(EVALUATOR_MODEL, "cpu", threads=1)


def test_cli_json_has_every_protocol_with_sane_numbers(cli_result):
    rows, markdown, _ = cli_result
    result = rows["shipped"]
    assert set(result["protocols"]) == RETRIEVAL_KEYS
    for key, table in result["protocols"].items():
        assert set(table) == {"t2m", "m2t"}, key
        for direction, m in table.items():
            recalls = [m[f"R@{k}"] for k in (1, 2, 3, 5, 10)]
            assert all(0.0 <= r <= 100.0 for r in recalls) and recalls == sorted(recalls), (key, direction)
            assert m["MedR"] >= 1.0
    data = result["data"]
    assert (data["pairs"], data["mirrored_excluded"], data["listed"]) == (40, 40, 80)
    assert result["protocol_info"]["dissimilar"]["gallery"] == 40  # fewer pairs than 100: all of them
    assert "all-mpnet-base-v2" in result["caption_similarity"]["note"]
    # a looser threshold accepts more answers, so it can only raise recall
    for d in ("t2m", "m2t"):
        assert result["protocols"]["threshold_0.8"][d]["R@1"] >= result["protocols"]["threshold_0.95"][d]["R@1"]
        assert result["protocols"]["threshold_0.95"][d]["R@1"] >= result["protocols"]["all"][d]["R@1"]
    zs = result["zero_shot"]
    assert zs["clips"] > 0 and 0.0 <= zs["top1"] <= zs["top5"] <= 100.0 and 0.0 <= zs["balanced_top1"] <= 100.0
    assert sum(sum(v.values()) for v in zs["confusion"].values()) == zs["clips"]
    assert "### all (gallery 40)" in markdown and "### batches (gallery 32)" in markdown and "zero-shot" in markdown


def test_mirrored_copies_and_identical_captions(corpus, runtime):
    both = evaluate_retrieval(runtime, corpus, "all", protocols=["all", "same_caption"], include_mirrored=True,
                              progress=False)
    assert both["data"]["pairs"] == 80 and both["data"]["mirrored_excluded"] == 0
    # more accepted answers never rank the best one lower
    for d in ("t2m", "m2t"):
        for k in ("R@1", "R@5", "R@10"):
            assert both["protocols"]["same_caption"][d][k] >= both["protocols"]["all"][d][k]


def test_eval_set_takes_the_first_caption_and_its_window(humanml_dataset):
    root = humanml_dataset.root
    clips, report = load_eval_clips(root, "train", feature_dim=263, fps=20.0, min_frames=4)
    by_id = {c.clip_id: c for c in clips}
    assert sorted(by_id) == ["000001", "000002", "000003", "000004", "000005"] and report["mirrored_excluded"] == 1
    assert by_id["000001"].caption == "a person walks forward and waves the left hand."
    assert by_id["000002"].caption == "a man strolls casually."  # the first of three
    win = by_id["000005"]  # its only caption covers 1.0-4.5 s
    assert (win.start, win.end) == (20, 90)
    np.testing.assert_array_equal(win.motion, humanml_dataset.features["000005"][20:90])
    clips, _ = load_eval_clips(root, "train", feature_dim=263, fps=20.0, min_frames=4, include_mirrored=True,
                               max_frames=50)
    assert "M000001" in {c.clip_id for c in clips} and max(len(c.motion) for c in clips) == 50
    clips, report = load_eval_clips(root, "train", feature_dim=263, fps=20.0, min_frames=40)
    assert report["too_short"] == 1 and "000003" not in {c.clip_id for c in clips}


def test_zero_shot_uses_single_family_clips_and_falls_back_for_unknown_families(humanml_dataset, runtime):
    out = evaluate_retrieval(runtime, humanml_dataset.root, "all", protocols=["all", "zero_shot"], progress=False)
    zs = out["zero_shot"]
    # 000001 has two families, M000001 is left out as mirrored: 6 single-family clips
    assert zs["clips"] == 6 and sum(v["clips"] for v in zs["per_class"].values()) == 6
    assert zs["prompts"]["turn"] == "a person turn" and zs["prompts"]["walk"] == "a person walks"
    assert set(zs["per_class"]) == {"walk", "jog", "turn", "march"}
    (humanml_dataset.root / "corpus_meta.jsonl").unlink()
    out = evaluate_retrieval(runtime, humanml_dataset.root, "all", protocols=["zero_shot"], progress=False)
    assert "corpus_meta.jsonl" in out["zero_shot"]["skipped"] and out["protocols"] == {}


def test_every_corpus_family_has_a_prompt_phrase():
    from training.corpus.registry import FAMILIES

    assert set(FAMILIES) <= set(FAMILY_PHRASES)


class _WithVideo:
    """The real runtime plus a plain video encoder (a fixed projection of each frame's 4x4 colour grid), so the
    video path runs end to end; records how many frames each video had."""

    def __init__(self, rt):
        self.rt, self.provider = rt, rt.provider
        self.info = dataclasses.replace(rt.info, modalities=rt.info.modalities | {"video"})
        self.proj = np.random.default_rng(0).normal(size=(48, rt.info.embed_dim))
        self.lengths: list[int] = []

    def encode_text(self, texts):
        return self.rt.encode_text(texts)

    def encode_motion(self, motions):
        return self.rt.encode_motion(motions)

    def encode_video(self, frames):
        self.lengths.append(len(frames))
        n, h, w, _ = frames.shape
        grid = frames[:, : h // 4 * 4, : w // 4 * 4].reshape(n, 4, h // 4, 4, w // 4, 3).mean(axis=(0, 2, 4))
        emb = grid.reshape(1, 48) @ self.proj
        return (emb / np.linalg.norm(emb)).astype(np.float32)


def test_video_protocols_read_frames_and_crop_windows(humanml_dataset, runtime, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    rng = np.random.default_rng(0)
    for cid in humanml_dataset.splits["train"]:
        np.save(videos / f"{cid}.npy", rng.integers(0, 256, size=(30, 16, 16, 3), dtype=np.uint8))
    model = _WithVideo(runtime)
    out = evaluate_retrieval(model, humanml_dataset.root, "train", protocols=["all", "same_caption"],
                             videos_dir=videos, progress=False)
    assert set(out["protocols"]["all"]) == {"t2m", "m2t", "v2m", "m2v"}
    assert all(1.0 <= out["protocols"][p][d]["MedR"] <= 5 for p in out["protocols"] for d in ("v2m", "m2v"))
    # 000005 keeps frames 20..90 of 100 -> 70 % of its 30 video frames
    assert sorted(model.lengths) == [21, 30, 30, 30, 30]
    clip = EvalClip("000002", "x", 0, 81, 81, np.zeros((81, 263)))
    np.save(videos / "000002.npy", np.zeros((5, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"\(F, H, W, 3\) uint8"):
        load_video(videos, clip)
    with pytest.raises(ValueError, match="no video for clip 000099"):
        load_video(videos, dataclasses.replace(clip, clip_id="000099"))


def test_mp4_videos_are_read_and_cropped(tmp_path):
    av = pytest.importorskip("av")
    pytest.importorskip("backend.retrieve.video_input")
    frames = np.zeros((20, 32, 32, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(20, dtype=np.uint8)[:, None, None] * 10
    with av.open(str(tmp_path / "000042.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=20)
        stream.height, stream.width, stream.pix_fmt = 32, 32, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    whole = load_video(tmp_path, EvalClip("000042", "x", 0, 40, 40, np.zeros((40, 263))))
    assert whole.shape == (20, 32, 32, 3) and whole.dtype == np.uint8
    half = load_video(tmp_path, EvalClip("000042", "x", 20, 40, 40, np.zeros((20, 263))))  # second half
    assert len(half) == 10 and half[:, :, :, 0].mean() > whole[:10, :, :, 0].mean()


class _JointsAdapter:
    """A skeleton-agnostic front for the SMPL-22 feature model: joints -> HumanML3D features -> encoder."""

    def __init__(self, rt):
        self.rt, self.info, self.provider = rt, rt.info, rt.provider
        self.shapes: list[tuple[int, ...]] = []

    def encode_text(self, texts):
        return self.rt.encode_text(texts)

    def encode_joints(self, joints, skeleton):
        self.shapes += [j.shape[1:] for j in joints]
        sk = get_skeleton(skeleton)
        return self.rt.encode_motion([joints_to_features(j.astype(np.float64), sk)[0] for j in joints])


def test_joints_path_for_skeleton_agnostic_models(humanml_dataset, kit_dataset, runtime):
    model = _JointsAdapter(runtime)
    out = evaluate_retrieval(model, humanml_dataset.root, "all", protocols=["all"], skeleton="smpl22", progress=False)
    assert out["data"]["skeleton"] == "smpl22" and set(model.shapes) == {(22, 3)}
    assert 1.0 <= out["protocols"]["all"]["t2m"]["MedR"] <= out["data"]["pairs"]
    clips, _ = load_eval_clips(kit_dataset.root, "train", feature_dim=251, fps=12.5, min_frames=4, skeleton="kit21")
    assert {c.motion.shape[1:] for c in clips} == {(21, 3)}
    with pytest.raises(ValueError, match=r"expected joints of shape \(T, 21, 3\)"):
        load_eval_clips(humanml_dataset.root, "train", feature_dim=263, fps=20.0, min_frames=4, skeleton="kit21")


def _cli(capsys, *argv):
    capsys.readouterr()
    code = main(["eval", "retrieval", *argv])
    return code, capsys.readouterr().err


def test_bad_input_is_a_clear_error_and_writes_nothing(corpus, tmp_path, capsys, monkeypatch):
    model, out = str(EVALUATOR_MODEL), tmp_path / "out.json"
    base = ["--model", model, "--data", str(corpus), "--split", "all", "--json", str(out), "--quiet"]
    cases = [
        (base + ["--protocols", "all,fancy"], "unknown protocol"),
        (["--model", model, "--data", str(tmp_path / "nope"), "--json", str(out)], "dataset folder not found"),
        (base + ["--thresholds", "0.9,high"], "--thresholds"),
        (base + ["--name", "a", "--name", "b"], "one --name per --model"),
        (base + ["--videos", str(tmp_path)], "video protocols need a model with a video encoder"),
        (base + ["--skeleton", "kit21"], "encode_joints"),
        (base + ["--split", "bogus"], "unknown split"),
        (["--model", str(tmp_path / "missing.pt"), "--data", str(corpus), "--json", str(out)], "not found"),
    ]
    for argv, message in cases:
        code, err = _cli(capsys, *argv)
        assert code == 2 and message in err, (argv, err)
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"")
    monkeypatch.setitem(__import__("sys").modules, "training.retrieval.encoders", None)
    code, err = _cli(capsys, "--model", str(bogus), "--data", str(corpus), "--json", str(out))
    assert code == 2 and "training.retrieval.encoders" in err
    assert not out.exists()


def test_markdown_tables_from_result_files(cli_result, tmp_path):
    rows, _, path = cli_result
    other = json.loads(json.dumps(rows["shipped"]))
    del other["protocols"]["batches"]
    single = tmp_path / "baseline.json"
    single.write_text(json.dumps(other))
    results = load_results([path, single])
    assert list(results) == ["shipped", "baseline"]
    table = markdown_table(results, ["all", "batches"]).splitlines()
    assert table[0].startswith("| model | all t2m R@1 | all t2m R@5 | all t2m R@10 | all t2m MedR | all m2t R@1")
    assert len(table) == 4 and table[0].count("|") == table[2].count("|") == 1 + 1 + 16
    shipped_all = rows["shipped"]["protocols"]["all"]["t2m"]
    assert table[2].split(" | ")[1] == f"{shipped_all['R@1']:.2f}"
    assert table[3].rstrip(" |").endswith("–")  # the baseline has no batches numbers
    report = markdown_report(results)
    assert report.count("### ") == len(RETRIEVAL_KEYS) + 1 and "| baseline |" in report
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x": {"nothing": 1}}))
    with pytest.raises(ValueError, match="not a retrieval result"):
        load_results([bad])
