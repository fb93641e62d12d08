"""SMPL-22 joint positions -> KIT-21 (MMM) joint positions, for cross-skeleton retrieval tests.

Each KIT joint is placed on the SMPL skeleton of the same frame; units stay metres, Y up.
- Copied: root <- pelvis, lower_neck <- neck, upper_neck <- head, shoulders, elbows, wrists, hips,
  knees, ankles, and the KIT toe (the front end of the foot) <- the SMPL foot joint (toe base).
- Interpolated: the KIT pelvis and torso joints lie on the SMPL spine polyline pelvis-spine1-spine2-
  spine3-neck at the arc-length fractions the KIT rest skeleton gives them between root and lower
  neck; the KIT foot joint (mid-foot) lies on the SMPL ankle->foot bone at the fraction of the KIT
  rest foot along its ankle->toe span. The SMPL collars have no KIT counterpart and are dropped.
So every KIT joint sits on or at an SMPL joint or bone, the root path is SMPL's, and a KIT leg is
exactly as long as the SMPL leg it came from.

Sides: KIT-21 joints carry the MMM names of skeleton.py (index 11 = left hip, 5 = left shoulder), and
an SMPL left joint becomes the KIT joint of the same name. The public KIT-ML processing hands the MMM
left hip/shoulder to the slots meant for the right ones, which leaves its canonical clips facing -Z;
the labels of the joints themselves are not swapped. `convert_dataset_to_kit(facing="kit")` turns
the clips 180 degrees about Y to match that, the default keeps SMPL's +Z facing so a model trained on
the SMPL corpus sees the same frame and only the skeleton changes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from .features import check_joints, joints_to_features
from .resample import resample_joints
from .skeleton import KIT21, SMPL22, Skeleton

_COPIED = {  # KIT joint <- SMPL joint
    "root": "pelvis", "lower_neck": "neck", "upper_neck": "head",
    **{f"{s}_{kit}": f"{s}_{smpl}" for s in ("l", "r") for kit, smpl in (
        ("shoulder", "shoulder"), ("elbow", "elbow"), ("wrist", "wrist"), ("hip", "hip"), ("knee", "knee"),
        ("ankle", "ankle"), ("toe", "foot"))},
}
_SMPL_SPINE = ("pelvis", "spine1", "spine2", "spine3", "neck")
FACINGS = ("smpl", "kit")


def _kit_spine_fractions() -> dict[str, float]:
    """Arc-length position of the KIT pelvis and torso joints between root and lower neck (rest pose)."""
    names = ("pelvis", "torso", "lower_neck")
    steps = [float(np.linalg.norm(KIT21.rest_offsets[KIT21.index(n)])) for n in names]
    cum = np.cumsum(steps)
    return {n: float(c / cum[-1]) for n, c in zip(names[:2], cum[:2], strict=True)}


def _kit_foot_fraction() -> float:
    """Where the KIT mid-foot joint sits along its ankle->toe span in the KIT rest pose (projection)."""
    foot = KIT21.rest_offsets[KIT21.index("l_foot")]
    toe = foot + KIT21.rest_offsets[KIT21.index("l_toe")]
    return float(np.dot(foot, toe) / np.dot(toe, toe))


SPINE_FRACTIONS = _kit_spine_fractions()
FOOT_FRACTION = _kit_foot_fraction()


def point_along_polyline(points: np.ndarray, fraction: float) -> np.ndarray:
    """(T, n, 3) polylines -> (T, 3): the point at `fraction` of each frame's total arc length."""
    seg = np.linalg.norm(np.diff(points, axis=1), axis=-1)               # (T, n-1)
    cum = np.concatenate([np.zeros((len(points), 1)), np.cumsum(seg, axis=1)], axis=1)
    target = fraction * cum[:, -1:]                                        # (T, 1)
    k = np.clip((cum[:, 1:] < target).sum(axis=1), 0, seg.shape[1] - 1)   # segment holding the target
    rows = np.arange(len(points))
    w = (target[:, 0] - cum[rows, k]) / np.maximum(seg[rows, k], 1e-12)
    w = np.clip(w, 0.0, 1.0)[:, None]
    return (1.0 - w) * points[rows, k] + w * points[rows, k + 1]


def smpl22_to_kit21(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 3) SMPL-22 positions (metres, Y up) -> (T, 21, 3) KIT-21 positions on the same body."""
    check_joints(joints, SMPL22, min_frames=1)
    src = np.asarray(joints, dtype=np.float64)
    out = np.zeros((len(src), KIT21.num_joints, 3))
    for kit, smpl in _COPIED.items():
        out[:, KIT21.index(kit)] = src[:, SMPL22.index(smpl)]
    spine = src[:, [SMPL22.index(n) for n in _SMPL_SPINE]]
    for kit, frac in SPINE_FRACTIONS.items():
        out[:, KIT21.index(kit)] = point_along_polyline(spine, frac)
    for s in ("l", "r"):
        ankle, foot = src[:, SMPL22.index(f"{s}_ankle")], src[:, SMPL22.index(f"{s}_foot")]
        out[:, KIT21.index(f"{s}_foot")] = ankle + FOOT_FRACTION * (foot - ankle)
    return out


def turn_to_kit_facing(joints: np.ndarray) -> np.ndarray:
    """Half a turn about the vertical axis through the origin: +Z-facing clips face -Z like KIT-ML's."""
    return np.asarray(joints) * np.array([-1.0, 1.0, -1.0])


