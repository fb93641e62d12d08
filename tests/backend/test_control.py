"""Control: text plus a root path and keyframes (backend.generate.control), from the library, the CLI and HTTP."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.cli.main import main
from backend.errors import MotionInputError
from backend.generate.loader import load_generator
from backend.motion.constraints import (
    Constraints,
    keyframes_from_arrays,
    load_keyframes,
    load_path,
    path_from_json,
    path_from_points,
)
from backend.motion.keyframe_fit import keyframe_errors
from backend.motion.paths import path_errors
from backend.motion.skeleton import SMPL22
from tests.fixtures.server import running_server

ARC = [[t, 3.0 - 3.0 * np.cos(1.3 * t / 3.0), 3.0 * np.sin(1.3 * t / 3.0)] for t in np.arange(0, 4.01, 0.5)]


@pytest.fixture(scope="module")
def gen():
    return load_generator(None, "cpu")


def _max_step(joints: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(joints, axis=0), axis=-1).max())


def _knee_turn(joints: np.ndarray) -> float:
    """Largest turn (degrees per frame) of a knee's bend direction (its offset from the hip-ankle line), over
    frames where both knees are bent by more than 2 cm."""
    names, joints = SMPL22.joint_names, np.asarray(joints, np.float64)
    worst = 0.0
    for s in "lr":
        hip, knee, ankle = (joints[:, names.index(f"{s}_{n}")] for n in ("hip", "knee", "ankle"))
        axis = (ankle - hip) / np.linalg.norm(ankle - hip, axis=-1, keepdims=True)
        bend = (knee - hip) - np.sum((knee - hip) * axis, -1, keepdims=True) * axis
        size = np.linalg.norm(bend, axis=-1)
        bent = (size[1:] > 0.02) & (size[:-1] > 0.02)
        cos = np.sum(bend[1:] * bend[:-1], -1) / np.maximum(size[1:] * size[:-1], 1e-12)
        if bent.any():
            worst = max(worst, float(np.degrees(np.arccos(np.clip(cos[bent], -1, 1))).max()))
    return worst


# ------------------------------------------------------------------------------------------- validation

@pytest.mark.parametrize("points, message", [
    ([[0, 0, 0], [1, 0, 1], [0.5, 0, 2]], "must increase"),
    ([[0, 0, 0], [1, float("nan"), 1]], "NaN"),
    ([[0, 0, 0], [1, 0, 11]], "too fast"),
    ([[0, 0], [1, 1]], "(N, 3)"),
    ([[0, 0, 0]], "2.."),
    ([[-1, 0, 0], [1, 0, 1]], ">= 0"),
])
def test_bad_paths_are_refused(points, message):
    with pytest.raises(MotionInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        path_from_points(points)


def test_path_beyond_the_motion_and_keyframes_outside_are_refused():
    path = path_from_points([[0, 0, 0], [5, 0, 6]])
    with pytest.raises(MotionInputError, match="beyond the motion"):
        Constraints(path=path).checked(80)
    assert Constraints(path=path).needed_frames() == 101
    keys = keyframes_from_arrays([10, 90], np.zeros((2, 22, 3)))
    with pytest.raises(MotionInputError, match="outside the motion"):
        Constraints(keyframes=keys).checked(80)


@pytest.mark.parametrize("frames, joints, mask, message", [
    ([1, 2], np.zeros((2, 21, 3)), None, "joints must be"),
    ([1, 2], np.zeros((2, 22, 3)), np.zeros((2, 22), bool), "selects no joint"),
    ([1, 2], np.zeros((2, 22, 3)), np.ones((2, 21), bool), "mask must be"),
    ([1, 1], np.zeros((2, 22, 3)), None, "repeat"),
    ([1.5, 2], np.zeros((2, 22, 3)), None, "whole frame"),
    ([-1, 2], np.zeros((2, 22, 3)), None, "before"),
    ([1, 2], np.full((2, 22, 3), np.nan), None, "NaN"),
])
def test_bad_keyframes_are_refused(frames, joints, mask, message):
    with pytest.raises(MotionInputError, match=message):
        keyframes_from_arrays(frames, joints, mask)


def test_files_and_json_forms(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"points": ARC}))
    np.save(tmp_path / "p.npy", np.stack([np.zeros(41), np.linspace(0, 4, 41)], 1))
    assert load_path(tmp_path / "p.json").end_time == pytest.approx(4.0)
    assert load_path(tmp_path / "p.npy").end_time == pytest.approx(2.0)
    assert path_from_json({"dense": [[0, 0], [0, 0.05]]}).end_time == pytest.approx(0.05)
    np.savez(tmp_path / "k.npz", frames=np.array([3]), joints=np.zeros((1, 22, 3)))
    assert load_keyframes(tmp_path / "k.npz").mask.all()
    with pytest.raises(MotionInputError, match="p.txt"):
        load_path(tmp_path / "p.txt")


def test_a_held_point_is_a_stop():
    path = path_from_points([[0, 0, 0], [1, 0, 1], [2, 0, 1], [3, 0, 2]])
    idx, xz = path.sample(61)
    stop = xz[(idx >= 20) & (idx <= 40)]
    assert np.allclose(stop, [0, 1], atol=1e-9)


# ------------------------------------------------------------------------------------------ generation

def test_path_is_followed_and_heading_turns_with_it(gen):
    path = path_from_points(ARC)
    free = gen.generate("a person walks forward", 4.2, 0)[0]
    m = gen.generate("a person walks forward", None, 0, constraints=Constraints(path=path))[0]
    err = path_errors(m.joints.astype(np.float64), path, 20.0)
    assert err.mean() < 0.05 and err.max() < 0.15
    assert len(m.joints) == len(m.features) >= 81
    # the body faces along the arc at its end (about 100 degrees to the left of +Z)
    across = m.joints[-1, 1] - m.joints[-1, 2]  # l_hip - r_hip: the body's left
    facing = np.degrees(np.arctan2(-across[2], across[0]))  # forward = up x left
    assert 60 < facing < 140
    for j in (free.joints, m.joints):
        lengths = np.linalg.norm(j[:, 1:] - j[:, [p for p in gen.skeleton.parents[1:]]], axis=-1)
        assert lengths.std(0).max() < 1e-4  # rigid either way
    assert m.meta["control"]["report"]["pelvis_max_mm"] < 150


def test_keyframes_are_met_without_a_seam(gen):
    donor = gen.generate("a person jumps", 4.0, 7)[0].joints.astype(np.float64)
    donor[..., [0, 2]] += [0.5, 0.3]  # somewhere the motion would not go by itself
    wrist = np.zeros((2, 22), bool)
    wrist[:, 21] = True
    # a seam would be a step beyond what the free motion does: the v2 model's jumps swing the wrists up to
    # ~38 cm per frame unconstrained (corpus jumps: median 26 cm, 90th percentile 43 cm), so the bound is
    # relative to the same prompt and seeds without constraints, and never below 25 cm
    free = gen.generate("a person jumps", 4.0, 1, samples=2)
    bound = max(0.25, 1.2 * max(_max_step(f.joints) for f in free))
    for keys in (keyframes_from_arrays([20, 50, 79], donor[[20, 50, 79]]),
                 keyframes_from_arrays([25, 60], donor[[25, 60]], wrist)):
        m = gen.generate("a person jumps", 4.0, 1, samples=2, constraints=Constraints(keyframes=keys))
        for motion in m:
            err = keyframe_errors(motion.joints.astype(np.float64), keys)
            assert err.mean() < 0.02
            assert _max_step(motion.joints) < bound


def test_controlled_motion_is_clean_and_cheap(gen):
    """Grounded feet do not skim the floor (over three seeds: one seed's contact frames are few), no joint jumps
    much further in a frame than in the free walk, and the
    transformers see at most twice the tokens an unconstrained motion needs (drafts on the first quantiser)."""
    from training.eval.prompt_suite import quality_of

    rows = {"n": 0}
    runtime = gen.runtime
    calls = {name: getattr(runtime, name) for name in ("mask_logits", "residual_logits")}

    def counted(fn):
        def run(ids, *args):
            rows["n"] += int(np.prod(ids.shape[:2]))
            return fn(ids, *args)
        return run

    path = Constraints(path=path_from_points(ARC))
    try:
        for name, fn in calls.items():
            setattr(runtime, name, counted(fn))
        free = gen.generate("a person walks forward", 4.2, 0)[0]
        free_rows, rows["n"] = rows["n"], 0
        m = gen.generate("a person walks forward", None, 0, constraints=path)[0]
        assert rows["n"] <= 2 * free_rows
    finally:
        for name, fn in calls.items():
            setattr(runtime, name, fn)
    # a path makes the walk keep the path's pace (1.3 m/s here), faster than the free walk: the catch-up steps of
    # the feet travel up to 0.25 m in a frame (the 25 cm bound is for keyframes; paths compare with free)
    assert _max_step(m.joints) < max(0.3, 1.25 * _max_step(free.joints))
    # and no knee swings across: its bend direction turned 160-170 degrees in a frame when the leg IK took the
    # motion's own knee as its plane hint after a step had moved the ankle (`knee_bend_hint`)
    assert _knee_turn(m.joints) < 45.0 and _knee_turn(free.joints) < 45.0
    frees = [quality_of(free.joints)] + [quality_of(gen.generate("a person walks forward", 4.2, s)[0].joints)
                                         for s in (1, 2)]
    ctls = [quality_of(m.joints)] + [quality_of(gen.generate("a person walks forward", None, s,
                                                             constraints=path)[0].joints) for s in (1, 2)]
    mean = {k: (np.mean([q[k] for q in frees]), np.mean([q[k] for q in ctls])) for k in ctls[0]}
    # the arc asks 1.3 m/s of a model that walks about 0.7 m/s: the feet take quicker steps than free (a gliding
    # body skimmed them along the floor at 1.1-1.4 m/s before feet carried by the pelvis were planted too; now
    # 50-70 cm/s against the free walks' 19-39, whose own glide varies with the CPU's draws)
    assert mean["glide_cm_s"][1] < min(2.5 * mean["glide_cm_s"][0], 90.0)
    assert mean["contact_fraction"][1] > 0.15


@pytest.mark.xfail(strict=True, reason="issue 19: on mogents-corpus-v2-side the path-controlled walk skates "
                   "0.7-1.0 cm/s in contact against the free walk's 0.25-0.5 (the previous default met it)")
def test_controlled_feet_slide_no_more_than_free_ones(gen):
    """Feet in contact slide no more in a path-controlled walk than in unconstrained ones (three seeds)."""
    from training.eval.prompt_suite import quality_of

    path = Constraints(path=path_from_points(ARC))
    free = [quality_of(gen.generate("a person walks forward", 4.2, s)[0].joints)["skate_cm_s"] for s in (0, 1, 2)]
    ctl = [quality_of(gen.generate("a person walks forward", None, s, constraints=path)[0].joints)["skate_cm_s"]
           for s in (0, 1, 2)]
    assert np.mean(ctl) <= np.mean(free) + 0.05


def test_plants_are_confirmed_where_the_correction_put_the_feet():
    """A foot the model planted but the correction slides (here 0.6 m/s) is not pinned by the clean-up: pinned
    at its mean it pulls the leg ahead of the hip until the knee flips."""
    from backend.generate.control import canonical_features, corrected_plants
    from backend.motion.cleanup import cleanup_inputs
    from backend.motion.skeleton import SMPL22
    from tests.fixtures.synthetic_motion import walking_joints

    standing = walking_joints(SMPL22, 60, speed=0.0, cadence=0.0)
    feats = canonical_features(standing, SMPL22)
    assert cleanup_inputs(feats)[1].all(axis=0).any()           # the model's channels: planted
    assert corrected_plants(feats, standing, SMPL22, 20.0).any()
    slid = standing.copy()
    slid[..., 2] += (np.arange(60) * 0.6 / 20.0)[:, None]
    assert not corrected_plants(feats, slid, SMPL22, 20.0).any()


def test_same_seed_same_controlled_motion(gen):
    c = Constraints(path=path_from_points(ARC))
    a = gen.generate("a person walks forward", None, 3, constraints=c)[0]
    b = gen.generate("a person walks forward", None, 3, constraints=c)[0]
    assert np.array_equal(a.joints, b.joints)


def test_edit_with_a_path(gen):
    base = gen.generate("a person walks forward", 4.0, 0)[0]
    path = path_from_points(ARC[:7])
    edited, _ = gen.edit(base, "a person walks forward", (40, 80), None, 0, constraints=Constraints(path=path))
    assert path_errors(edited.joints.astype(np.float64), path, 20.0).max() < 0.15


# ------------------------------------------------------------------------------------------------ CLI

def test_cli_path_and_keyframes(tmp_path, capsys):
    (tmp_path / "p.json").write_text(json.dumps({"points": ARC}))
    keys = np.zeros((1, 22, 3))
    mask = np.zeros((1, 22), bool)
    mask[0, 21] = True
    keys[0, 21] = [2.25, 1.25, 3.0]  # within reach of the right hand on the arc
    np.savez(tmp_path / "k.npz", frames=np.array([60]), joints=keys, mask=mask)
    out = tmp_path / "m.npz"
    assert main(["generate", "a person walks forward", "--path", str(tmp_path / "p.json"), "--keyframes",
                 str(tmp_path / "k.npz"), "--seed", "2", "--samples", "2", "--quiet", "-o", str(out)]) == 0
    for i in range(2):
        with np.load(tmp_path / f"m_{i}.npz") as z:
            j = z["joints"].astype(np.float64)
        assert np.linalg.norm(j[60, 21] - keys[0, 21]) < 0.03


@pytest.mark.parametrize("content, extra", [
    ({"points": [[0, 0, 0], [2, 0, 1], [1, 0, 2]]}, []),
    ({"points": [[0, 0, 0], [2, 0, 30]]}, []),
    ({"points": [[0, 0, 0], [6, 0, 3]]}, ["--seconds", "3"]),
])
def test_cli_bad_path_exits_2_and_writes_nothing(tmp_path, capsys, content, extra):
    (tmp_path / "p.json").write_text(json.dumps(content))
    out = tmp_path / "m.npz"
    assert main(["generate", "walk", "--path", str(tmp_path / "p.json"), "--quiet", "-o", str(out), *extra]) == 2
    assert not out.exists() and "error:" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------- HTTP

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), batch_window_s=0.02) as srv:
        yield srv


def test_http_generate_and_edit_with_control(server):
    client = server.client()
    mask = np.zeros((1, 22), bool)
    mask[0, 0] = True
    keys = {"frames": [40], "joints": np.tile([[1.0, 0.9, 2.0]], (1, 22, 1)), "mask": mask}
    out = client.generate("a person walks forward", seed=1, path={"points": ARC}, keyframes=keys)
    m = out["motions"][0]
    joints = np.asarray(m["joints"])
    assert np.linalg.norm(joints[40, 0] - [1.0, 0.9, 2.0]) < 0.03
    assert m["meta"]["control"]["report"]["key_mean_mm"] < 30
    edited = client.edit(m, "a person walks forward", frames=(20, 60), path={"points": ARC})
    path = path_from_points(ARC)
    assert path_errors(np.asarray(edited["motion"]["joints"], np.float64), path, 20.0).max() < 0.15
    schema = client.openapi()["components"]["schemas"]
    assert "path" in schema["GenerateRequest"]["properties"] and "keyframes" in schema["EditRequest"]["properties"]


@pytest.mark.parametrize("body, message", [
    ({"path": {"points": [[0, 0, 0], [1, 0, 20]]}}, "too fast"),
    ({"path": {"points": [[0, 0, 0], [1, 0, 1]]}, "seconds": 0.6}, "beyond the motion"),
    ({"keyframes": {"frames": [300], "joints": np.zeros((1, 22, 3)).tolist()}}, "longest motion"),
    ({"keyframes": {"frames": [3], "joints": np.zeros((1, 22, 3)).tolist(), "mask": [[False] * 22]}},
     "selects no joint"),
    ({"keyframes": {"frames": [3], "joints": np.zeros((1, 20, 3)).tolist()}}, "joints must be"),
])
def test_http_bad_control_is_400(server, body, message):
    from backend.client import ClientError

    with pytest.raises(ClientError) as err:
        server.client().request("POST", "/v1/generate", {"prompt": "walk", **body})
    assert err.value.status == 400 and message in err.value.message
