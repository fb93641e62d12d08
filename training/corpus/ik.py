"""Analytic two-bone IK (hip-knee-ankle, shoulder-elbow-wrist), vectorised over frames.

Both bone lengths are preserved exactly; a target out of reach is pulled back along the root-target
line to `reach` of the full length, so the middle joint always bends a little, toward the pole.
"""

from __future__ import annotations

import numpy as np

from .fastrot import normalize


def two_bone_ik(
    root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray, reach: float = 0.985
) -> tuple[np.ndarray, np.ndarray]:
    """Middle and end joint positions (..., 3) for a chain root -> mid -> end.

    pole: direction (..., 3) the middle joint should bend toward (only its part perpendicular to the
    root-target line matters).
    """
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    axis = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-3, reach * (l1 + l2))
    cos_a = np.clip((l1 * l1 + dist * dist - l2 * l2) / (2.0 * l1 * dist), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a * cos_a)
    perp = pole - np.sum(pole * axis, axis=-1, keepdims=True) * axis
    # Degenerate pole (parallel to the chain): any perpendicular will do, pick a stable one.
    bad = np.linalg.norm(perp, axis=-1, keepdims=True) < 1e-6
    if np.any(bad):
        fallback = np.cross(axis, np.array([1.0, 0.0, 0.0]))
        perp = np.where(bad, fallback, perp)
    perp = normalize(perp)
    mid = root + axis * (l1 * cos_a) + perp * (l1 * sin_a)
    end = root + axis * dist
    return mid, end
