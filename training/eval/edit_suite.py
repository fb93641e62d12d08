"""`mogents eval edits`: do spatial edits follow the prompt, and do they leave the rest alone?

Each case regenerates a body part (or named joints) over a frame range of a base motion that the model itself
generates (a walk, a jog, standing still, standing idle; fixed seeds), through `Generator.edit` with the
selection `resolve_selection` makes of `--part` / `--joints`, exactly as `mogents edit` runs it. Two things
are judged on the delivered (cleaned) joints:

- **region prompt**: the case's check (training/eval/prompt_checks.py, the prompt suite's thresholds) passes
  on the edited frames [a, b), and the action is new: the same check fails on the frames before the region
  and on the input over the region (an arm that was already up proves nothing);
- **untouched exact**: outside [a, b) every joint is the input's, and inside it every joint that was not
  selected (the legs during an arm edit) is the input's, both within `TOLERANCE_MM`.

A case passes a seed when both hold; its score is the share of seeds that pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import prompt_checks as c

TOLERANCE_MM = 1.0  # the backend keeps untouched joints exactly; this only absorbs float32 rounding


@dataclass(frozen=True)
class BaseMotion:
    prompt: str
    seconds: float


BASES: dict[str, BaseMotion] = {
    "walk": BaseMotion("a person walks forward", 7.0),
    "jog": BaseMotion("a person jogs forward", 6.0),
    "stand": BaseMotion("a person stands still", 7.0),
    "idle": BaseMotion("a person stands idle and looks around", 7.0),
}


# ------------------------------------------------------------------------------ checks the suite adds

def raised_share(side: str, above: str = "shoulder", share: float = 0.3, margin: float = 0.05) -> c.Check:
    """The wrist(s) above the shoulder (or the head) by `margin` in at least `share` of the frames ('both': both
    wrists in the same frame)."""
    def check(joints: np.ndarray) -> c.CheckResult:
        wrists = c._side_joints(side, "wrist")
        if above == "head":
            level = np.repeat(joints[:, [c.J["head"]], 1], len(wrists), axis=1)
        else:
            level = joints[:, c._side_joints(side, "shoulder"), 1]
        up = joints[:, wrists, 1] > level + margin
        per_frame = up.all(-1) if side == "both" else up.any(-1)
        value = float(per_frame.mean()) if len(per_frame) else 0.0
        return c.CheckResult(value >= share, value, f"share of frames with the {side} wrist above the {above}")
    return check


def knee_above_other(side: str, margin: float = 0.15, frames: int = 3) -> c.Check:
    """The knee of `side` above the other knee by `margin` in at least `frames` frames (a knee raise, not a twitch)."""
    def check(joints: np.ndarray) -> c.CheckResult:
        k, o = (c.J["l_knee"], c.J["r_knee"]) if side == "left" else (c.J["r_knee"], c.J["l_knee"])
        diff = joints[:, k, 1] - joints[:, o, 1]
        value = float(np.sort(diff)[-frames]) if len(diff) >= frames else 0.0  # the frames-th highest
        return c.CheckResult(value >= margin, value, f"{side} knee above the other in {frames} frames (m)")
    return check


# ------------------------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class EditCase:
    name: str
    base: str                        # key of BASES
    prompt: str
    frames: tuple[int, int]          # feature frames [a, b) at 20 fps
    check: c.Check
    parts: tuple[str, ...] = ()      # as `mogents edit --part`
    joints: tuple[str, ...] = ()     # as `mogents edit --joints`

    @property
    def selection_text(self) -> str:
        return ",".join(self.parts + self.joints)


def raised_wave(side: str) -> c.Check:
    """A wave: the hand above the shoulder in a good share of the frames and swung side to side while up."""
    return c.all_of(raised_share(side, "shoulder", 0.3), c.wave(side))


def raised_over_head(side: str) -> c.Check:
    """The wrist(s) over the head in a good share of the frames."""
    return c.all_of(raised_share(side, "head", 0.25, margin=0.03), c.wrist_above_head(side))


def _case(name: str, prompt: str, frames: tuple[int, int], check: c.Check, parts: str = "",
          joints: str = "") -> EditCase:
    """`name` starts with the base motion's key ("walk-wave-right" edits the walk)."""
    return EditCase(name, name.split("-")[0], prompt, frames, check, tuple(p for p in parts.split(",") if p),
                    tuple(j for j in joints.split(",") if j))


