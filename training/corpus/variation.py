"""Natural variation added over a whole clip: breathing, slow postural sway and small noise.

Only the pelvis, spine, head and arm targets are touched; planted feet stay where they are and the
legs absorb the pelvis sway through IK.
"""

from __future__ import annotations

import numpy as np

from .body import Style
from .controls import Controls
from .curves import FPS, smooth_noise


def add_life(c: Controls, style: Style, rng: np.random.Generator) -> None:
    n = c.frames
    t = np.arange(n) / FPS
    f = style.fidget
    breath = np.sin(2 * np.pi * t / style.breath_period + rng.uniform(0, 2 * np.pi))
    c.spine[:, 0] += 0.012 * breath
    c.root[:, 1] += 0.002 * breath
    noise = smooth_noise(rng, n, 7, 0.05, 0.5)
    c.spine[:, 0] += 0.012 * f * noise[:, 0]
    c.spine[:, 1] += 0.01 * f * noise[:, 1]
    c.spine[:, 2] += 0.02 * f * noise[:, 2]
    c.head[:, 0] += 0.035 * f * noise[:, 3]
    c.head[:, 1] += 0.06 * f * noise[:, 4]
    c.root[:, 0] += 0.005 * f * noise[:, 5]
    c.root[:, 2] += 0.005 * f * noise[:, 6]
    # the heading wanders a little (people rarely face exactly one way); the feet stay planted
    c.yaw += 0.06 * f * smooth_noise(rng, n, 1, 0.1, 0.8)[:, 0]
    hands = smooth_noise(rng, n, 6, 0.1, 0.7).reshape(n, 2, 3)
    c.wrist += 0.01 * f * hands
