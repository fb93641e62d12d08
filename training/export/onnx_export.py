"""Export a trained generator (VQ-VAE, mask/residual transformers, length estimator, text encoder) to a
self-contained ONNX folder that `backend.runtime.onnx_runtime.OnnxGeneratorRuntime` runs without torch.

Folder contents (see `backend.runtime.model_folder`):
    text_encoder.onnx        input_ids, attention_mask int64 (B, L)      -> sentence_embedding (B, E)
    mask_transformer.onnx    ids (B, F, J), text, frame_valid, drop_text -> logits (B, F, J, K)
    residual_transformer.onnx ids (B, F, J, Q), layer (B,), text, ...    -> logits (B, F, J, K)
    length_estimator.onnx    text (B, E)                                  -> logits (B, classes)
    vq_encoder.onnx          features (B, T, D), T = 4 * F               -> ids (B, F, J, Q)
    vq_decoder.onnx          ids (B, F, J, Q)                            -> features (B, T, D)
    tokenizer.json, Mean.npy, Std.npy, generator.json (description, sha256 of every file, parity numbers)

Graphs go through the dynamo exporter (`torch.onnx.export(dynamo=True)`): the TorchScript one cannot
trace `nn.TransformerEncoderLayer`. The fused attention fast path is switched off while exporting so
the plain attention math is traced. After export every graph is run by ONNX Runtime next to torch on
random inputs of two batch sizes and lengths, and the largest differences go into generator.json.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.runtime.base import FORMAT
from backend.runtime.model_folder import FILE_NAMES, META_FILE, VERSION, sha256_file
from training.inference.torch_runtime import TorchGeneratorRuntime
from training.models.text_encoder import SentenceEncoder
from training.models.transformer2d import LengthEstimator, MaskTransformer2D, ResidualTransformer2D
from training.models.vqvae import MotionVQVAE
from training.train.generator_tasks import load_checkpoint

from .folder_io import check_out, fresh_tmp, log, replace_folder

# Above this an ONNX protobuf cannot hold its weights; such graphs keep their external data file.
_SINGLE_FILE_LIMIT = 1_900_000_000
# Parity above these is reported as a warning (float outputs; ids must match exactly).
PARITY_TOLERANCE = 1e-3

PROMPTS = ("a person walks forward and then turns around",
           "Jump!",
           "someone waves with the right hand while stepping to the left, then crouches down slowly, stands up, "
           "raises both arms above the head, spins once on the spot, kicks with the left foot and finally "
           "sits down on an invisible chair before getting up again and walking away quickly")


class VQEncoderGraph(nn.Module):
    """Normalised features (B, T, D) -> ids (B, T / time_factor, J, Q); body1d gets its one column back."""

    def __init__(self, vq: MotionVQVAE):
        super().__init__()
        self.vq = vq

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        ids = self.vq.quantizer.encode(self.vq.encode_latent(features))
        return ids[:, :, None] if ids.dim() == 3 else ids


class VQDecoderGraph(nn.Module):
    """Ids (B, F, J, Q) -> normalised features (B, F * time_factor, D)."""

    def __init__(self, vq: MotionVQVAE):
        super().__init__()
        self.vq = vq

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.vq.cfg.kind == "body1d":
            ids = ids[:, :, 0]
        return self.vq.decode(ids)


@contextlib.contextmanager
def _export_mode() -> Iterator[None]:
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # trace the plain attention ops, not the fused kernel
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the exporter warns for every input that shares a named dimension with another one
            warnings.filterwarnings("ignore", message=r".*axis name.*")
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _single_file(path: Path) -> list[Path]:
    """Fold `x.onnx.data` back into `x.onnx` when the graph is small enough; the files the graph needs."""
    data = path.with_name(path.name + ".data")
    if not data.exists():
        return [path]
    import onnx

    model = onnx.load(str(path))  # pulls the external tensors in
    if model.ByteSize() > _SINGLE_FILE_LIMIT:
        return [path, data]
    onnx.save(model, str(path), save_as_external_data=False)
    data.unlink()
    return [path]


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            dynamic_shapes: tuple, opset: int) -> list[Path]:
    module.eval()
    with _export_mode():
        torch.onnx.export(module, args, str(path), dynamo=True, input_names=inputs, output_names=outputs,
                          dynamic_shapes=dynamic_shapes, opset_version=opset, external_data=False, verbose=False)
    return _single_file(path)


def _example_size(avoid: set[int], start: int = 2, stop: int | None = None) -> int:
    """A tracing size for a dynamic axis that equals no static size (and is not 0/1, which the exporter
    would specialise)."""
    stop = stop if stop is not None else start + 64
    for n in range(start, stop + 1):
        if n not in avoid:
            return n
    return min(max(start, 2), stop)


def _batch() -> torch.export.Dim:
    return torch.export.Dim("batch", min=1)


def export_text_encoder(text: SentenceEncoder, path: Path, opset: int = 18) -> list[Path]:
    tokens = text.tokenize(list(PROMPTS[:2]))
    length = torch.export.Dim("tokens", min=1, max=text.max_tokens)
    shapes = ({0: _batch(), 1: length}, {0: _batch(), 1: length})
    # "embedding" collides with a node name inside BERT-like graphs
    return _export(text.pooled, (tokens["input_ids"], tokens["attention_mask"]), path,
                   ["input_ids", "attention_mask"], ["sentence_embedding"], shapes, opset)


def _transformer_examples(cfg, columns: int, quantizers: int) -> tuple[int, int]:
    static = {columns, quantizers, cfg.text_dim, cfg.dim, cfg.num_codes, quantizers - 1}
    b = _example_size(static)
    f = _example_size(static | {b}, 2, max(cfg.max_frames, 2))
    return b, f


def _transformer_inputs(cfg, b: int, f: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    text = nn.functional.normalize(torch.randn(b, cfg.text_dim, generator=gen), dim=-1)
    frame_valid = torch.ones(b, f, dtype=torch.bool)
    frame_valid[-1, f // 2:] = False
    drop_text = torch.arange(b) % 2 == 1
    return text, frame_valid, drop_text


def export_mask_transformer(model: MaskTransformer2D, path: Path, opset: int = 18) -> list[Path]:
    cfg = model.cfg
    b, f = _transformer_examples(cfg, cfg.num_joints, 1)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.num_codes + 2, (b, f, cfg.num_joints), generator=gen)
    text, frame_valid, drop_text = _transformer_inputs(cfg, b, f, gen)
    batch, frames = _batch(), torch.export.Dim("frames", min=1, max=cfg.max_frames)
    shapes = ({0: batch, 1: frames}, {0: batch}, {0: batch, 1: frames}, {0: batch})
    return _export(model, (ids, text, frame_valid, drop_text), path, ["ids", "text", "frame_valid", "drop_text"],
                   ["logits"], shapes, opset)


def export_residual_transformer(model: ResidualTransformer2D, path: Path, opset: int = 18) -> list[Path]:
    cfg, q = model.cfg, model.num_quantizers
    b, f = _transformer_examples(cfg, cfg.num_joints, q)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.num_codes, (b, f, cfg.num_joints, q), generator=gen)
    layer = torch.randint(1, max(q, 2), (b,), generator=gen)
    text, frame_valid, drop_text = _transformer_inputs(cfg, b, f, gen)
    batch, frames = _batch(), torch.export.Dim("frames", min=1, max=cfg.max_frames)
    shapes = ({0: batch, 1: frames}, {0: batch}, {0: batch}, {0: batch, 1: frames}, {0: batch})
    return _export(model, (ids, layer, text, frame_valid, drop_text), path,
                   ["ids", "layer", "text", "frame_valid", "drop_text"], ["logits"], shapes, opset)


def export_length_estimator(model: LengthEstimator, text_dim: int, path: Path, opset: int = 18) -> list[Path]:
    b = _example_size({text_dim, model.classes})
    text = nn.functional.normalize(torch.randn(b, text_dim), dim=-1)
    return _export(model, (text,), path, ["text"], ["logits"], ({0: _batch()},), opset)


def _vq_static(vq: MotionVQVAE) -> set[int]:
    cfg = vq.cfg
    return {cfg.feature_dim, cfg.width, cfg.code_dim, cfg.num_codes, cfg.num_quantizers, vq.token_columns,
            vq.time_factor}


def export_vq_encoder(vq: MotionVQVAE, path: Path, opset: int = 18) -> list[Path]:
    static = _vq_static(vq)
    b = _example_size(static)
    f = _example_size(static | {b}, 3)
    features = torch.randn(b, f * vq.time_factor, vq.cfg.feature_dim)
    # T must stay a multiple of the time factor: declare it as time_factor * (token rows)
    shapes = ({0: _batch(), 1: vq.time_factor * torch.export.Dim("rows", min=1)},)
    return _export(VQEncoderGraph(vq), (features,), path, ["features"], ["ids"], shapes, opset)


def export_vq_decoder(vq: MotionVQVAE, path: Path, opset: int = 18) -> list[Path]:
    static = _vq_static(vq)
    b = _example_size(static)
    f = _example_size(static | {b}, 3)
    ids = torch.randint(0, vq.cfg.num_codes, (b, f, vq.token_columns, vq.cfg.num_quantizers))
    shapes = ({0: _batch(), 1: torch.export.Dim("rows", min=1)},)
    return _export(VQDecoderGraph(vq), (ids,), path, ["ids"], ["features"], shapes, opset)


# ----------------------------------------------------------------------------------------- parity

def random_protocol_inputs(info, b: int, f: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Valid random inputs for every runtime call at batch b and f token rows (mask/pad ids included)."""
    rng = np.random.default_rng(seed)
    k, j, q = info.num_codes, info.columns, info.num_quantizers
    lengths = rng.integers(1, f + 1, b)
    lengths[0] = f
    valid = np.arange(f)[None] < lengths[:, None]
    ids = rng.integers(0, k, (b, f, j, q)).astype(np.int64)
    base = ids[..., 0].copy()
    base[rng.random(base.shape) < 0.3] = info.mask_id
    base[~valid] = info.pad_id
    text = rng.standard_normal((b, info.condition_dim)).astype(np.float32)
    text /= np.linalg.norm(text, axis=-1, keepdims=True)
    return {"ids": ids, "base": base, "frame_valid": valid, "text": text,
            "drop_text": np.arange(b) % 2 == 1, "layer": rng.integers(1, max(q, 2), b).astype(np.int64),
            "features": rng.standard_normal((b, f * info.time_factor, info.feature_dim)).astype(np.float32)}


