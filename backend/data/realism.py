"""How close a dataset's feature statistics are to real HumanML3D's, group by group.

The reference is the released HumanML3D Mean.npy / Std.npy (training set, SMPL-22, metres, 20 fps) in
`backend/motion/reference_stats/`. Only per-dimension means and stds are known for it, so every
quantity here is computed from per-dimension first and second moments of the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..motion.features import FeatureLayout

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "motion" / "reference_stats"
REFERENCE_NAME = "HumanML3D (SMPL-22, metres, 20 fps)"


def load_reference() -> tuple[np.ndarray, np.ndarray]:
    """Real HumanML3D (Mean, Std), 263 values each."""
    mean = np.load(REFERENCE_DIR / "humanml3d_mean.npy").astype(np.float64)
    std = np.load(REFERENCE_DIR / "humanml3d_std.npy").astype(np.float64)
    return mean, std


@dataclass
class MomentAccumulator:
    """Running per-dimension sum and sum of squares over all frames of many clips."""

    dim: int
    frames: int = 0
    total: np.ndarray = field(init=False)
    total_sq: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.total = np.zeros(self.dim)
        self.total_sq = np.zeros(self.dim)

    def add(self, features: np.ndarray) -> None:
        f = np.asarray(features, dtype=np.float64)
        self.frames += len(f)
        self.total += f.sum(axis=0)
        self.total_sq += np.square(f).sum(axis=0)

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.frames, 1)

    @property
    def mean_sq(self) -> np.ndarray:
        return self.total_sq / max(self.frames, 1)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.mean_sq - self.mean**2, 0.0))


def _quantities(mean: np.ndarray, std: np.ndarray, layout: FeatureLayout) -> dict[str, float]:
    """Named summary numbers from per-dimension mean and std of a feature set."""
    out = {
        "root height mean": mean[3],
        "root height std": std[3],
        "forward speed (dim 2, per frame)": mean[2],
        "root linear velocity std (dims 1:3)": std[1:3].mean(),
        "angular speed rms (dim 0, per frame)": np.sqrt(mean[0] ** 2 + std[0] ** 2),
    }
    c = layout.contacts.start
    for k, name in enumerate(("left 1", "left 2", "right 1", "right 2")):
        out[f"contact on fraction, {name}"] = mean[c + k]
    out["std ric (positions)"] = std[layout.ric].mean()
    out["std rot (6D rotations)"] = std[layout.rot].mean()
    out["std vel (joint velocities)"] = std[layout.vel].mean()
    return {k: float(v) for k, v in out.items()}


def realism_rows(acc: MomentAccumulator, num_joints: int) -> list[dict]:
    """One row per quantity: name, dataset value, reference value, ratio dataset / reference."""
    ref_mean, ref_std = load_reference()
    ours = _quantities(acc.mean, acc.std, FeatureLayout(num_joints))
    ref = _quantities(ref_mean, ref_std, FeatureLayout(22))
    rows = []
    for name, value in ours.items():
        r = ref[name]
        rows.append({"name": name, "dataset": value, "reference": r,
                     "ratio": value / r if abs(r) > 1e-12 else None})
    return rows


# Issue 14's realism targets: (name, what is compared, pass rule).
TARGETS = (
    ("ric std (mean over dims)", "ratio", ">= 0.85"),
    ("rot std (mean over dims)", "ratio", ">= 0.85"),
    ("root yaw-velocity std (dim 0)", "ratio", "0.8 - 1.2"),
    ("root height mean (dim 3)", "ratio", "0.97 - 1.03"),
    ("forward speed mean (dim 2)", "ratio", "0.85 - 1.15"),
    ("contact left ankle", "points", "+-3"),
    ("contact left toe", "points", "+-3"),
    ("contact right ankle", "points", "+-3"),
    ("contact right toe", "points", "+-3"),
)


def target_rows(acc: MomentAccumulator, num_joints: int) -> list[dict]:
    """The issue's realism table: dataset, real HumanML3D, the comparison and whether it meets the target."""
    ref_mean, ref_std = load_reference()
    lay, ref_lay = FeatureLayout(num_joints), FeatureLayout(22)
    mean, std = acc.mean, acc.std
    c, rc = lay.contacts.start, ref_lay.contacts.start
    values = [
        (std[lay.ric].mean(), ref_std[ref_lay.ric].mean()),
        (std[lay.rot].mean(), ref_std[ref_lay.rot].mean()),
        (std[0], ref_std[0]),
        (mean[3], ref_mean[3]),
        (mean[2], ref_mean[2]),
        *[(mean[c + k], ref_mean[rc + k]) for k in range(4)],
    ]
    rows = []
    for (name, kind, rule), (ours, real) in zip(TARGETS, values, strict=True):
        if kind == "ratio":
            cmp = float(ours / real)
            lo, hi = (0.85, np.inf) if rule.startswith(">=") else (float(rule.split()[0]), float(rule.split()[-1]))
            ok = lo <= cmp <= hi
        else:
            cmp = float(100 * (ours - real))
            ok = abs(cmp) <= 3.0
        rows.append({"name": name, "dataset": float(ours), "reference": float(real), "compare": cmp,
                     "kind": kind, "target": rule, "ok": bool(ok)})
    return rows
