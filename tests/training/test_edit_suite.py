"""The edit suite's checks judge synthetic edits the way the prompt and the selection say; the suite runs end to
end on a stand-in generator and, briefly, on the shipped model through `mogents eval edits`."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from backend.motion.parts import resolve_selection
from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints
from training.eval import edit_suite as es

J = {n: i for i, n in enumerate(SMPL22.joint_names)}
CASES = {case.name: case for case in es.CASES}
RIGHT_ARM = resolve_selection(SMPL22, None, ["right_arm"])
ARMS = resolve_selection(SMPL22, None, ["arms"])
LEFT_LEG = resolve_selection(SMPL22, None, ["left_leg"])


def _stand(frames=140):
    """Standing with the arms hanging (the rest pose is a T-pose: wrists at shoulder height)."""
    rest = SMPL22.rest_joints().copy()
    for side in ("l", "r"):
        shoulder = rest[J[f"{side}_shoulder"]]
        rest[J[f"{side}_elbow"]] = shoulder + [0.0, -0.28, 0.0]
        rest[J[f"{side}_wrist"]] = shoulder + [0.0, -0.55, 0.0]
    rest[..., 1] -= rest[..., 1].min()
    return np.repeat(rest[None], frames, axis=0)


def _walk(frames=140):
    joints = walking_joints(SMPL22, frames)
    joints[..., 1] -= joints[..., 1].min()
    return joints


def _wave(joints, frames, side="r"):
    """The hand raised above the head and swung side to side over `frames`, the rest unchanged."""
    out = joints.copy()
    a, b = frames
    t = np.arange(b - a)
    out_x = -0.1 if side == "r" else 0.1  # +X is the body's left
    shoulder = out[a:b, J[f"{side}_shoulder"]]
    out[a:b, J[f"{side}_elbow"]] = shoulder + [out_x, 0.25, 0.0]
    out[a:b, J[f"{side}_wrist"]] = shoulder + np.stack([out_x + 0.15 * np.sin(t / 3.0), 0.5 + 0 * t, 0 * t], -1)
    return out


def test_suite_has_arm_and_leg_cases_over_locomotion_and_standing():
    assert 12 <= len(es.CASES) <= 16 and len(CASES) == len(es.CASES)
    legs = {"right_leg", "left_leg"}
    arm_cases = [x for x in es.CASES if not legs & set(x.parts)]
    leg_cases = [x for x in es.CASES if legs & set(x.parts)]
    assert {x.base for x in arm_cases} == set(es.BASES) and leg_cases
    assert any(x.base in ("walk", "jog") for x in leg_cases) and any(x.base in ("stand", "idle") for x in leg_cases)
    for case in es.CASES:
        assert case.base in es.BASES and 6.0 <= es.BASES[case.base].seconds <= 8.0
        assert 0 < case.frames[0] < case.frames[1] <= es.BASES[case.base].seconds * 20
        assert resolve_selection(SMPL22, list(case.joints) or None, list(case.parts) or None)


def test_wave_edit_passes_and_a_kept_arm_fails():
    case = CASES["walk-wave-right"]
    walk = _walk()
    waved = _wave(walk, case.frames)
    r = es.judge(case, walk, waved, RIGHT_ARM)
    assert r["passed"] and r["prompt_passed"] and r["untouched"]["passed"]
    assert r["untouched"]["outside_max_mm"] == 0 and r["untouched"]["kept_inside_max_mm"] == 0
    same = es.judge(case, walk, walk.copy(), RIGHT_ARM)
    assert not same["prompt_passed"] and same["untouched"]["passed"] and not same["passed"]


def test_an_action_already_there_before_the_region_does_not_count():
    case = CASES["stand-wave-left"]
    a, b = case.frames
    stand = _stand()
    left = _wave(stand, (0, len(stand)), "l")  # the left hand waves all along, not only over the region
    assert case.check(left[a:b]).passed and es.judge(case, stand, _wave(stand, case.frames, "l"),
                                                      resolve_selection(SMPL22, None, ["left_arm"]))["passed"]
    r = es.judge(case, left, left.copy(), resolve_selection(SMPL22, None, ["left_arm"]))
    assert r["region_check"] and r["before_passes"] and r["input_region_passes"] and not r["prompt_passed"]


def test_untouched_catches_changes_outside_the_region_and_on_unselected_joints():
    case = CASES["walk-wave-right"]
    a, b = case.frames
    walk = _walk()
    waved = _wave(walk, case.frames)
    leaked = waved.copy()
    leaked[b + 5, J["r_wrist"], 1] += 0.01  # 10 mm after the region
    r = es.judge(case, walk, leaked, RIGHT_ARM)
    assert r["prompt_passed"] and not r["untouched"]["passed"] and not r["passed"]
    assert r["untouched"]["outside_max_mm"] == pytest.approx(10.0, abs=1e-3)
    lifted = waved.copy()
    lifted[a:b, :, 1] += 0.0135  # the whole body raised inside the region: the legs moved in an arm edit
    lifted[a:b, RIGHT_ARM] = waved[a:b, RIGHT_ARM]
    r = es.judge(case, walk, lifted, RIGHT_ARM)
    assert r["untouched"]["outside_max_mm"] == 0 and r["untouched"]["kept_inside_max_mm"] == pytest.approx(13.5)
    assert not r["passed"]
    rounding = waved + np.float32(1e-4)  # float32 rounding stays within the tolerance
    assert es.judge(case, walk, rounding, RIGHT_ARM)["untouched"]["passed"]


def test_raise_both_needs_both_wrists_over_the_head():
    case = CASES["stand-raise-both"]
    a, b = case.frames
    stand = _stand()
    up = stand.copy()
    for side in ("l", "r"):
        up[a + 5:b - 5, J[f"{side}_wrist"], 1] = up[a + 5:b - 5, J["head"], 1] + 0.15
    assert es.judge(case, stand, up, ARMS)["passed"]
    one = up.copy()
    one[:, J["l_wrist"]] = stand[:, J["l_wrist"]]
    assert not es.judge(case, stand, one, ARMS)["prompt_passed"]


def test_punch_kick_and_knee_checks():
    stand = _stand()
    punch = CASES["idle-punch-left"]
    a, b = punch.frames
    thrown = stand.copy()
    thrown[a + 10:a + 20, J["l_wrist"]] = thrown[a + 10:a + 20, J["l_shoulder"]] + [0.0, 0.0, 0.5]  # +Z: in front
    assert punch.check(thrown[a:b]).passed and not punch.check(stand[a:b]).passed
    behind = stand.copy()
    behind[a + 10:a + 20, J["l_wrist"]] = behind[a + 10:a + 20, J["l_shoulder"]] + [0.0, 0.0, -0.5]
    assert not punch.check(behind[a:b]).passed

    kick = CASES["stand-kick-right"]
    a, b = kick.frames
    kicked = stand.copy()
    kicked[a + 10:a + 20, J["r_ankle"]] = kicked[a + 10:a + 20, 0] + [-0.09, -0.45, 0.55]
    assert kick.check(kicked[a:b]).passed
    wrong_leg = stand.copy()
    wrong_leg[a + 10:a + 20, J["l_ankle"]] = wrong_leg[a + 10:a + 20, 0] + [0.09, -0.45, 0.55]
    assert not kick.check(wrong_leg[a:b]).passed and not kick.check(stand[a:b]).passed

    knee = CASES["stand-knee-left"]
    a, b = knee.frames
    raised = stand.copy()
    raised[a + 10:a + 25, J["l_knee"], 1] += 0.35
    raised[a + 10:a + 25, J["l_ankle"], 1] += 0.3
    raised[a + 10:a + 25, J["l_foot"], 1] += 0.3
    r = es.judge(knee, stand, raised, LEFT_LEG)
    assert r["passed"]
    low = stand.copy()
    low[a + 10:a + 25, J["l_knee"], 1] += 0.05
    assert not es.judge(knee, stand, low, LEFT_LEG)["prompt_passed"]


def test_raised_share_and_knee_checks_on_their_own():
    stand = _stand(40)
    assert es.raised_share("right")(stand).value == 0.0
    up = stand.copy()
    up[:20, J["r_wrist"], 1] = up[:20, J["r_shoulder"], 1] + 0.1
    r = es.raised_share("right", share=0.5)(up)
    assert r.passed and r.value == pytest.approx(0.5)
    assert not es.raised_share("right", share=0.6)(up).passed and not es.raised_share("left")(up).passed
    assert not es.raised_share("right", "head", share=0.1)(up).passed  # above the shoulder, below the head
    knee = stand.copy()
    knee[10:12, J["r_knee"], 1] += 0.3  # two frames high: a twitch, not a held raise
    assert not es.knee_above_other("right")(knee).passed
    knee[12, J["r_knee"], 1] += 0.3  # three frames
    assert es.knee_above_other("right")(knee).passed and not es.knee_above_other("left")(knee).passed


# each case's action -> (corpus family, whether a clip with these parameters does what the case asks)
CALIBRATION = {
    "wave": ("wave", lambda p, side: p["side"] == side),
    "raise": ("raise_arms", lambda p, side: p["mode"] == "up" and p["side"] == side),
    "punch": ("punch", lambda p, side: p["side"] == side),
    "kick": ("kick", lambda p, side: p["side"] == side),
    "knee": ("knee_raise", lambda p, side: p["side"] == side),
    "lift": ("balance", lambda p, side: p["lifted"] == side),
}


def _corpus_joints(family, seed):
    from backend.motion.features import features_to_joints, joints_to_features
    from training.corpus.compose import make_clip

    clip = make_clip(np.random.default_rng(seed), [family])
    return features_to_joints(joints_to_features(clip.joints)[0]), clip.actions[0].params


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_check_passes_on_corpus_clips_of_its_action(name):
    """Calibration: corpus clips that do the case's action (same side) pass its check, so a failing edit fails
    because of the motion, not the check."""
    _, action, side = name.split("-")[:3]
    side = "right" if side == "right" or name.endswith("joints") else side
    family, applies = CALIBRATION[action]
    passed = []
    for seed in range(300):
        joints, params = _corpus_joints(family, seed)
        if applies(params, side):
            passed.append(CASES[name].check(joints).passed)
        if len(passed) == 5:
            break
    assert len(passed) == 5 and np.mean(passed) >= 0.8, passed


@pytest.mark.parametrize("base,family", [("walk", "walk"), ("jog", "jog"), ("stand", "idle"),
                                         ("idle", "look_around")])
def test_checks_fail_on_corpus_clips_of_the_base_motion(base, family):
    """A walk, a jog or standing does none of the edits' actions by itself."""
    clips = [_corpus_joints(family, seed)[0] for seed in range(3)]
    for case in es.CASES:
        if case.base == base:
            assert not any(case.check(j).passed for j in clips), case.name


