"""Export the contrastive evaluator (`training.eval.evaluator`) as a retrieval model folder that
`backend.retrieve.onnx_retrieval.OnnxRetrievalRuntime` runs without torch.

Folder contents (see `backend.retrieve.folder`):
    text_encoder.onnx    word_ids, pos int64 (B, L), lengths int64 (B,)     -> text_embedding (B, E)
    motion_encoder.onnx  motion float32 (B, T, D) normalised, lengths (B,)  -> motion_embedding (B, E)
    tokenizer.json, Mean.npy, Std.npy, retrieval.json (description, sha256 of every file, parity, metrics)

The text graph takes the tokenizer's own ids (the id -> word-table-row map is inside the graph) and a POS
index per word piece, padded; its bidirectional GRU is rebuilt from two one-directional GRUs, the backward
one reading each caption reversed within its length, which equals the packed sequence of training without
`pack_padded_sequence` (which the exporter cannot trace). Both graphs L2-normalise their output. After
export, the ONNX runtime is compared with torch on captions in both text modes and on motions of several
lengths; with `eval_data`, TMR-style retrieval metrics of the ONNX model go into retrieval.json.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from backend.retrieve.folder import FILE_NAMES, META_FILE, VERSION
from backend.retrieve.runtime import FORMAT
from backend.runtime.model_folder import sha256_file
from training.eval.evaluator import (
    POS_NONE,
    POS_TAGS,
    POS_UNKNOWN,
    Evaluator,
    load_evaluator,
    load_tokenizer,
    split_tokens,
    text_model_path,
)

from . import folder_io
from .folder_io import fresh_tmp, log, replace_folder
from .onnx_export import _batch, _example_size, _export, _opset_of

PARITY_TOLERANCE = 1e-4
MIN_FRAMES = 4  # two stride-2 convolutions need 4 frames for one output step
PARITY_CAPTIONS = (
    "a person walks forward and then turns around.",
    "Jump!",
    "someone waves with the right hand while stepping to the left, then crouches down slowly",
    "Café crème: the man kicks (left leg) 3 times — naïve ünïcödé 走路",
    "",
    " ".join(["the person runs in a circle, then stops abruptly and turns to wave"] * 6),  # > max_wordpieces
)
PARITY_LENGTHS = (4, 5, 37, 120, 196)


class TextEmbeddingGraph(nn.Module):
    """Tokenizer ids + POS indices -> the evaluator's L2-normalised text embedding, without packing."""

    def __init__(self, evaluator: Evaluator, vocab_size: int):
        super().__init__()
        text = evaluator.text
        self.word_table, self.pos_emb, self.input, self.head = text.word_table, text.pos_emb, text.input, text.head
        row_of_id = torch.zeros(vocab_size, dtype=torch.long)  # unseen ids read [UNK]'s row 0, as in training
        row_of_id[torch.as_tensor(evaluator.vocab_ids)] = torch.arange(len(evaluator.vocab_ids))
        self.register_buffer("row_of_id", row_of_id)
        hidden = text.gru.hidden_size
        self.forward_gru = nn.GRU(text.gru.input_size, hidden, batch_first=True)
        self.backward_gru = nn.GRU(text.gru.input_size, hidden, batch_first=True)
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(self.forward_gru, name).data.copy_(getattr(text.gru, name).data)
            getattr(self.backward_gru, name).data.copy_(getattr(text.gru, name + "_reverse").data)

    def forward(self, word_ids: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        rows = self.row_of_id[word_ids.clamp(0, self.row_of_id.shape[0] - 1)]
        x = torch.cat([self.word_table[rows], self.pos_emb(pos)], dim=-1)
        x = F.leaky_relu(self.input(x), 0.2)
        steps = torch.arange(x.shape[1], device=x.device)[None, :]
        lengths = lengths.clamp(min=1)[:, None]
        last = lengths - 1
        # each caption reversed within its own length; padding stays behind it and is never read
        reverse = torch.where(steps < lengths, last - steps, steps)
        x_rev = torch.gather(x, 1, reverse[..., None].expand(-1, -1, x.shape[-1]))
        forward_out, _ = self.forward_gru(x)
        backward_out, _ = self.backward_gru(x_rev)
        pick = last[..., None].expand(-1, -1, forward_out.shape[-1])
        summary = torch.cat([forward_out.gather(1, pick)[:, 0], backward_out.gather(1, pick)[:, 0]], dim=-1)
        return F.normalize(self.head(summary), dim=-1)


class MotionEmbeddingGraph(nn.Module):
    """Normalised features (B, T, D) + lengths -> the evaluator's L2-normalised motion embedding."""

    def __init__(self, evaluator: Evaluator):
        super().__init__()
        self.motion = evaluator.motion

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.motion(motion, lengths), dim=-1)


