"""Reading a generator folder: `generator.json`, the files it names, and their sha256 digests.

Numpy and the standard library only, so that checking a folder never needs torch or onnxruntime.
Every problem a user can cause (missing file, edited file, foreign JSON) becomes a `MotionInputError`
that names the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from .base import FORMAT, PAPER_CFG, PAPER_STEPS, GeneratorInfo
from .text_condition import KINDS, SENTENCE

VERSION = 1
META_FILE = "generator.json"

# role -> default file name, as `mogents export onnx` writes them
FILE_NAMES = {
    "text_encoder": "text_encoder.onnx",
    "tokenizer": "tokenizer.json",
    "mask_transformer": "mask_transformer.onnx",
    "residual_transformer": "residual_transformer.onnx",
    "length_estimator": "length_estimator.onnx",
    "vq_encoder": "vq_encoder.onnx",
    "vq_decoder": "vq_decoder.onnx",
    "mean": "Mean.npy",
    "std": "Std.npy",
}
OPTIONAL_ROLES = frozenset({"residual_transformer"})
REQUIRED_ROLES = tuple(r for r in FILE_NAMES if r not in OPTIONAL_ROLES)

INFO_INT_FIELDS = ("feature_dim", "time_factor", "max_frames", "num_codes", "num_quantizers", "columns",
                   "text_dim", "length_classes")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (ONNX text encoders are ~100 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FolderKind:
    """What a model folder's description file is called and how errors name the folder's kind."""

    meta_file: str        # e.g. generator.json
    format: str           # the description's "format" value
    version: int          # newest version this code reads
    label: str            # "generator", "retrieval model"
    export_command: str   # how the user makes one again


GENERATOR_FOLDER = FolderKind(META_FILE, FORMAT, VERSION, "generator", "mogents export onnx")


def read_meta(meta_path: Path, kind: FolderKind) -> dict:
    if not meta_path.is_file():
        raise MotionInputError(f"not a {kind.label} folder (no {kind.meta_file}; see `{kind.export_command}`)",
                               str(meta_path.parent))
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MotionInputError(f"unreadable JSON: {err}", str(meta_path)) from None
    if not isinstance(data, dict) or data.get("format") != kind.format:
        raise MotionInputError(f"not a {kind.label} description (format is not {kind.format!r})", str(meta_path))
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise MotionInputError(f"bad version {version!r}", str(meta_path))
    if version > kind.version:
        raise MotionInputError(f"written by a newer mogents (version {version}, this one reads {kind.version})",
                               str(meta_path))
    return data


def resolve_files(folder: Path, data: dict, meta_path: Path, kind: FolderKind,
                  required: Iterable[str]) -> dict[str, Path]:
    """{role: path} of the description's "files", each a plain name of an existing file in the folder."""
    names = data.get("files")
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise MotionInputError("'files' must map roles to file names", str(meta_path))
    missing_roles = [r for r in required if r not in names]
    if missing_roles:
        raise MotionInputError(f"'files' lacks {', '.join(missing_roles)}", str(meta_path))
    files: dict[str, Path] = {}
    for role, name in names.items():
        if Path(name).name != name:  # a folder is self-contained: no paths out of it
            raise MotionInputError(f"file name {name!r} of {role} must be a plain name", str(meta_path))
        path = folder / name
        if not path.is_file():
            raise MotionInputError(f"missing file {name} ({role}) listed in {kind.meta_file}", str(path))
        files[role] = path
    return files


def verify_files(folder: Path, files: dict[str, Path], data: dict, meta_path: Path, kind: FolderKind) -> None:
    """Every file against the description's sha256 table."""
    digests = data.get("sha256")
    if not isinstance(digests, dict):
        raise MotionInputError("no 'sha256' table", str(meta_path))
    for path in files.values():
        expected = digests.get(path.name)
        if not isinstance(expected, str):
            raise MotionInputError(f"no sha256 recorded for {path.name}", str(meta_path))
        if sha256_file(path) != expected.lower():
            raise MotionInputError("sha256 mismatch: the file was changed or damaged after export "
                                   f"(export the {kind.label} again)", str(path))
    for name in digests:  # files listed only in the table (e.g. external tensor data) must exist too
        if Path(name).name != name or not (folder / name).is_file():
            raise MotionInputError(f"missing file {name} listed in {kind.meta_file}", str(folder / name))


def load_stat(path: Path, dim: int) -> np.ndarray:
    """A (dim,) float32 statistics vector (Mean.npy / Std.npy)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise MotionInputError(f"unreadable array: {err}", str(path)) from None
    arr = np.asarray(arr, np.float32).reshape(-1)
    if arr.shape != (dim,) or not np.all(np.isfinite(arr)):
        raise MotionInputError(f"expected {dim} finite values, found {arr.size}", str(path))
    return arr


def load_generator_folder(path: str | Path, verify: bool = True) -> tuple[GeneratorInfo, dict[str, Path], dict]:
    """(GeneratorInfo, {role: file path}, the generator.json dict) of a folder, sha256-checked when `verify`."""
    folder = Path(path)
    if not folder.is_dir():
        raise MotionInputError("generator folder not found", str(folder))
    meta_path = folder / META_FILE
    data = read_meta(meta_path, GENERATOR_FOLDER)
    files = resolve_files(folder, data, meta_path, GENERATOR_FOLDER, REQUIRED_ROLES)
    if verify:
        verify_files(folder, files, data, meta_path, GENERATOR_FOLDER)
    try:
        fields = {k: int(data[k]) for k in INFO_INT_FIELDS}
        fps = float(data["fps"])
    except (KeyError, TypeError, ValueError) as err:
        raise MotionInputError(f"missing or bad field {err}", str(meta_path)) from None
    decoding = data.get("decoding") or {}
    steps = decoding.get("steps", PAPER_STEPS) if isinstance(decoding, dict) else None
    cfg = decoding.get("cfg", PAPER_CFG) if isinstance(decoding, dict) else None
    if (type(steps) is not int or not 1 <= steps <= 100  # bool is not a step count
            or type(cfg) not in (int, float) or not 0 <= cfg <= 30):
        raise MotionInputError("'decoding' must be {\"steps\": 1..100, \"cfg\": 0..30}", str(meta_path))
    text = data.get("text") if isinstance(data.get("text"), dict) else {}
    condition = text.get("condition", SENTENCE)
    if condition not in KINDS:
        raise MotionInputError(f"unknown text condition {condition!r} (this backend reads {', '.join(KINDS)})",
                               str(meta_path))
    info = GeneratorInfo(fps=fps, **fields, mean=load_stat(files["mean"], fields["feature_dim"]),
                         std=load_stat(files["std"], fields["feature_dim"]),
                         name=str(data.get("name", folder.name)), extra=data, decode_steps=steps, decode_cfg=float(cfg),
                         condition=condition)
    return info, files, data
