"""FID/Top-1 against training time (`training.eval.curves`) and the protocol's shared padding helper."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.eval import curves  # noqa: E402
from training.eval.protocol import pad_features  # noqa: E402
from training.train.generator_tasks import TASKS  # noqa: E402
from training.train.loop import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EVALUATOR = REPO / "training" / "eval" / "checkpoints" / "evaluator_corpus.pt"


def test_pad_features_zero_pads_to_the_longest_and_keeps_lengths():
    feats = [np.full((3, 4), 1.0), np.full((5, 4), 2.0)]
    padded, lengths = pad_features(feats)
    assert padded.shape == (2, 5, 4) and padded.dtype == np.float32
    assert lengths.tolist() == [3, 5]
    assert (padded[0, :3] == 1).all() and (padded[0, 3:] == 0).all() and (padded[1] == 2).all()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A 40-clip corpus, a tiny VQ, a tiny mask run that keeps steps 3 and 6, and a tiny length estimator."""
    from training.corpus.synth import write_corpus

    base = tmp_path_factory.mktemp("curves")
    corpus = write_corpus(base / "c", clips=40, seed=1, workers=1, progress=False)
    vq_cfg = {"data": {"root": str(corpus), "window": 32, "eval_clips": 4},
              "model": {"width": 32, "code_dim": 32, "num_codes": 32, "num_quantizers": 3, "joint_down": 2,
                        "root_stream": "aux", "depth": 1}}
    train(TASKS["vq"](vq_cfg, seed=0), TrainConfig(steps=10, batch_size=16, lr=3e-3, warmup=2, log_every=5,
                                                   checkpoint_every=10, seed=0), base / "vq", progress=False)
    mask_cfg = {"data": {"root": str(corpus)}, "model": {"vq": str(base / "vq" / "model.pt"), "dim": 32,
                                                         "heads": 2, "layers": 1, "ff": 64, "dropout": 0.0}}
    train(TASKS["mask"](mask_cfg, seed=0), TrainConfig(steps=6, batch_size=8, lr=1e-3, warmup=1, log_every=3,
                                                       checkpoint_every=3, keep_every=3, seed=0),
          base / "mask", progress=False)
    train(TASKS["length"]({"data": {"root": str(corpus)}, "model": {"hidden": 16}}, seed=0),
          TrainConfig(steps=3, batch_size=8, lr=1e-3, warmup=1, log_every=1, checkpoint_every=3, seed=0),
          base / "length", progress=False)
    return corpus, base


def test_checkpoint_time_reads_step_checkpoints_and_the_final_model(stack):
    _, base = stack
    kept = curves.kept_checkpoints(base / "mask")
    assert [p.name for p in kept] == ["step_0000003.pt", "step_0000006.pt", "model.pt"]
    times = [curves._checkpoint_time(p) for p in kept]
    assert [t[0] for t in times] == [3, 6, 6]
    assert 0 < times[0][1] <= times[1][1] <= times[2][1]


@pytest.mark.skipif(not EVALUATOR.is_file(), reason="committed evaluator missing")
def test_sweep_scores_each_step_once_resumes_and_plots(stack, tmp_path, monkeypatch):
    from training.eval.evaluator import load_evaluator

    corpus, base = stack
    evaluator = load_evaluator(str(EVALUATOR))
    out = tmp_path / "curves.json"
    args = ({"tiny": base / "mask"}, None, base / "length" / "model.pt", str(corpus), "train", evaluator, 1, 0, 1,
            out)
    results = curves.sweep(*args)
    points = results["tiny"]
    # model.pt is the same step as step_0000006.pt, so it is scored once
    assert [p["step"] for p in points] == [3, 6]
    for p in points:
        assert np.isfinite(p["fid"]) and p["fid"] >= 0 and 0 <= p["top1"] <= 1
    assert json.loads(out.read_text()) == results

    def fail(*a, **k):
        raise AssertionError("a scored checkpoint was scored again")

    monkeypatch.setattr(curves, "score_checkpoint", fail)
    assert curves.sweep(*args) == results  # a rerun only reads the JSON

    png = tmp_path / "curves.png"
    reference = {"real motion": {"fid": 0.0, "top1": 0.9}, "random train clip": {"fid": 0.05, "top1": 0.8}}
    curves.plot(results, png, reference)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_refuses_a_run_folder_that_does_not_exist(tmp_path):
    with pytest.raises(SystemExit):
        curves.main(["--run", f"x={tmp_path / 'missing'}", "--length", "l.pt", "--data", str(tmp_path),
                     "--evaluator", "e.pt", "--json", str(tmp_path / "c.json")])
