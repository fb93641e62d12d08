"""`mogents data preview DIR ID --out X.gif`: stick-figure GIF and PNG frame strip of one dataset clip.

Joints come from `new_joints/ID.npy`, or are recovered from `new_joint_vecs/ID.npy` when that is
missing; the title is the clip's first caption.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..motion.features import check_features, check_joints, features_to_joints
from ..motion.skeleton import KIT21, SMPL22, Skeleton
from .layout import read_captions
from .stick_render import chain_sides, render_frame_strip, render_stick_gif

__all__ = ["chain_sides", "load_clip_joints", "render_frame_strip", "render_stick_gif", "run_preview"]

_BY_JOINTS = {SMPL22.num_joints: SMPL22, KIT21.num_joints: KIT21}


def _unknown_id(root: Path, clip_id: str) -> MotionInputError:
    known = sorted(p.stem for p in (root / "new_joint_vecs").glob("*.npy")) + \
        sorted(p.stem for p in (root / "new_joints").glob("*.npy"))
    close = difflib.get_close_matches(clip_id, sorted(set(known)), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return MotionInputError(f"unknown clip id {clip_id!r} (no new_joints/ or new_joint_vecs/ file){hint}",
                            str(root))


def load_clip_joints(root: str | Path, clip_id: str) -> tuple[np.ndarray, Skeleton]:
    """(T, J, 3) joints of a clip and its skeleton (SMPL-22 or KIT-21, from the joint/feature count)."""
    root = Path(root)
    if not root.is_dir():
        raise MotionInputError("dataset folder not found", str(root))
    joints_path = root / "new_joints" / f"{clip_id}.npy"
    feats_path = root / "new_joint_vecs" / f"{clip_id}.npy"
    if joints_path.is_file():
        joints = np.load(joints_path).astype(np.float64)
        skeleton = _BY_JOINTS.get(joints.shape[1] if joints.ndim == 3 else -1)
        if skeleton is None:
            raise MotionInputError(f"expected joints of shape (T, 22, 3) or (T, 21, 3), got {joints.shape}",
                                   str(joints_path))
        check_joints(joints, skeleton, str(joints_path), min_frames=1)
        return joints, skeleton
    if feats_path.is_file():
        feats = np.load(feats_path)
        skeleton = check_features(feats, str(feats_path))
        if feats.ndim != 2 or len(feats) == 0:
            raise MotionInputError(f"expected features of shape (T, D), got {feats.shape}", str(feats_path))
        return features_to_joints(feats.astype(np.float64), skeleton), skeleton
    raise _unknown_id(root, clip_id)


def first_caption(root: Path, clip_id: str) -> str | None:
    path = root / "texts" / f"{clip_id}.txt"
    if not path.is_file():
        return None
    caps = read_captions(path)
    return caps[0].text if caps else None


def run_preview(args: argparse.Namespace) -> int:
    root = Path(args.dataset)
    clip_id = str(args.id).removesuffix(".npy")
    joints, skeleton = load_clip_joints(root, clip_id)
    title = first_caption(root, clip_id)
    label = f"{clip_id}: {title}" if title else clip_id
    out = Path(args.out)
    if out.suffix.lower() != ".gif":
        out = out.with_suffix(".gif")
    gif = render_stick_gif(joints, skeleton, out, title=label, fps=skeleton.fps)
    png = render_frame_strip(joints, skeleton, out.with_suffix(".png"), title=label, fps=skeleton.fps)
    print(f"wrote {gif} ({len(joints)} frames at {skeleton.fps:g} fps) and {png}")
    return 0
