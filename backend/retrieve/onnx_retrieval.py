"""The retrieval runtime on ONNX Runtime (no torch): a text encoder and a motion encoder into one space.

`OnnxRetrievalRuntime(folder)` checks the folder (sha256), picks the execution provider once as the
generator runtime does (CUDA only when onnxruntime offers it, the device setting allows it and a session
really starts on it) and opens one session per graph.

Graphs (see `training.export.retrieval_export`):
    text_encoder.onnx    word_ids, pos int64 (B, L), lengths (B,)          -> text_embedding (B, E)
    motion_encoder.onnx  motion float32 (B, T, D) normalised, lengths (B,) -> motion_embedding (B, E)
Both outputs are L2-normalised.
Motions longer than the encoder's training window (`max_frames`) are embedded as the normalised mean of
half-overlapping windows, so a long mocap take is described by all of it rather than its first seconds.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import MotionInputError
from ..runtime.onnx_runtime import CPU, CUDA, DEVICES
from .folder import load_retrieval_folder, load_stat
from .runtime import RetrievalInfo
from .text_input import CaptionTokenizer

TEXT_BATCH = 256
MOTION_BATCH = 64


def _import_ort() -> ModuleType:
    try:
        import onnxruntime as ort
    except ImportError:
        raise MotionInputError("onnxruntime is needed for retrieval (pip install onnxruntime)") from None
    return ort


def window_starts(frames: int, window: int) -> list[int]:
    """Start frames of windows of `window` frames covering `frames`, at most half a window apart."""
    if frames <= window:
        return [0]
    count = int(np.ceil((frames - window) / (window / 2))) + 1
    return [int(round(s)) for s in np.linspace(0, frames - window, count)]


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


class OnnxRetrievalRuntime:
    def __init__(self, folder: str | Path, device: str = "auto", threads: int | None = None, verify: bool = True):
        if device not in DEVICES:
            raise MotionInputError(f"unknown device {device!r}: {', '.join(DEVICES)}")
        if threads is not None and threads < 1:
            raise MotionInputError(f"threads must be at least 1, got {threads}")
        self.folder = Path(folder)
        self.info: RetrievalInfo
        self.info, self.files, self.meta = load_retrieval_folder(self.folder, verify=verify)
        self._ort = _import_ort()
        self._threads = threads
        self.tokenizer = None
        if self.info.has("text"):
            self.tokenizer = CaptionTokenizer(self.files["tokenizer"], self.meta.get("text") or {})
        if self.info.has("motion"):
            self.mean = load_stat(self.files["mean"], self.info.feature_dim)
            self.std = load_stat(self.files["std"], self.info.feature_dim)
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
        """A session on CUDA for `role`, or None; ORT's logging is muted meanwhile (missing CUDA libraries
        are logged as errors, which is expected on a CPU machine)."""
        ort = self._ort
        if CUDA not in ort.get_available_providers():
            return None
        ort.set_default_logger_severity(4)
        try:
            sess = ort.InferenceSession(str(self.files[role]), self._options(), providers=[CUDA, CPU])
        except Exception:
            return None
        finally:
            ort.set_default_logger_severity(3)
        return sess if sess.get_providers()[:1] == [CUDA] else None

    def _open(self, device: str) -> str:
        roles = [r for r in ("text_encoder", "motion_encoder", "video_encoder") if r in self.files]
        providers = [CPU]
        if device != "cpu" and roles:
            probe = self._try_cuda(roles[0])
            if probe is not None:
                providers = [CUDA, CPU]
                self.sessions[roles[0]] = probe
            elif device == "cuda":
                warnings.warn("CUDA was requested but onnxruntime cannot use it here; running on the CPU",
                              RuntimeWarning, stacklevel=3)
        for role in roles:
            if role not in self.sessions:
                self.sessions[role] = self._session(role, providers)
        self._inputs = {role: [i.name for i in s.get_inputs()] for role, s in self.sessions.items()}
        return providers[0]

    def _run(self, role: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        # graphs may drop inputs that do not affect their output, so feed only what they declare
        names = self._inputs[role]
        return self.sessions[role].run(None, {n: feeds[n] for n in names})[0]

    def _require(self, modality: str) -> None:
        if not self.info.has(modality):
            raise MotionInputError(f"the retrieval model {self.info.name!r} has no {modality} encoder")

    # ------------------------------------------------------------------------------------- protocol

    def encode_text(self, texts: Sequence[str], mode: str | None = None) -> np.ndarray:
        """(B, E) embeddings; `mode` "tagged" or "plain" overrides the folder's text mode."""
        self._require("text")
        if isinstance(texts, str):
            texts = [texts]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise MotionInputError("encode_text needs a non-empty list of strings")
        out = []
        for start in range(0, len(texts), TEXT_BATCH):
            feeds = self.tokenizer(texts[start:start + TEXT_BATCH], mode)
            out.append(self._run("text_encoder", feeds))
        return np.concatenate(out).astype(np.float32, copy=False)

    def _checked_motion(self, motion: np.ndarray, index: int) -> np.ndarray:
        motion = np.asarray(motion)
        name = f"motion {index}"
        if motion.ndim != 2 or motion.shape[1] != self.info.feature_dim:
            raise MotionInputError(f"{name}: expected features of shape (T, {self.info.feature_dim}), "
                                   f"got {motion.shape}")
        if len(motion) < self.info.min_frames:
            raise MotionInputError(f"{name}: {len(motion)} frames; at least {self.info.min_frames} are needed")
        if not np.all(np.isfinite(motion)):
            raise MotionInputError(f"{name}: features contain NaN or inf")
        return ((motion - self.mean) / self.std).astype(np.float32)

    def encode_motion(self, motions: Sequence[np.ndarray]) -> np.ndarray:
        self._require("motion")
        if isinstance(motions, np.ndarray) and motions.ndim == 2:
            motions = [motions]
        if len(motions) == 0:
            raise MotionInputError("encode_motion needs at least one motion")
        window = self.info.max_frames
        pieces, owner = [], []
        for i, motion in enumerate(motions):
            normed = self._checked_motion(motion, i)
            for start in window_starts(len(normed), window):
                pieces.append(normed[start:start + window])
                owner.append(i)
        # batches of similar lengths waste little on padding
        order = np.argsort([len(p) for p in pieces], kind="stable")
        piece_emb = np.zeros((len(pieces), self.info.embed_dim), np.float32)
        for start in range(0, len(order), MOTION_BATCH):
            idx = order[start:start + MOTION_BATCH]
            lengths = np.array([len(pieces[j]) for j in idx], np.int64)
            batch = np.zeros((len(idx), int(lengths.max()), self.info.feature_dim), np.float32)
            for row, j in enumerate(idx):
                batch[row, :lengths[row]] = pieces[j]
            piece_emb[idx] = self._run("motion_encoder", {"motion": batch, "lengths": lengths})
        summed = np.zeros((len(motions), self.info.embed_dim), np.float64)
        np.add.at(summed, np.asarray(owner), piece_emb)
        return _normalize_rows(summed)

    def encode_video(self, frames: np.ndarray) -> np.ndarray:
        self._require("video")
        raise MotionInputError(f"the retrieval model {self.info.name!r} lists a video encoder this "
                               "version of mogents cannot run")
