"""Control channels of the procedural rig: what every action writes, frame by frame.

Angles in radians. World frame: Y up, the action's local frame faces +Z, +X is the body's left.
Arm targets and elbow poles live in the chest (spine3) frame relative to spine3; ankles are world
positions. Index 0 of a (.., 2, ..) axis is the left limb, 1 the right.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .body import Body, Style, hanging_wrist
from .fastrot import qfrom_yaw, qrot

# Default elbow pole: back, down and out, which keeps the forearm in front of the upper arm.
DEFAULT_POLE = np.array([0.5, -0.6, -0.6])


@dataclass
class Controls:
    root: np.ndarray  # (T, 3) pelvis position; y is the wanted height (lowered if a leg can't reach)
    yaw: np.ndarray  # (T,) pelvis heading; facing = (sin yaw, 0, cos yaw)
    pelvis: np.ndarray  # (T, 2) pelvis pitch (+ tilts forward), roll (+ leans to the body's left)
    spine: np.ndarray  # (T, 3) whole-spine pitch (+ bends forward), roll (+ left), twist (+ turns left)
    head: np.ndarray  # (T, 2) neck pitch (+ looks down), yaw (+ looks left)
    wrist: np.ndarray  # (T, 2, 3) wrist targets, chest frame
    pole: np.ndarray  # (T, 2, 3) elbow pole directions, chest frame
    ankle: np.ndarray  # (T, 2, 3) ankle targets, world
    foot_yaw: np.ndarray  # (T, 2)
    foot_pitch: np.ndarray  # (T, 2) + lifts the heel (toe points down)

    @property
    def frames(self) -> int:
        return len(self.yaw)

    def copy(self) -> Controls:
        return Controls(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def concat(parts: list[Controls]) -> Controls:
    return Controls(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts], axis=0) for f in fields(Controls)}
    )


def neutral(n: int, body: Body, style: Style) -> Controls:
    """Relaxed standing in the local frame: feet under the hips, arms hanging, facing +Z."""
    half = 0.5 * style.stance_width
    ankle = np.zeros((n, 2, 3))
    ankle[:, 0] = (half, body.ankle_height, 0.0)
    ankle[:, 1] = (-half, body.ankle_height, 0.0)
    root = np.zeros((n, 3))
    root[:, 1] = body.stand_height()
    root[:, 2] = 0.02
    wrist = np.stack([hanging_wrist(body, style, 0), hanging_wrist(body, style, 1)])
    pole = np.stack([DEFAULT_POLE * (1, 1, 1), DEFAULT_POLE * (-1, 1, 1)])
    return Controls(
        root=root,
        yaw=np.zeros(n),
        pelvis=np.zeros((n, 2)),
        spine=np.tile([style.lean, 0.0, 0.0], (n, 1)),
        head=np.tile([style.head_pitch, 0.0], (n, 1)),
        wrist=np.broadcast_to(wrist, (n, 2, 3)).copy(),
        pole=np.broadcast_to(pole, (n, 2, 3)).copy(),
        ankle=ankle,
        foot_yaw=np.tile([style.toe_out, -style.toe_out], (n, 1)),
        foot_pitch=np.zeros((n, 2)),
    )


def to_world(c: Controls, origin: np.ndarray, yaw0: float) -> Controls:
    """Place local-frame controls at world position origin (x, z) turned by yaw0."""
    q = qfrom_yaw(np.array(yaw0))
    out = c.copy()
    out.root = qrot(q, c.root)
    out.root[:, [0, 2]] += origin
    out.ankle = qrot(q, c.ankle)
    out.ankle[..., [0, 2]] += origin
    out.yaw = c.yaw + yaw0
    out.foot_yaw = c.foot_yaw + yaw0
    return out
