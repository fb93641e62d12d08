"""The prompt suite's checks judge synthetic motions the way the words say, and the suite runs end to end."""

import numpy as np
import pytest

from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints
from training.eval import prompt_checks as c
from training.eval.prompt_suite import GROUPS, SUITE, format_report, run_suite

J = {n: i for i, n in enumerate(SMPL22.joint_names)}


def _walk(frames=100, turn_rate=0.0, speed=1.2):
    joints = walking_joints(SMPL22, frames, speed=speed, turn_rate=turn_rate)
    joints[..., 1] -= joints[..., 1].min()
    return joints


def _stand(frames=60):
    rest = SMPL22.rest_joints()
    return np.repeat(rest[None], frames, axis=0)


def test_travel_reads_forward_backward_and_sides():
    walk = _walk()
    assert c.travel("forward", 1.5)(walk).passed
    assert not c.travel("backward", 0.5)(walk).passed
    back = walk.copy()
    back[..., [0, 2]] *= -1  # turned half round: walks to -Z while facing -Z, which is still its forward
    assert c.travel("forward", 1.5)(back).passed
    sideways = _stand(60)
    sideways[..., 0] += np.linspace(0, 1.0, 60)[:, None]  # slides along +X while facing +Z: to its left
    assert c.travel("left", 0.8)(sideways).passed and not c.travel("right", 0.1)(sideways).passed
    assert c.still(0.3)(_stand()).passed and not c.still(0.3)(walk).passed


def test_turn_and_circle_directions():
    left = _walk(200, turn_rate=0.8)
    right = _walk(200, turn_rate=-0.8)
    assert c.turn("left", 45)(left).passed and not c.turn("right", 45)(left).passed
    assert c.turn("right", 45)(right).passed
    assert c.circle("counterclockwise")(_walk(300, turn_rate=0.8)).passed
    assert not c.circle("clockwise")(_walk(300, turn_rate=0.8)).passed


def test_arm_checks():
    stand = _stand()
    assert not c.wrist_above_head("right")(stand).passed
    up = stand.copy()
    up[20:40, J["r_wrist"], 1] = up[20:40, J["head"], 1] + 0.2
    assert c.wrist_above_head("right")(up).passed
    assert not c.wrist_above_head("left")(up).passed and not c.wrist_above_head("both")(up).passed
    waving = up.copy()
    left = np.array([1.0, 0.0])  # +X is the body's left
    sway = 0.15 * np.sin(np.linspace(0, 6 * np.pi, 20))
    waving[20:40, J["r_wrist"], 0] = stand[20:40, J["r_shoulder"], 0] + sway * left[0]
    assert c.wave("right")(waving).passed and not c.wave("right")(up).passed


def test_jump_count():
    stand = _stand(80)
    assert c.jumps(count=0)(stand).passed
    hop = stand.copy()
    for start in (10, 40):
        hop[start:start + 6, :, 1] += 0.2
    r = c.jumps(count=2)(hop)
    assert r.passed and r.value == 2
    assert not c.jumps(count=3)(hop).passed


def test_pelvis_drop_and_sequence():
    stand = _stand(80)
    sit = stand.copy()
    sit[40:, :, 1] -= np.linspace(0, 0.45, 40)[:, None] * (np.arange(22) != J["l_foot"])  # the body lowers
    assert c.pelvis_drop(0.3, hold_end=True)(sit).passed
    assert not c.pelvis_drop(0.3, hold_end=True)(stand).passed
    walk_then_stand = np.concatenate([_walk(60), _walk(60)[-1:].repeat(60, axis=0)])
    seq = c.in_sequence(c.travel("forward", 0.5), c.still(0.6))  # the windows overlap by 15%
    assert seq(walk_then_stand).passed
    assert not c.in_sequence(c.still(0.2), c.travel("forward", 0.5))(walk_then_stand).passed


