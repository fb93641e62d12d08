"""The retrieval runtime on ONNX Runtime (no torch): a text encoder and a motion encoder into one space.

`OnnxRetrievalRuntime(folder)` checks the folder (sha256) and opens one session per graph on the execution
provider chosen once, as the generator runtime does (`backend.runtime.ort_sessions.SessionSet`).

Graphs (see `training.export.retrieval_export`):
    text_encoder.onnx    word_ids, pos int64 (B, L), lengths (B,)          -> text_embedding (B, E)
    motion_encoder.onnx  motion float32 (B, T, D) normalised, lengths (B,) -> motion_embedding (B, E)
Both outputs are L2-normalised.
Motions longer than the encoder's training window (`max_frames`) are embedded as the normalised mean of
half-overlapping windows, so a long mocap take is described by all of it rather than its first seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..runtime.model_folder import load_stat
from ..runtime.ort_sessions import SessionSet, check_device
from .folder import load_retrieval_folder
from .runtime import RetrievalInfo
from .text_input import CaptionTokenizer

TEXT_BATCH = 256
MOTION_BATCH = 64


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
        check_device(device, threads)
        self.folder = Path(folder)
        self.info: RetrievalInfo
        self.info, self.files, self.meta = load_retrieval_folder(self.folder, verify=verify)
        self.tokenizer = None
        if self.info.has("text"):
            self.tokenizer = CaptionTokenizer(self.files["tokenizer"], self.meta.get("text") or {})
        if self.info.has("motion"):
            self.mean = load_stat(self.files["mean"], self.info.feature_dim)
            self.std = load_stat(self.files["std"], self.info.feature_dim)
        self._graphs = SessionSet(self.files, ("text_encoder", "motion_encoder", "video_encoder"), device, threads,
                                  "for retrieval")
        self.sessions = self._graphs.sessions
        self.provider = self._graphs.provider
        self._run = self._graphs.run

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
