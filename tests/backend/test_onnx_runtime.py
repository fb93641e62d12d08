"""The ONNX Runtime generator: parity with the torch runtime, provider choice, tokenizer, folder checks.

Uses the tiny generator that tests/training/test_onnx_export.py exports through the CLI (shared on disk
per test session, so the export runs once).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (training extra)")

from backend.errors import MotionInputError  # noqa: E402
from backend.runtime.model_folder import load_generator_folder  # noqa: E402
from backend.runtime.onnx_runtime import OnnxGeneratorRuntime  # noqa: E402
from backend.runtime.tokenizer import PromptTokenizer  # noqa: E402
from tests.fixtures.model_folders import linked_copy, rewrite  # noqa: E402
from tests.training.test_onnx_export import exported_generator  # noqa: E402
from tests.training.torch_threads import one_torch_thread  # noqa: E402

PROMPTS = ["A person walks forward.", "someone jumps UP and down", "Café crème: the man kicks (left leg) 3 times!",
           "", "   spaces   everywhere   ", "naïve ünïcödé 走路 🙂",
           " ".join(["the person runs in a circle, then stops abruptly and turns to wave"] * 8)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    folder, ckpts, _ = exported_generator(tmp_path_factory.getbasetemp())
    return folder, ckpts


@pytest.fixture(scope="module")
def runtimes(exported):
    from training.inference.torch_runtime import TorchGeneratorRuntime

    folder, ckpts = exported
    with one_torch_thread():
        reference = TorchGeneratorRuntime.from_checkpoints(ckpts["mask"], ckpts["residual"], ckpts["length"])
        yield reference, OnnxGeneratorRuntime(folder, device="cpu", threads=1)




def test_every_protocol_call_matches_torch_at_dynamic_sizes(runtimes):
    ref, onx = runtimes
    info = onx.info
    assert info.columns == 6 and info.num_quantizers == 3 and info.max_tokens == 12
    rng = np.random.default_rng(7)
    worst: dict[str, float] = {}

    def check(key: str, a: np.ndarray, b: np.ndarray) -> None:
        assert a.shape == b.shape and b.dtype == np.float32, (key, a.shape, b.shape, b.dtype)
        worst[key] = max(worst.get(key, 0.0), float(np.abs(a - b).max()))

    for b in (1, 3):
        for f in (3, 10):
            prompts = [PROMPTS[(i * 3 + f) % len(PROMPTS)] for i in range(b)]
            text = ref.encode_text(prompts)
            check("encode_text", text, onx.encode_text(prompts))
            check("length_logits", ref.length_logits(text), onx.length_logits(text))
            valid = np.arange(f)[None] < rng.integers(1, f + 1, b)[:, None]
            valid[0] = True
            drop = np.arange(b) % 2 == 1
            base = rng.integers(0, info.num_codes, (b, f, info.columns))
            base[rng.random(base.shape) < 0.4] = info.mask_id
            base[~valid] = info.pad_id
            check("mask_logits", ref.mask_logits(base, text, valid, drop), onx.mask_logits(base, text, valid, drop))
            features = rng.standard_normal((b, f * info.time_factor, info.feature_dim)).astype(np.float32)
            ids = onx.encode_motion(features)
            assert ids.shape == (b, f, info.columns, info.num_quantizers) and ids.dtype == np.int64
            assert np.array_equal(ids, ref.encode_motion(features))
            layer = rng.integers(1, info.num_quantizers, b)
            check("residual_logits", ref.residual_logits(ids, layer, text, valid, drop),
                  onx.residual_logits(ids, layer, text, valid, drop))
            check("decode_motion", ref.decode_motion(ids), onx.decode_motion(ids))
    print("ONNX vs torch max abs diff:", {k: f"{v:.1e}" for k, v in worst.items()})
    assert all(v < 1e-4 for v in worst.values()), worst


def test_drop_text_uses_the_null_condition(runtimes):
    _, onx = runtimes
    info = onx.info
    ids = np.full((2, 4, info.columns), info.mask_id)
    valid = np.ones((2, 4), bool)
    text = onx.encode_text(["walk", "a person dances wildly"])
    out = onx.mask_logits(ids, text, valid, np.array([True, True]))
    assert np.allclose(out[0], out[1], atol=1e-5)  # both rows unconditional: the text no longer matters
    assert not np.allclose(onx.mask_logits(ids, text, valid, np.array([False, False]))[0], out[0], atol=1e-5)


def test_cpu_is_chosen_quietly_without_cuda(exported, capfd):
    folder, _ = exported
    rt = OnnxGeneratorRuntime(folder, device="auto", threads=1)
    assert OnnxGeneratorRuntime(folder, device="cpu").provider == "CPUExecutionProvider"
    if not torch.cuda.is_available():
        assert rt.provider == "CPUExecutionProvider"
        with pytest.warns(RuntimeWarning, match="CUDA was requested"):
            assert OnnxGeneratorRuntime(folder, device="cuda").provider == "CPUExecutionProvider"
    err = capfd.readouterr().err
    assert "[E:onnxruntime" not in err and "[W:onnxruntime" not in err, err[-2000:]
    assert rt.warmup() > 0
    with pytest.raises(MotionInputError, match="unknown device"):
        OnnxGeneratorRuntime(folder, device="tpu")


def test_tokenizer_matches_transformers(exported):
    from transformers import AutoTokenizer

    from training.models.text_encoder import minilm_path

    folder, _ = exported
    meta = json.loads((folder / "generator.json").read_text())
    ours = PromptTokenizer(folder / "tokenizer.json", 64, meta["text"]["pad_id"], meta["text"]["pad_token"])
    theirs = AutoTokenizer.from_pretrained(minilm_path())
    guessed = PromptTokenizer(folder / "tokenizer.json", 64)  # pad token found in tokenizer.json itself
    for batch in ([PROMPTS[0]], PROMPTS, PROMPTS[:3], PROMPTS[3:5], [PROMPTS[-1]]):
        want = theirs(batch, padding=True, truncation=True, max_length=64, return_tensors="np")
        for tok in (ours, guessed):
            got = tok(batch)
            assert got["input_ids"].dtype == np.int64 and got["attention_mask"].dtype == np.int64
            assert np.array_equal(got["input_ids"], want["input_ids"]), batch
            assert np.array_equal(got["attention_mask"], want["attention_mask"]), batch
    assert ours([PROMPTS[-1]])["input_ids"].shape == (1, 64)  # truncated, not padded to 128
    assert ours(["A B"])["input_ids"].tolist() == ours(["a b"])["input_ids"].tolist()  # lower-cased


def test_tampered_file_is_refused(exported, tmp_path):
    folder = linked_copy(exported[0], tmp_path / "g")
    target = folder / "mask_transformer.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rewrite(target, bytes(data))
    with pytest.raises(MotionInputError, match=r"mask_transformer\.onnx.*sha256 mismatch"):
        load_generator_folder(folder)
    with pytest.raises(MotionInputError, match="sha256 mismatch"):
        OnnxGeneratorRuntime(folder)
    info, files, _ = load_generator_folder(folder, verify=False)  # explicit opt-out still reads the folder
    assert info.num_codes == 32 and files["mask_transformer"] == target
    assert exported[0].joinpath("mask_transformer.onnx").read_bytes() != bytes(data)  # original untouched


def test_missing_file_is_refused(exported, tmp_path):
    folder = linked_copy(exported[0], tmp_path / "g")
    (folder / "vq_decoder.onnx").unlink()
    with pytest.raises(MotionInputError, match=r"missing file vq_decoder\.onnx"):
        load_generator_folder(folder)


@pytest.mark.parametrize("change, message", [
    (lambda m: "{ not json", "unreadable JSON"),
    (lambda m: json.dumps({**m, "format": "something-else"}), "format"),
    (lambda m: json.dumps({**m, "version": 99}), "newer mogents"),
    (lambda m: json.dumps({**m, "files": {**m["files"], "mean": "../Mean.npy"}}), "plain name"),
    (lambda m: json.dumps({k: v for k, v in m.items() if k != "num_codes"}), "num_codes"),
    (lambda m: json.dumps({**m, "sha256": {k: v for k, v in m["sha256"].items() if k != "Std.npy"}}),
     "no sha256 recorded for Std.npy"),
    (lambda m: json.dumps({**m, "decoding": {"steps": 0}}), "decoding"),
    (lambda m: json.dumps({**m, "decoding": {"steps": "ten"}}), "decoding"),
    (lambda m: json.dumps({**m, "decoding": [5]}), "decoding"),
    (lambda m: json.dumps({**m, "decoding": {"steps": 5, "cfg": 31}}), "decoding"),
    (lambda m: json.dumps({**m, "decoding": {"steps": 5, "cfg": "strong"}}), "decoding"),
])
def test_broken_description_is_refused(exported, tmp_path, change, message):
    folder = linked_copy(exported[0], tmp_path / "g")
    meta = json.loads((folder / "generator.json").read_text())
    rewrite(folder / "generator.json", change(meta).encode())
    with pytest.raises(MotionInputError, match=message) as err:
        load_generator_folder(folder)
    assert "generator.json" in str(err.value)


def test_the_folder_recommends_its_decoding_steps(exported, tmp_path):
    from backend.generate.decoding import DecodeOptions
    from backend.generate.generator import Generator

    def decode_steps(folder, options=None):
        seen = []
        Generator(OnnxGeneratorRuntime(folder, device="cpu")).generate(
            "a person walks", seconds=1.0, options=options, progress=lambda s, i, n: seen.append((s, n)))
        return {n for s, n in seen if s == "decode"}

    assert decode_steps(exported[0]) == {10}  # no recommendation: the paper's count
    folder = linked_copy(exported[0], tmp_path / "g")
    meta = json.loads((folder / "generator.json").read_text())
    rewrite(folder / "generator.json", json.dumps({**meta, "decoding": {"steps": 3}}).encode())
    assert decode_steps(folder) == {3}
    assert decode_steps(folder, DecodeOptions(steps=2)) == {2}  # an explicit count wins


def test_the_folder_recommends_its_guidance_scale(exported, tmp_path, monkeypatch):
    from backend.generate import decoding
    from backend.generate.decoding import DecodeOptions
    from backend.generate.generator import Generator

    scales = []
    real = decoding._cfg_call
    monkeypatch.setattr(decoding, "_cfg_call",
                        lambda fn, scale, *a: scales.append((fn.__name__, scale)) or real(fn, scale, *a))

    def base_scales(folder, options=None):  # the base layer's; the residual layers keep their own scale
        scales.clear()
        Generator(OnnxGeneratorRuntime(folder, device="cpu")).generate("a person walks", seconds=1.0, options=options)
        assert {s for name, s in scales if name == "residual_logits"} == {5.0}
        return {s for name, s in scales if name == "mask_logits"}

    assert base_scales(exported[0]) == {4.0}  # no recommendation: MoMask's scale
    folder = linked_copy(exported[0], tmp_path / "g")
    meta = json.loads((folder / "generator.json").read_text())
    rewrite(folder / "generator.json", json.dumps({**meta, "decoding": {"steps": 3, "cfg": 2.5}}).encode())
    assert base_scales(folder) == {2.5}
    assert base_scales(folder, DecodeOptions(cfg_scale=6.0)) == {6.0}  # an explicit scale wins


def test_not_a_generator_folder(tmp_path):
    with pytest.raises(MotionInputError, match="not found"):
        load_generator_folder(tmp_path / "absent")
    with pytest.raises(MotionInputError, match="no generator.json"):
        load_generator_folder(tmp_path)


def test_generator_without_residual_transformer(exported, tmp_path):
    folder = linked_copy(exported[0], tmp_path / "g")
    meta = json.loads((folder / "generator.json").read_text())
    del meta["files"]["residual_transformer"], meta["sha256"]["residual_transformer.onnx"]
    rewrite(folder / "generator.json", json.dumps(meta).encode())
    (folder / "residual_transformer.onnx").unlink()
    rt = OnnxGeneratorRuntime(folder, device="cpu")
    assert not rt.has_residual
    with pytest.raises(RuntimeError, match="no residual"):
        rt.residual_logits(np.zeros((1, 2, 6, 3), np.int64), np.ones(1, np.int64), np.zeros((1, 384), np.float32),
                           np.ones((1, 2), bool), np.zeros(1, bool))
    assert rt.warmup() > 0
    # generation decodes from the base layer alone (the "no residual" ablation), not an error
    from backend.generate.generator import Generator

    motions = Generator(rt).generate("a person walks", seconds=2.0, seed=3, samples=2)
    assert len(motions) == 2 and all(np.isfinite(m.features).all() for m in motions)


def test_inputs_outside_the_graphs_are_refused_clearly(runtimes):
    _, onx = runtimes
    info = onx.info
    too_long = np.zeros((1, info.max_tokens + 1, info.columns), np.int64)
    with pytest.raises(MotionInputError, match="exceed"):
        onx.mask_logits(too_long, np.zeros((1, 384), np.float32), np.ones((1, info.max_tokens + 1), bool),
                        np.zeros(1, bool))
    with pytest.raises(MotionInputError, match="multiple of 4"):
        onx.encode_motion(np.zeros((1, 6, info.feature_dim), np.float32))


def test_backend_runtime_runs_without_torch(exported):
    code = ("import sys; from backend.runtime.onnx_runtime import OnnxGeneratorRuntime; "
            f"rt = OnnxGeneratorRuntime({str(exported[0])!r}); e = rt.encode_text(['walk']); "
            "assert e.shape == (1, 384), e.shape; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-3000:]
