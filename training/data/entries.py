"""Turning a split of a HumanML3D-layout dataset into text-motion entries (clips and caption windows).

Rules of the reference text-to-motion loaders:
- a clip is read only if `min_frames <= T < max_frames`;
- captions with start = end = 0 describe the whole clip; the clip becomes one entry holding all of
  them (and is dropped when it has none);
- a caption with a time window becomes its own entry over frames `[int(start*fps), int(end*fps))`,
  kept only when that window also passes the length rule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import DatasetConfig
from .layout_reader import CaptionItem, load_captions, load_features


@dataclass
class MotionEntry:
    """One item source: frames [start, end) of clip `clip_id`, with the captions that describe them."""

    clip_id: str
    start: int
    end: int
    motion: np.ndarray = field(repr=False)  # (end - start, D) raw features
    captions: list[CaptionItem]
    from_window: bool = False  # True when made from a caption with a time window

    @property
    def length(self) -> int:
        return int(self.motion.shape[0])


@dataclass
class FilterReport:
    """Why clips and caption windows were kept or dropped."""

    counts: Counter = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "nothing read"


def _length_ok(n: int, config: DatasetConfig) -> bool:
    return config.min_frames <= n < config.max_frames


def entries_for_clip(clip_id: str, motion: np.ndarray, captions: list[tuple[CaptionItem, float, float]],
                     config: DatasetConfig, report: FilterReport) -> list[MotionEntry]:
    """The entries of one clip whose features passed the whole-clip length rule."""
    whole: list[CaptionItem] = []
    out: list[MotionEntry] = []
    for cap, start_s, end_s in captions:
        if start_s == 0.0 and end_s == 0.0:
            whole.append(cap)
            continue
        a, b = int(start_s * config.fps), int(end_s * config.fps)
        window = motion[a:b]
        if not _length_ok(len(window), config):
            report.add("windows_dropped")
            continue
        report.add("windows_kept")
        out.append(MotionEntry(clip_id, a, a + len(window), window, [cap], from_window=True))
    if whole:
        out.insert(0, MotionEntry(clip_id, 0, len(motion), motion, whole))
        report.add("clips_kept")
    elif not out:
        report.add("clips_without_usable_caption")
    return out


def build_entries(root: Path, ids: list[str], config: DatasetConfig) -> tuple[list[MotionEntry], FilterReport]:
    report = FilterReport()
    entries: list[MotionEntry] = []
    for clip_id in ids:
        motion = load_features(root / "new_joint_vecs" / f"{clip_id}.npy", config.feature_dim)
        report.add("clips_read")
        if len(motion) < config.min_frames:
            report.add("clips_too_short")
            continue
        if len(motion) >= config.max_frames:
            report.add("clips_too_long")
            continue
        captions = load_captions(root / "texts" / f"{clip_id}.txt")
        entries.extend(entries_for_clip(clip_id, motion, captions, config, report))
    return entries, report
