"""Writing and reading the HumanML3D / KIT-ML directory layout.

    new_joints/ID.npy       (T, J, 3) joints recovered from the features (as HumanML3D does)
    new_joint_vecs/ID.npy   (T, D) features
    texts/ID.txt            caption#word/POS ...#start#end   (start/end seconds; 0.0 = whole clip)
    train.txt val.txt test.txt all.txt   one ID a line
    Mean.npy Std.npy        per-dimension statistics (Std averaged within feature groups, as HumanML3D)

The writer stages everything in a hidden sibling folder and renames it into place at the end, so a
failure never leaves a half-written dataset behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..motion.features import FeatureLayout, features_to_joints, joints_to_features
from ..motion.mirror import mirror_caption, mirror_features, mirror_joints
from ..motion.skeleton import SMPL22, Skeleton
from .postag import tag_caption
from .realism import MomentAccumulator

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class Caption:
    text: str
    start: float = 0.0
    end: float = 0.0
    tokens: str | None = None  # "word/POS word/POS ..."; tagged automatically when None

    def to_line(self) -> str:
        text = " ".join(self.text.replace("#", " ").split())
        tokens = self.tokens if self.tokens is not None else tag_caption(text)
        return f"{text}#{tokens}#{self.start:.1f}#{self.end:.1f}"


def parse_caption_line(line: str) -> Caption:
    parts = line.rstrip("\n").split("#")
    if len(parts) < 4:
        raise MotionInputError(f"caption line needs 'caption#tokens#start#end', got {line!r}")
    try:
        start, end = float(parts[2]), float(parts[3])
    except ValueError:
        raise MotionInputError(f"caption line has non-numeric start/end: {line!r}") from None
    start, end = (0.0 if np.isnan(start) else start), (0.0 if np.isnan(end) else end)
    return Caption(parts[0], start, end, parts[1])


def read_captions(path: Path) -> list[Caption]:
    lines = [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [parse_caption_line(ln) for ln in lines]


def group_averaged_std(features: np.ndarray | None, num_joints: int, std: np.ndarray | None = None) -> np.ndarray:
    """Per-dimension std (of `features`, or given), averaged within each feature group (root ang. vel.,
    root lin. vel., root height, ric, rotations, velocities, contacts), as the released HumanML3D Std.npy."""
    lay = FeatureLayout(num_joints)
    std = (features.std(axis=0) if std is None else std).copy()
    for sl in (slice(0, 1), slice(1, 3), slice(3, 4), lay.ric, lay.rot, lay.vel, lay.contacts):
        std[sl] = std[sl].mean()
    return np.maximum(std, 1e-6)


class DatasetWriter:
    """Collects clips and writes a HumanML3D-layout dataset atomically. Use as a context manager."""

    def __init__(self, out_dir: str | Path, skeleton: Skeleton = SMPL22, overwrite: bool = False):
        self.out_dir = Path(out_dir)
        self.skeleton = skeleton
        if self.out_dir.exists() and any(self.out_dir.iterdir()) and not overwrite:
            raise MotionInputError("output folder exists and is not empty (pass overwrite to replace it)",
                                   str(self.out_dir))
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.", dir=self.out_dir.parent))
        for sub in ("new_joints", "new_joint_vecs", "texts"):
            (self.stage / sub).mkdir()
        self.ids: list[str] = []
        # running moments for Mean/Std, so memory stays flat however many clips are written
        self._moments = MomentAccumulator(skeleton.feature_dim)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def add_joints(self, clip_id: str, joints: np.ndarray, captions: Iterable[Caption], mirror: bool = False,
                   source: str | None = None) -> np.ndarray:
        """Compute features from raw joints (at the skeleton's fps) and add the clip; returns features.

        The mirrored copy is made as HumanML3D made its own: the raw joints are mirrored and then
        processed, so its bones are rescaled to the (slightly asymmetric) target skeleton too.
        """
        features, _ = joints_to_features(joints, self.skeleton)
        mirrored = joints_to_features(mirror_joints(joints, self.skeleton), self.skeleton)[0] if mirror else None
        self.add_features(clip_id, features, captions, mirror=mirror, source=source, mirrored_features=mirrored)
        return features

    def add_features(self, clip_id: str, features: np.ndarray, captions: Iterable[Caption],
                     mirror: bool = False, source: str | None = None,
                     mirrored_features: np.ndarray | None = None) -> None:
        """Add a clip; with `mirror`, also its mirrored copy "M<id>": `mirrored_features` when given
        (features of the mirrored raw joints, as HumanML3D made them), else the features mirrored."""
        if not np.all(np.isfinite(features)):
            raise MotionInputError("features contain NaN or inf", source or clip_id)
        captions = list(captions)
        if not captions:
            raise MotionInputError("clip has no caption", source or clip_id)
        self._write(clip_id, features, [c.to_line() for c in captions])
        if mirror:
            if mirrored_features is None:
                mirrored_features = mirror_features(features, self.skeleton)
            elif not np.all(np.isfinite(mirrored_features)):
                raise MotionInputError("mirrored features contain NaN or inf", source or clip_id)
            self._write("M" + clip_id, mirrored_features,
                        [mirror_caption(c.to_line()) for c in captions])

    def _write(self, clip_id: str, features: np.ndarray, lines: list[str]) -> None:
        if clip_id in self.ids:
            raise MotionInputError(f"duplicate clip id {clip_id!r}")
        features = features.astype(np.float32)
        np.save(self.stage / "new_joint_vecs" / f"{clip_id}.npy", features)
        joints = features_to_joints(features.astype(np.float64), self.skeleton).astype(np.float32)
        np.save(self.stage / "new_joints" / f"{clip_id}.npy", joints)
        (self.stage / "texts" / f"{clip_id}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.ids.append(clip_id)
        self._moments.add(features)

    def finish(self, splits: dict[str, list[str]] | None = None) -> Path:
        """Write split files and Mean/Std, then move the dataset into place. Splits name base IDs;
        mirrored copies ("M" + id) follow their originals into the same split."""
        if not self.ids:
            self.abort()
            raise MotionInputError("nothing to write: no clips were added", str(self.out_dir))
        (self.stage / "all.txt").write_text("\n".join(self.ids) + "\n")
        if splits:
            present = set(self.ids)
            for name, ids in splits.items():
                rows = [i for base in ids for i in (base, "M" + base) if i in present]
                (self.stage / f"{name}.txt").write_text("\n".join(rows) + ("\n" if rows else ""))
        std = group_averaged_std(None, self.skeleton.num_joints, self._moments.std)
        np.save(self.stage / "Mean.npy", self._moments.mean.astype(np.float32))
        np.save(self.stage / "Std.npy", std.astype(np.float32))
        if self.out_dir.exists():
            shutil.rmtree(self.out_dir)
        self.stage.rename(self.out_dir)
        return self.out_dir


def split_ids(ids: list[str], seed: int, fractions: tuple[float, float, float] = (0.80, 0.05, 0.15)
              ) -> dict[str, list[str]]:
    """Deterministic random split of IDs into train/val/test by the given fractions."""
    order = list(ids)
    np.random.default_rng(seed).shuffle(order)
    n_train = int(round(len(order) * fractions[0]))
    n_val = int(round(len(order) * fractions[1]))
    return {"train": sorted(order[:n_train]), "val": sorted(order[n_train:n_train + n_val]),
            "test": sorted(order[n_train + n_val:])}
