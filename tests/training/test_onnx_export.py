"""ONNX export of a tiny untrained generator: the `mogents export onnx` CLI, folder contents, body1d VQ graphs.

The tiny generator is exported once per test session (through the CLI) and shared on disk with
tests/backend/test_onnx_runtime.py via `exported_generator`.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (training extra)")

from backend.cli.main import main  # noqa: E402
from backend.runtime.model_folder import sha256_file  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402

FEATURE_DIM = 263
MAX_ROWS = 12  # token rows: 48 frames


def _codebooks(vq) -> None:
    # random codes so that nearest-code search is well defined without training
    for layer in vq.quantizer.layers:
        layer.codes.normal_()
        layer.initialised.fill_(True)


def write_tiny_checkpoints(root: Path, condition: str = "sentence") -> dict[str, Path]:
    """VQ (joint2d, 6 columns, 3 quantisers), mask/residual transformers (all three attention kinds) and a
    length estimator, saved as `save_model` writes them. With `condition="sentence+side"` the mask transformer
    reads the side-aware condition (768 columns) and the residual the sentence alone."""
    from training.models.transformer2d import (
        LengthEstimator,
        MaskTransformer2D,
        ResidualTransformer2D,
        Transformer2DConfig,
    )
    from training.models.vqvae import MotionVQVAE, VQVAEConfig

    root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    vq_cfg = VQVAEConfig(kind="joint2d", width=16, code_dim=16, num_codes=32, num_quantizers=3, joint_down=2,
                         depth=1, quantize_dropout=0.0)
    vq = MotionVQVAE(vq_cfg).eval()
    _codebooks(vq)
    rng = np.random.default_rng(0)
    normalizer = {"mean": rng.normal(0, 0.1, FEATURE_DIM).tolist(), "std": rng.uniform(0.5, 1.5, FEATURE_DIM).tolist()}
    text = {"encoder": "minilm", "path": None, "dim": 384, "condition": condition}
    paths = {k: root / f"{k}.pt" for k in ("vq", "mask", "residual", "length")}
    torch.save({"kind": "vq", "model": vq.state_dict(), "meta": {"vq": vq_cfg.to_dict(), "normalizer": normalizer},
                "metrics": {"mpjpe_mm": 12.5}}, paths["vq"])
    tcfg = Transformer2DConfig(num_codes=32, num_joints=vq.token_columns, max_frames=MAX_ROWS, text_dim=384, dim=32,
                               heads=2, layers=1, ff=64, dropout=0.0, attention=("2d", "spatial", "temporal"))
    meta = {"transformer": tcfg.to_dict(), "vq_path": str(paths["vq"]), "vq": vq_cfg.to_dict(),
            "normalizer": normalizer, "text": text}
    mask_cfg = Transformer2DConfig(**{**tcfg.__dict__, "text_dim": 768 if condition == "sentence+side" else 384})
    torch.save({"kind": "mask", "model": MaskTransformer2D(mask_cfg).state_dict(),
                "meta": {**meta, "transformer": mask_cfg.to_dict()}, "metrics": {"val_loss": 3.4}}, paths["mask"])
    torch.save({"kind": "residual", "model": ResidualTransformer2D(tcfg, vq_cfg.num_quantizers).state_dict(),
                "meta": meta, "metrics": {}}, paths["residual"])
    torch.save({"kind": "length", "model": LengthEstimator(384, hidden=32, classes=50).state_dict(),
                "meta": {"length": {"text_dim": 384, "classes": 50, "hidden": 32}, "unit": 4, "fps": 20.0,
                         "text": text}, "metrics": {"val_acc": 0.1}}, paths["length"])
    return paths


def exported_generator(base: Path) -> tuple[Path, dict[str, Path], str]:
    """(folder, checkpoints, CLI stdout) of the tiny generator, exported once into `base` by the CLI."""
    folder, done = base / "tiny_generator", base / "tiny_generator.done"
    ckpts = {k: base / "ckpt" / f"{k}.pt" for k in ("vq", "mask", "residual", "length")}
    if done.is_file():
        return folder, ckpts, done.read_text()
    write_tiny_checkpoints(base / "ckpt")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), one_torch_thread():
        code = main(["export", "onnx", "--mask", str(ckpts["mask"]), "--residual", str(ckpts["residual"]),
                     "--length", str(ckpts["length"]), "--out", str(folder), "--name", "tiny"])
    assert code == 0, stdout.getvalue()
    done.write_text(stdout.getvalue())
    return folder, ckpts, stdout.getvalue()


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> tuple[Path, dict[str, Path], str]:
    return exported_generator(tmp_path_factory.getbasetemp())


def test_cli_export_writes_a_complete_verified_folder(generator):
    folder, _, stdout = generator
    meta = json.loads((folder / "generator.json").read_text())
    assert meta["format"] == "mogents-generator" and meta["version"] == 1 and meta["name"] == "tiny"
    assert {k: meta[k] for k in ("feature_dim", "time_factor", "max_frames", "num_codes", "num_quantizers",
                                 "columns", "text_dim", "length_classes")} == {
        "feature_dim": 263, "time_factor": 4, "max_frames": 4 * MAX_ROWS, "num_codes": 32, "num_quantizers": 3,
        "columns": 6, "text_dim": 384, "length_classes": 50}
    assert meta["fps"] == 20.0 and meta["vq"]["joint_down"] == 2 and meta["transformer"]["dim"] == 32
    assert meta["text"]["max_tokens"] == 64 and meta["text"]["encoder"] == "minilm"
    assert meta["metrics"]["vq"] == {"mpjpe_mm": 12.5} and meta["metrics"]["mask"] == {"val_loss": 3.4}
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["generator.json", "text_encoder.onnx", "tokenizer.json", "mask_transformer.onnx",
                            "residual_transformer.onnx", "length_estimator.onnx", "vq_encoder.onnx",
                            "vq_decoder.onnx", "Mean.npy", "Std.npy"])  # single-file graphs: no .onnx.data
    assert sorted(meta["sha256"]) == sorted(n for n in names if n != "generator.json")
    assert all(sha256_file(folder / n) == h for n, h in meta["sha256"].items())
    assert sorted(meta["files"].values()) == sorted(meta["sha256"])
    parity = meta["parity"]
    print("export parity:", parity)
    assert meta["parity_ok"] and parity["vq_encoder_mismatches"] == 0
    assert all(v < 1e-4 for k, v in parity.items() if k != "vq_encoder_mismatches"), parity
    assert meta["exporter"]["opset"] >= 18
    assert np.load(folder / "Std.npy").shape == (263,)
    assert "exported generator 'tiny'" in stdout and "parity" in stdout


def test_side_conditioned_export_keeps_parity_and_each_graph_its_width(tmp_path):
    from backend.runtime.onnx_runtime import OnnxGeneratorRuntime

    ckpts = write_tiny_checkpoints(tmp_path / "ckpt", condition="sentence+side")
    out = tmp_path / "side"
    with contextlib.redirect_stdout(io.StringIO()), one_torch_thread():
        code = main(["export", "onnx", "--mask", str(ckpts["mask"]), "--residual", str(ckpts["residual"]),
                     "--length", str(ckpts["length"]), "--out", str(out), "--name", "side"])
    assert code == 0
    meta = json.loads((out / "generator.json").read_text())
    assert meta["text"]["condition"] == "sentence+side" and meta["text_dim"] == 384
    assert meta["transformer"]["text_dim"] == 768 and meta["residual_transformer"]["text_dim"] == 384
    assert meta["parity_ok"], meta["parity"]
    rt = OnnxGeneratorRuntime(out, device="cpu")
    text = rt.encode_text(["a person turns left", "a person turns right", "a person walks"])
    assert text.shape == (3, 768) and not text[2, 384:].any()
    np.testing.assert_allclose(text[0, 384:], -text[1, 384:], atol=1e-5)
    ids = np.zeros((1, 2, 6, 3), np.int64)
    valid, drop = np.ones((1, 2), bool), np.zeros(1, bool)
    assert rt.mask_logits(ids[..., 0], text[:1], valid, drop).shape == (1, 2, 6, 32)
    assert rt.residual_logits(ids, np.ones(1, np.int64), text[:1], valid, drop).shape == (1, 2, 6, 32)
    assert rt.length_logits(text).shape == (3, 50)
    # int8 text encoder: the sentence part and the side codes are checked apart, and the folder still verifies
    from training.export.quantize_text import quantize_text_encoder

    report = quantize_text_encoder(out)
    assert report["min_cosine"] > 0.98 and 0.5 < report["side_code_min_cosine"] <= 1.0 + 1e-6
    assert OnnxGeneratorRuntime(out, device="cpu").encode_text(["a person turns left"]).shape == (1, 768)


def test_cli_refuses_a_foreign_folder(generator, tmp_path):
    folder, ckpts, _ = generator
    out = tmp_path / "occupied"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code = main(["export", "onnx", "--mask", str(ckpts["mask"]), "--length", str(ckpts["length"]),
                 "--out", str(out), "--quiet", "--no-verify"])
    assert code == 2 and (out / "notes.txt").read_text() == "mine"  # never overwrite a foreign folder


def test_reexport_replaces_only_the_old_generator_files(tmp_path):
    from training.export.folder_io import replace_folder

    out, new = tmp_path / "gen", tmp_path / ".gen.export-tmp"
    out.mkdir()
    new.mkdir()
    (out / "generator.json").write_text(json.dumps({"sha256": {"old.onnx": "0", "Mean.npy": "0"}}))
    for name in ("old.onnx", "Mean.npy", "notes.txt"):
        (out / name).write_text("old")
    for name in ("generator.json", "Mean.npy", "mask_transformer.onnx"):
        (new / name).write_text("new")
    replace_folder(new, out, "generator.json")
    assert not new.exists()
    assert sorted(p.name for p in out.iterdir()) == ["Mean.npy", "generator.json", "mask_transformer.onnx",
                                                     "notes.txt"]
    assert (out / "Mean.npy").read_text() == "new" and (out / "notes.txt").read_text() == "old"


def test_cli_export_records_the_recommended_decoding_steps(generator, tmp_path, capsys):
    _, ckpts, _ = generator
    base = ["export", "onnx", "--mask", str(ckpts["mask"]), "--length", str(ckpts["length"]), "--quiet",
            "--no-verify"]
    assert main([*base, "--out", str(tmp_path / "bad"), "--decode-steps", "0"]) == 2
    assert "decode steps" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    with one_torch_thread():
        assert main([*base, "--out", str(tmp_path / "g"), "--decode-steps", "4"]) == 0
    assert json.loads((tmp_path / "g" / "generator.json").read_text())["decoding"] == {"steps": 4}


def test_cli_missing_checkpoint_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope" / "model.pt"
    code = main(["export", "onnx", "--mask", str(missing), "--length", str(missing), "--out", str(tmp_path / "g")])
    assert code == 2
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and str(missing) in err
    assert not (tmp_path / "g").exists() and not list(tmp_path.glob(".g.export-tmp"))


def test_cli_wrong_checkpoint_kind_exits_2(generator, tmp_path, capsys):
    _, ckpts, _ = generator
    code = main(["export", "onnx", "--mask", str(ckpts["length"]), "--length", str(ckpts["length"]),
                 "--out", str(tmp_path / "g")])
    assert code == 2 and "expected 'mask'" in capsys.readouterr().err


@pytest.mark.parametrize("kind, root_stream, columns", [("body1d", "token", 1), ("joint2d", "aux", 7)])
def test_vq_graphs_keep_their_token_columns(kind, root_stream, columns, tmp_path):
    """body1d ids travel as (B, F, 1, Q); the aux whole-body stream is a 7th column after the 6 part columns."""
    import onnxruntime as ort

    from training.export.onnx_export import VQDecoderGraph, VQEncoderGraph, export_vq_decoder, export_vq_encoder
    from training.models.vqvae import MotionVQVAE, VQVAEConfig

    torch.manual_seed(1)
    vq = MotionVQVAE(VQVAEConfig(kind=kind, width=16, code_dim=16, num_codes=32, num_quantizers=3, depth=1,
                                 joint_down=2, root_stream=root_stream)).eval()
    assert vq.token_columns == columns
    _codebooks(vq)
    enc, dec = tmp_path / "enc.onnx", tmp_path / "dec.onnx"
    with one_torch_thread():
        assert export_vq_encoder(vq, enc) == [enc] and export_vq_decoder(vq, dec) == [dec]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s_enc = ort.InferenceSession(str(enc), so, providers=["CPUExecutionProvider"])
    s_dec = ort.InferenceSession(str(dec), so, providers=["CPUExecutionProvider"])
    for b, t in [(1, 4), (3, 36)]:
        x = torch.randn(b, t, FEATURE_DIM)
        with torch.no_grad():
            ref = VQEncoderGraph(vq)(x).numpy()
        ids = s_enc.run(None, {"features": x.numpy()})[0]
        assert ids.shape == (b, t // 4, columns, 3) and ids.dtype == np.int64
        assert np.array_equal(ids, ref)
        with torch.no_grad():
            feats = VQDecoderGraph(vq)(torch.from_numpy(ids)).numpy()
        out = s_dec.run(None, {"ids": ids})[0]
        assert out.shape == (b, t, FEATURE_DIM)
        assert np.abs(out - feats).max() < 1e-4
