"""Finding motions to put in a library and reading each one as HumanML3D features at 20 fps.

Sources:
- `.bvh` mocap of any humanoid rig (`backend.motion.humanoid.bvh_to_smpl22`, resampled to 20 fps);
- `.npy` SMPL-22 joints (T, 22, 3), Y up, at 20 fps, or features (T, 263);
- `.npz` written by `mogents generate` (its features, fps and prompt);
- a HumanML3D-layout folder (`new_joint_vecs/ID.npy` + `texts/ID.txt`), all clips or one split.
Captions come from the HumanML3D texts, a sidecar `STEM.txt` next to the file, an .npz's prompt, or the
file name ("walk_forward_02" -> "walk forward"). Every reader raises MotionInputError naming the file.

Only regular files are read (after following links): a FIFO named `x.bvh` would block its reader forever
and `x.npy -> /dev/zero` never ends, so both are refused by `check_source_file` before anything opens
them, as is any file over MAX_SOURCE_BYTES. `source_digest` opens without blocking and checks again.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.importer import caption_from_stem, load_bvh_clip, load_joint_clip, read_sidecar
from ..data.layout import read_captions
from ..errors import MotionInputError
from ..motion.features import check_features, features_to_joints, joints_to_features
from ..motion.resample import resample_joints
from ..motion.skeleton import SMPL22
from .motion_values import check_motion_values

FPS = SMPL22.fps
MOTION_SUFFIXES = (".bvh", ".npy", ".npz")
LAYOUT_SPLITS = ("train", "val", "test", "all")
SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_SOURCE_BYTES = 512 << 20     # a 30-minute 120 fps BVH take of a 60-bone rig is about 300 MB
MAX_SIDECAR_BYTES = 1 << 20      # captions
_CHUNK = 1 << 20
_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


@dataclass(frozen=True)
class MotionSource:
    """One motion to read: a file, or a clip of a HumanML3D-layout folder (`path` = its features file)."""

    path: Path
    kind: str                  # "bvh", "npy", "npz" or "humanml3d"
    name: str


@dataclass
class ImportedMotion:
    features: np.ndarray       # (T, 263) float32 at 20 fps
    captions: list[str]


def is_humanml_layout(folder: Path) -> bool:
    return (folder / "new_joint_vecs").is_dir() and (folder / "texts").is_dir()


def is_library(folder: Path) -> bool:
    """A motion library's own folder: its stored features are not new motions."""
    return (folder / "index.json").is_file() and (folder / "motions").is_dir()


def _layout_sources(root: Path, split: str | None) -> list[MotionSource]:
    if split is not None:
        # any split file of the folder (train/val/test/all or a custom one such as test_eval); the name is a
        # plain word so it cannot reach outside the folder
        if not SPLIT_NAME.fullmatch(split):
            raise MotionInputError(f"a split is a name like {', '.join(LAYOUT_SPLITS)}, got {split!r}", str(root))
        listing = root / f"{split}.txt"
        if not listing.is_file():
            have = sorted(f.stem for f in root.glob("*.txt") if SPLIT_NAME.fullmatch(f.stem))
            raise MotionInputError(f"split file for {split!r} not found; this folder has: {', '.join(have) or 'none'}",
                                   str(listing))
        ids = [ln.strip().removesuffix(".npy") for ln in listing.read_text(encoding="utf-8").splitlines()]
        ids = [i for i in ids if i]
    else:
        ids = sorted(p.stem for p in (root / "new_joint_vecs").glob("*.npy"))
    return [MotionSource(root / "new_joint_vecs" / f"{i}.npy", "humanml3d", i) for i in ids]