def _has_residual(rt) -> bool:
    return bool(rt.has_residual) if hasattr(rt, "has_residual") else getattr(rt, "residual", None) is not None


def compare_runtimes(reference, candidate, sizes: tuple[tuple[int, int], ...] | None = None,
                     seed: int = 0) -> dict[str, float]:
    """Largest absolute difference per call between two GeneratorRuntimes (ids: count of mismatches)."""
    info = reference.info
    sizes = sizes or ((1, 2), (3, info.max_tokens))
    out = {"text_encoder": 0.0, "mask_transformer": 0.0, "length_estimator": 0.0, "vq_encoder_mismatches": 0,
           "vq_decoder": 0.0}
    has_residual = _has_residual(reference) and _has_residual(candidate)
    if has_residual:
        out["residual_transformer"] = 0.0

    def diff(key: str, a: np.ndarray, b: np.ndarray) -> None:
        if a.shape != b.shape:
            raise ValueError(f"{key}: shapes differ, {a.shape} vs {b.shape}")
        out[key] = max(out[key], float(np.abs(a.astype(np.float64) - b).max()))

    for n, (b, f) in enumerate(sizes):
        x = random_protocol_inputs(info, b, f, seed + n)
        prompts = [PROMPTS[(i + n) % len(PROMPTS)] for i in range(b)]
        diff("text_encoder", reference.encode_text(prompts), candidate.encode_text(prompts))
        diff("length_estimator", reference.length_logits(x["text"]), candidate.length_logits(x["text"]))
        args = (x["text"], x["frame_valid"], x["drop_text"])
        diff("mask_transformer", reference.mask_logits(x["base"], *args), candidate.mask_logits(x["base"], *args))
        if has_residual:
            diff("residual_transformer", reference.residual_logits(x["ids"], x["layer"], *args),
                 candidate.residual_logits(x["ids"], x["layer"], *args))
        ref_ids, cand_ids = reference.encode_motion(x["features"]), candidate.encode_motion(x["features"])
        if ref_ids.shape != cand_ids.shape:
            raise ValueError(f"vq_encoder: shapes differ, {ref_ids.shape} vs {cand_ids.shape}")
        out["vq_encoder_mismatches"] += int((ref_ids != cand_ids).sum())
        diff("vq_decoder", reference.decode_motion(ref_ids), candidate.decode_motion(ref_ids))
    return out