@dataclass
class _Motion:
    joints: np.ndarray


@dataclass
class _Report:
    def to_dict(self):
        return {"untouched_mpjpe_mm": 0.0}


class _WavingGenerator:
    """Stands or walks; every edit raises and waves the right hand over its frames, and (with `leak`) also
    nudges a frame after the region."""

    skeleton = SMPL22

    def __init__(self, leak=False):
        self.leak = leak

    def generate(self, prompt, seconds, seed):
        frames = int(seconds * 20)
        return [_Motion(_walk(frames) if "walks" in prompt or "jogs" in prompt else _stand(frames))]

    def edit(self, motion, prompt, frames, joints, seed=0, method="auto"):
        out = _wave(motion.joints, frames)
        if self.leak:
            out[frames[1] + 2, 0, 0] += 0.05
        return _Motion(out), _Report()


def test_run_suite_reports_cases_rates_and_json(tmp_path):
    cases = [CASES["walk-wave-right"], CASES["idle-wave-right"], CASES["stand-kick-right"]]
    result = es.run_suite(_WavingGenerator(), seeds=2, cases=cases, progress=False)
    rows = {r["case"]: r for r in result["cases"]}
    assert rows["walk-wave-right"]["pass_rate"] == 1.0 and rows["idle-wave-right"]["pass_rate"] == 1.0
    assert rows["stand-kick-right"]["pass_rate"] == 0.0 and rows["stand-kick-right"]["untouched_rate"] == 0.0
    assert result["overall_pass_rate"] == pytest.approx(2 / 3)
    assert result["prompt_pass_rate"] == pytest.approx(2 / 3) and result["untouched_rate"] == pytest.approx(2 / 3)
    text = es.format_report(result)
    assert "| walk-wave-right | walk | right_arm | 20:70 | 100% | 100% | 100% |" in text
    assert "**67%**" in text and "stand-kick-right" in text.split("not passing")[1]
    es.write_json(result, tmp_path / "edits.json")
    saved = json.loads((tmp_path / "edits.json").read_text())
    assert saved["cases"][0]["seeds"][0]["untouched"]["passed"] and len(saved["cases"][0]["seeds"]) == 2
    leaky = es.run_suite(_WavingGenerator(leak=True), seeds=1, cases=cases[:1], progress=False)
    assert leaky["prompt_pass_rate"] == 1.0 and leaky["untouched_rate"] == 0.0 and leaky["overall_pass_rate"] == 0