def find_motions(path: str | Path, split: str | None = None) -> list[MotionSource]:
    """Every motion under `path` (a file or a folder, searched recursively in name order; a HumanML3D-layout
    folder counts as its clips, of `split` when given). Raises when there is nothing to read."""
    path = Path(path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix not in MOTION_SUFFIXES:
            raise MotionInputError(f"unsupported file type {suffix or '(none)'!r} "
                                   f"(expected {', '.join(MOTION_SUFFIXES)} or a folder)", str(path))
        return [MotionSource(path, suffix[1:], path.stem)]
    if not path.is_dir():
        raise MotionInputError("no such file or folder", str(path))
    if split is not None and not is_humanml_layout(path):
        raise MotionInputError("a split can only be chosen for a HumanML3D-layout folder "
                               "(new_joint_vecs/ and texts/)", str(path))
    found: list[MotionSource] = []
    for folder, dirs, files in os.walk(path):
        here = Path(folder)
        if is_humanml_layout(here):
            found.extend(_layout_sources(here, split))
            dirs[:] = []  # its new_joints/*.npy are the same clips again
            continue
        if is_library(here):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            suffix = Path(name).suffix.lower()
            if suffix in MOTION_SUFFIXES and not name.startswith("."):
                found.append(MotionSource(here / name, suffix[1:], Path(name).stem))
    if not found:
        raise MotionInputError(f"no {', '.join(MOTION_SUFFIXES)} files or HumanML3D-layout folders found", str(path))
    return found


def _not_regular(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a plain file")


def _checked_stat(st: os.stat_result, path: Path, max_bytes: int) -> int:
    if not stat.S_ISREG(st.st_mode):
        raise MotionInputError(f"not a regular file ({_not_regular(st.st_mode)}); only regular files are read",
                               str(path))
    if st.st_size > max_bytes:
        raise MotionInputError(f"the file is larger than {max_bytes >> 20} MB ({st.st_size >> 20} MB); "
                               "not read", str(path))
    return int(st.st_size)


def check_source_file(path: Path, max_bytes: int = MAX_SOURCE_BYTES) -> int:
    """The size of `path` when it is a regular file (links followed) of at most `max_bytes`; else raises,
    without opening it."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise MotionInputError(f"cannot read the file: {err.strerror or err}", str(path)) from None
    return _checked_stat(st, path, max_bytes)


def source_digest(path: Path, cancel: Callable[[], bool] | None = None) -> str | None:
    """Hex sha256 of a source file, read only if it is a regular file under the cap; None when `cancel()`
    turned True while reading (checked every MB)."""
    check_source_file(path)
    try:  # O_NONBLOCK: should a FIFO have replaced the file since the check, opening it does not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise MotionInputError(f"cannot read the file: {err.strerror or err}", str(path)) from None
    with os.fdopen(fd, "rb") as fh:
        _checked_stat(os.fstat(fd), path, MAX_SOURCE_BYTES)
        digest = hashlib.sha256()
        while block := fh.read(_CHUNK):
            digest.update(block)
            if cancel is not None and cancel():
                return None
    return digest.hexdigest()


def _features_from_joints(joints: np.ndarray, fps: float, name: str) -> np.ndarray:
    joints = resample_joints(joints, fps, FPS)
    if len(joints) < 3:
        raise MotionInputError(f"only {len(joints)} frames at {FPS:g} fps; too short to search", name)
    features, _ = joints_to_features(joints, SMPL22)
    return features.astype(np.float32)


def _checked_features(arr: np.ndarray, name: str) -> np.ndarray:
    if check_features(arr, name) is not SMPL22:
        raise MotionInputError(f"{arr.shape[-1]}-d features (KIT-ML?); the library holds SMPL-22 263-d features",
                               name)
    if arr.ndim != 2:
        raise MotionInputError(f"expected features of shape (T, 263), got {arr.shape}", name)
    return check_motion_values(arr, "the feature array", None, name).astype(np.float32)


def _file_captions(path: Path, fallback: str | None = None) -> list[str]:
    side = path.with_suffix(".txt")
    if os.path.lexists(side) and not side.is_dir():
        check_source_file(side, MAX_SIDECAR_BYTES)  # a FIFO or device caption file is refused, not read
    sidecar = read_sidecar(path)
    if sidecar:
        return [c.text for c in sidecar]
    return [fallback] if fallback else [caption_from_stem(path.stem)]


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise MotionInputError(f"cannot read the array: {err}", str(path)) from None


def _read_npz(path: Path) -> tuple[np.ndarray | None, float, str]:
    """(features or None when absent, fps, prompt) of a `mogents generate` archive."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            features = np.asarray(archive["features"]) if "features" in archive.files else None
            fps = float(archive["fps"]) if "fps" in archive.files else FPS
            prompt = str(archive["prompt"]) if "prompt" in archive.files else ""
    except (OSError, ValueError, EOFError) as err:
        raise MotionInputError(f"cannot read the archive: {err}", str(path)) from None
    except Exception as err:  # zipfile raises BadZipFile and friends for damaged archives
        raise MotionInputError(f"cannot read the archive ({type(err).__name__}: {err})", str(path)) from None
    return features, fps, prompt


def _layout_captions(features_path: Path) -> list[str]:
    texts = features_path.parent.parent / "texts" / f"{features_path.stem}.txt"
    if not texts.is_file():
        return []
    try:
        return [c.text for c in read_captions(texts) if c.text.strip()]
    except (OSError, UnicodeDecodeError, MotionInputError) as err:
        raise MotionInputError(f"unreadable captions: {err}", str(texts)) from None


def load_motion(source: MotionSource) -> ImportedMotion:
    """Features (T, 263) at 20 fps and captions of one source (a regular file of at most MAX_SOURCE_BYTES)."""
    path, name = source.path, str(source.path)
    check_source_file(path)
    if source.kind == "bvh":
        joints, fps, _ = load_bvh_clip(path, "auto")
        check_motion_values(joints, "the joint positions", None, name)
        return ImportedMotion(_features_from_joints(joints, fps, name), _file_captions(path))
    if source.kind == "npy":
        arr = _read_npy(path)
        if arr.ndim == 3:
            check_motion_values(arr, "the joint array", None, name)
            joints, fps, _ = load_joint_clip(path, None, "y")
            return ImportedMotion(_features_from_joints(joints, fps, name), _file_captions(path))
        return ImportedMotion(_checked_features(arr, name), _file_captions(path))
    if source.kind == "npz":
        features, fps, prompt = _read_npz(path)
        if features is None:
            raise MotionInputError("the .npz has no 'features' array (write it with `mogents generate`)", name)
        features = _checked_features(features, name)
        if not np.isfinite(fps) or fps <= 0:
            raise MotionInputError(f"bad frame rate {fps}", name)
        if abs(fps - FPS) > 1e-6:  # features are per-frame differences: resample through joints
            features = _features_from_joints(features_to_joints(features.astype(np.float64)), fps, name)
        return ImportedMotion(features, _file_captions(path, prompt.strip() or None))
    if source.kind == "humanml3d":
        features = _checked_features(_read_npy(path), name)
        return ImportedMotion(features, _layout_captions(path) or [caption_from_stem(path.stem)])
    raise MotionInputError(f"unknown motion source kind {source.kind!r}", name)
