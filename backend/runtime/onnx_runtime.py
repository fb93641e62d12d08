"""The generator runtime on ONNX Runtime: what users run (no torch).

`OnnxGeneratorRuntime(folder)` checks the folder (sha256), picks the execution provider once and opens one
session per graph. CUDA is used only when onnxruntime offers it, the device setting allows it and a
session really starts on it; everything else runs on the CPU. The probe runs with ORT's logger
silenced, because onnxruntime-gpu logs an error when its CUDA libraries are missing.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import MotionInputError
from .base import GeneratorInfo
from .model_folder import load_generator_folder
from .tokenizer import PromptTokenizer

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")
GRAPHS = ("text_encoder", "mask_transformer", "residual_transformer", "length_estimator", "vq_encoder",
          "vq_decoder")


def _import_ort() -> ModuleType:
    try:
        import onnxruntime as ort
    except ImportError:
        raise MotionInputError("onnxruntime is needed to run a generator (pip install onnxruntime)") from None
    return ort


class OnnxGeneratorRuntime:
    def __init__(self, folder: str | Path, device: str = "auto", threads: int | None = None, verify: bool = True):
        if device not in DEVICES:
            raise MotionInputError(f"unknown device {device!r}: {', '.join(DEVICES)}")
        if threads is not None and threads < 1:
            raise MotionInputError(f"threads must be at least 1, got {threads}")
        self.folder = Path(folder)
        self.info: GeneratorInfo
        self.info, self.files, self.meta = load_generator_folder(self.folder, verify=verify)
        self._ort = _import_ort()
        self._threads = threads
        text = self.meta.get("text", {})
        self.tokenizer = PromptTokenizer(self.files["tokenizer"], int(text.get("max_tokens", 64)),
                                         text.get("pad_id"), text.get("pad_token"))
        self.sessions: dict = {}
        self.provider = self._open(device)

    # ------------------------------------------------------------------------------------ sessions

    def _options(self):
        so = self._ort.SessionOptions()
        so.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        if self._threads is not None:
            so.intra_op_num_threads = int(self._threads)
        return so

    def _session(self, role: str, providers: list[str]):
        path = self.files[role]
        try:
            return self._ort.InferenceSession(str(path), self._options(), providers=providers)
        except Exception as err:  # ORT raises its own exception types for malformed graphs
            raise MotionInputError(f"onnxruntime cannot load this graph: {err}", str(path)) from None

    def _try_cuda(self, role: str):
        """A session on CUDA for `role`, or None; ORT's own logging is muted meanwhile."""
        ort = self._ort
        if CUDA not in ort.get_available_providers():
            return None
        ort.set_default_logger_severity(4)  # missing CUDA libraries are logged as errors: expected here
        try:
            sess = ort.InferenceSession(str(self.files[role]), self._options(), providers=[CUDA, CPU])
        except Exception:
            return None
        finally:
            ort.set_default_logger_severity(3)
        return sess if sess.get_providers()[:1] == [CUDA] else None

    def _open(self, device: str) -> str:
        probe_role = "length_estimator"  # the smallest graph
        providers = [CPU]
        if device != "cpu":
            probe = self._try_cuda(probe_role)
            if probe is not None:
                providers = [CUDA, CPU]
                self.sessions[probe_role] = probe
            elif device == "cuda":
                warnings.warn("CUDA was requested but onnxruntime cannot use it here; running on the CPU",
                              RuntimeWarning, stacklevel=3)
        for role in GRAPHS:
            if role in self.files and role not in self.sessions:
                self.sessions[role] = self._session(role, providers)
        self._inputs = {role: [i.name for i in s.get_inputs()] for role, s in self.sessions.items()}
        return providers[0]

    def _run(self, role: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        # graphs may drop inputs that do not affect their output, so feed only what they declare
        names = self._inputs[role]
        return self.sessions[role].run(None, {n: feeds[n] for n in names})[0]

    # ------------------------------------------------------------------------------------- protocol

    @property
    def has_residual(self) -> bool:
        return "residual_transformer" in self.sessions

    def _check_frames(self, frames: int) -> None:
        if frames > self.info.max_tokens:
            raise MotionInputError(f"{frames} token rows exceed this generator's maximum of {self.info.max_tokens} "
                                   f"({self.info.max_frames} frames)")

    def encode_text(self, prompts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(list(prompts))
        return self._run("text_encoder", tokens).astype(np.float32, copy=False)

    def mask_logits(self, ids: np.ndarray, text: np.ndarray, frame_valid: np.ndarray,
                    drop_text: np.ndarray) -> np.ndarray:
        self._check_frames(ids.shape[1])
        return self._run("mask_transformer", {
            "ids": np.ascontiguousarray(ids, np.int64), "text": np.ascontiguousarray(text, np.float32),
            "frame_valid": np.ascontiguousarray(frame_valid, np.bool_),
            "drop_text": np.ascontiguousarray(drop_text, np.bool_)})

    def residual_logits(self, ids: np.ndarray, layer: np.ndarray, text: np.ndarray, frame_valid: np.ndarray,
                        drop_text: np.ndarray) -> np.ndarray:
        if not self.has_residual:
            raise RuntimeError("this generator has no residual transformer")
        self._check_frames(ids.shape[1])
        return self._run("residual_transformer", {
            "ids": np.ascontiguousarray(ids, np.int64), "layer": np.ascontiguousarray(layer, np.int64),
            "text": np.ascontiguousarray(text, np.float32),
            "frame_valid": np.ascontiguousarray(frame_valid, np.bool_),
            "drop_text": np.ascontiguousarray(drop_text, np.bool_)})

    def length_logits(self, text: np.ndarray) -> np.ndarray:
        return self._run("length_estimator", {"text": np.ascontiguousarray(text, np.float32)})

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
