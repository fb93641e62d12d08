"""Generator runtimes: the model folder format, prompt tokenisation and ONNX Runtime inference (no torch)."""

from .base import FORMAT, GeneratorInfo, GeneratorRuntime
from .model_folder import load_generator_folder, sha256_file

__all__ = ["FORMAT", "GeneratorInfo", "GeneratorRuntime", "load_generator_folder", "sha256_file"]
