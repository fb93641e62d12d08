"""Reading a retrieval model folder: `retrieval.json`, the files it names, and their sha256 digests.

Numpy and the standard library only. Like generator folders (`backend.runtime.model_folder`), a folder is
self-contained and every problem a user can cause (missing, edited or foreign files) becomes a
`MotionInputError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..runtime.model_folder import sha256_file
from .runtime import FORMAT, MODALITIES, RetrievalInfo

VERSION = 1
META_FILE = "retrieval.json"

# role -> file name, as `mogents export retrieval` writes them
FILE_NAMES = {
    "text_encoder": "text_encoder.onnx",
    "tokenizer": "tokenizer.json",
    "motion_encoder": "motion_encoder.onnx",
    "mean": "Mean.npy",
    "std": "Std.npy",
}
# the roles each modality needs
ROLES_OF = {"text": ("text_encoder", "tokenizer"), "motion": ("motion_encoder", "mean", "std"),
            "video": ("video_encoder",)}


def _read_json(meta_path: Path) -> dict:
    if not meta_path.is_file():
        raise MotionInputError(f"not a retrieval model folder (no {META_FILE}; see `mogents export retrieval`)",
                               str(meta_path.parent))
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MotionInputError(f"unreadable JSON: {err}", str(meta_path)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MotionInputError(f"not a retrieval model description (format is not {FORMAT!r})", str(meta_path))
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise MotionInputError(f"bad version {version!r}", str(meta_path))
    if version > VERSION:
        raise MotionInputError(f"written by a newer mogents (version {version}, this one reads {VERSION})",
                               str(meta_path))
    return data


def _modalities(data: dict, meta_path: Path) -> frozenset[str]:
    listed = data.get("modalities")
    if not isinstance(listed, list) or not listed or not all(m in MODALITIES for m in listed):
        raise MotionInputError(f"'modalities' must list some of {', '.join(MODALITIES)}", str(meta_path))
    return frozenset(listed)


def _resolve_files(folder: Path, data: dict, modalities: frozenset[str], meta_path: Path) -> dict[str, Path]:
    names = data.get("files")
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise MotionInputError("'files' must map roles to file names", str(meta_path))
    needed = [r for m in sorted(modalities) for r in ROLES_OF[m]]
    missing = [r for r in needed if r not in names]
    if missing:
        raise MotionInputError(f"'files' lacks {', '.join(missing)}", str(meta_path))
    files: dict[str, Path] = {}
    for role, name in names.items():
        if Path(name).name != name:  # no paths out of the folder
            raise MotionInputError(f"file name {name!r} of {role} must be a plain name", str(meta_path))
        path = folder / name
        if not path.is_file():
            raise MotionInputError(f"missing file {name} ({role}) listed in {META_FILE}", str(path))
        files[role] = path
    return files


def _verify(folder: Path, files: dict[str, Path], data: dict, meta_path: Path) -> None:
    digests = data.get("sha256")
    if not isinstance(digests, dict):
        raise MotionInputError("no 'sha256' table", str(meta_path))
    for path in files.values():
        expected = digests.get(path.name)
        if not isinstance(expected, str):
            raise MotionInputError(f"no sha256 recorded for {path.name}", str(meta_path))
        if sha256_file(path) != expected.lower():
            raise MotionInputError("sha256 mismatch: the file was changed or damaged after export "
                                   "(export the retrieval model again)", str(path))
    for name in digests:  # files listed only in the table (external tensor data) must exist too
        if Path(name).name != name or not (folder / name).is_file():
            raise MotionInputError(f"missing file {name} listed in {META_FILE}", str(folder / name))


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


def load_retrieval_folder(path: str | Path, verify: bool = True) -> tuple[RetrievalInfo, dict[str, Path], dict]:
    """(RetrievalInfo, {role: file path}, the retrieval.json dict), sha256-checked when `verify`."""
    folder = Path(path)
    if not folder.is_dir():
        raise MotionInputError("retrieval model folder not found", str(folder))
    meta_path = folder / META_FILE
    data = _read_json(meta_path)
    modalities = _modalities(data, meta_path)
    files = _resolve_files(folder, data, modalities, meta_path)
    if verify:
        _verify(folder, files, data, meta_path)
    try:
        info = RetrievalInfo(name=str(data["name"]), embed_dim=int(data["embed_dim"]),
                             feature_dim=int(data["feature_dim"]), fps=float(data["fps"]), modalities=modalities,
                             max_frames=int(data.get("max_frames", 196)), min_frames=int(data.get("min_frames", 4)),
                             extra=data)
    except (KeyError, TypeError, ValueError) as err:
        raise MotionInputError(f"missing or bad field {err}", str(meta_path)) from None
    if info.embed_dim < 1 or info.feature_dim < 1 or info.fps <= 0 or not 1 <= info.min_frames <= info.max_frames:
        raise MotionInputError("embed_dim, feature_dim, fps, min_frames/max_frames out of range", str(meta_path))
    return info, files, data