def feature_skeleton(facing: str = "smpl") -> Skeleton:
    """The KIT-21 skeleton to compute 251-d features with. KIT21 itself reproduces KIT-ML's convention
    (hip/shoulder slots swapped, so clips canonicalise to face -Z); for +Z-facing clips the slots are
    put right, so canonicalisation leaves the clip where it is and features match `new_joints`."""
    if facing not in FACINGS:
        raise MotionInputError(f"unknown facing {facing!r}; choose one of {', '.join(FACINGS)}")
    if facing == "kit":
        return KIT21
    i = KIT21.index
    return replace(KIT21, face_joints=(i("r_hip"), i("l_hip"), i("r_shoulder"), i("l_shoulder")))


@dataclass
class ConversionReport:
    out_dir: Path
    converted: int = 0
    skipped: list[str] = field(default_factory=list)  # IDs listed in a split but without a joints file
    without_text: list[str] = field(default_factory=list)  # converted, but the source has no texts/ID.txt
    with_features: bool = False


def _read_ids(path: Path) -> list[str]:
    return [ln.strip().removesuffix(".npy") for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _progress(items: list, desc: str) -> Iterable:
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, unit="clip", leave=False, disable=len(items) < 50)


def convert_dataset_to_kit(src_root: str | Path, dst_root: str | Path,
                           splits: Iterable[str] = ("train", "val", "test", "all"), *, features: bool = True,
                           facing: str = "smpl", fps: float | None = None, overwrite: bool = False
                           ) -> ConversionReport:
    """Write a HumanML3D-layout copy of an SMPL-22 dataset with KIT-21 joints.

    Reads `src_root/new_joints/ID.npy` for every ID of the given split files, writes
    `dst_root/new_joints/ID.npy` (T, 21, 3) float32 in metres, copies `texts/` and the split files,
    and with `features` also `new_joint_vecs/ID.npy` (T-1, 251) plus Mean/Std (Std averaged within
    feature groups, as HumanML3D). `fps` resamples (KIT-ML itself runs at 12.5); the default keeps the
    source rate. Everything is staged beside `dst_root` and moved into place at the end, so a failure
    leaves nothing behind; IDs listed without a joints file are skipped and reported.
    """
    src, dst = Path(src_root), Path(dst_root)
    if not (src / "new_joints").is_dir():
        raise MotionInputError("not a HumanML3D-layout dataset: no new_joints/ folder", str(src))
    if dst.resolve() == src.resolve():
        raise MotionInputError("the output folder must differ from the source folder", str(dst))
    if dst.exists() and any(dst.iterdir()) and not overwrite:
        raise MotionInputError("output folder exists and is not empty (pass overwrite to replace it)", str(dst))
    skeleton = feature_skeleton(facing)
    if fps is not None and not fps > 0:
        raise MotionInputError(f"fps must be positive, got {fps}")
    splits = list(splits)
    split_ids: dict[str, list[str]] = {}
    for name in splits:
        path = src / f"{name}.txt"
        if not path.is_file():
            raise MotionInputError(f"split file {name}.txt not found", str(path))
        split_ids[name] = _read_ids(path)
    ids = list(dict.fromkeys(i for name in splits for i in split_ids[name]))
    if not ids:
        raise MotionInputError(f"the split files {', '.join(splits)} list no clips", str(src))

    dst.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    report = ConversionReport(out_dir=dst, with_features=features)
    try:
        _convert_clips(src, stage, ids, skeleton, facing, fps, features, report)
        if not report.converted:
            raise MotionInputError("none of the listed clips has a new_joints file", str(src))
        done = set(ids) - set(report.skipped)
        for name, listed in split_ids.items():
            rows = [i for i in listed if i in done]
            (stage / f"{name}.txt").write_text("".join(f"{i}\n" for i in rows), encoding="utf-8")
        if dst.exists():
            shutil.rmtree(dst)
        stage.rename(dst)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return report


def _convert_clips(src: Path, stage: Path, ids: list[str], skeleton: Skeleton, facing: str, fps: float | None,
                   features: bool, report: ConversionReport) -> None:
    from ..data.layout import group_averaged_std  # data builds on motion, not the other way round
    from ..data.realism import MomentAccumulator

    for sub in ("new_joints", "texts") + (("new_joint_vecs",) if features else ()):
        (stage / sub).mkdir()
    moments = MomentAccumulator(skeleton.feature_dim)
    for clip_id in _progress(ids, "to KIT-21"):
        path = src / "new_joints" / f"{clip_id}.npy"
        if not path.is_file():
            report.skipped.append(clip_id)
            continue
        try:
            joints = np.load(path)
        except (OSError, ValueError) as err:
            raise MotionInputError(f"cannot read joints file: {err}", str(path)) from None
        check_joints(joints, SMPL22, str(path), min_frames=2 if features else 1)
        kit = smpl22_to_kit21(joints)
        if fps is not None:
            kit = resample_joints(kit, SMPL22.fps, fps)
        if facing == "kit":
            kit = turn_to_kit_facing(kit)
        if features:
            if len(kit) < 2:
                raise MotionInputError("too few frames after resampling to compute features", str(path))
            feats, kit = joints_to_features(kit, skeleton, rescale=False)  # kit: the canonical joints
            np.save(stage / "new_joint_vecs" / f"{clip_id}.npy", feats.astype(np.float32))
            moments.add(feats)
        np.save(stage / "new_joints" / f"{clip_id}.npy", kit.astype(np.float32))
        text = src / "texts" / f"{clip_id}.txt"
        if text.is_file():
            shutil.copyfile(text, stage / "texts" / f"{clip_id}.txt")
        else:
            report.without_text.append(clip_id)
        report.converted += 1
    if features and moments.frames:
        np.save(stage / "Mean.npy", moments.mean.astype(np.float32))
        np.save(stage / "Std.npy", group_averaged_std(None, skeleton.num_joints, moments.std).astype(np.float32))
