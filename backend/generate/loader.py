"""Finding and opening a generator: the shipped default, a user folder, or (development) torch runs."""

from __future__ import annotations

from pathlib import Path

from ..errors import MotionInputError
from .generator import Generator

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


def load_generator(model: str | Path | None = None, device: str = "auto", threads: int | None = None) -> Generator:
    """A Generator over ONNX Runtime for a generator folder (default: the shipped model), sha256-checked."""
    folder = Path(model) if model else DEFAULT_MODEL
    if not (folder / "generator.json").is_file():
        raise MotionInputError("no generator here (expected generator.json; see `mogents export onnx`)", str(folder))
    from ..runtime.onnx_runtime import OnnxGeneratorRuntime

    return Generator(OnnxGeneratorRuntime(folder, device=device, threads=threads))
