"""Small helpers shared by the spec-based family modules."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from .base import Ctx
from .controls import Controls, concat, to_world

SIDES = ("left", "right")


def base(ctx: Ctx, seconds: float) -> Controls:
    return ctx.neutral(ctx.frames(seconds))


def side_of(name: str) -> int:
    return 0 if name == "left" else 1


def pick_side(ctx: Ctx, p_right: float = 0.5) -> str:
    return "right" if ctx.rng.random() < p_right else "left"


def count(ctx: Ctx, lo: int, hi: int) -> int:
    return int(ctx.rng.integers(lo, hi + 1))


def dur(ctx: Ctx, lo: float, hi: float) -> float:
    """A duration in [lo, hi] s, stretched by the performer's tempo."""
    return float(ctx.rng.uniform(lo, hi)) / ctx.style.tempo


def chain(parts: list[tuple[Controls, np.ndarray, float]]) -> tuple[Controls, np.ndarray, float]:
    """Local-frame parts (controls, end position, end yaw) one after another; returns the whole and its end."""
    pos, yaw = np.zeros(2), 0.0
    out: Controls | None = None
    for c, end_pos, end_yaw in parts:
        w = to_world(c, pos, yaw)
        if out is None:
            out = w
        else:
            out = concat([out, Controls(**{f.name: getattr(w, f.name)[1:] for f in fields(Controls)})])
        pos = pos + _turn(end_pos, yaw)
        yaw += end_yaw
    assert out is not None
    return out, pos, yaw


def _turn(v: np.ndarray, yaw: float) -> np.ndarray:
    x, z = float(v[0]), float(v[1])
    return np.array([x * np.cos(yaw) + z * np.sin(yaw), -x * np.sin(yaw) + z * np.cos(yaw)])


def osc(t: np.ndarray, start: float, n: int, period: float) -> np.ndarray:
    """n smooth 0 -> 1 -> 0 bumps of `period` s from `start` (0 outside)."""
    u = np.clip((t - start) / period, 0, n)
    return np.where((t >= start) & (t <= start + n * period), 0.5 - 0.5 * np.cos(2 * np.pi * u), 0.0)
