"""Export a trained TMR-like, Motion Patches or LAVIMO checkpoint as a retrieval model folder that
`backend.retrieve.onnx_retrieval.OnnxRetrievalRuntime` runs without torch.

Folder contents (see `backend.retrieve.folder` and `backend.retrieve.encoding`):
    text_encoder.onnx    input_ids, attention_mask int64 (B, L)                -> text_embedding (B, E), int8 weights
    motion_encoder.onnx  features models: motion float32 (B, T, D), lengths     -> motion_embedding (B, E)
                         patch models:    image float32 (B, 3, 224, 80)         -> motion_embedding (B, E)
    video_encoder.onnx   frames float32 (B, F, R, R, 3) in [0, 1] (when the model has a video graph)
    tokenizer.json, Mean.npy, Std.npy, patch_stats.npz (patch models), retrieval.json

Graphs are the model's own `text_graph()` / `motion_graph()` / `video_graph()` (the uniform interface of the
retrieval models), exported with the dynamo exporter; batch and lengths are dynamic. After export the ONNX
runtime is compared with the torch encoders (`training.retrieval.encoders`) on the same raw inputs, so the
shared preprocessing is covered too: fp32 graphs by their largest absolute difference, then the text encoder
gets int8 weights (`weight_int8`: the frozen MiniLM is most of its size) and is compared by cosine; below 0.99
the fp32 graph is kept and retrieval.json says so.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from backend.retrieve.folder import FILE_NAMES, META_FILE, VERSION
from backend.runtime.model_folder import sha256_file
from training.retrieval.encoders import MIN_FRAMES, TorchRetrievalEncoders, load_checkpoint_model, tokenizer_json

from .folder_io import fresh_tmp, log, replace_folder
from .onnx_export import _batch, _example_size, _export, _opset_of
from .retrieval_export import PARITY_CAPTIONS, check_out
from .weight_int8 import quantize_weights_int8

PARITY_TOLERANCE = 1e-4     # fp32 graphs: largest absolute embedding difference
INT8_MIN_COSINE = 0.99      # int8 text encoder vs fp32 torch
PARITY_LENGTHS = (2, 5, 37, 120, 196, 450)  # 450 > every training window: several windows averaged


def _static_sizes(model, describe: dict) -> set[int]:
    sizes = {describe["embed_dim"], describe["feature_dim"], model.text.cfg.width, model.text.base.dim,
             model.text.cfg.heads, model.text.cfg.layers}
    return {int(s) for s in sizes}


def export_text(model, path: Path, static: set[int], opset: int) -> list[Path]:
    max_tokens = int(model.text.cfg.max_tokens)
    tok = model.text.base.tokenize(list(PARITY_CAPTIONS[:3]))
    b = _example_size(static | {1}, 3)
    length = min(_example_size(static | {b}, tok["input_ids"].shape[1], max_tokens), max_tokens)
    ids = torch.full((b, length), int(model.text.base.tokenizer.pad_token_id or 0), dtype=torch.long)
    mask = torch.zeros((b, length), dtype=torch.long)
    for i in range(b):
        row = tok["input_ids"][i % len(tok["input_ids"])][:length]
        ids[i, :len(row)], mask[i, :len(row)] = row, 1
    mask[:, 0] = 1
    batch, tokens = _batch(), torch.export.Dim("tokens", min=2, max=max_tokens)
    return _export(model.text_graph(), (ids, mask), path, ["input_ids", "attention_mask"], ["text_embedding"],
                   ({0: batch, 1: tokens}, {0: batch, 1: tokens}), opset)


def export_motion(model, describe: dict, path: Path, static: set[int], opset: int) -> list[Path]:
    gen = torch.Generator().manual_seed(0)
    b = _example_size(static | {1}, 3)
    if describe["motion_input"] == "patches":
        p = describe["patches"]
        image = torch.randn(b, 3, p["frames"], 5 * p["points"], generator=gen)
        lengths = torch.full((b,), p["frames"], dtype=torch.long)
        return _export(model.motion_graph(), (image, lengths), path, ["image", "lengths"], ["motion_embedding"],
                       ({0: _batch()}, {0: _batch()}), opset)
    max_frames = int(describe["max_frames"])
    frames = _example_size(static | {b}, 37, max_frames)
    motion = torch.randn(b, frames, describe["feature_dim"], generator=gen)
    lengths = torch.linspace(frames, MIN_FRAMES, b).long()
    shapes = ({0: _batch(), 1: torch.export.Dim("frames", min=MIN_FRAMES, max=max_frames)}, {0: _batch()})
    return _export(model.motion_graph(), (motion, lengths), path, ["motion", "lengths"], ["motion_embedding"],
                   shapes, opset)


def export_video(model, describe: dict, path: Path, static: set[int], opset: int) -> list[Path]:
    v = describe["video"]
    b = _example_size(static | {1, v["frames"], v["resolution"]}, 2)
    frames = torch.rand(b, v["frames"], v["resolution"], v["resolution"], 3, generator=torch.Generator().manual_seed(0))
    return _export(model.video_graph(), (frames,), path, ["frames"], ["video_embedding"], ({0: _batch()},), opset)


# ----------------------------------------------------------------------------------------------- parity

def parity_inputs(torch_enc: TorchRetrievalEncoders, seed: int = 0) -> dict:
    """Raw inputs both runtimes embed: captions, feature motions of several lengths (long ones windowed),
    joints of the KIT-21 skeleton (patch models) and a video (video models)."""
    rng = np.random.default_rng(seed)
    mean, std = torch_enc.mean, torch_enc.std
    out = {"captions": list(PARITY_CAPTIONS),
           "motions": [(mean + std * rng.standard_normal((n, len(mean)))).astype(np.float32)
                       for n in PARITY_LENGTHS]}
    if torch_enc.encode_joints is not None:
        from backend.motion.features import features_to_joints
        from backend.motion.kit_convert import smpl22_to_kit21

        real = [features_to_joints(m) for m in out["motions"][2:4]]
        out["kit_joints"] = [smpl22_to_kit21(j).astype(np.float32) for j in real]
    if torch_enc.info.has("video"):
        out["video"] = rng.integers(0, 256, (13, 40, 56, 3), dtype=np.uint8)
    return out


def compare(torch_enc, runtime, inputs: dict, text: bool = True) -> dict[str, float]:
    """Largest absolute embedding difference per input kind, ONNX runtime vs torch."""
    out: dict[str, float] = {}

    def diff(key: str, a: np.ndarray, b: np.ndarray) -> None:
        out[key] = float(np.abs(np.asarray(a, np.float64) - b).max())

    if text:
        diff("text", runtime.encode_text(inputs["captions"]), torch_enc.encode_text(inputs["captions"]))
    diff("motion", runtime.encode_motion(inputs["motions"]), torch_enc.encode_motion(inputs["motions"]))
    if "kit_joints" in inputs:
        diff("joints_kit21", runtime.encode_joints(inputs["kit_joints"], "kit21"),
             torch_enc.encode_joints(inputs["kit_joints"], "kit21"))
    if "video" in inputs:
        diff("video", runtime.encode_video(inputs["video"]), torch_enc.encode_video(inputs["video"]))
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


# ----------------------------------------------------------------------------------------------- folder

def _write_meta(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _checksums(folder: Path, files: dict[str, str]) -> dict[str, str]:
    return {n: sha256_file(folder / n) for n in sorted(set(files.values()))}


def export_retrieval_model(checkpoint: str | Path, out_dir: str | Path, name: str | None = None, opset: int = 18,
                           progress: bool = True, verify: bool = True, quantize: bool = True,
                           eval_data: str | Path | None = None, eval_split: str = "test") -> Path:
    """Write the retrieval folder of a `mogents train tmr|patches|lavimo` checkpoint; see the module docstring."""
    from backend.retrieve.onnx_retrieval import OnnxRetrievalRuntime

    out = Path(out_dir)
    check_out(out)
    if eval_data is not None:
        from training.data.layout_reader import check_root, read_split

        read_split(check_root(eval_data), eval_split)
    checkpoint = Path(checkpoint)
    checkpoint = checkpoint / "model.pt" if checkpoint.is_dir() else checkpoint
    model, ckpt_meta, state = load_checkpoint_model(checkpoint)
    name = name or out.name
    torch_enc = TorchRetrievalEncoders(model, ckpt_meta, name, "cpu")
    describe = torch_enc.description
    static = _static_sizes(model, describe)
    tmp = fresh_tmp(out)
    try:
        files: dict[str, str] = {}
        graphs = [("text_encoder", lambda p: export_text(model, p, static, opset)),
                  ("motion_encoder", lambda p: export_motion(model, describe, p, static, opset))]
        if "video" in describe["modalities"]:
            graphs.append(("video_encoder", lambda p: export_video(model, describe, p, static, opset)))
        for role, fn in graphs:
            start = time.perf_counter()
            written = fn(tmp / FILE_NAMES[role])
            files[role] = written[0].name
            for k, path in enumerate(written[1:]):
                files[f"{role}_data{k or ''}"] = path.name
            log(progress, f"exported {files[role]} in {time.perf_counter() - start:.1f} s")
        shutil.copyfile(tokenizer_json(model), tmp / FILE_NAMES["tokenizer"])
        np.save(tmp / FILE_NAMES["mean"], torch_enc.mean.astype(np.float32))
        np.save(tmp / FILE_NAMES["std"], torch_enc.std.astype(np.float32))
        for role in ("tokenizer", "mean", "std"):
            files[role] = FILE_NAMES[role]
        if torch_enc.patches is not None:
            torch_enc.patches.stats.save(tmp / FILE_NAMES["patch_stats"])
            files["patch_stats"] = FILE_NAMES["patch_stats"]
        meta = {**describe, "version": VERSION, "name": name,
                "source": {"checkpoint": checkpoint.name, "sha256": sha256_file(checkpoint),
                           "data": ckpt_meta.get("data", {}), "training_metrics": state.get("metrics", {})},
                "files": files, "sha256": _checksums(tmp, files),
                "exporter": {"torch": torch.__version__, "opset": _opset_of(tmp / files["motion_encoder"])}}
        meta = {"format": meta.pop("format"), **meta}
        meta_path = tmp / META_FILE
        _write_meta(meta_path, meta)
        inputs = parity_inputs(torch_enc) if verify else None
        if verify:
            start = time.perf_counter()
            meta["parity"] = compare(torch_enc, OnnxRetrievalRuntime(tmp, device="cpu"), inputs)
            log(progress, f"parity fp32 (ONNX Runtime vs torch, {time.perf_counter() - start:.1f} s): "
                + ", ".join(f"{k}={v:.2e}" for k, v in meta["parity"].items()))
        if quantize:
            text_file = tmp / files["text_encoder"]
            fp32 = tmp.parent / f".{out.name}.text_fp32.onnx"
            shutil.copyfile(text_file, fp32)
            quantize_weights_int8(text_file)
            report = {"text_encoder_int8": True, "bytes_fp32": fp32.stat().st_size, "bytes": text_file.stat().st_size,
                      "method": "int8 rows (word embeddings) + MatMulNBits 8-bit blocks of 32"}
            meta["sha256"] = _checksums(tmp, files)
            _write_meta(meta_path, meta)
            if verify:
                runtime = OnnxRetrievalRuntime(tmp, device="cpu")
                a, b = runtime.encode_text(inputs["captions"]), torch_enc.encode_text(inputs["captions"])
                report.update(min_cosine=float(_cosines(a, b).min()), max_abs_diff=float(np.abs(a - b).max()))
                log(progress, f"int8 text encoder: {report['bytes_fp32'] / 1e6:.1f} -> "
                    f"{report['bytes'] / 1e6:.1f} MB, min cosine vs fp32 torch {report['min_cosine']:.4f}")
                if report["min_cosine"] < INT8_MIN_COSINE:  # quality first: ship the fp32 graph instead
                    os.replace(fp32, text_file)
                    report.update(text_encoder_int8=False, bytes=text_file.stat().st_size,
                                  note=f"int8 cosine below {INT8_MIN_COSINE}: the fp32 text encoder is kept")
                    meta["sha256"] = _checksums(tmp, files)
                    log(progress, f"WARNING: {report['note']}")
            fp32.unlink(missing_ok=True)
            meta["quantization"] = report
        if verify:
            meta["parity_ok"] = bool(max(meta["parity"].values()) <= PARITY_TOLERANCE)
            if not meta["parity_ok"]:
                log(progress, f"WARNING: ONNX outputs differ from torch beyond {PARITY_TOLERANCE:g}")
        if eval_data is not None:
            from training.eval.retrieval_eval import evaluate_retrieval

            start = time.perf_counter()
            _write_meta(meta_path, meta)
            results = evaluate_retrieval(OnnxRetrievalRuntime(tmp, device="cpu"), eval_data, eval_split,
                                         protocols=("all", "same_caption", "batches"), progress=False)
            meta["metrics"] = {"data": str(eval_data), "split": eval_split, "protocols": results["protocols"]}
            log(progress, f"retrieval metrics on {eval_data} ({eval_split}) in {time.perf_counter() - start:.1f} s")
        _write_meta(meta_path, meta)
        replace_folder(tmp, out, META_FILE)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        (out.parent / f".{out.name}.text_fp32.onnx").unlink(missing_ok=True)
        raise
    return out


def checkpoint_kind(checkpoint: str | Path) -> str:
    """The `kind` a checkpoint was trained as (its file or run folder), with the loader's clear errors."""
    from training.train.generator_tasks import load_checkpoint

    path = Path(checkpoint)
    return str(load_checkpoint(path / "model.pt" if path.is_dir() else path).get("kind"))


def export_any_retrieval(checkpoint: str | Path, out_dir: str | Path, *, text_mode: str | None = None,
                         quantize: bool = True, **kwargs) -> Path:
    """`mogents export retrieval`: the evaluator exporter for evaluator checkpoints (`text_mode` applies there),
    `export_retrieval_model` for tmr / patches / lavimo ones."""
    from training.retrieval.tasks import KINDS

    kind = checkpoint_kind(checkpoint)
    if kind != "evaluator" and kind not in KINDS:
        raise ValueError(f"{checkpoint} holds a {kind!r} model, not an evaluator or a retrieval model "
                         f"(evaluator, {', '.join(KINDS)})")
    if kind == "evaluator":
        from .retrieval_export import export_retrieval

        return export_retrieval(checkpoint, out_dir, pos_mode=text_mode or "tagged", **kwargs)
    if text_mode is not None:
        raise ValueError(f"--text-mode applies to evaluator checkpoints only; this one is a {kind!r} model")
    return export_retrieval_model(checkpoint, out_dir, quantize=quantize, **kwargs)
