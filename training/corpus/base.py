"""What an action family returns, and the per-clip context every family draws from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .body import Body, Style
from .controls import Controls, neutral
from .curves import FPS


@dataclass
class Ctx:
    body: Body
    style: Style
    rng: np.random.Generator

    def frames(self, seconds: float) -> int:
        return int(round(seconds * FPS)) + 1

    def times(self, n: int) -> np.ndarray:
        return np.arange(n) / FPS

    def neutral(self, n: int) -> Controls:
        return neutral(n, self.body, self.style)

    def choice(self, options: list | tuple, p: list[float] | None = None):
        return options[int(self.rng.choice(len(options), p=p))]


@dataclass
class Action:
    """One performed action in its own local frame (starts at the origin facing +Z, neutral stance)."""

    family: str
    controls: Controls
    phrases: list[str]  # third-person verb phrases, all true of the motion
    params: dict = field(default_factory=dict)
    end_pos: np.ndarray = field(default_factory=lambda: np.zeros(2))  # stance centre at the end (x, z)
    end_yaw: float = 0.0

    @property
    def frames(self) -> int:
        return self.controls.frames
