"""Finding and opening a retrieval model: the shipped default or a user folder."""

from __future__ import annotations

from pathlib import Path

from ..errors import MotionInputError
from .folder import META_FILE
from .onnx_retrieval import OnnxRetrievalRuntime

_MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = _MODELS / "retrieval_default"      # LAVIMO 3-modal: text, motion and video queries
EVALUATOR_MODEL = _MODELS / "retrieval_evaluator"  # text + motion only; slightly better strict text search


def load_retrieval(model: str | Path | None = None, device: str = "auto",
                   threads: int | None = None) -> OnnxRetrievalRuntime:
    """An ONNX Runtime retrieval runtime for a model folder (default: the shipped model), sha256-checked."""
    folder = Path(model) if model else DEFAULT_MODEL
    if not (folder / META_FILE).is_file():
        raise MotionInputError(f"no retrieval model here (expected {META_FILE}; see `mogents export retrieval`)",
                               str(folder))
    return OnnxRetrievalRuntime(folder, device=device, threads=threads)