def test_suite_covers_every_group_with_enough_prompts():
    assert len(SUITE) >= 60
    assert {p.group for p in SUITE} == set(GROUPS)
    assert sum(p.group == "basic" for p in SUITE) >= 10
    assert len({p.text for p in SUITE}) == len(SUITE)


def test_run_suite_reports_groups_and_failures():
    walk = _walk(100)

    def generate(text, seconds, seed):  # a "model" that always walks forward
        return walk

    result = run_suite(generate, seeds=2, groups=["basic"], progress=False)
    rows = {r["prompt"]: r for r in result["prompts"]}
    assert rows["a person walks forward"]["pass_rate"] == 1.0
    assert rows["a person sits down"]["pass_rate"] == 0.0
    assert 0 < result["overall_pass_rate"] < 1
    assert set(result["groups"]) == {"basic"} and result["groups"]["basic"]["bone_std_cm"] < 0.01
    text = format_report(result)
    assert "| basic |" in text and "a person sits down" in text


@pytest.mark.parametrize("group", GROUPS)
def test_every_check_runs_on_a_plain_walk(group):
    walk = _walk(120)
    for p in SUITE:
        if p.group == group:
            r = p.check(walk)
            assert isinstance(r.passed, bool) and np.isfinite(r.value) and r.what


CALIBRATION = {  # corpus family -> the suite's check for what its caption says, from the clip's parameters
    "walk": lambda p: c.travel("forward", 1.0),
    "run": lambda p: c.speed(1.8),
    "jump_up": lambda p: c.jumps(count=int(p["count"])),
    "sit_chair": lambda p: c.pelvis_drop(0.3),
    "sit_floor": lambda p: c.pelvis_low(0.45),
    "wave": lambda p: c.wave(p["side"]),
    "kick": lambda p: c.kick(p["side"]),
    "punch": lambda p: c.punch(p["side"]),
    "turn_in_place": lambda p: c.turn(p["side"], 45),
    "side_step": lambda p: c.travel(p["side"], 0.3),
    "walk_arc": lambda p: c.turn(p["side"], 45),
    "knee_raise": lambda p: c.foot_lift(p["side"], 0.2),
    "drink": lambda p: c.hands_at_mouth(0.2),
    "lie_down": lambda p: c.head_low(0.5),
    "kneel": lambda p: c.pelvis_low(0.6),
    "idle": lambda p: c.still(0.3),
}


@pytest.mark.parametrize("family", sorted(CALIBRATION))
def test_checks_pass_on_corpus_clips_of_the_family_they_test(family):
    """Calibration: real corpus clips, whose parameters are known, pass the check written for their words,
    so a failing generated motion fails because of the motion, not the check."""
    from backend.motion.features import features_to_joints, joints_to_features
    from training.corpus.compose import make_clip

    passed = []
    for seed in range(5):
        clip = make_clip(np.random.default_rng(seed), [family])
        joints = features_to_joints(joints_to_features(clip.joints)[0])
        passed.append(CALIBRATION[family](clip.actions[0].params)(joints).passed)
    assert np.mean(passed) >= 0.8, passed


def test_cli_eval_prompts_checks_clean_and_raw_output(tmp_path):
    """`mogents eval prompts` on the shipped model: the default checks the animation-ready joints (one rigid
    skeleton), `--raw` the model's own, so the two runs differ where the clean-up acts."""
    import json

    from backend.cli.main import main

    runs = {}
    for name, extra in (("clean", []), ("raw", ["--raw"])):
        out = tmp_path / f"{name}.json"
        assert main(["eval", "prompts", "--groups", "basic", "--seeds", "1", "--threads", "1", "--quiet",
                     "--json", str(out), *extra]) == 0
        runs[name] = json.loads(out.read_text())
    assert runs["clean"]["raw"] is False and runs["raw"]["raw"] is True
    clean, raw = runs["clean"]["groups"]["basic"], runs["raw"]["groups"]["basic"]
    assert clean["prompts"] == raw["prompts"] >= 10
    assert clean["bone_std_cm"] <= 0.05 < raw["bone_std_cm"]
