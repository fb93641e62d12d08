"""Layering: an upper-body action (wave, phone call, carrying, clapping) over a lower-body one (walk, jog,
side-steps, turning).

Both are built in their own local frames from the same neutral stance. The lower action keeps the
pelvis, legs and feet (so its footprints and contacts stay exactly as planned); each arm the upper action
moves takes the upper action's wrist and elbow targets, blended in and out by how far that arm is from
hanging; an arm the upper action leaves alone keeps the gait's swing. Head and spine deviations add.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .base import Action, Ctx

USED_ARM_CM = 5.0  # an arm counts as used by the upper action when its wrist leaves the hang this far


def arms_used(a: Action) -> tuple[int, ...]:
    dev = np.linalg.norm(a.controls.wrist - a.controls.wrist[:1], axis=-1)  # (T, 2)
    return tuple(s for s in (0, 1) if dev[:, s].max() * 100 > USED_ARM_CM)


def overlay(ctx: Ctx, lower: Action, upper: Action) -> Action | None:
    """The layered action, or None when the upper action does not fit inside the lower one."""
    lo, up = lower.controls, upper.controls
    if up.frames > lo.frames:
        return None
    start = int(ctx.rng.integers(0, lo.frames - up.frames + 1))
    out = lo.copy()
    sl = slice(start, start + up.frames)
    for side in arms_used(upper):
        dev = np.linalg.norm(up.wrist[:, side] - up.wrist[0, side], axis=-1)
        w = np.clip(gaussian_filter1d(np.clip(dev / 0.05, 0, 1), 1.5, mode="nearest"), 0, 1)
        w[0] = w[-1] = 0.0
        w = w[:, None]
        out.wrist[sl, side] = out.wrist[sl, side] * (1 - w) + up.wrist[:, side] * w
        out.pole[sl, side] = out.pole[sl, side] * (1 - w) + up.pole[:, side] * w
    out.head[sl] += up.head - up.head[0]
    spine = up.spine - up.spine[0]
    out.spine[sl] += spine * np.array([0.3, 0.5, 0.5])
    params = {"lower": lower.params, "upper": upper.params, "upper_start": start / 20.0,
              "upper_end": (start + up.frames - 1) / 20.0}
    return Action(f"{lower.family}+{upper.family}", out, [], params, end_pos=lower.end_pos.copy(),
                  end_yaw=lower.end_yaw, parts=(lower, upper))
