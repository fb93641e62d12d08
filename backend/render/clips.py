"""Which clips a dataset holds, which of them this shard renders, and which are already done.

A dataset is a HumanML3D-layout folder (`new_joints/*.npy` (T, 22, 3) joint positions, else
`new_joint_vecs/*.npy` features), or a plain folder of `.npy` joints and `.npz` files from
`mogents generate`. Clips are named by file stem and always handled in sorted-name order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..avatar.outputs import partial_path
from ..errors import MotionInputError


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    kind: str  # "joints" (.npy, T x 22 x 3), "features" (.npy, T x 263) or "motion" (.npz)


def _npy_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.npy") if p.is_file())


def find_clips(dataset: str | Path) -> tuple[list[Clip], str]:
    """All clips of `dataset`, sorted by name, and a short description of the layout found."""
    root = Path(dataset)
    if not root.is_dir():
        raise MotionInputError("dataset folder not found", str(root))
    joints_dir, features_dir = root / "new_joints", root / "new_joint_vecs"
    if joints_dir.is_dir() and _npy_files(joints_dir):
        clips, layout = [Clip(p.stem, p, "joints") for p in _npy_files(joints_dir)], "HumanML3D new_joints"
    elif features_dir.is_dir() and _npy_files(features_dir):
        clips = [Clip(p.stem, p, "features") for p in _npy_files(features_dir)]
        layout = "HumanML3D new_joint_vecs (features -> joints)"
    else:
        clips = [Clip(p.stem, p, "joints") for p in _npy_files(root)]
        clips += [Clip(p.stem, p, "motion") for p in sorted(root.glob("*.npz")) if p.is_file()]
        layout = "folder of .npy / .npz motions"
    if not clips:
        raise MotionInputError("no motions found: expected new_joints/*.npy, new_joint_vecs/*.npy, "
                               "or .npy / .npz files in the folder", str(root))
    clips.sort(key=lambda c: c.name)
    names = [c.name for c in clips]
    clashes = sorted({n for n, m in zip(names[:-1], names[1:], strict=True) if n == m})
    if clashes:
        raise MotionInputError(f"two files give the same clip name: {', '.join(clashes[:5])} "
                               "(keep either the .npy or the .npz)", str(root))
    return clips, layout


def parse_shard(spec: str | None) -> tuple[int, int]:
    """`"i/n"` with 0 <= i < n (zero-based) -> (i, n); None -> the whole dataset (0, 1)."""
    if spec is None:
        return 0, 1
    index, sep, count = spec.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise MotionInputError(f"bad shard {spec!r}: use i/n, e.g. 0/4 for the first of 4 shards") from None
    if not sep or n < 1 or not 0 <= i < n:
        raise MotionInputError(f"bad shard {spec!r}: need 0 <= i < n (shards are numbered from 0)")
    return i, n


def shard_clips(clips: list[Clip], index: int, count: int) -> list[Clip]:
    """Round-robin over the sorted names: every clip in exactly one shard, shard sizes within one."""
    ordered = sorted(clips, key=lambda c: c.name)
    return ordered[index::count]


LAYOUTS = ("mp4", "frames", "npy")  # one MP4, a folder of PNG frames, or sampled frames in one .npy


def output_path(out_dir: Path, name: str, layout: str) -> Path:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown output layout {layout!r}")
    return out_dir / name if layout == "frames" else out_dir / f"{name}.{layout}"


def partial_output(output: Path) -> Path:
    """Where the worker writes before renaming (the worker's own rule, `backend/avatar/outputs.py`)."""
    return partial_path(output)


def is_finished(output: Path, layout: str) -> bool:
    """Renders appear under their final name only when complete (the worker renames its partial output)."""
    return output.is_dir() if layout == "frames" else output.is_file()


def npy_header(path: Path) -> tuple[tuple[int, ...], str] | None:
    """(shape, dtype) of a finished .npy without reading its data; None when it is not a readable .npy."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return tuple(array.shape), str(array.dtype)
