"""Trained retrieval checkpoints (tmr, patches, lavimo) as `RetrievalRuntime`s on torch, for evaluation.

`load_torch_encoders(path, device)` rebuilds the model from the checkpoint's meta and runs its export graphs
(`text_graph`, `motion_graph`, `video_graph`) behind `backend.retrieve.encoding.RetrievalEncoders`, so that
captions, features, joints and videos are prepared exactly as the ONNX runtime prepares them; the exporter
compares the two. `describe(model, meta)` is the retrieval.json description both share.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.errors import MotionInputError
from backend.retrieve.encoding import PatchSettings, RetrievalEncoders, VideoSettings
from backend.retrieve.runtime import FORMAT, RetrievalInfo

from .tasks import KINDS, model_from_meta

MIN_FRAMES = 2  # a single frame shows no motion
# graph inputs in call order, by role (and motion input for the motion graph)
GRAPH_INPUTS = {"text_encoder": ("input_ids", "attention_mask"), "features": ("motion", "lengths"),
                "patches": ("image", "lengths"), "video_encoder": ("frames",)}


def tokenizer_json(model: nn.Module) -> Path:
    """tokenizer.json of the model's text base: the base folder's own, else the fast tokenizer saved once to a
    cache file (a local model folder may ship only vocab.txt)."""
    from .text import base_model_path

    folder = Path(base_model_path(model.text.cfg.base))
    if (folder / "tokenizer.json").is_file():
        return folder / "tokenizer.json"
    tok = model.text.base.tokenizer
    if not getattr(tok, "is_fast", False):
        raise ValueError(f"the text base {folder} has no fast tokenizer to export as tokenizer.json")
    cache = Path(tempfile.gettempdir()) / "mogents-tokenizers"
    cache.mkdir(exist_ok=True)
    path = cache / f"{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]}.json"
    tok.backend_tokenizer.save(str(path))
    return path


def video_settings(model: nn.Module, meta: dict) -> VideoSettings | None:
    if model.video_graph() is None:
        return None
    video = meta.get("video") or {}
    try:
        return VideoSettings(frames=int(video["frames"]), resolution=int(video["resolution"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError("a model with a video graph needs meta['video'] = {frames, resolution}") from None


@torch.no_grad()
def _embed_dim(model: nn.Module) -> int:
    graph = model.text_graph().eval()
    ids = torch.tensor([[model.text.base.tokenizer.cls_token_id or 0, 1]], dtype=torch.long)
    return int(graph(ids, torch.ones_like(ids)).shape[-1])


def describe(model: nn.Module, meta: dict) -> dict:
    """retrieval.json fields (without files, checksums, parity) of a trained retrieval model."""
    kind, motion_input = model.kind, model.motion_input
    tok = model.text.base.tokenizer
    out = {
        "format": FORMAT, "kind": kind, "motion_input": motion_input, "embed_dim": _embed_dim(model),
        "feature_dim": int(meta["feature_dim"]), "fps": float(meta["fps"]), "max_frames": int(meta["max_frames"]),
        "min_frames": MIN_FRAMES,
        "modalities": sorted(["motion", "text"] + (["video"] if model.video_graph() is not None else [])),
        "text": {"input": "token_ids", "max_tokens": int(model.text.cfg.max_tokens), "base": model.text.cfg.base,
                 "pad_id": int(tok.pad_token_id or 0)},
        "model": meta.get("model", {}), "text_encoder": meta.get("text", {}),
    }
    if motion_input == "patches":
        patches = meta["patches"]
        out["patches"] = {"frames": int(patches["frames"]), "points": int(patches["points"]), "parts": 5,
                          "skeleton": patches["skeleton"], "chains": patches["chains"],
                          "chain_order": ["right_leg", "left_leg", "torso", "right_arm", "left_arm"]}
    video = video_settings(model, meta)
    if video is not None:
        out["video"] = {"frames": video.frames, "resolution": video.resolution, "range": "[0, 1] RGB"}
    return out


def patch_settings(meta: dict) -> PatchSettings:
    from backend.motion.patches import PatchStats

    stats = meta["patch_stats"]
    return PatchSettings(frames=int(meta["patches"]["frames"]), points=int(meta["patches"]["points"]),
                         stats=PatchStats(np.asarray(stats["mean"]), np.asarray(stats["std"])))


class TorchRetrievalEncoders(RetrievalEncoders):
    """A trained retrieval model behind the RetrievalRuntime protocol (see the module docstring)."""

    def __init__(self, model: nn.Module, meta: dict, name: str, device: str | torch.device = "cpu"):
        from backend.retrieve.text_input import TokenIdsInput

        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.description = describe(model, meta)
        d = self.description
        info = RetrievalInfo(name=name, embed_dim=d["embed_dim"], feature_dim=d["feature_dim"], fps=d["fps"],
                             modalities=frozenset(d["modalities"]), max_frames=d["max_frames"],
                             min_frames=d["min_frames"], extra=d)
        tokenizer = TokenIdsInput(tokenizer_json(model), d["text"])
        mean, std = np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32)
        patches = patch_settings(meta) if model.motion_input == "patches" else None
        super().__init__(info, tokenizer, mean, std, patches=patches, video=video_settings(model, meta))
        self.graphs = {"text_encoder": model.text_graph().eval(), "motion_encoder": model.motion_graph().eval()}
        if model.video_graph() is not None:
            self.graphs["video_encoder"] = model.video_graph().eval()
        self.provider = f"torch-{self.device.type}"

    @torch.no_grad()
    def _run(self, role: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        names = GRAPH_INPUTS[self.motion_input if role == "motion_encoder" else role]
        args = [torch.from_numpy(np.ascontiguousarray(feeds[n])).to(self.device) for n in names]
        return self.graphs[role](*args).float().cpu().numpy()


def load_checkpoint_model(path: str | Path) -> tuple[nn.Module, dict, dict]:
    """(model in eval mode on the CPU, meta, the whole checkpoint) of a retrieval model.pt / last.pt."""
    from training.train.generator_tasks import load_checkpoint

    state = load_checkpoint(path)
    kind = state.get("kind")
    if kind not in KINDS:
        hint = " (export evaluator checkpoints with `mogents export retrieval`)" if kind == "evaluator" else ""
        raise ValueError(f"{path} holds a {kind!r} model, not a retrieval model ({', '.join(KINDS)}){hint}")
    meta = state["meta"]
    model = model_from_meta(kind, meta)
    result = model.load_state_dict(state["model"], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f"{path}: the weights do not fit a {kind} model of its own config "
                         f"(missing {result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]})")
    return model.eval(), meta, state


def _device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise MotionInputError(f"unknown device {device!r}: auto, cpu, cuda")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise MotionInputError("CUDA was requested but torch cannot use it here")
    return device


def load_torch_encoders(path: str | Path, device: str = "auto") -> TorchRetrievalEncoders:
    """The RetrievalRuntime of a retrieval checkpoint (`mogents train tmr|patches|lavimo` -> model.pt)."""
    device = _device(device)
    try:
        model, meta, _ = load_checkpoint_model(path)
        return TorchRetrievalEncoders(model, meta, Path(path).parent.name or Path(path).stem, device)
    except MotionInputError:
        raise
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err), str(path)) from None
