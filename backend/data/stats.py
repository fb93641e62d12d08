"""`mogents data stats DIR`: counts, lengths, vocabulary, families and realism of a HumanML3D-layout dataset."""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..motion.skeleton import Skeleton, skeleton_for_feature_dim
from .layout import read_captions
from .postag import tag_caption
from .realism import REFERENCE_NAME, MomentAccumulator, realism_rows, target_rows

SPLIT_FILES = ("train", "val", "test", "all")
CONTENT_POS = {"NOUN", "VERB", "ADJ", "ADV", "NUM", "PROPN"}
# The loaders' length rule per frame rate: (min frames, max frames exclusive).
TRAINING_RANGE = {20.0: (40, 200), 12.5: (24, 200)}
TOP_N = 15
PROMPTS = Path(__file__).resolve().parents[2] / "training" / "corpus" / "user_prompts.txt"


def prompt_coverage(vocabulary: set[str], prompts_path: Path = PROMPTS) -> dict | None:
    """Share of the words of a list of user prompts (one a line) that the dataset's vocabulary has."""
    if not prompts_path.is_file():
        return None
    prompts = [ln.strip() for ln in prompts_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    words = [t.rsplit("/", 1)[0].lower() for p in prompts for t in tag_caption(p).split()]
    words = [w for w in words if w.isalpha()]
    distinct = set(words)
    missing = sorted(distinct - vocabulary)
    return {"prompts": len(prompts), "file": str(prompts_path),
            "word_share": sum(w in vocabulary for w in words) / max(len(words), 1),
            "distinct_share": len(distinct & vocabulary) / max(len(distinct), 1), "missing": missing}


def _dataset_root(dataset_dir: str | Path) -> Path:
    root = Path(dataset_dir)
    if not root.is_dir():
        raise MotionInputError("dataset folder not found", str(root))
    if not (root / "new_joint_vecs").is_dir():
        raise MotionInputError("not a HumanML3D-layout dataset: no new_joint_vecs/ folder", str(root))
    return root


def _histogram(seconds: list[float], bin_seconds: float = 1.0) -> dict:
    top = max(10.0, math.ceil(max(seconds, default=0.0) / bin_seconds) * bin_seconds)
    edges = np.arange(0.0, top + bin_seconds / 2, bin_seconds)
    counts, _ = np.histogram(np.minimum(seconds, top), bins=edges)
    return {"bin_seconds": bin_seconds, "edges": edges.tolist(), "counts": counts.astype(int).tolist()}


def _families(root: Path, problems: list[str]) -> dict[str, int] | None:
    path = root / "corpus_meta.jsonl"
    if not path.is_file():
        return None
    counts: Counter = Counter()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            families = row["families"]
        except (json.JSONDecodeError, KeyError, TypeError):
            problems.append(f"{path}:{n}: not a JSON object with 'families'")
            continue
        counts.update(str(f) for f in families)
    return dict(counts.most_common())


def _caption_words(tokens: str | None, text: str) -> list[tuple[str, str]]:
    """(lower-case lemma, POS) pairs of a caption; POS is '' when the file has no tokens."""
    if tokens:
        pairs = [t.rsplit("/", 1) for t in tokens.split()]
        return [(w.lower(), p) for w, p in (x if len(x) == 2 else (x[0], "") for x in pairs) if w.isalpha()]
    return [(w.lower(), "") for w in text.replace(".", " ").replace(",", " ").split() if w.isalpha()]


@dataclass
class _Scan:
    """What one pass over new_joint_vecs/ and texts/ collects."""

    skeleton: Skeleton | None = None
    moments: MomentAccumulator | None = None
    lengths: dict[str, int] = field(default_factory=dict)
    captions: int = 0
    captions_original: int = 0
    windows: int = 0
    no_texts: int = 0
    words: Counter = field(default_factory=Counter)
    verbs: Counter = field(default_factory=Counter)
    vocabulary: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)  # captions of original (not mirrored) clips
    problems: list[str] = field(default_factory=list)

    def add_features(self, path: Path) -> bool:
        try:
            feats = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as err:
            self.problems.append(f"{path}: unreadable ({err})")
            return False
        if self.skeleton is None:
            try:
                self.skeleton = skeleton_for_feature_dim(feats.shape[-1] if feats.ndim == 2 else -1)
            except ValueError as err:
                raise MotionInputError(str(err), str(path)) from None
            self.moments = MomentAccumulator(self.skeleton.feature_dim)
        if feats.ndim != 2 or feats.shape[1] != self.skeleton.feature_dim:
            self.problems.append(f"{path}: shape {feats.shape}, expected (T, {self.skeleton.feature_dim})")
            return False
        feats = np.asarray(feats, dtype=np.float64)
        if not np.all(np.isfinite(feats)):
            self.problems.append(f"{path}: contains NaN or inf")
            return False
        self.moments.add(feats)
        self.lengths[path.stem] = len(feats)
        return True

    def add_captions(self, clip_id: str, path: Path) -> None:
        if not path.is_file():
            self.no_texts += 1
            return
        try:
            caps = read_captions(path)
        except MotionInputError as err:
            self.problems.append(f"{path}: {err}")
            return
        self.captions += len(caps)
        self.captions_original += 0 if clip_id.startswith("M") else len(caps)
        self.windows += sum(1 for c in caps if c.start != 0.0 or c.end != 0.0)
        if not clip_id.startswith("M"):
            self.texts += [c.text for c in caps]
        for c in caps:
            for word, pos in _caption_words(c.tokens, c.text):
                self.vocabulary.add(word)
                if not pos or pos in CONTENT_POS:
                    self.words[word] += 1
                if pos == "VERB":
                    self.verbs[word] += 1


