"""The generator runtime on ONNX Runtime: what users run (no torch).

`OnnxGeneratorRuntime(folder)` checks the folder (sha256), then opens one session per graph on the
execution provider chosen once (`ort_sessions.SessionSet`: CUDA only when it really works, else the CPU).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from .base import GeneratorInfo
from .model_folder import load_generator_folder
from .ort_sessions import SessionSet, check_device
from .text_condition import fit, text_condition
from .tokenizer import PromptTokenizer

GRAPHS = ("text_encoder", "mask_transformer", "residual_transformer", "length_estimator", "vq_encoder",
          "vq_decoder")


class OnnxGeneratorRuntime:
    def __init__(self, folder: str | Path, device: str = "auto", threads: int | None = None, verify: bool = True):
        check_device(device, threads)
        self.folder = Path(folder)
        self.info: GeneratorInfo
        self.info, self.files, self.meta = load_generator_folder(self.folder, verify=verify)
        text = self.meta.get("text", {})
        self.tokenizer = PromptTokenizer(self.files["tokenizer"], int(text.get("max_tokens", 64)),
                                         text.get("pad_id"), text.get("pad_token"))
        # the length estimator is the smallest graph: it probes whether CUDA works
        self._graphs = SessionSet(self.files, GRAPHS, device, threads, "to run a generator",
                                  probe_role="length_estimator")
        self.sessions = self._graphs.sessions
        self.provider = self._graphs.provider
        self._run = self._graphs.run
        # each graph reads the leading columns of the text condition it was trained on
        self._text_dims = {"length_estimator": self.info.text_dim}  # the length estimator reads the sentence
        for role, key in (("mask_transformer", "transformer"), ("residual_transformer", "residual_transformer")):
            cfg = self.meta.get(key)
            self._text_dims[role] = int(cfg.get("text_dim", self.info.text_dim)) if isinstance(cfg, dict) \
                else self.info.text_dim

    # ------------------------------------------------------------------------------------- protocol

    @property
    def has_residual(self) -> bool:
        return "residual_transformer" in self.sessions

    def _check_frames(self, frames: int) -> None:
        if frames > self.info.max_tokens:
            raise MotionInputError(f"{frames} token rows exceed this generator's maximum of {self.info.max_tokens} "
                                   f"({self.info.max_frames} frames)")

    def _sentences(self, prompts: list[str]) -> np.ndarray:
        return self._run("text_encoder", self.tokenizer(list(prompts))).astype(np.float32, copy=False)

    def encode_text(self, prompts: list[str]) -> np.ndarray:
        return text_condition(self._sentences, prompts, self.info.condition)

    def _text_for(self, role: str, text: np.ndarray) -> np.ndarray:
        """The condition's leading columns this graph reads (its 'text' input width)."""
        return np.ascontiguousarray(fit(text, self._text_dims[role]), np.float32)

    def mask_logits(self, ids: np.ndarray, text: np.ndarray, frame_valid: np.ndarray,
                    drop_text: np.ndarray) -> np.ndarray:
        self._check_frames(ids.shape[1])
        return self._run("mask_transformer", {
            "ids": np.ascontiguousarray(ids, np.int64), "text": self._text_for("mask_transformer", text),
            "frame_valid": np.ascontiguousarray(frame_valid, np.bool_),
            "drop_text": np.ascontiguousarray(drop_text, np.bool_)})

    def residual_logits(self, ids: np.ndarray, layer: np.ndarray, text: np.ndarray, frame_valid: np.ndarray,
                        drop_text: np.ndarray) -> np.ndarray:
        if not self.has_residual:
            raise RuntimeError("this generator has no residual transformer")
        self._check_frames(ids.shape[1])
        return self._run("residual_transformer", {
            "ids": np.ascontiguousarray(ids, np.int64), "layer": np.ascontiguousarray(layer, np.int64),
            "text": self._text_for("residual_transformer", text),
            "frame_valid": np.ascontiguousarray(frame_valid, np.bool_),
            "drop_text": np.ascontiguousarray(drop_text, np.bool_)})

    def length_logits(self, text: np.ndarray) -> np.ndarray:
        return self._run("length_estimator", {"text": self._text_for("length_estimator", text)})

    def encode_motion(self, features: np.ndarray) -> np.ndarray:
        t = features.shape[1]
        if t == 0 or t % self.info.time_factor:
            raise MotionInputError(f"motion length {t} is not a positive multiple of {self.info.time_factor} frames")
        return self._run("vq_encoder", {"features": np.ascontiguousarray(features, np.float32)})

    def decode_motion(self, ids: np.ndarray) -> np.ndarray:
        return self._run("vq_decoder", {"ids": np.ascontiguousarray(ids, np.int64)})

    def warmup(self) -> float:
        """Run every graph once on the smallest inputs (first calls allocate); returns the seconds taken."""
        start = time.perf_counter()
        info = self.info
        text = self.encode_text(["warm up"])
        self.length_logits(text)
        ids = np.zeros((1, 1, info.columns, info.num_quantizers), np.int64)
        valid, drop = np.ones((1, 1), bool), np.zeros(1, bool)
        self.mask_logits(ids[..., 0], text, valid, drop)
        if self.has_residual:
            self.residual_logits(ids, np.ones(1, np.int64), text, valid, drop)
        self.decode_motion(ids)
        self.encode_motion(np.zeros((1, info.time_factor, info.feature_dim), np.float32))
        return time.perf_counter() - start