@contextlib.contextmanager
def _quiet_gru_export() -> Iterator[None]:
    """Tracing nn.GRU makes torch warn about its flattened weight list and a deprecated size check; both are
    internal to torch and harmless (parity is checked after export)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*_flat_weights.*assigned during export.*")
        warnings.filterwarnings("ignore", message=r".*_check_is_size will be removed.*", category=FutureWarning)
        yield


def _static_sizes(cfg) -> set[int]:
    return {cfg.feature_dim, cfg.embed_dim, cfg.word_dim, cfg.pos_dim, cfg.text_hidden, 2 * cfg.text_hidden,
            cfg.motion_conv, cfg.motion_hidden, 2 * cfg.motion_hidden, cfg.motion_heads, len(POS_TAGS) + 2}


def export_text_graph(evaluator: Evaluator, vocab_size: int, path: Path, opset: int = 18) -> list[Path]:
    static = _static_sizes(evaluator.cfg) | {vocab_size, len(evaluator.vocab_ids)}
    b = _example_size(static)
    length = _example_size(static | {b}, 3)
    gen = torch.Generator().manual_seed(0)
    ids = torch.as_tensor(evaluator.vocab_ids)[torch.randint(0, len(evaluator.vocab_ids), (b, length), generator=gen)]
    pos = torch.randint(0, len(POS_TAGS) + 2, (b, length), generator=gen)
    lengths = torch.arange(length, 0, -max(1, length // b))[:b].clamp(min=1)
    batch, tokens = _batch(), torch.export.Dim("wordpieces", min=1)
    shapes = ({0: batch, 1: tokens}, {0: batch, 1: tokens}, {0: batch})
    with _quiet_gru_export():
        return _export(TextEmbeddingGraph(evaluator, vocab_size), (ids, pos, lengths), path,
                       ["word_ids", "pos", "lengths"], ["text_embedding"], shapes, opset)


def export_motion_graph(evaluator: Evaluator, path: Path, opset: int = 18) -> list[Path]:
    static = _static_sizes(evaluator.cfg)
    b = _example_size(static)
    frames = _example_size(static | {b}, 37)
    motion = torch.randn(b, frames, evaluator.cfg.feature_dim, generator=torch.Generator().manual_seed(0))
    lengths = torch.linspace(frames, MIN_FRAMES, b).long()
    shapes = ({0: _batch(), 1: torch.export.Dim("frames", min=MIN_FRAMES)}, {0: _batch()})
    return _export(MotionEmbeddingGraph(evaluator), (motion, lengths), path, ["motion", "lengths"],
                   ["motion_embedding"], shapes, opset)


# ----------------------------------------------------------------------------------------- parity

def _torch_motion(evaluator: Evaluator, raw: Sequence[np.ndarray]) -> np.ndarray:
    lengths = [len(m) for m in raw]
    batch = np.zeros((len(raw), max(lengths), evaluator.cfg.feature_dim), np.float32)
    for i, m in enumerate(raw):
        batch[i, :len(m)] = evaluator.normalize(m)
    with torch.no_grad():
        return evaluator.encode_motion(torch.from_numpy(batch), lengths).cpu().numpy()


def compare_with_torch(evaluator: Evaluator, runtime, seed: int = 0) -> dict[str, float]:
    """Largest absolute embedding difference, ONNX runtime vs the torch evaluator: captions in both text
    modes (tokenisation included) and raw motions of several lengths in one padded batch."""
    out: dict[str, float] = {}
    captions = list(PARITY_CAPTIONS)
    with torch.no_grad():
        for mode in ("tagged", "plain"):
            tokens = [runtime.tokenizer.tag(c) for c in captions] if mode == "tagged" else None
            ref = evaluator.encode_text(captions, tokens).cpu().numpy()
            out[f"text_{mode}"] = float(np.abs(runtime.encode_text(captions, mode) - ref).max())
    rng = np.random.default_rng(seed)
    mean, std = evaluator.motion_mean.cpu().numpy(), evaluator.motion_std.cpu().numpy()
    lengths = [n for n in PARITY_LENGTHS if n <= runtime.info.max_frames]
    raw = [(mean + std * rng.standard_normal((n, len(mean)))).astype(np.float32) for n in lengths]
    out["motion"] = float(np.abs(runtime.encode_motion(raw) - _torch_motion(evaluator, raw)).max())
    return out


def parity_ok(parity: dict[str, float], tolerance: float = PARITY_TOLERANCE) -> bool:
    return all(v <= tolerance for v in parity.values())


# ----------------------------------------------------------------------------------------- metrics

def evaluate_split(runtime, data_root: str | Path, split: str = "test", batch_size: int = 32, seed: int = 0,
                   mode: str | None = None) -> dict:
    """TMR-style retrieval metrics of a runtime on a HumanML3D-layout split: one pair per entry (its first
    caption, its motion cropped as the evaluation loaders crop it), protocols "All" (strict), "All" with
    identical captions counted as hits, and batches of `batch_size` (when there is one). Recall in %, both
    directions."""
    from backend.retrieve.metrics import batched_metrics, retrieval_metrics
    from training.data import HUMANML3D, build_entries, crop_length, read_split
    from training.data.layout_reader import check_root
    from training.eval.evaluator import caption_key

    root = check_root(data_root)
    cfg = HUMANML3D
    if runtime.info.feature_dim != cfg.feature_dim:
        raise ValueError(f"the runtime takes {runtime.info.feature_dim}-d features; {root} holds {cfg.feature_dim}")
    entries, _ = build_entries(root, read_split(root, split), cfg)
    texts = [e.captions[0].text for e in entries]
    motions = [e.motion[:crop_length(e.length, cfg.unit_length, cfg.max_motion_length)] for e in entries]
    text_emb, motion_emb = runtime.encode_text(texts, mode), runtime.encode_motion(motions)
    keys = np.array([caption_key(e.captions[0].text, e.captions[0].tokens) for e in entries])
    same = keys[:, None] == keys[None, :]
    results = {"split": split, "pairs": len(entries), "text_mode": mode or runtime.tokenizer.mode,
               "all": retrieval_metrics(text_emb, motion_emb),
               "all_same_caption": retrieval_metrics(text_emb, motion_emb, same)}
    if len(entries) >= batch_size:  # a split smaller than one batch has only the "All" numbers
        results[f"batch{batch_size}"] = batched_metrics(text_emb, motion_emb, batch_size, seed)
    return results


def format_metrics(results: dict) -> str:
    """A markdown table of `evaluate_split` results."""
    keys = ("R@1", "R@2", "R@3", "R@5", "R@10", "MedR")
    lines = ["| protocol | direction | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for protocol in [k for k, v in results.items() if isinstance(v, dict)]:
        for direction in ("t2m", "m2t"):
            row = results[protocol][direction]
            cells = [f"{row[k]:.2f}" if k != "MedR" else f"{row[k]:.1f}" for k in keys]
            lines.append(f"| {protocol} | {direction} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- folder

def check_out(out: Path) -> None:
    """Refuse folders holding anything but a retrieval model: re-exporting replaces only its files."""
    folder_io.check_out(out, META_FILE, "retrieval model")


def _dataset_config(dataset: str | None, feature_dim: int):
    """The loader constants (fps, longest training window) of the evaluator's training data."""
    from training.data import config_for, config_for_dim

    data = config_for(dataset) if dataset else config_for_dim(feature_dim)
    if data is None or data.feature_dim != feature_dim:
        raise ValueError(f"cannot tell the frame rate of {feature_dim}-d features from dataset {dataset!r}")
    return data


