"""`mogents eval control`: how well generation follows a root path and meets keyframes (backend.generate.control).

Three parts, each against unconstrained generation of the same prompts, seeds and lengths in the same run:
- **paths**: straight lines, arcs, circles, S-curves and stop-and-go paths at walking and running speeds, given as
  points every 0.25-0.5 s (so the smooth curve between them is exercised): pelvis error to the path (mean/max),
  largest per-frame joint step, foot skating in contact, bone-length spread, latency;
- **keyframes**: poses of procedural corpus clips (`training.corpus.synth`) with the clip's caption as prompt, at a
  few frames (full body), the first and last frame only (in-betweening), and end-effector targets (wrists only):
  joint error at the keyed frames, the same physical figures and latency;
- **prompt checks** (`prompt_suite`): each prompt's check on the unconstrained motion and on motions constrained by
  the path, or the poses at two frames, of another seed's motion of the same prompt (constraints the prompt can
  meet), so the pass rates say whether control breaks what the text asks for.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.motion.constraints import Constraints, KeyframeConstraint, keyframes_from_arrays, path_from_points
from backend.motion.keyframe_fit import keyframe_errors
from backend.motion.paths import path_errors

from .prompt_suite import GROUPS, SUITE, quality_of

FPS = 20.0
KEY_STEP_CM = 25.0  # the keyframe target: no joint moves more than this in one frame


@dataclass(frozen=True)
class PathCase:
    name: str
    prompt: str
    points: np.ndarray   # (N, 3) t, x, z


def _points(t: np.ndarray, xz: np.ndarray) -> np.ndarray:
    return np.concatenate([t[:, None], xz], axis=1)


def _along(length_m: float, speed: float, curve, every: float = 0.25) -> np.ndarray:
    """Points every `every` s of a curve(s) -> (x, z) parametrised by arc length s, walked at constant speed."""
    duration = length_m / speed
    t = np.arange(0.0, duration + 1e-9, every)
    if t[-1] < duration - 1e-9:
        t = np.append(t, duration)
    return _points(t, np.array([curve(speed * ti) for ti in t]))


def _arc(radius: float, side: float):
    """Starts at the origin heading +Z and turns left (side=+1, towards +X) or right (-1)."""
    return lambda s: (side * radius * (1 - np.cos(s / radius)), radius * np.sin(s / radius))


def _s_curve(amplitude: float, wavelength: float):
    """x = amplitude * sin(2 pi z / wavelength), parametrised by arc length like the other curves (parametrised
    by z, a point every 0.25 s at 2.8 m/s asked for up to 4.8 m/s where the curve crosses the axis)."""
    k = 2 * np.pi / wavelength
    z = np.linspace(0.0, 4 * wavelength, 20_001)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(z), np.diff(amplitude * np.sin(k * z))))])

    def at(s: float) -> tuple[float, float]:
        zs = float(np.interp(s, arc, z))
        return amplitude * np.sin(k * zs), zs

    return at


def path_cases() -> list[PathCase]:
    walk, run = "a person walks forward", "a person runs forward"
    stop_go = _points(np.array([0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0]),
                      np.array([[0, 0], [0, .6], [0, 1.25], [0, 1.9], [0, 2.4], [0, 2.5], [0, 2.5], [0, 2.5],
                                [0, 2.6], [.1, 3.1], [.3, 3.7], [.5, 4.3], [.7, 4.9]], float))
    return [
        PathCase("straight walk 1.3 m/s", walk, _along(6.5, 1.3, lambda s: (0.0, s))),
        PathCase("straight run 3 m/s", run, _along(12.0, 3.0, lambda s: (0.0, s))),
        PathCase("arc left r=4 m walk", "a person walks forward and turns left", _along(7.8, 1.3, _arc(4.0, 1))),
        PathCase("arc right r=6 m run", run, _along(12.0, 3.0, _arc(6.0, -1))),
        PathCase("circle r=1.5 m walk", "a person walks in a circle", _along(2 * np.pi * 1.5, 1.2, _arc(1.5, 1),
                                                                             every=0.5)),
        PathCase("S-curve walk", walk, _along(7.5, 1.3, _s_curve(0.8, 4.0))),
        PathCase("S-curve run", run, _along(11.0, 2.8, _s_curve(1.2, 6.0))),
        PathCase("walk, stop, walk", "a person walks forward, stops, then walks again", stop_go),
    ]


@dataclass(frozen=True)
class KeyCase:
    name: str
    prompt: str
    seconds: float
    keys: KeyframeConstraint
    source_step_cm: float = 0.0  # the largest per-frame joint step of the clip the keys come from


def key_cases(clips: int = 4, seed: int = 0) -> list[KeyCase]:
    """Keyframe sets from procedural corpus clips (their poses at a few frames, their first caption)."""
    from backend.motion.features import features_to_joints
    from backend.motion.skeleton import SMPL22
    from training.corpus.synth import generate as synth_clip

    wrists = np.zeros(22, bool)
    wrists[[SMPL22.joint_names.index("l_wrist"), SMPL22.joint_names.index("r_wrist")]] = True
    out = []
    index = 0
    while len(out) < 3 * clips:
        clip = synth_clip(seed, index)
        index += 1
        feats = clip["features"]
        frames = (len(feats) // 4) * 4
        if frames < 60:
            continue
        joints = features_to_joints(feats[:frames])
        prompt = clip["captions"][0][0]
        n = len(out) // 3
        own = max_step_cm(joints)
        mid = [frames // 4, frames // 2, (3 * frames) // 4]
        out.append(KeyCase(f"clip {n} full body x3", prompt, frames / FPS,
                           keyframes_from_arrays(mid, joints[mid]), own))
        ends = [0, frames - 1]
        out.append(KeyCase(f"clip {n} first+last", prompt, frames / FPS, keyframes_from_arrays(ends, joints[ends]),
                           own))
        eff = [frames // 3, (2 * frames) // 3]
        out.append(KeyCase(f"clip {n} wrists x2", prompt, frames / FPS,
                           keyframes_from_arrays(eff, joints[eff], np.tile(wrists, (2, 1))), own))
    return out


def max_step_cm(joints: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(joints, axis=0), axis=-1).max() * 100)


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)[0]
    return out, time.perf_counter() - t0


def _physical(joints: np.ndarray) -> dict[str, float]:
    q = quality_of(joints)
    return {"skate_cm_s": q["skate_cm_s"], "contact_fraction": q["contact_fraction"], "glide_cm_s": q["glide_cm_s"],
            "bone_std_cm": q["bone_std_cm"], "max_step_cm": max_step_cm(joints)}


def run_paths(gen, seeds: int = 2, cases: list[PathCase] | None = None, keep: dict | None = None) -> list[dict]:
    rows = []
    for case in cases or path_cases():
        path = path_from_points(case.points)
        cons = Constraints(path=path)
        for seed in range(seeds):
            seconds = float(np.ceil((case.points[-1, 0] * FPS + 1) / 4) * 4 / FPS)
            free, t_free = _timed(gen.generate, case.prompt, seconds, seed)
            ctl, t_ctl = _timed(gen.generate, case.prompt, None, seed, constraints=cons)
            err = path_errors(ctl.joints.astype(np.float64), path, FPS)
            rows.append({"case": case.name, "seed": seed, "pelvis_mean_cm": float(err.mean() * 100),
                         "pelvis_max_cm": float(err.max() * 100), "free_pelvis_mean_cm":
                         float(path_errors(free.joints.astype(np.float64), path, FPS).mean() * 100),
                         **{f"ctl_{k}": v for k, v in _physical(ctl.joints).items()},
                         **{f"free_{k}": v for k, v in _physical(free.joints).items()},
                         "latency_free_s": t_free, "latency_ctl_s": t_ctl})
            if keep is not None and seed == 0:
                keep[case.name] = (case.points, ctl.joints[:, 0], free.joints[:, 0])
    return rows


def run_keys(gen, seeds: int = 1, cases: list[KeyCase] | None = None) -> list[dict]:
    rows = []
    for case in cases or key_cases():
        cons = Constraints(keyframes=case.keys)
        for seed in range(seeds):
            free, t_free = _timed(gen.generate, case.prompt, case.seconds, seed)
            ctl, t_ctl = _timed(gen.generate, case.prompt, case.seconds, seed, constraints=cons)
            err = keyframe_errors(ctl.joints.astype(np.float64), case.keys)
            free_err = keyframe_errors(free.joints.astype(np.float64), case.keys)
            rows.append({"case": case.name, "seed": seed, "source_step_cm": case.source_step_cm,
                         "key_mean_cm": float(err.mean() * 100),
                         "key_max_cm": float(err.max() * 100), "free_key_mean_cm": float(free_err.mean() * 100),
                         **{f"ctl_{k}": v for k, v in _physical(ctl.joints).items()},
                         **{f"free_{k}": v for k, v in _physical(free.joints).items()},
                         "latency_free_s": t_free, "latency_ctl_s": t_ctl})
    return rows


def constraints_from_motion(joints: np.ndarray, kind: str) -> Constraints:
    """A path (pelvis every 0.5 s) or two full-body keys (middle, last frame) taken from a motion."""
    frames = len(joints)
    if kind == "path":
        idx = np.unique(np.append(np.arange(0, frames, 10), frames - 1))
        return Constraints(path=path_from_points(_points(idx / FPS, joints[idx, 0][:, [0, 2]])))
    idx = [frames // 2, frames - 1]
    return Constraints(keyframes=keyframes_from_arrays(idx, joints[idx]))


def run_prompt_checks(gen, groups: list[str] | None = None, seeds: int = 1) -> dict:
    prompts = [p for p in SUITE if groups is None or p.group in groups]
    passed: dict[str, list[float]] = {"free": [], "path": [], "keyframes": []}
    rows = []
    for p in prompts:
        for seed in range(seeds):
            seconds = p.seconds
            free = gen.generate(p.text, seconds, seed)[0]
            donor = gen.generate(p.text, seconds, seed + 1000)[0].joints.astype(np.float64)
            row = {"group": p.group, "prompt": p.text, "seed": seed, "free": bool(p.check(free.joints).passed)}
            for kind in ("path", "keyframes"):
                ctl = gen.generate(p.text, seconds, seed, constraints=constraints_from_motion(donor, kind))[0]
                row[kind] = bool(p.check(ctl.joints).passed)
            for k in passed:
                passed[k].append(float(row[k]))
            rows.append(row)
    return {"prompts": rows, "pass_rate": {k: float(np.mean(v)) if v else 0.0 for k, v in passed.items()},
            "groups": sorted({r["group"] for r in rows}, key=GROUPS.index)}


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def _largest_step(rows: list[dict]) -> dict:
    """The largest per-frame joint step (cm) over the rows, constrained and unconstrained."""
    return {side: float(max(r[f"{side}_max_step_cm"] for r in rows)) for side in ("ctl", "free")}


def summary(paths: list[dict], keys: list[dict]) -> dict:
    out = {}
    if paths:
        out["paths"] = {"pelvis_mean_cm": _mean(paths, "pelvis_mean_cm"),
                        "pelvis_max_cm": float(max(r["pelvis_max_cm"] for r in paths))}
    if keys:
        out["keyframes"] = {"key_mean_cm": _mean(keys, "key_mean_cm"),
                            "key_max_cm": float(max(r["key_max_cm"] for r in keys))}
    rows = paths + keys
    if rows:
        out["max_step_cm"] = _largest_step(rows)
        # the 25 cm target is the keyframe one (a fill between keys must not jump); along a fast path a running
        # foot legitimately moves more than that in a frame, so paths are compared with unconstrained motion
        for kind, part in (("paths", paths), ("keyframes", keys)):
            if part:
                out["max_step_cm"][kind] = _largest_step(part)
        # keys taken from a clip that itself moves a joint more than 25 cm in a frame (a pitch) ask for that speed
        calm = [r for r in keys if r.get("source_step_cm", 0.0) <= KEY_STEP_CM]
        if calm and len(calm) < len(keys):
            out["max_step_cm"]["keyframes_calm_source"] = _largest_step(calm)
        for k in ("skate_cm_s", "contact_fraction", "glide_cm_s", "bone_std_cm"):
            out[k] = {"ctl": _mean(rows, f"ctl_{k}"), "free": _mean(rows, f"free_{k}")}
        out["latency_s"] = {"ctl": _mean(rows, "latency_ctl_s"), "free": _mean(rows, "latency_free_s")}
        out["latency_ratio"] = out["latency_s"]["ctl"] / max(out["latency_s"]["free"], 1e-9)
    return out


def format_report(result: dict) -> str:
    lines = []
    if result.get("paths"):
        lines += ["| path | seed | pelvis mean (cm) | pelvis max (cm) | unconstrained pelvis mean (cm) | max step (cm) "
                  "ctl / free | skate (cm/s) ctl / free | glide (cm/s) ctl / free | bone std (cm) ctl / free | "
                  "latency (s) ctl / free |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in result["paths"]:
            lines.append(f"| {r['case']} | {r['seed']} | {r['pelvis_mean_cm']:.2f} | {r['pelvis_max_cm']:.2f} | "
                         f"{r['free_pelvis_mean_cm']:.0f} | {r['ctl_max_step_cm']:.1f} / {r['free_max_step_cm']:.1f}"
                         f" | {r['ctl_skate_cm_s']:.2f} / {r['free_skate_cm_s']:.2f} | {r['ctl_glide_cm_s']:.1f} / "
                         f"{r['free_glide_cm_s']:.1f} | {r['ctl_bone_std_cm']:.3f} / "
                         f"{r['free_bone_std_cm']:.3f} | {r['latency_ctl_s']:.2f} / {r['latency_free_s']:.2f} |")
    if result.get("keyframes"):
        lines += ["", "| keyframes | seed | key mean (cm) | key max (cm) | unconstrained key mean (cm) | max step (cm) "
                  "ctl / free / keyed clip | skate (cm/s) ctl / free | bone std (cm) ctl / free | "
                  "latency (s) ctl / free |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in result["keyframes"]:
            lines.append(f"| {r['case']} | {r['seed']} | {r['key_mean_cm']:.2f} | {r['key_max_cm']:.2f} | "
                         f"{r['free_key_mean_cm']:.0f} | {r['ctl_max_step_cm']:.1f} / {r['free_max_step_cm']:.1f} / "
                         f"{r.get('source_step_cm', 0.0):.1f} | "
                         f"{r['ctl_skate_cm_s']:.2f} / {r['free_skate_cm_s']:.2f} | {r['ctl_bone_std_cm']:.3f} / "
                         f"{r['free_bone_std_cm']:.3f} | {r['latency_ctl_s']:.2f} / {r['latency_free_s']:.2f} |")
    s = result.get("summary", {})
    if s:
        lines += ["", "| summary | constrained | unconstrained | target |", "|---|---|---|---|"]
        if "paths" in s:
            lines.append(f"| pelvis error mean / max (cm) | {s['paths']['pelvis_mean_cm']:.2f} / "
                         f"{s['paths']['pelvis_max_cm']:.2f} | | <= 5 / <= 15 |")
        if "keyframes" in s:
            lines.append(f"| keyed-joint error mean / max (cm) | {s['keyframes']['key_mean_cm']:.2f} / "
                         f"{s['keyframes']['key_max_cm']:.2f} | | mean <= 2 |")
        if "max_step_cm" in s:
            step = s["max_step_cm"]
            for kind, what, target in (
                    ("keyframes", "keyframes", "<= 25"),
                    ("keyframes_calm_source", "keyframes from clips whose own largest step is <= 25 cm", "<= 25"),
                    ("paths", "paths", "reference: unconstrained")):
                if kind in step:
                    lines.append(f"| largest joint step in one frame, {what} (cm) | {step[kind]['ctl']:.1f} | "
                                 f"{step[kind]['free']:.1f} | {target} |")
            lines.append(f"| foot skating in contact (cm/s) | {s['skate_cm_s']['ctl']:.2f} | "
                         f"{s['skate_cm_s']['free']:.2f} | no worse |")
            lines.append(f"| feet on the ground (share of foot-joint frames in contact) | "
                         f"{s['contact_fraction']['ctl']:.2f} | {s['contact_fraction']['free']:.2f} | no lower |")
            lines.append(f"| foot glide on the ground, no speed gate (cm/s) | {s['glide_cm_s']['ctl']:.1f} | "
                         f"{s['glide_cm_s']['free']:.1f} | no worse |")
            lines.append(f"| bone-length std (cm) | {s['bone_std_cm']['ctl']:.3f} | {s['bone_std_cm']['free']:.3f} | "
                         f"no worse |")
            lines.append(f"| latency per motion (s) | {s['latency_s']['ctl']:.2f} | {s['latency_s']['free']:.2f} | "
                         f"ratio {s['latency_ratio']:.2f} (<= 2) |")
    pc = result.get("prompt_checks")
    if pc:
        r = pc["pass_rate"]
        lines.append(f"| prompt-check pass rate ({len(pc['prompts'])} runs, groups {', '.join(pc['groups'])}) | "
                     f"path {100 * r['path']:.0f}%, keyframes {100 * r['keyframes']:.0f}% | {100 * r['free']:.0f}% | "
                     f"within 10 points |")
    return "\n".join(lines)


def plot_paths(kept: dict, out: str | Path, names: list[str] | None = None) -> Path:
    """Top view of the pelvis over the requested paths (controlled and unconstrained) as a small PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in (names or list(kept)) if n in kept]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), dpi=80)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        points, ctl, free = kept[name]
        path = path_from_points(points)
        frames = len(ctl)
        _, dense = path.sample(frames, FPS)
        ax.plot(dense[:, 0], dense[:, 1], color="0.6", lw=6, alpha=0.5, label="requested path")
        ax.plot(points[:, 1], points[:, 2], "o", color="0.4", ms=3, label="path points")
        ax.plot(free[:, 0], free[:, 2], "--", color="tab:red", lw=1.2, label="unconstrained")
        ax.plot(ctl[:, 0], ctl[:, 2], color="tab:blue", lw=1.5, label="with --path")
        ax.set_title(name, fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.invert_xaxis()  # +X is the body's left: seen from above with +Z up the page, left is on the left
        ax.set_xlabel("x (m, left)", fontsize=8)
        ax.set_ylabel("z (m, forward)", fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def write_json(result: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2))
