"""The control benchmark's cases (training.eval.control_suite) ask for what their names say."""

from __future__ import annotations

import numpy as np

from backend.motion.constraints import path_from_points
from training.eval import control_suite as cs


def test_s_curves_are_walked_at_their_speed():
    for speed, curve in ((1.3, cs._s_curve(0.8, 4.0)), (2.8, cs._s_curve(1.2, 6.0))):
        points = cs._along(8.0, speed, curve)
        chords = np.linalg.norm(np.diff(points[:, 1:], axis=0), axis=1) / np.diff(points[:, 0])
        assert chords.max() <= speed * 1.001 and chords.min() > speed * 0.95
        assert path_from_points(points).max_speed() < speed * 1.15


def test_every_moving_case_keeps_to_a_plausible_speed():
    for case in cs.path_cases():
        assert path_from_points(case.points).max_speed() < 3.5, case.name


def _row(ctl_step: float, free_step: float, **extra) -> dict:
    return {"ctl_max_step_cm": ctl_step, "free_max_step_cm": free_step, "ctl_skate_cm_s": 0.1, "free_skate_cm_s": 0.2,
            "ctl_contact_fraction": 0.3, "free_contact_fraction": 0.5, "ctl_glide_cm_s": 80.0, "free_glide_cm_s": 60.0,
            "ctl_bone_std_cm": 0.0, "free_bone_std_cm": 0.0, "latency_ctl_s": 0.3, "latency_free_s": 0.2, **extra}


def test_summary_reports_the_largest_step_per_kind_with_the_keyframe_target():
    from training.eval.control_suite import format_report, summary

    paths = [_row(26.0, 27.0, pelvis_mean_cm=0.0, pelvis_max_cm=0.0)]
    keys = [_row(12.0, 20.0, key_mean_cm=0.0, key_max_cm=0.0), _row(18.0, 9.0, key_mean_cm=0.0, key_max_cm=0.0)]
    s = summary(paths, keys)
    assert s["max_step_cm"]["ctl"] == 26.0 and s["max_step_cm"]["free"] == 27.0
    assert s["max_step_cm"]["keyframes"] == {"ctl": 18.0, "free": 20.0}
    assert s["max_step_cm"]["paths"] == {"ctl": 26.0, "free": 27.0}
    text = format_report({"summary": s})
    assert "| largest joint step in one frame, keyframes (cm) | 18.0 | 20.0 | <= 25 |" in text
    assert "| largest joint step in one frame, paths (cm) | 26.0 | 27.0 | reference: unconstrained |" in text
    # feet skimming the floor show in the glide and contact rows, which the speed-gated skating cannot show
    assert "| feet on the ground (share of foot-joint frames in contact) | 0.30 | 0.50 | no lower |" in text
    assert "| foot glide on the ground, no speed gate (cm/s) | 80.0 | 60.0 | no worse |" in text


def test_keyframes_from_a_fast_clip_are_reported_apart():
    """Keys from a clip that itself moves a joint 36 cm in a frame (a pitch) ask for that speed; the summary gives
    the largest step over all keyframe cases and over those whose clip stays within the 25 cm target."""
    from training.eval.control_suite import format_report, summary

    keys = [_row(33.9, 20.0, key_mean_cm=0.0, key_max_cm=0.0, source_step_cm=36.3),
            _row(19.4, 14.0, key_mean_cm=0.0, key_max_cm=0.0, source_step_cm=12.9)]
    s = summary([], keys)
    assert s["max_step_cm"]["keyframes"] == {"ctl": 33.9, "free": 20.0}
    assert s["max_step_cm"]["keyframes_calm_source"] == {"ctl": 19.4, "free": 14.0}
    assert "| largest joint step in one frame, keyframes from clips whose own largest step is <= 25 cm (cm) | " \
           "19.4 | 14.0 | <= 25 |" in format_report({"summary": s})
    assert "keyframes_calm_source" not in summary([], keys[1:])["max_step_cm"]


def test_key_cases_know_how_fast_their_clip_moves():
    cases = cs.key_cases(clips=1)
    assert len(cases) == 3 and len({c.source_step_cm for c in cases}) == 1
    assert 0.0 < cases[0].source_step_cm < 100.0
