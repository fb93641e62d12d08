"""Shrink an exported generator's text encoder with dynamic int8 quantisation (MiniLM: 91 MB -> ~23 MB).

The shipped model must stay within the repository's size budget; the embeddings of the quantised encoder
are compared with the fp32 ones on a set of prompts and the differences recorded in generator.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

PROMPTS = ["a person walks forward", "a man jumps up and down twice", "someone waves with the right hand",
           "a person sits down on a chair", "the figure turns left and runs", "a person kicks with the left leg",
           "a person squats slowly then stands up", "walk in a circle", "a person throws a ball", "dance"]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)


def quantize_text_encoder(folder: str | Path) -> dict:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from backend.runtime.model_folder import sha256_file
    from backend.runtime.onnx_runtime import OnnxGeneratorRuntime

    folder = Path(folder)
    meta_path = folder / "generator.json"
    meta = json.loads(meta_path.read_text())
    name = meta["files"]["text_encoder"]
    before = OnnxGeneratorRuntime(folder, device="cpu").encode_text(PROMPTS)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        quantize_dynamic(str(folder / name), str(out), weight_type=QuantType.QInt8, per_channel=True)
        shutil.copyfile(out, folder / name)
    meta["sha256"][name] = sha256_file(folder / name)
    meta_path.write_text(json.dumps(meta, indent=2))
    after = OnnxGeneratorRuntime(folder, device="cpu").encode_text(PROMPTS)
    dim = int(meta["text_dim"])  # the sentence part; a side-aware condition appends its side code
    cos = _cosine(before[:, :dim], after[:, :dim])
    report = {"text_encoder_int8": True, "max_abs_diff": float(np.abs(before[:, :dim] - after[:, :dim]).max()),
              "min_cosine": float(cos.min()), "bytes": (folder / name).stat().st_size}
    if before.shape[1] > dim:  # side codes are differences of two embeddings: int8 noise weighs more there
        sided = np.abs(before[:, dim:]).sum(-1) > 0
        report["side_code_min_cosine"] = float(_cosine(before[sided, dim:], after[sided, dim:]).min())
    meta["quantization"] = report
    meta_path.write_text(json.dumps(meta, indent=2))
    return report


if __name__ == "__main__":
    import sys

    print(quantize_text_encoder(sys.argv[1]))