def test_select_cases_names_unknown_ones():
    assert [x.name for x in es.select_cases(["stand-knee-left"])] == ["stand-knee-left"]
    assert es.select_cases(None) == es.CASES
    with pytest.raises(ValueError, match="unknown edit cases"):
        es.select_cases(["no-such-case"])


def test_eval_edits_command_on_the_shipped_model(tmp_path, capsys):
    """Smoke: two cases, one seed, the default model, through the command line (a few seconds on a CPU)."""
    from backend.cli.main import main

    out = tmp_path / "edits.json"
    code = main(["eval", "edits", "--cases", "walk-wave-right,stand-kick-right", "--seeds", "1", "--threads", "1",
                 "--quiet", "--json", str(out)])
    assert code == 0
    assert "| walk-wave-right | walk | right_arm | 20:70 |" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert [r["case"] for r in result["cases"]] == ["walk-wave-right", "stand-kick-right"]
    arm = result["cases"][0]["seeds"][0]
    assert arm["untouched"]["passed"] and arm["untouched"]["outside_max_mm"] <= es.TOLERANCE_MM  # backend guarantee
    assert arm["edit_report"]["untouched_world_max_mm"] <= es.TOLERANCE_MM
    assert main(["eval", "edits", "--cases", "nope", "--seeds", "1"]) == 2
    assert main(["eval", "edits", "--seeds", "0"]) == 2
