"""Reading the HumanML3D / KIT-ML folder layout for the loaders, with errors that name the file.

    new_joint_vecs/ID.npy   (T, D) features        texts/ID.txt   caption#word/POS ...#start#end
    train.txt val.txt test.txt all.txt             Mean.npy Std.npy
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.data.layout import read_captions
from backend.errors import MotionInputError

SPLITS = ("train", "val", "test", "all")


@dataclass(frozen=True)
class CaptionItem:
    """One caption of a clip: the sentence and its `word/POS` tokens."""

    text: str
    tokens: tuple[str, ...]


def is_mirrored_id(clip_id: str) -> bool:
    """HumanML3D / KIT-ML name the left/right-mirrored copy of clip X 'MX'."""
    return clip_id.startswith("M")


def check_root(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise MotionInputError("dataset folder not found", str(root))
    if not (root / "new_joint_vecs").is_dir():
        raise MotionInputError("not a HumanML3D-layout dataset: no new_joint_vecs/ folder", str(root))
    return root


def read_split(root: Path, split: str) -> list[str]:
    """IDs listed in `root/split.txt`, in file order, blank lines skipped."""
    path = root / f"{split}.txt"
    # besides the four standard splits, any `NAME.txt` of ids in the folder is a split (e.g. a fixed evaluation
    # subset of test); the name must be a plain word so it cannot reach outside the folder
    custom = re.fullmatch(r"[A-Za-z0-9_-]+", split) is not None and path.is_file()
    if split not in SPLITS and not custom:
        raise MotionInputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)} or the name of a "
                               f"NAME.txt list of ids in the dataset folder", str(root))
    if not path.is_file():
        raise MotionInputError(f"split file for {split!r} not found", str(path))
    ids = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return [i.removesuffix(".npy") for i in ids if i]


def load_clip_array(path: Path, frame_shape: tuple[int, ...], what: str) -> np.ndarray:
    """(T, *frame_shape) float32 per-frame data of one clip (`what`: "features", "joints"), checked for
    shape and finiteness."""
    if not path.is_file():
        raise MotionInputError(f"clip is listed in the split but its {what} file is missing", str(path))
    try:
        arr = np.load(path)
    except (OSError, ValueError) as err:
        raise MotionInputError(f"cannot read {what} file: {err}", str(path)) from None
    if arr.ndim != 1 + len(frame_shape) or arr.shape[1:] != frame_shape:
        shape = ", ".join(["T", *map(str, frame_shape)])
        raise MotionInputError(f"expected {what} of shape ({shape}), got {arr.shape}", str(path))
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        row = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise MotionInputError(f"{what} contain NaN or inf (first at frame {row})", str(path))
    return arr


def load_features(path: Path, dim: int) -> np.ndarray:
    """(T, dim) float32 features, checked for shape and finiteness."""
    return load_clip_array(path, (dim,), "features")


def load_captions(path: Path) -> list[tuple[CaptionItem, float, float]]:
    """(caption, start s, end s) for each line of a texts file; start = end = 0 means the whole clip."""
    if not path.is_file():
        raise MotionInputError("clip has no texts file", str(path))
    try:
        caps = read_captions(path)
    except MotionInputError as err:
        raise MotionInputError(str(err), str(path)) from None
    out = []
    for c in caps:
        tokens = tuple((c.tokens or "").split())
        out.append((CaptionItem(c.text, tokens), c.start, c.end))
    return out