def text_section(evaluator: Evaluator, pos_mode: str) -> dict:
    """retrieval.json's 'text': what the backend needs to turn a caption into the text graph's inputs."""
    from training.corpus.captions import LEMMA_FIXES, TAG_FIXES

    tok = load_tokenizer(evaluator.cfg.text_model)
    return {"max_wordpieces": evaluator.cfg.max_wordpieces, "unk_id": int(tok.unk_token_id),
            "vocab_size": len(tok), "pos_mode": pos_mode,
            "pos_index": {tag: split_tokens([f"w/{tag}"])[1][0] for tag in POS_TAGS},
            "pos_none": POS_NONE, "pos_unknown": POS_UNKNOWN,
            # the corrections the corpus captions' tokens were made with (training.corpus.captions.tokens)
            "tagger": {"extra_tags": dict(TAG_FIXES), "lemma_fixes": dict(LEMMA_FIXES)}}


def export_retrieval(checkpoint: str | Path, out_dir: str | Path, name: str | None = None, opset: int = 18,
                     progress: bool = True, verify: bool = True, pos_mode: str = "tagged",
                     eval_data: str | Path | None = None, eval_split: str = "test") -> Path:
    """Write the retrieval folder for an evaluator checkpoint (`model.pt` of `mogents train evaluator`)."""
    from backend.retrieve.text_input import POS_MODES

    out = Path(out_dir)
    check_out(out)  # before loading anything
    if pos_mode not in POS_MODES:
        raise ValueError(f"unknown text mode {pos_mode!r}: {', '.join(POS_MODES)}")
    if eval_data is not None:  # a wrong dataset or split fails now, not after the export
        from training.data.layout_reader import check_root, read_split

        read_split(check_root(eval_data), eval_split)
    checkpoint = Path(checkpoint)
    evaluator = load_evaluator(checkpoint)  # checks the file and its kind
    checkpoint = checkpoint / "model.pt" if checkpoint.is_dir() else checkpoint
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    name = name or out.name
    cfg = evaluator.cfg
    tmp = fresh_tmp(out)
    try:
        text = text_section(evaluator, pos_mode)
        files: dict[str, str] = {}
        for role, fn in (("text_encoder", lambda p: export_text_graph(evaluator, text["vocab_size"], p, opset)),
                         ("motion_encoder", lambda p: export_motion_graph(evaluator, p, opset))):
            start = time.perf_counter()
            written = fn(tmp / FILE_NAMES[role])
            files[role] = written[0].name
            for k, path in enumerate(written[1:]):  # external tensor data, only for very large graphs
                files[f"{role}_data{k or ''}"] = path.name
            log(progress, f"exported {files[role]} in {time.perf_counter() - start:.1f} s")
        shutil.copyfile(text_model_path(cfg.text_model) / "tokenizer.json", tmp / FILE_NAMES["tokenizer"])
        np.save(tmp / FILE_NAMES["mean"], evaluator.motion_mean.cpu().numpy().astype(np.float32))
        np.save(tmp / FILE_NAMES["std"], evaluator.motion_std.cpu().numpy().astype(np.float32))
        for role in ("tokenizer", "mean", "std"):
            files[role] = FILE_NAMES[role]
        data = _dataset_config(state["meta"].get("data", {}).get("dataset"), cfg.feature_dim)
        meta = {
            "format": FORMAT, "version": VERSION, "name": name, "kind": "evaluator",
            "embed_dim": cfg.embed_dim, "feature_dim": cfg.feature_dim, "fps": data.fps,
            "max_frames": data.max_motion_length, "min_frames": MIN_FRAMES, "modalities": ["motion", "text"],
            "text": text, "model": state["meta"]["model"],
            "source": {"checkpoint": checkpoint.name, "sha256": sha256_file(checkpoint),
                       "data": state["meta"].get("data", {}), "training_metrics": state.get("metrics", {})},
            "files": files,
            "sha256": {n: sha256_file(tmp / n) for n in sorted(set(files.values()))},
            "exporter": {"torch": torch.__version__, "opset": _opset_of(tmp / files["motion_encoder"])},
        }
        meta_path = tmp / META_FILE
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if verify or eval_data is not None:
            from backend.retrieve.onnx_retrieval import OnnxRetrievalRuntime

            runtime = OnnxRetrievalRuntime(tmp, device="cpu")
        if verify:
            start = time.perf_counter()
            meta["parity"] = compare_with_torch(evaluator, runtime)
            meta["parity_ok"] = parity_ok(meta["parity"])
            log(progress, f"parity (ONNX Runtime vs torch, {time.perf_counter() - start:.1f} s): "
                + ", ".join(f"{k}={v:.2e}" for k, v in meta["parity"].items()))
            if not meta["parity_ok"]:
                log(progress, f"WARNING: ONNX outputs differ from torch by more than {PARITY_TOLERANCE:g}")
        if eval_data is not None:
            start = time.perf_counter()
            meta["metrics"] = {mode: evaluate_split(runtime, eval_data, eval_split, mode=mode) for mode in POS_MODES}
            meta["metrics"]["data"] = str(eval_data)
            log(progress, f"retrieval metrics on {eval_data} ({eval_split}, {time.perf_counter() - start:.1f} s):")
            for mode in POS_MODES:
                log(progress, f"text mode {mode}, {meta['metrics'][mode]['pairs']} pairs\n"
                    + format_metrics(meta["metrics"][mode]))
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        replace_folder(tmp, out, META_FILE)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