def _split_counts(root: Path) -> dict[str, int]:
    out = {}
    for name in SPLIT_FILES:
        path = root / f"{name}.txt"
        if path.is_file():
            out[name] = sum(1 for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip())
    return out


def compute_stats(dataset_dir: str | Path) -> dict:
    """Statistics of a HumanML3D-layout dataset as a JSON-serialisable dict (see `run_stats`).

    Clips are the files in new_joint_vecs/; unreadable, mis-shaped or non-finite ones are skipped and
    listed under "problems". Vocabulary size counts distinct lemmas of the `word/POS` tokens; the top
    words are content words (nouns, verbs, adjectives, adverbs, numbers); mirrored captions included.
    """
    root = _dataset_root(dataset_dir)
    files = sorted((root / "new_joint_vecs").glob("*.npy"))
    if not files:
        raise MotionInputError("no features files in new_joint_vecs/", str(root))
    scan = _Scan()
    for path in files:
        if scan.add_features(path):
            scan.add_captions(path.stem, root / "texts" / f"{path.stem}.txt")
    if scan.skeleton is None or not scan.lengths:
        raise MotionInputError("no readable features files in new_joint_vecs/", str(root))

    skeleton, lengths = scan.skeleton, scan.lengths
    seconds = [n / skeleton.fps for n in lengths.values()]
    lo, hi = TRAINING_RANGE.get(skeleton.fps, (0, 10**9))
    mirrored = sum(1 for i in lengths if i.startswith("M"))
    families = _families(root, scan.problems)
    return {
        "dataset": str(root),
        "skeleton": skeleton.name,
        "feature_dim": skeleton.feature_dim,
        "fps": skeleton.fps,
        "counts": {
            "clips": len(lengths), "original": len(lengths) - mirrored, "mirrored": mirrored,
            "captions": scan.captions, "captions_original": scan.captions_original,
            "captions_with_window": scan.windows, "clips_without_texts": scan.no_texts,
            "splits": _split_counts(root),
        },
        "lengths": {
            "frames_total": int(sum(lengths.values())),
            "seconds_min": float(min(seconds)), "seconds_mean": float(np.mean(seconds)),
            "seconds_max": float(max(seconds)),
            "training_range_frames": [lo, hi],
            "in_training_range": int(sum(lo <= n < hi for n in lengths.values())),
            "histogram": _histogram(seconds),
        },
        "vocabulary": {
            "size": len(scan.vocabulary),
            "top_words": [[w, n] for w, n in scan.words.most_common(TOP_N)],
            "top_verbs": [[w, n] for w, n in scan.verbs.most_common(TOP_N)],
            "distinct_captions": len(set(scan.texts)),
            "distinct_caption_share": len(set(scan.texts)) / max(len(scan.texts), 1),
            "prompt_coverage": prompt_coverage(scan.vocabulary),
        },
        "families": families,
        "realism": {"reference": REFERENCE_NAME, "rows": realism_rows(scan.moments, skeleton.num_joints),
                    "targets": target_rows(scan.moments, skeleton.num_joints)},
        "problems": scan.problems,
    }


def run_stats(args: argparse.Namespace) -> int:
    from .stats_text import print_stats

    stats = compute_stats(args.dataset)
    print_stats(stats)
    if getattr(args, "json", None):
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return 0
