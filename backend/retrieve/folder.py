"""Reading a retrieval model folder: `retrieval.json`, the files it names, and their sha256 digests.

Numpy and the standard library only. Like generator folders (`backend.runtime.model_folder`), a folder is
self-contained and every problem a user can cause (missing, edited or foreign files) becomes a
`MotionInputError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MotionInputError
from ..runtime.model_folder import FolderKind, read_meta, resolve_files, verify_files
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
    "video_encoder": "video_encoder.onnx",
    "patch_stats": "patch_stats.npz",
}
# the roles each modality needs ("motion" of a patch model also needs "patch_stats")
ROLES_OF = {"text": ("text_encoder", "tokenizer"), "motion": ("motion_encoder", "mean", "std"),
            "video": ("video_encoder",)}
MOTION_INPUTS = ("features", "patches")
RETRIEVAL_FOLDER = FolderKind(META_FILE, FORMAT, VERSION, "retrieval model", "mogents export retrieval")


def _modalities(data: dict, meta_path: Path) -> frozenset[str]:
    listed = data.get("modalities")
    if not isinstance(listed, list) or not listed or not all(m in MODALITIES for m in listed):
        raise MotionInputError(f"'modalities' must list some of {', '.join(MODALITIES)}", str(meta_path))
    return frozenset(listed)


def load_retrieval_folder(path: str | Path, verify: bool = True) -> tuple[RetrievalInfo, dict[str, Path], dict]:
    """(RetrievalInfo, {role: file path}, the retrieval.json dict), sha256-checked when `verify`."""
    folder = Path(path)
    if not folder.is_dir():
        raise MotionInputError("retrieval model folder not found", str(folder))
    meta_path = folder / META_FILE
    data = read_meta(meta_path, RETRIEVAL_FOLDER)
    modalities = _modalities(data, meta_path)
    motion_input = data.get("motion_input", "features")  # folders of the evaluator kind do not name it
    if motion_input not in MOTION_INPUTS:
        raise MotionInputError(f"'motion_input' must be one of {', '.join(MOTION_INPUTS)}, not {motion_input!r}",
                               str(meta_path))
    needed = [r for m in sorted(modalities) for r in ROLES_OF[m]]
    if motion_input == "patches" and "motion" in modalities:
        needed.append("patch_stats")
    files = resolve_files(folder, data, meta_path, RETRIEVAL_FOLDER, needed)
    if verify:
        verify_files(folder, files, data, meta_path, RETRIEVAL_FOLDER)
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
