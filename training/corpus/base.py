"""What an action family returns, and the per-clip context every family draws from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .body import Body, Style
from .controls import Controls, neutral
from .curves import FPS
from .styles import StyleMod


@dataclass
class Ctx:
    body: Body
    style: Style
    rng: np.random.Generator
    mod: StyleMod | None = None  # style / emotion modifier of the clip (changes posture, tempo, amplitude)

    @property
    def amp(self) -> float:
        """Amplitude scale of gestures and steps under the clip's modifier."""
        return 1.0 if self.mod is None else self.mod.amplitude

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
    slots: dict = field(default_factory=dict)  # caption slot values made from params (see spec.slots)
    parts: tuple[Action, Action] | None = None  # (lower, upper) when an upper-body action is layered

    @property
    def frames(self) -> int:
        return self.controls.frames
