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
