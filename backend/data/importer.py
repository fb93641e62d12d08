"""`mogents data import`: BVH files and (T, 22, 3) joint arrays -> a HumanML3D-layout dataset.

Every input is read, converted to SMPL-22 joints (Y up, metres, 20 fps) and checked before anything is
written; the dataset is then written through `DatasetWriter`, which stages it and moves it into place
at the end. Any bad input raises MotionInputError naming the file, so --out stays untouched.

Captions: `STEM.txt` beside the motion file (one caption a line, plain text or already in the
`caption#tokens#start#end` form), else words from the file name ("walk_forward_02" -> "walk forward").
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..motion.bvh import read_bvh
from ..motion.features import check_joints
from ..motion.humanoid import bvh_to_smpl22, to_y_up_metres
from ..motion.resample import resample_joints
from ..motion.skeleton import SMPL22
from .layout import Caption, DatasetWriter, parse_caption_line, split_ids

TARGET_FPS = SMPL22.fps
BVH_EXT = {".bvh"}
JOINT_EXT = {".npy"}
FALLBACK_CAPTION = "a person moves"
MIN_FRAMES, MAX_FRAMES = 40, 200  # HumanML3D's training window, for warnings only
SUMMARY_LINES = 20


@dataclass
class ImportedClip:
    clip_id: str
    path: Path
    joints: np.ndarray               # (T, 22, 3) at 20 fps, Y up, metres
    captions: list[Caption]
    source_fps: float
    notes: list[str] = field(default_factory=list)


def _progress(items: list, desc: str) -> Iterable:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a declared dependency, but keep the importer usable without it
        return items
    return tqdm(items, desc=desc, unit="file", leave=False, disable=len(items) < 2)


def collect_inputs(paths: Iterable[str], fmt: str = "auto") -> list[Path]:
    """Files to import, folders expanded recursively (sorted), filtered by --format."""
    wanted = {"auto": BVH_EXT | JOINT_EXT, "bvh": BVH_EXT, "joints": JOINT_EXT}[fmt]
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in wanted)
            if not found:
                kinds = " or ".join(sorted(wanted))
                raise MotionInputError(f"folder contains no {kinds} files", str(p))
            files.extend(found)
        elif p.is_file():
            if p.suffix.lower() not in wanted:
                raise MotionInputError(f"unsupported file type '{p.suffix}' for --format {fmt} "
                                       f"(expected {' or '.join(sorted(wanted))})", str(p))
            files.append(p)
        else:
            raise MotionInputError("no such file or folder", str(p))
    seen: dict[str, Path] = {}
    resolved: set[Path] = set()
    unique: list[Path] = []
    for f in files:
        if f.resolve() in resolved:  # the same file named twice (e.g. a file and its folder)
            continue
        resolved.add(f.resolve())
        if f.stem in seen:
            raise MotionInputError(f"two inputs share the clip id '{f.stem}': {seen[f.stem]} and {f} "
                                   f"(clip ids are file stems; rename one)", str(f))
        seen[f.stem] = f
        unique.append(f)
    return unique


def caption_from_stem(stem: str) -> str:
    """'walk_forward_02' -> 'walk forward', 'JumpHigh' -> 'jump high'; digits-only names fall back."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", stem)
    return " ".join(w.lower() for w in words) or FALLBACK_CAPTION


def read_sidecar(path: Path) -> list[Caption] | None:
    side = path.with_suffix(".txt")
    if not side.is_file():
        return None
    try:
        lines = [ln.strip() for ln in side.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise MotionInputError(f"cannot read the caption file: {err}", str(side)) from None
    if not lines:
        raise MotionInputError("caption file is empty (write one caption a line, or delete it)", str(side))
    captions = []
    for n, line in enumerate(lines, 1):
        if line.count("#") >= 3:
            try:
                captions.append(parse_caption_line(line))
            except MotionInputError as err:
                raise MotionInputError(f"line {n}: {err}", str(side)) from None
        else:
            captions.append(Caption(line))
    return captions


def load_bvh_clip(path: Path, preset: str) -> tuple[np.ndarray, float, list[str]]:
    motion = bvh_to_smpl22(read_bvh(path), preset, str(path))
    notes = [f"preset {motion.mapping.preset}", f"{motion.up_axis[1].upper()}-up", motion.units]
    if motion.derived:
        notes.append("derived " + ",".join(motion.derived))
    return motion.joints, motion.fps, notes


def load_joint_clip(path: Path, fps: float | None, up: str) -> tuple[np.ndarray, float, list[str]]:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise MotionInputError(f"cannot read the array: {err}", str(path)) from None
    check_joints(arr, SMPL22, str(path))
    mask = np.ones(22, dtype=bool)
    joints, _, _, units = to_y_up_metres(arr.astype(np.float64), mask, "+" + up)
    return joints, fps or TARGET_FPS, [f"{up.upper()}-up", units]


def load_clip(path: Path, args: argparse.Namespace) -> ImportedClip:
    if path.suffix.lower() in BVH_EXT:
        joints, fps, notes = load_bvh_clip(path, getattr(args, "preset", "auto") or "auto")
    else:
        joints, fps, notes = load_joint_clip(path, getattr(args, "fps", None), getattr(args, "up", "y"))
    joints = resample_joints(joints, fps, TARGET_FPS)
    check_joints(joints, SMPL22, str(path), min_frames=2)
    if len(joints) < MIN_FRAMES or len(joints) >= MAX_FRAMES:
        notes.append(f"{len(joints)} frames at 20 fps (training uses {MIN_FRAMES}..{MAX_FRAMES - 1})")
    captions = read_sidecar(path) or [Caption(caption_from_stem(path.stem))]
    return ImportedClip(path.stem, path, joints, captions, fps, notes)


def iter_clips(files: list[Path], args: argparse.Namespace) -> Iterator[ImportedClip]:
    for path in _progress(files, "reading"):
        yield load_clip(path, args)


def run_import(args: argparse.Namespace) -> int:
    out = Path(args.out)
    overwrite = bool(getattr(args, "overwrite", False))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not overwrite)):
        raise MotionInputError("output folder exists and is not empty (use --overwrite to replace it)", str(out))
    fps = getattr(args, "fps", None)
    if fps is not None and fps <= 0:
        raise MotionInputError(f"--fps must be positive, got {fps}")
    files = collect_inputs(args.paths, getattr(args, "format", "auto") or "auto")
    if fps is None and any(f.suffix.lower() in JOINT_EXT for f in files):
        print("note: no --fps given; .npy joints are taken to be at 20 fps")

    clips = list(iter_clips(files, args))      # everything is validated before anything is written
    with DatasetWriter(out, overwrite=overwrite) as writer:
        for clip in _progress(clips, "writing"):
            writer.add_joints(clip.clip_id, clip.joints, clip.captions, source=str(clip.path))
        writer.finish(split_ids([c.clip_id for c in clips], seed=0))

    total = sum(len(c.joints) for c in clips)
    print(f"imported {len(clips)} clip(s), {total} frames ({total / TARGET_FPS:.1f} s at 20 fps) -> {out}")
    shown = clips if len(clips) <= SUMMARY_LINES else clips[:SUMMARY_LINES]
    for c in shown:
        caption = c.captions[0].text + (f" (+{len(c.captions) - 1})" if len(c.captions) > 1 else "")
        print(f"  {c.clip_id}: {len(c.joints)} frames from {c.source_fps:g} fps; {'; '.join(c.notes)}; "
              f"\"{caption}\"")
    if len(clips) > len(shown):
        print(f"  ... and {len(clips) - len(shown)} more")
    return 0
