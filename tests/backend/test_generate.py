"""Decoding, generation, editing and composition invariants on a tiny untrained generator (torch runtime)."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.generate.decoding import DecodeOptions, decode_base, decode_residual
from backend.generate.generator import Generator, strip_then
from backend.generate.regions import feature_mask, joint_columns, paste, token_region
from backend.generate.sampling import sample_tokens, top_k_filter
from backend.motion.parts import resolve_selection
from backend.motion.skeleton import SMPL22
from tests.fixtures.tiny_generator import tiny_runtime

FAST = DecodeOptions(steps=4)


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(tiny_runtime())


def test_top_k_keeps_the_largest_fraction():
    logits = np.arange(100, dtype=np.float32)[None]
    kept = np.isfinite(top_k_filter(logits, 0.1))
    assert kept.sum() == 10 and kept[0, 90:].all()
    ids, probs = sample_tokens(logits, 1.0, 0.1, np.random.default_rng(0))
    assert ids[0] >= 90 and 0 < probs[0] <= 1


def test_decoding_fills_every_valid_position_and_pads_the_rest(gen):
    rt = gen.runtime
    text = rt.encode_text(["a person walks", "a person jumps"])
    lengths = np.array([5, 9])
    base = decode_base(rt, text, lengths, FAST, np.random.default_rng(0))
    assert base.shape == (2, 9, rt.info.columns)
    assert (base[0, 5:] == rt.info.pad_id).all()
    valid = base[1]
    assert ((valid >= 0) & (valid < rt.info.num_codes)).all()
    ids = decode_residual(rt, base, text, lengths, FAST, np.random.default_rng(0))
    assert ids.shape[-1] == rt.info.num_quantizers and (ids[1] >= 0).all()


def test_known_tokens_are_never_changed(gen):
    rt = gen.runtime
    text = rt.encode_text(["wave"])
    rng = np.random.default_rng(3)
    known = rng.integers(0, rt.info.num_codes, (1, 8, rt.info.columns, rt.info.num_quantizers))
    editable = np.zeros((1, 8, rt.info.columns), bool)
    editable[0, 2:5, 1] = True
    lengths = np.array([8])
    base = decode_base(rt, text, lengths, FAST, rng, known[..., 0], editable)
    ids = decode_residual(rt, base, text, lengths, FAST, rng, known, editable)
    assert np.array_equal(ids[~editable], known[~editable])


def test_same_seed_same_motion_and_seeds_differ(gen):
    a = gen.generate("a person walks forward", 2.0, seed=7, options=FAST)[0]
    b = gen.generate("a person walks forward", 2.0, seed=7, options=FAST)[0]
    c = gen.generate("a person walks forward", 2.0, seed=8, options=FAST)[0]
    assert np.array_equal(a.joints, b.joints)
    assert not np.array_equal(a.joints, c.joints)
    assert a.joints.shape == (40, 22, 3) and a.features.shape == (40, 263)


def test_samples_and_estimated_lengths(gen):
    motions = gen.generate("a person jumps", None, seed=1, samples=3, options=FAST)
    assert len(motions) == 3
    for m in motions:
        assert 0.5 <= m.seconds <= 9.8 and np.isfinite(m.joints).all()


@pytest.mark.parametrize("prompt,seconds,samples", [("", 2.0, 1), ("   ", 2.0, 1), ("walk", 0.2, 1), ("walk", 11, 1),
                                                    ("walk", float("nan"), 1), ("walk", 2.0, 0), ("x" * 600, 2, 1)])
def test_bad_generation_requests(gen, prompt, seconds, samples):
    with pytest.raises(MotionInputError):
        gen.generate(prompt, seconds, samples=samples, options=FAST)


def test_part_columns_follow_the_body():
    rt = tiny_runtime()
    cols, aux = joint_columns(rt.info, 22)
    assert not aux and rt.info.columns == 6
    right_arm = resolve_selection(SMPL22, parts=["right_arm"])
    assert len({int(cols[j]) for j in right_arm}) == 1  # a limb is one token column
    region = token_region(rt.info, (8, 24), right_arm, 22, 10)
    assert region.sum() == 4 and region[2:6].any(axis=0).sum() == 1
    aux_rt = tiny_runtime(root_stream="aux")
    assert aux_rt.info.columns == 7 and joint_columns(aux_rt.info, 22)[1]


def test_paste_keeps_everything_outside_and_meets_the_borders():
    rng = np.random.default_rng(0)
    orig = rng.normal(size=(40, 263)).astype(np.float32)
    gen_ = rng.normal(size=(40, 263)).astype(np.float32)
    dims = feature_mask(22, resolve_selection(SMPL22, parts=["left_arm"]))
    out = paste(orig, gen_, (10, 30), dims)
    assert np.array_equal(out[:10], orig[:10]) and np.array_equal(out[30:], orig[30:])
    assert np.array_equal(out[:, ~dims], orig[:, ~dims])
    assert np.allclose(out[10, dims], orig[10, dims]) and np.allclose(out[29, dims], orig[29, dims])
    assert not np.allclose(out[20, dims], orig[20, dims])


def test_edit_report_finds_a_seam_inside_the_blend_ramps():
    """paste pins frames a and b-1 to the input, so a seam is a large step inside the ramps, not at a or b."""
    from backend.generate.generator import edit_report
    from backend.motion.features import joints_to_features
    from tests.fixtures.synthetic_motion import walking_joints

    before = joints_to_features(walking_joints(SMPL22, 61))[0].astype(np.float32)
    same = edit_report(before, before, (20, 40), list(range(22)))
    assert same.untouched_mpjpe_mm == 0.0 and same.border_jump_mm == pytest.approx(same.input_border_step_mm)
    shifted = before.copy()
    shifted[:, 4:67:3] += 1.0  # every joint 1 m to the side of where the input has it
    after = paste(before, shifted, (20, 40), np.ones(263, bool), blend=4)
    report = edit_report(before, after, (20, 40), list(range(22)), blend=4)
    assert report.untouched_mpjpe_mm < 1e-3
    # 1 m spread over a 4-frame ramp: ~250 mm steps on top of the walk's own (feet: ~110 mm)
    assert report.border_jump_mm > report.input_border_step_mm + 100
    assert 0 < report.input_border_step_mm < 200 and report.typical_step_mm > 0


def test_auto_blend_eases_a_large_gap_in_over_more_frames():
    from backend.generate.generator import MAX_BLEND, MIN_BLEND, auto_blend, edit_report
    from backend.motion.features import joints_to_features
    from tests.fixtures.synthetic_motion import walking_joints

    before = joints_to_features(walking_joints(SMPL22, 121))[0].astype(np.float32)
    everyone, region = list(range(22)), (10, 100)
    assert auto_blend(before, before, region, everyone) == MIN_BLEND  # no gap: the shortest ramp
    shifted = before.copy()
    shifted[:, 4:67:3] += 1.0
    blend = auto_blend(before, shifted, region, everyone)
    assert MIN_BLEND < blend <= MAX_BLEND
    assert auto_blend(before, shifted, (10, 25), everyone) == 5  # capped at a third of a 15-frame region
    assert auto_blend(before, shifted, (0, 121), everyone) == MIN_BLEND  # nothing kept: nothing to join
    seams = {n: edit_report(before, paste(before, shifted, region, np.ones(263, bool), n), region, everyone,
                            n).border_jump_mm for n in (MIN_BLEND, blend)}
    assert seams[blend] < 0.6 * seams[MIN_BLEND]


def test_spatial_edit_keeps_untouched_joints(gen):
    src = gen.generate("a person walks", 3.0, seed=0, options=FAST)[0]
    arm = resolve_selection(SMPL22, parts=["right_arm"])
    edited, report = gen.edit(src, "a person waves with the right hand", (8, 40), arm, seed=1, options=FAST)
    others = [j for j in range(22) if j not in arm]
    rel = lambda j: j - j[:, :1]  # noqa: E731
    assert np.abs(rel(edited.joints)[:, others] - rel(src.joints)[:, others]).max() < 1e-4
    assert report.untouched_mpjpe_mm < 0.1
    assert not np.allclose(edited.joints[20:30, arm], src.joints[20:30, arm])
    assert np.isfinite(report.border_jump_mm)


def test_temporal_edit_keeps_frames_outside(gen):
    src = gen.generate("a person walks", 4.0, seed=0, options=FAST)[0]
    edited, report = gen.edit(src, "a person jumps", (20, 44), None, seed=2, options=FAST)
    assert np.array_equal(edited.features[:20], src.features[:20])
    assert np.array_equal(edited.features[44:], src.features[44:])
    assert report.untouched_mpjpe_mm < 0.1
    assert 4 <= edited.meta["edit"]["blend"] <= 8  # auto ramp: at most a third of the 24 edited frames


@pytest.mark.parametrize("frames", [(30, 10), (-1, 5), (0, 500)])
def test_bad_edit_ranges(gen, frames):
    src = gen.generate("a person walks", 2.0, seed=0, options=FAST)[0]
    with pytest.raises(MotionInputError):
        gen.edit(src, "jump", frames, options=FAST)


def test_edit_rejects_nan_motion(gen):
    src = gen.generate("a person walks", 2.0, seed=0, options=FAST)[0]
    src.features[3, 5] = np.nan
    with pytest.raises(MotionInputError, match="NaN"):
        gen.edit(src, "jump", (0, 8), options=FAST)


def test_unknown_joint_and_part_names():
    with pytest.raises(MotionInputError, match="unknown joint"):
        resolve_selection(SMPL22, joints=["tail"])
    with pytest.raises(MotionInputError, match="unknown body part"):
        resolve_selection(SMPL22, parts=["wings"])


def test_completion_and_composition_keep_the_earlier_motion(gen):
    first = gen.generate("a person walks forward", 2.0, seed=0, options=FAST)[0]
    longer = gen.complete(first, "a person sits down", 1.6, seed=1, options=FAST)
    assert len(longer.features) == len(first.features) + 32
    assert np.array_equal(longer.features[:len(first.features)], first.features)
    composed = gen.compose(["walk forward", "then sit down", "then wave"], [2.0, 1.6, 1.2], seed=0, options=FAST)
    assert composed.meta["segments"] == ["walk forward", "sit down", "wave"]
    assert len(composed.features) == 40 + 32 + 24
    assert strip_then("And then, jump") == "jump"
