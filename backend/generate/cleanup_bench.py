"""Benchmark of the animation clean-up (`backend.motion.cleanup`): what it fixes and what it costs.

    python -m backend.generate.cleanup_bench [--model FOLDER] [--corpus DIR] [--seeds 2] [--json OUT]

Generates a prompt suite with the generator (raw), cleans each motion and prints per prompt group, before ->
after: bone-length std (cm, mean over bones), foot skating while in contact (cm/s, `quality.foot_skating`),
ground penetration (cm), jerk (m/s^3, mean), and for jumps, kicks and punches how much of the action's peak
survives the jitter filter (apex height over the median, toe / wrist top speed over 3 frames; clean-up with
vs without the filter). With --corpus (a HumanML3D-layout folder such as `mogents data synth` writes) the
corpus's figures per group sit beside them. Also: the rigid-skeleton choice (forward kinematics of the rot6d
channels vs the position fit, mean distance to the raw joints) and the clean-up's cost for 196 frames.
A command, never a timed test.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ..motion.cleanup import CleanupOptions, clean_motion, rigid_fit
from ..motion.features import FeatureLayout, features_to_joints, recover_root
from ..motion.kinematics import forward_kinematics
from ..motion.quality import foot_skating, ground_penetration, jerk_stats
from ..motion.rotations import cont6d_to_quat
from ..motion.skeleton import SMPL22

PROMPTS = {
    "walk": ["a person walks forward", "a person walks in a circle", "a person walks backwards slowly"],
    "run": ["a person runs forward", "a person jogs in place"],
    "jump": ["a person jumps up and down", "a person jumps forward", "a person hops on one leg"],
    "kick": ["a person kicks with the right leg", "a person does a high kick with the left foot"],
    "punch": ["a person punches with the right hand", "a person boxes, throwing fast punches"],
    "idle": ["a person stands still", "a person stands and looks around"],
    "arms": ["a person waves with the right hand", "a person raises both arms"],
    "other": ["a person sits down", "a person turns around", "a person squats down and stands up",
              "a person dances"],
}
CORPUS_FAMILIES = {
    "walk": {"walk", "walk_arc", "walk_backward"}, "run": {"run", "jog"}, "jump": {"jump_forward", "jump_up", "hop"},
    "kick": {"kick"}, "punch": {"punch"}, "idle": {"idle", "balance"}, "arms": {"wave", "raise_arms"},
    "other": {"sit_floor", "turn_in_place", "squat", "dance"},
}
METRICS = ("bone_std_cm", "skate_cm_s", "penetration_cm", "jerk")


def metrics(joints: np.ndarray) -> dict[str, float]:
    j = np.asarray(joints, np.float64)
    parents = list(SMPL22.parents[1:])
    bone = np.linalg.norm(j[:, 1:] - j[:, parents], axis=-1).std(axis=0).mean() * 100
    return {"bone_std_cm": float(bone), "skate_cm_s": foot_skating(j)["skate_speed_cm_s"],
            "penetration_cm": ground_penetration(j), "jerk": jerk_stats(j)["jerk_mean"]}


def action_peak(joints: np.ndarray, group: str) -> float:
    v = np.linalg.norm(joints[3:] - joints[:-3], axis=-1) * SMPL22.fps / 3
    if group == "punch":
        return float(v[:, [20, 21]].max())
    if group == "kick":
        return float(v[:, [10, 11]].max())
    return float(joints[:, 0, 1].max() - np.median(joints[:, 0, 1]))


def rot6d_fk(features: np.ndarray) -> np.ndarray:
    lay = FeatureLayout(22)
    r_rot, r_pos = recover_root(features)
    quats = np.concatenate([r_rot[:, None], cont6d_to_quat(features[:, lay.rot].reshape(len(features), 21, 6))], 1)
    return forward_kinematics(SMPL22, quats, r_pos, offsets=SMPL22.raw_offsets * SMPL22.target_lengths[:, None])


def corpus_figures(folder: Path) -> dict[str, dict[str, float]]:
    rows: dict[str, list[dict[str, float]]] = {}
    for line in (folder / "corpus_meta.jsonl").read_text().splitlines():
        clip = json.loads(line)
        group = next((g for g, fams in CORPUS_FAMILIES.items() if set(clip["families"]) & fams), None)
        if group is None:
            continue
        for name in (clip["id"], "M" + clip["id"]):
            path = folder / "new_joint_vecs" / f"{name}.npy"
            if path.is_file():
                rows.setdefault(group, []).append(metrics(features_to_joints(np.load(path).astype(np.float64))))
    return {g: {m: float(np.mean([r[m] for r in v])) for m in METRICS} | {"clips": len(v)} for g, v in rows.items()}


def run(model: str | None, corpus: Path | None, seeds: int, device: str) -> dict:
    from .loader import load_generator

    gen = load_generator(model, device)
    unfiltered = CleanupOptions(slow_cutoff=0.0, fast_cutoff=0.0)
    groups: dict[str, list[dict]] = {}
    fit_err, fk_err = [], []
    for group, prompts in PROMPTS.items():
        for prompt in prompts:
            for seed in range(seeds):
                feats = gen.generate(prompt, None, seed, raw=True)[0].features.astype(np.float64)
                result = clean_motion(feats, gen.info.fps)
                row = {"before": metrics(result.raw), "after": metrics(result.joints),
                       "offset_mm": float(np.linalg.norm(result.joints - result.raw, axis=-1).mean() * 1000)}
                if group in ("jump", "kick", "punch"):
                    row["peak_kept"] = (action_peak(result.joints, group)
                                        / action_peak(clean_motion(feats, gen.info.fps, unfiltered).joints, group))
                groups.setdefault(group, []).append(row)
                fit_err.append(np.linalg.norm(rigid_fit(SMPL22, result.raw) - result.raw, axis=-1).mean() * 1000)
                fk_err.append(np.linalg.norm(rot6d_fk(feats) - result.raw, axis=-1).mean() * 1000)
    walk = gen.generate("a person walks forward", 9.8, 0, raw=True)[0].features
    clean_motion(walk)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        clean_motion(walk)
        times.append(time.perf_counter() - t)
    summary = {g: {"motions": len(v),
                   "before": {m: float(np.mean([r["before"][m] for r in v])) for m in METRICS},
                   "after": {m: float(np.mean([r["after"][m] for r in v])) for m in METRICS},
                   "offset_mm": float(np.mean([r["offset_mm"] for r in v])),
                   **({"peak_kept": float(np.mean([r["peak_kept"] for r in v]))} if "peak_kept" in v[0] else {})}
               for g, v in groups.items()}
    return {"groups": summary, "corpus": corpus_figures(corpus) if corpus else {},
            "rigid_choice_mm": {"position_fit": float(np.mean(fit_err)), "rot6d_fk": float(np.mean(fk_err)),
                                "rot6d_fk_worst_clip": float(np.max(fk_err))},
            "cost_ms_196_frames": {"median": float(np.median(times) * 1000), "max": float(np.max(times) * 1000),
                                   "frames": len(walk)}}


def print_table(report: dict) -> None:
    corpus = report["corpus"]
    print("group   n | bone std cm    | skating cm/s (corpus) | penetration cm | jerk m/s^3 (corpus x1.2) | peak kept")
    for g, row in report["groups"].items():
        b, a, c = row["before"], row["after"], corpus.get(g, {})
        cs = f"{c['skate_cm_s']:.2f}" if c else "-"
        cj = f"{1.2 * c['jerk']:.0f}" if c else "-"
        peak = f"{row['peak_kept']:.2f}" if "peak_kept" in row else ""
        print(f"{g:6s} {row['motions']:2d} | {b['bone_std_cm']:.2f} -> {a['bone_std_cm']:.4f} | "
              f"{b['skate_cm_s']:5.1f} -> {a['skate_cm_s']:4.2f} ({cs}) | {b['penetration_cm']:4.1f} -> "
              f"{a['penetration_cm']:.2f}   | {b['jerk']:5.0f} -> {a['jerk']:4.0f} ({cj}) | {peak}")
    rc = report["rigid_choice_mm"]
    print(f"rigid skeleton: mean distance to the raw joints, position fit {rc['position_fit']:.1f} mm, "
          f"FK of the rot6d channels {rc['rot6d_fk']:.1f} mm (worst clip {rc['rot6d_fk_worst_clip']:.0f} mm)")
    cost = report["cost_ms_196_frames"]
    print(f"clean-up cost: {cost['median']:.1f} ms median, {cost['max']:.1f} ms max for {cost['frames']} frames")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="generator folder (default: the shipped model)")
    p.add_argument("--corpus", type=Path, help="HumanML3D-layout corpus folder with corpus_meta.jsonl")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    report = run(args.model, args.corpus, args.seeds, args.device)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
