"""`mogents eval prompts`: does the generator do what a prompt says? A suite of prompts phrased the way
users type them, each with a programmatic check on the generated joints (training/eval/prompt_checks.py).

Groups: basic actions, paraphrases, compositions ("then"), counts, sides, directions, speeds, layered
actions (an upper-body action over a lower-body one) and the families corpus v2 adds. Each prompt is
generated with several seeds; a prompt's score is the share of seeds that pass, a group's the mean of
its prompts'. Beside the pass rates the report gives the motions' physical quality (bone-length spread,
foot skating in contact, penetration, jerk), and the same figures on real corpus clips when a corpus
folder is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import prompt_checks as c


@dataclass(frozen=True)
class SuitePrompt:
    group: str
    text: str
    check: c.Check
    seconds: float | None = None


def _p(group: str, text: str, check: c.Check, seconds: float | None = None) -> SuitePrompt:
    return SuitePrompt(group, text, check, seconds)


SUITE: list[SuitePrompt] = [
    # basic actions
    _p("basic", "a person walks forward", c.travel("forward", 1.5), 5.0),
    _p("basic", "a person runs forward", c.all_of(c.travel("forward", 3.0), c.speed(1.8)), 5.0),
    _p("basic", "a person jumps", c.jumps(min_count=1), 3.0),
    _p("basic", "a person sits down", c.pelvis_drop(0.3), 5.0),
    _p("basic", "a person waves with the right hand", c.wave("right"), 4.0),
    _p("basic", "a person raises both arms above the head", c.wrist_above_head("both"), 4.0),
    _p("basic", "a person kicks with the right leg", c.kick("right"), 3.0),
    _p("basic", "a person squats down", c.pelvis_drop(0.25), 4.0),
    _p("basic", "a person turns around", c.turn("any", 120), 4.0),
    _p("basic", "a person walks backward", c.travel("backward", 0.8), 5.0),
    _p("basic", "a person stands still", c.still(0.3), 4.0),
    _p("basic", "a person punches with the right fist", c.punch("right"), 3.0),
    # paraphrases of the basic actions
    _p("paraphrase", "someone strolls ahead", c.travel("forward", 1.2), 5.0),
    _p("paraphrase", "the man sprints", c.all_of(c.travel("any", 3.0), c.speed(2.0)), 4.0),
    _p("paraphrase", "she hops up and down", c.jumps(min_count=1), 3.0),
    _p("paraphrase", "a man takes a seat", c.pelvis_drop(0.3), 5.0),
    _p("paraphrase", "someone says hi with their right hand", c.wave("right"), 4.0),
    _p("paraphrase", "a person lifts their hands up high", c.wrist_above_head("both"), 4.0),
    _p("paraphrase", "the dancer crouches low", c.pelvis_drop(0.25), 4.0),
    _p("paraphrase", "a person does a 180 degree turn", c.turn("any", 120), 4.0),
    # compositions
    _p("composition", "a person walks forward, then sits down on the floor",
       c.in_sequence(c.travel("forward", 0.8), c.pelvis_low(0.45)), 8.0),
    _p("composition", "a person walks forward then turns right and runs",
       c.in_sequence(c.travel("forward", 0.6), c.turn("right", 45), c.speed(1.5)), 9.0),
    _p("composition", "a person jumps and then waves with the left hand",
       c.in_sequence(c.jumps(min_count=1), c.wave("left")), 6.0),
    _p("composition", "a person squats down and then stands up and walks forward",
       c.in_sequence(c.pelvis_drop(0.25), c.travel("forward", 0.6)), 8.0),
    _p("composition", "someone runs forward and then stops and raises both hands",
       c.in_sequence(c.speed(1.5), c.wrist_above_head("both")), 7.0),
    _p("composition", "a person walks to the left and then jumps",
       c.in_sequence(c.travel("left", 0.5), c.jumps(min_count=1)), 7.0),
    # counts
    _p("count", "a person jumps twice", c.jumps(count=2), 4.0),
    _p("count", "a person jumps three times", c.jumps(count=3), 5.0),
    _p("count", "someone jumps 2 times", c.jumps(count=2), 4.0),
    _p("count", "a person takes one jump forward", c.all_of(c.jumps(count=1), c.travel("forward", 0.3)), 3.0),
    _p("count", "a person jumps 4 times in place", c.all_of(c.jumps(count=4), c.still(0.6)), 6.0),
    # sides
    _p("side", "a person waves with the left hand", c.wave("left"), 4.0),
    _p("side", "a person raises the right hand above the head", c.wrist_above_head("right"), 4.0),
    _p("side", "a person raises the left arm up", c.wrist_above_head("left"), 4.0),
    _p("side", "a person kicks with the left leg", c.kick("left"), 3.0),
    _p("side", "a person lifts the left knee up", c.foot_lift("left", 0.2), 3.0),
    _p("side", "a person stands on the right leg", c.foot_lift("left", 0.15), 4.0),
    _p("side", "a person punches with the left hand", c.punch("left"), 3.0),
    # directions
    _p("direction", "a person turns left", c.turn("left", 45), 4.0),
    _p("direction", "a person turns to the right", c.turn("right", 45), 4.0),
    _p("direction", "a person walks in a circle clockwise", c.circle("clockwise"), 10.0),
    _p("direction", "a person walks in a circle counterclockwise", c.circle("counterclockwise"), 10.0),
    _p("direction", "a person steps to the left", c.travel("left", 0.3), 4.0),
    _p("direction", "someone sidesteps to the right", c.travel("right", 0.3), 4.0),
    _p("direction", "a person walks forward and turns left", c.all_of(c.travel("any", 1.0), c.turn("left", 45)),
       6.0),
    # speeds
    _p("speed", "a person walks slowly", c.speed(0.2, 1.0), 6.0),
    _p("speed", "a person walks quickly", c.speed(1.2, 2.6), 5.0),
    _p("speed", "a person jogs forward", c.all_of(c.speed(1.2), c.travel("forward", 2.0)), 5.0),
    _p("speed", "a person runs very fast", c.speed(2.4), 4.0),
    _p("speed", "a person walks slowly backwards", c.all_of(c.speed(0.1, 1.0), c.travel("backward", 0.4)), 6.0),
    # layered actions: an upper-body action over a lower-body one
    _p("layered", "a person waves with the right hand while walking", c.all_of(c.travel("any", 1.0),
                                                                               c.wave("right")), 6.0),
    _p("layered", "a person walks forward while raising both arms",
       c.all_of(c.travel("forward", 1.0), c.wrist_above_head("both")), 5.0),
    _p("layered", "someone claps while jogging", c.all_of(c.speed(1.2), c.hands_at_mouth(0.6)), 5.0),
    _p("layered", "a person punches with the right fist while stepping forward",
       c.all_of(c.travel("forward", 0.3), c.punch("right")), 4.0),
    _p("layered", "a person walks while looking at a phone", c.all_of(c.travel("any", 1.0),
                                                                      c.hands_at_mouth(0.45)), 6.0),
    # families of corpus v2
    _p("new", "a person picks up a box from the floor", c.hand_low(0.45), 5.0),
    _p("new", "a person climbs up the stairs", c.root_rise(0.3), 6.0),
    _p("new", "a person walks down the stairs", c.root_rise(0.3, down=True), 6.0),
    _p("new", "a person crawls forward on hands and knees",
       c.all_of(c.head_low(0.9, share=0.5), c.travel("forward", 0.5)), 6.0),
    _p("new", "a person throws a ball overhand with the right hand", c.wrist_above_head("right", 0.0), 4.0),
    _p("new", "a person drinks from a cup", c.hands_at_mouth(0.2), 4.0),
    _p("new", "a person does a cartwheel", c.wrist_above_head("either", -0.6), 4.0),
    _p("new", "a person lies down on the ground", c.head_low(0.5), 6.0),
    _p("new", "a person kneels down", c.pelvis_low(0.6), 5.0),
    _p("new", "a boxer throws a jab and a cross", c.all_of(c.punch("left", 0.3), c.punch("right", 0.3)), 4.0),
    _p("new", "a person swings a golf club", c.hand_low(0.9), 4.0),
    _p("new", "a person steps up onto a box", c.root_rise(0.15), 4.0),
]

GROUPS = ["basic", "paraphrase", "composition", "count", "side", "direction", "speed", "layered", "new"]


def quality_of(joints: np.ndarray) -> dict[str, float]:
    """Bone-length std (cm, mean over bones), foot skating in contact (cm/s), contact fraction, foot glide (cm/s),
    penetration (cm), jerk."""
    from backend.motion.quality import foot_glide, foot_skating, ground_penetration, jerk_stats
    from backend.motion.skeleton import SMPL22

    joints = np.asarray(joints, np.float64)
    parents = np.array(SMPL22.parents)
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, parents[1:]], axis=-1)
    skating = foot_skating(joints)
    return {"bone_std_cm": 100.0 * float(lengths.std(0).mean()),
            "skate_cm_s": skating["skate_speed_cm_s"],
            "contact_fraction": skating["contact_fraction"],
            "glide_cm_s": foot_glide(joints),
            "penetration_cm": ground_penetration(joints),
            "jerk_mean": jerk_stats(joints)["jerk_mean"]}


def corpus_quality(root: str | Path, split: str = "test", clips: int = 100) -> dict[str, float]:
    """The same quality figures on real clips of a HumanML3D-layout folder (its new_joints)."""
    root = Path(root)
    ids = [i for i in (root / f"{split}.txt").read_text().split() if not i.startswith("M")][:clips]
    rows = [quality_of(np.load(root / "new_joints" / f"{i}.npy")) for i in ids]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def run_suite(generate, seeds: int = 3, groups: list[str] | None = None, progress: bool = True) -> dict:
    """`generate(text, seconds, seed) -> joints (T, 22, 3)`; returns per-prompt, per-group and overall results."""
    from tqdm import tqdm

    prompts = [p for p in SUITE if groups is None or p.group in groups]
    rows, quality = [], []
    for p in tqdm(prompts, desc="prompts", unit="prompt", disable=not progress):
        results = []
        for seed in range(seeds):
            joints = generate(p.text, p.seconds, seed)
            results.append(p.check(joints))
            quality.append({"group": p.group, **quality_of(joints)})
        rows.append({"group": p.group, "prompt": p.text, "pass_rate": float(np.mean([r.passed for r in results])),
                     "values": [round(r.value, 3) for r in results], "measured": results[0].what})
    by_group = {}
    for g in GROUPS:
        sel = [r["pass_rate"] for r in rows if r["group"] == g]
        if sel:
            q = [x for x in quality if x["group"] == g]
            by_group[g] = {"prompts": len(sel), "pass_rate": float(np.mean(sel)),
                           **{k: float(np.mean([x[k] for x in q])) for k in q[0] if k != "group"}}
    overall = float(np.mean([r["pass_rate"] for r in rows]))
    return {"seeds": seeds, "prompts": rows, "groups": by_group, "overall_pass_rate": overall}


def format_report(result: dict, corpus: dict | None = None) -> str:
    lines = ["| group | prompts | pass rate | bone std (cm) | skate in contact (cm/s) | penetration (cm) | jerk |",
             "|---|---|---|---|---|---|---|"]
    for g, r in result["groups"].items():
        lines.append(f"| {g} | {r['prompts']} | {100 * r['pass_rate']:.0f}% | {r['bone_std_cm']:.2f} | "
                     f"{r['skate_cm_s']:.1f} | {r['penetration_cm']:.2f} | {r['jerk_mean']:.0f} |")
    lines.append(f"| **all** | {len(result['prompts'])} | **{100 * result['overall_pass_rate']:.0f}%** | | | | |")
    if corpus:
        lines.append(f"| corpus clips | | | {corpus['bone_std_cm']:.2f} | {corpus['skate_cm_s']:.1f} | "
                     f"{corpus['penetration_cm']:.2f} | {corpus['jerk_mean']:.0f} |")
    failing = [r for r in result["prompts"] if r["pass_rate"] < 1.0]
    if failing:
        lines.append("\nprompts not passing every seed:")
        for r in failing:
            lines.append(f"  {100 * r['pass_rate']:3.0f}%  [{r['group']}] {r['prompt']}"
                         f"  ({r['measured']}: {r['values']})")
    return "\n".join(lines)


def write_json(result: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2))
