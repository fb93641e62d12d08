"""Benchmark the procedural corpus: generation speed, plausibility, realism against real HumanML3D stats.

    python scripts/bench_corpus.py --clips 10000 --workers 2 --out /tmp/corpus_bench --json /tmp/bench.json

Prints a table and writes the numbers as JSON. Plausibility is measured on the dataset's new_joints
(recovered from the features, floor at y = 0) of the base clips; realism compares feature means with
backend/motion/reference_stats (real HumanML3D training features).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.data.realism import load_reference  # noqa: E402
from backend.motion.features import FeatureLayout  # noqa: E402
from backend.motion.quality import quality_report  # noqa: E402
from training.corpus.synth import write_corpus  # noqa: E402


def realism(dataset: Path) -> dict[str, dict[str, float]]:
    """Root height, forward root speed and foot-contact fractions: corpus vs real HumanML3D."""
    mean = np.load(dataset / "Mean.npy").astype(np.float64)
    std = np.load(dataset / "Std.npy").astype(np.float64)
    ref_mean, ref_std = load_reference()
    lay = FeatureLayout(22)
    c = lay.contacts.start
    rows = {
        "root_height_mean_m": (mean[3], ref_mean[3]),
        "root_height_std_m": (std[3], ref_std[3]),
        "forward_speed_m_per_frame": (mean[2], ref_mean[2]),
        "lateral_speed_m_per_frame": (mean[1], ref_mean[1]),
        "root_yaw_vel_std": (std[0], ref_std[0]),
        "contact_l_ankle": (mean[c], ref_mean[c]),
        "contact_l_toe": (mean[c + 1], ref_mean[c + 1]),
        "contact_r_ankle": (mean[c + 2], ref_mean[c + 2]),
        "contact_r_toe": (mean[c + 3], ref_mean[c + 3]),
    }
    out = {k: {"corpus": float(a), "humanml3d": float(b)} for k, (a, b) in rows.items()}
    group_err = {}
    for name, sl in (("ric", lay.ric), ("rot", lay.rot), ("vel", lay.vel)):
        group_err[name] = float(np.mean(np.abs(mean[sl] - ref_mean[sl])))
    out["mean_abs_diff"] = group_err
    return out


def plausibility(dataset: Path, limit: int | None = None) -> dict[str, float]:
    ids = [i for i in (dataset / "all.txt").read_text().split() if not i.startswith("M")]
    if limit:
        ids = ids[:limit]
    reps = [quality_report(np.load(dataset / "new_joints" / f"{i}.npy").astype(np.float64)) for i in ids]
    keys = reps[0].keys()
    arr = {k: np.array([r[k] for r in reps]) for k in keys}
    return {
        "clips_measured": len(ids),
        "bone_var_max_pct": 100 * float(arr["bone_var_max"].max()),
        "skate_max_cm_mean": float(arr["skate_max_cm"].mean()),
        "skate_max_cm_p95": float(np.percentile(arr["skate_max_cm"], 95)),
        "skate_max_cm_worst": float(arr["skate_max_cm"].max()),
        "skate_speed_cm_s_mean": float(arr["skate_speed_cm_s"].mean()),
        "penetration_cm_worst": float(arr["penetration_cm"].max()),
        "knee_bend_min": float(arr["knee_bend_min"].min()),
        "jerk_mean": float(arr["jerk_mean"].mean()),
        "accel_max_p99": float(np.percentile(arr["accel_max"], 99)),
    }


def corpus_summary(dataset: Path) -> dict:
    metas = [json.loads(line) for line in (dataset / "corpus_meta.jsonl").read_text().splitlines()]
    fams = Counter(f for m in metas for f in m["families"])
    n_actions = Counter(len(m["families"]) for m in metas)
    frames = np.array([m["frames"] for m in metas])
    vocab = {
        w for m in metas for c in m["captions"] for w in c.lower().replace(",", " ").replace(".", " ").split()
    }
    captions = sum(len(m["captions"]) for m in metas)
    return {
        "families": dict(sorted(fams.items())),
        "actions_per_clip": dict(sorted(n_actions.items())),
        "frames_mean": float(frames.mean()),
        "frames_min": int(frames.min()),
        "frames_max": int(frames.max()),
        "captions": captions,
        "vocabulary": len(vocab),
        "distinct_captions": len({c for m in metas for c in m["captions"]}),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="/tmp/corpus_bench")
    ap.add_argument("--json", default="/tmp/corpus_bench.json")
    ap.add_argument(
        "--quality-limit", type=int, default=None, help="measure plausibility on the first N clips"
    )
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    path = write_corpus(args.out, args.clips, args.seed, args.workers, overwrite=True)
    gen_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    plaus = plausibility(path, args.quality_limit)
    real = realism(path)
    summary = corpus_summary(path)
    report = {
        "clips": args.clips,
        "workers": args.workers,
        "seconds": gen_s,
        "clips_per_s": args.clips / gen_s,
        "ms_per_clip": 1000 * gen_s / args.clips,
        "plausibility": plaus,
        "realism": real,
        "corpus": summary,
        "analysis_seconds": time.perf_counter() - t1,
    }

    print(f"\n{'generation':32s}")
    print(f"  {'clips (+ mirrors)':30s} {args.clips} (+{args.clips})")
    print(f"  {'time':30s} {gen_s:.1f} s")
    print(f"  {'clips/s':30s} {args.clips / gen_s:.1f}")
    print("plausibility (base clips, recovered joints)")
    for k, v in plaus.items():
        print(f"  {k:30s} {v:.3f}" if isinstance(v, float) else f"  {k:30s} {v}")
    print(f"realism{'':25s} {'corpus':>10s} {'HumanML3D':>10s}")
    for k, v in real.items():
        if "corpus" in v:
            print(f"  {k:30s} {v['corpus']:10.4f} {v['humanml3d']:10.4f}")
    print(
        f"  {'mean |diff| ric/rot/vel':30s} " + " ".join(f"{v:.4f}" for v in real["mean_abs_diff"].values())
    )
    print("corpus")
    for k, v in summary.items():
        print(f"  {k:30s} {v}")
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
