"""Edits return the complete motion, merged once in the backend (backend/generate/finish.py): exact outside the
region (also when it is shorter than the blend ramps), continuous after a whole-body edit, honest reports,
and motions at other frame rates refused."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.generate.decoding import DecodeOptions
from backend.generate.generator import Generator
from backend.generate.motion import GeneratedMotion
from backend.motion.parts import resolve_selection
from backend.motion.skeleton import SMPL22
from tests.fixtures.tiny_generator import tiny_runtime

FAST = DecodeOptions(steps=3)


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(tiny_runtime())


@pytest.fixture(scope="module")
def walk(gen) -> GeneratedMotion:
    return gen.generate("a person walks forward", 4.0, seed=0, options=FAST)[0]


def pairwise(joints: np.ndarray) -> np.ndarray:
    """Distances between every pair of joints per frame: unchanged by any rigid move of the whole body."""
    return np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1)


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("frames", [(30, 33), (41, 42)])
def test_a_region_shorter_than_the_ramps_keeps_everything_outside_exact(gen, walk, frames, raw):
    src = walk if not raw else gen.generate("a person walks forward", 4.0, seed=0, options=FAST, raw=True)[0]
    edited, report = gen.edit(src, "a person jumps", frames, None, seed=1, options=FAST, raw=raw)
    a, b = frames
    assert edited.meta["edit"]["blend"] >= 4 > b - a
    assert np.array_equal(edited.features[:a], src.features[:a])
    assert np.array_equal(edited.features[b:], src.features[b:])
    np.testing.assert_array_equal(edited.joints[:a], src.joints[:a])
    # after a whole-body edit the rest is the input's, moved as a whole from where the edit ends
    np.testing.assert_allclose(pairwise(edited.joints[b:]), pairwise(src.joints[b:]), atol=2e-5)
    assert report.untouched_mpjpe_mm < 1e-3


def test_a_short_spatial_edit_keeps_the_rest_exact(gen, walk):
    arm = resolve_selection(SMPL22, parts=["right_arm"])
    edited, report = gen.edit(walk, "a person waves with the right hand", (50, 52), arm, seed=1, options=FAST)
    others = [j for j in range(22) if j not in arm]
    np.testing.assert_array_equal(edited.joints[:50], walk.joints[:50])
    np.testing.assert_array_equal(edited.joints[52:], walk.joints[52:])
    np.testing.assert_allclose(edited.joints[:, others], walk.joints[:, others], atol=1e-6)
    assert report.untouched_world_max_mm < 1e-3 and report.rest_moved_mm == 0.0


def test_a_whole_body_edit_continues_the_root_path(gen, walk):
    edited, report = gen.edit(walk, "a person jumps forward", (20, 50), None, seed=2, options=FAST)
    root = edited.joints[:, 0, [0, 2]].astype(np.float64)
    step = np.linalg.norm(np.diff(root, axis=0), axis=-1)
    # no jump at the region's borders bigger than the motion's own largest steps elsewhere
    inside_steps = step[20:49]
    assert step[[19, 49]].max() <= max(inside_steps.max(), step[:19].max(), step[50:].max()) + 1e-6
    moved = np.linalg.norm(edited.joints[-1, 0, [0, 2]] - walk.joints[-1, 0, [0, 2]]) * 1000
    assert report.rest_moved_mm == pytest.approx(
        np.linalg.norm((edited.joints[50:, 0] - walk.joints[50:, 0])[:, [0, 2]], axis=-1).max() * 1000, rel=1e-3)
    assert report.untouched_world_max_mm >= moved - 1e-3
    assert report.untouched_mpjpe_mm < 1e-3  # in the body frame the rest is untouched


def test_edit_report_is_plain_numbers(gen, walk):
    _, report = gen.edit(walk, "a person jumps", (20, 40), None, seed=1, options=FAST)
    data = report.to_dict()
    assert set(data) >= {"untouched_mpjpe_mm", "untouched_world_mm", "untouched_world_max_mm", "rest_moved_mm",
                         "rest_turned_deg", "border_jump_mm"}
    assert all(isinstance(v, float) for v in data.values())


@pytest.mark.parametrize("fps", [30.0, 12.5, 60.0])
def test_motions_at_other_frame_rates_are_refused(gen, walk, fps):
    other = GeneratedMotion(walk.features.copy(), walk.joints.copy(), fps, walk.prompt, walk.seed)
    before = other.features.copy()
    with pytest.raises(MotionInputError, match=f"{fps:g} fps"):
        gen.edit(other, "a person jumps", (10, 20), None, options=FAST)
    with pytest.raises(MotionInputError, match="fps"):
        gen.compose(["then the person sits down"], [2.0], options=FAST, start=other)
    assert np.array_equal(other.features, before)


def test_compose_delivers_clean_joints_and_raw_on_request(gen):
    clean = gen.compose(["a person walks", "then the person jumps"], [2.0, 2.0], seed=0, options=FAST)
    raw = gen.compose(["a person walks", "then the person jumps"], [2.0, 2.0], seed=0, options=FAST, raw=True)
    assert np.array_equal(clean.features, raw.features)
    lengths = np.linalg.norm(clean.joints[:, 1:] - clean.joints[:, list(SMPL22.parents[1:])], axis=-1)
    assert lengths.std(axis=0).max() < 1e-5 and clean.meta["raw"] is False and raw.meta["raw"] is True


@pytest.mark.parametrize("skeleton_name", ["smpl22", "kit21"])
def test_a_leg_edit_below_the_floor_raises_only_that_leg(skeleton_name):
    """The floor pass of a partial edit bends the edited leg (two-bone IK) instead of lifting the whole body,
    so every joint outside the edit stays exact and the bones keep their lengths (both skeletons, whose leg
    chains differ: KIT's hip bone sits below an extra pelvis joint)."""
    from backend.generate.finish import merge_edit
    from backend.motion.cleanup import rigid_fit
    from backend.motion.skeleton import KIT21

    sk = SMPL22 if skeleton_name == "smpl22" else KIT21
    n = sk.num_joints
    rest = np.zeros((n, 3))
    for j in range(1, n):
        rest[j] = rest[sk.parents[j]] + sk.rest_offsets[j]
    before = rigid_fit(sk, np.repeat(rest[None], 40, axis=0))  # the delivered input is rigid already
    before[..., 1] -= before[..., 1].min()  # feet on the floor
    after = before.copy()
    ankle, toe = sk.feet_left
    knee = sk.parents[ankle]
    # the leg part holding that foot (KIT's part names and feet_left disagree on which side is left)
    leg = next(sel for sel in (resolve_selection(sk, parts=[part]) for part in ("left_leg", "right_leg"))
               if {knee, ankle, toe} <= set(sel))
    sink = 0.06 * np.sin(np.linspace(0, np.pi, 40))  # the edited leg dips up to 6 cm into the floor
    after[:, [knee, ankle, toe], 1] -= sink[:, None]
    feats = np.zeros((40, 263 if sk is SMPL22 else 251))
    out = merge_edit(before, after, feats, feats, (5, 35), leg)
    others = [j for j in range(n) if j not in leg]
    np.testing.assert_allclose(out[:, others], before[:, others], atol=1e-9)  # exact up to rounding
    assert out[..., 1].min() >= -1e-9  # nothing below the floor
    assert (after[5:35, toe, 1] < -1e-3).any()  # the input did go below
    for j in leg:
        bone = np.linalg.norm(out[:, j] - out[:, sk.parents[j]], axis=-1)
        np.testing.assert_allclose(bone, bone[0], atol=1e-9)