CASES: list[EditCase] = [
    # arm edits over locomotion
    _case("walk-wave-right", "a person waves with the right hand", (20, 70), raised_wave("right"), "right_arm"),
    _case("walk-raise-left", "a person raises the left arm up", (30, 80), raised_over_head("left"), "left_arm"),
    _case("walk-punch-right", "a person punches with the right fist", (40, 90), c.punch("right"), "right_arm"),
    _case("walk-raise-both", "a person raises both arms above the head", (40, 100), raised_over_head("both"),
          "arms"),
    _case("jog-wave-right", "a person waves with the right hand", (20, 70), raised_wave("right"), "right_arm"),
    _case("jog-raise-both", "a person raises both arms above the head", (30, 90), raised_over_head("both"), "arms"),
    _case("jog-punch-left", "a person punches with the left fist", (30, 80), c.punch("left"), "left_arm"),
    # leg edits over locomotion
    _case("walk-kick-right", "a person kicks with the right leg", (40, 90), c.kick("right"), "right_leg"),
    # arm edits while standing
    _case("stand-wave-left", "a person waves with the left hand", (30, 90), raised_wave("left"), "left_arm"),
    _case("stand-raise-both", "a person raises both arms above the head", (30, 100), raised_over_head("both"),
          "arms"),
    _case("stand-raise-right-joints", "a person raises the right hand above the head", (30, 90),
          raised_over_head("right"), joints="r_shoulder,r_elbow,r_wrist"),
    _case("idle-punch-left", "a person punches with the left fist", (30, 80), c.punch("left"), "left_arm"),
    _case("idle-wave-right", "a person waves with the right hand", (40, 100), raised_wave("right"), "right_arm"),
    # leg edits while standing
    _case("stand-kick-right", "a person kicks with the right leg", (30, 80),
          c.all_of(c.kick("right"), c.foot_lift("right", 0.15)), "right_leg"),
    _case("stand-knee-left", "a person lifts the left knee up", (30, 80),
          c.all_of(knee_above_other("left"), c.foot_lift("left", 0.2)), "left_leg"),
    _case("idle-lift-right-foot", "a person stands on the left leg", (40, 100), c.foot_lift("right", 0.15),
          "right_leg"),
]


# ------------------------------------------------------------------------------------------ judging

def untouched(before: np.ndarray, after: np.ndarray, frames: tuple[int, int], joints: list[int],
              tolerance_mm: float = TOLERANCE_MM) -> dict:
    """Largest distance (mm) from the input outside the region (every joint) and inside it (joints not selected)."""
    a, b = frames
    dist = np.linalg.norm(np.asarray(after, np.float64) - np.asarray(before, np.float64), axis=-1) * 1000
    outside = np.ones(len(dist), bool)
    outside[a:b] = False
    kept = np.setdiff1d(np.arange(dist.shape[1]), joints)
    outside_mm = float(dist[outside].max()) if outside.any() else 0.0
    kept_mm = float(dist[a:b][:, kept].max()) if len(kept) else 0.0
    return {"outside_max_mm": round(outside_mm, 3), "kept_inside_max_mm": round(kept_mm, 3),
            "passed": bool(outside_mm <= tolerance_mm and kept_mm <= tolerance_mm)}


def judge(case: EditCase, before: np.ndarray, after: np.ndarray, joints: list[int],
          tolerance_mm: float = TOLERANCE_MM) -> dict:
    """One edited motion against its input (both (T, 22, 3)): the region check, whether the action is new, and
    the untouched check."""
    a, b = case.frames
    region = case.check(after[a:b])
    earlier = case.check(after[:a]).passed if a >= 2 else False
    input_region = case.check(before[a:b]).passed
    prompt_passed = bool(region.passed and not earlier and not input_region)
    kept = untouched(before, after, case.frames, joints, tolerance_mm)
    return {"measured": region.what, "region_value": round(region.value, 3), "region_check": region.passed,
            "before_passes": earlier, "input_region_passes": input_region, "prompt_passed": prompt_passed,
            "untouched": kept, "passed": bool(prompt_passed and kept["passed"])}