def parity_ok(parity: dict[str, float], tolerance: float = PARITY_TOLERANCE) -> bool:
    return all(v == 0 if k.endswith("mismatches") else v <= tolerance for k, v in parity.items())


# ----------------------------------------------------------------------------------------- folder

def _check_out(out: Path) -> None:
    """Refuse folders holding anything but a generator: re-exporting replaces only a generator's files."""
    check_out(out, META_FILE, "generator")


def _opset_of(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def export_runtime(rt: TorchGeneratorRuntime, out_dir: str | Path, name: str = "generator", opset: int = 18,
                   progress: bool = True, verify: bool = True, metrics: dict | None = None,
                   extra: dict | None = None) -> Path:
    """Write the generator folder for the modules of a torch runtime; returns the folder."""
    out = Path(out_dir)
    _check_out(out)
    tmp = fresh_tmp(out)
    try:
        info = rt.info
        files: dict[str, str] = {}
        graphs = [("text_encoder", lambda p: export_text_encoder(rt.text, p, opset)),
                  ("mask_transformer", lambda p: export_mask_transformer(rt.mask, p, opset)),
                  ("residual_transformer", lambda p: export_residual_transformer(rt.residual, p, opset)),
                  ("length_estimator", lambda p: export_length_estimator(rt.length, info.text_dim, p, opset)),
                  ("vq_encoder", lambda p: export_vq_encoder(rt.vq, p, opset)),
                  ("vq_decoder", lambda p: export_vq_decoder(rt.vq, p, opset))]
        for role, fn in graphs:
            if role == "residual_transformer" and rt.residual is None:
                continue
            start = time.perf_counter()
            written = fn(tmp / FILE_NAMES[role])
            files[role] = written[0].name
            for k, path in enumerate(written[1:]):  # external tensor data, only for very large graphs
                files[f"{role}_data{k or ''}"] = path.name
            log(progress, f"exported {files[role]} in {time.perf_counter() - start:.1f} s")
        tokenizer_src = Path(rt.text.path) / "tokenizer.json"
        if not tokenizer_src.is_file():
            raise FileNotFoundError(f"the text model folder has no tokenizer.json: {rt.text.path}")
        shutil.copyfile(tokenizer_src, tmp / FILE_NAMES["tokenizer"])
        files["tokenizer"] = FILE_NAMES["tokenizer"]
        np.save(tmp / FILE_NAMES["mean"], np.asarray(info.mean, np.float32))
        np.save(tmp / FILE_NAMES["std"], np.asarray(info.std, np.float32))
        files["mean"], files["std"] = FILE_NAMES["mean"], FILE_NAMES["std"]

        tok = rt.text.tokenizer
        meta = {
            "format": FORMAT, "version": VERSION, "name": name,
            "fps": info.fps, "feature_dim": info.feature_dim, "time_factor": info.time_factor,
            "max_frames": info.max_frames, "num_codes": info.num_codes, "num_quantizers": info.num_quantizers,
            "columns": info.columns, "text_dim": info.text_dim, "length_classes": info.length_classes,
            "vq": rt.vq.cfg.to_dict(), "transformer": rt.mask.cfg.to_dict(),
            "residual_transformer": rt.residual.cfg.to_dict() if rt.residual is not None else None,
            "text": {"encoder": rt.text.kind, "dim": info.text_dim, "condition": info.condition,
                     "max_tokens": rt.text.max_tokens,
                     "pad_id": tok.pad_token_id, "pad_token": tok.pad_token},
            **(extra or {}),
            "files": files,
            "sha256": {n: sha256_file(tmp / n) for n in sorted(set(files.values()))},
            "metrics": metrics or {},
            "exporter": {"torch": torch.__version__, "opset": _opset_of(tmp / files["mask_transformer"])},
        }
        meta_path = tmp / META_FILE
        meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if verify:
            from backend.runtime.onnx_runtime import OnnxGeneratorRuntime

            start = time.perf_counter()
            parity = compare_runtimes(rt, OnnxGeneratorRuntime(tmp, device="cpu"))
            meta["parity"] = parity
            meta["parity_ok"] = parity_ok(parity)
            meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            log(progress, f"parity (ONNX Runtime vs torch, {time.perf_counter() - start:.1f} s): "
                + ", ".join(f"{k}={v:.2e}" if isinstance(v, float) else f"{k}={v}" for k, v in parity.items()))
            if not meta["parity_ok"]:
                log(progress, f"WARNING: ONNX outputs differ from torch by more than {PARITY_TOLERANCE:g}")
        replace_folder(tmp, out, META_FILE)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def export_generator(mask_ckpt: str | Path, residual_ckpt: str | Path | None, length_ckpt: str | Path,
                     out_dir: str | Path, name: str | None = None, opset: int = 18, progress: bool = True,
                     verify: bool = True, decode_steps: int | None = None) -> Path:
    """Export the generator made of these checkpoints (model.pt files of `mogents train`) to `out_dir`.

    `decode_steps` is written as the folder's recommended decoding step count (runtimes default to it;
    without it they use the paper's 10).
    """
    if decode_steps is not None and not 1 <= decode_steps <= 100:
        raise ValueError(f"decode steps must be in 1..100, got {decode_steps}")
    out = Path(out_dir)
    _check_out(out)  # before loading anything
    name = name or out.name
    rt = TorchGeneratorRuntime.from_checkpoints(mask_ckpt, residual_ckpt, length_ckpt, name=name)
    mask = load_checkpoint(mask_ckpt, "mask")
    length = load_checkpoint(length_ckpt, "length")
    if int(length["meta"]["length"].get("text_dim", rt.info.text_dim)) != rt.info.text_dim:
        raise ValueError(f"{length_ckpt}: the length estimator was trained on another text encoder")
    metrics = {"vq": load_checkpoint(mask["meta"]["vq_path"], "vq").get("metrics", {}),
               "mask": mask.get("metrics", {}), "length": length.get("metrics", {})}
    if residual_ckpt is not None:
        metrics["residual"] = load_checkpoint(residual_ckpt, "residual").get("metrics", {})
    length_meta = {k: v for k, v in length["meta"].items() if k in ("length", "unit", "fps")}
    extra: dict = {"length": length_meta}
    if decode_steps is not None:
        extra["decoding"] = {"steps": int(decode_steps)}
    return export_runtime(rt, out, name, opset, progress, verify, metrics, extra)