def select_cases(names: list[str] | None) -> list[EditCase]:
    if not names:
        return list(CASES)
    known = {case.name: case for case in CASES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown edit cases {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]


def run_suite(gen, seeds: int = 2, cases: list[EditCase] | None = None, progress: bool = True,
              method: str = "auto") -> dict:
    """Every case with seeds 0..seeds-1 on a `backend.generate.generator.Generator`: the base motion is generated
    with the seed, then edited with it (cleaned joints, as `mogents generate` / `mogents edit` deliver them)."""
    from tqdm import tqdm

    from backend.motion.parts import resolve_selection

    cases = list(CASES) if cases is None else cases
    bases: dict[tuple[str, int], object] = {}
    rows = []
    for case in tqdm(cases, desc="edits", unit="case", disable=not progress):
        joints = resolve_selection(gen.skeleton, list(case.joints) or None, list(case.parts) or None)
        results = []
        for seed in range(seeds):
            key = (case.base, seed)
            if key not in bases:
                base = BASES[case.base]
                bases[key] = gen.generate(base.prompt, seconds=base.seconds, seed=seed)[0]
            motion = bases[key]
            edited, report = gen.edit(motion, case.prompt, case.frames, joints, seed=seed, method=method)
            results.append({"seed": seed, **judge(case, motion.joints, edited.joints, joints),
                            "edit_report": report.to_dict()})
        rows.append({"case": case.name, "base": case.base, "base_prompt": BASES[case.base].prompt,
                     "prompt": case.prompt, "selection": case.selection_text, "frames": list(case.frames),
                     "measured": results[0]["measured"],
                     "pass_rate": float(np.mean([r["passed"] for r in results])),
                     "prompt_pass_rate": float(np.mean([r["prompt_passed"] for r in results])),
                     "untouched_rate": float(np.mean([r["untouched"]["passed"] for r in results])),
                     "seeds": results})
    return {**summarise(rows, seeds), "method": method}


def summarise(rows: list[dict], seeds: int) -> dict:
    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows])) if rows else 0.0

    return {"seeds": seeds, "tolerance_mm": TOLERANCE_MM, "cases": rows, "overall_pass_rate": mean("pass_rate"),
            "prompt_pass_rate": mean("prompt_pass_rate"), "untouched_rate": mean("untouched_rate")}


def format_report(result: dict) -> str:
    lines = ["| case | base | edited | frames | region prompt pass | untouched exact | pass |",
             "|---|---|---|---|---|---|---|"]
    for r in result["cases"]:
        a, b = r["frames"]
        lines.append(f"| {r['case']} | {r['base']} | {r['selection']} | {a}:{b} | {100 * r['prompt_pass_rate']:.0f}% "
                     f"| {100 * r['untouched_rate']:.0f}% | {100 * r['pass_rate']:.0f}% |")
    lines.append(f"| **all** ({len(result['cases'])} cases x {result['seeds']} seeds) | | | | "
                 f"{100 * result['prompt_pass_rate']:.0f}% | {100 * result['untouched_rate']:.0f}% | "
                 f"**{100 * result['overall_pass_rate']:.0f}%** |")
    failing = [r for r in result["cases"] if r["pass_rate"] < 1.0]
    if failing:
        lines.append("\ncases not passing every seed (region value; ! = the action was already there before the "
                     "region or in the input; untouched max mm outside / kept joints inside):")
        for r in failing:
            seeds = []
            for s in r["seeds"]:
                flag = "!" if s["before_passes"] or s["input_region_passes"] else ""
                u = s["untouched"]
                seeds.append(f"{s['region_value']:g}{flag} {u['outside_max_mm']:g}/{u['kept_inside_max_mm']:g}")
            lines.append(f"  {100 * r['pass_rate']:3.0f}%  {r['case']}: \"{r['prompt']}\" ({r['measured']}): "
                         + "; ".join(seeds))
    return "\n".join(lines)


def write_json(result: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2))
