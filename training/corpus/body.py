"""Per-clip body: SMPL-22 rest offsets with small proportion changes, and the clip's movement style.

Bone lengths are fixed for a clip (every joint position is built from these offsets by FK or by
length-preserving two-bone IK), so they never vary within a clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.motion.skeleton import SMPL22

LEFT, RIGHT = 0, 1
SIDE_SIGN = (1.0, -1.0)  # +X is the body's left
HIP = (1, 2)
KNEE = (4, 5)
ANKLE = (7, 8)
TOE = (10, 11)
COLLAR = (13, 14)
SHOULDER = (16, 17)
ELBOW = (18, 19)
WRIST = (20, 21)
REACH = 0.985  # arms never straighten fully: keeps the elbow bend direction defined
LEG_REACH = 0.996  # legs nearly straighten (a standing knee bends ~10 degrees), still bending toward the pole


@dataclass(frozen=True)
class Body:
    offsets: np.ndarray  # (22, 3) rest offsets from the parent, metres

    @property
    def thigh(self) -> float:
        return float(np.linalg.norm(self.offsets[KNEE[0]]))

    @property
    def shin(self) -> float:
        return float(np.linalg.norm(self.offsets[ANKLE[0]]))

    @property
    def upper_arm(self) -> float:
        return float(np.linalg.norm(self.offsets[ELBOW[0]]))

    @property
    def forearm(self) -> float:
        return float(np.linalg.norm(self.offsets[WRIST[0]]))

    @property
    def leg(self) -> float:
        return self.thigh + self.shin

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm

    @property
    def ankle_height(self) -> float:
        """Height of the ankle above the floor when the foot is flat (toe joint on the floor)."""
        return float(-self.offsets[TOE[0], 1])

    @property
    def hip_drop(self) -> float:
        return float(-self.offsets[HIP[0], 1])

    def shoulder_in_chest(self, side: int) -> np.ndarray:
        """Shoulder joint relative to spine3 in the chest frame (rest)."""
        return self.offsets[COLLAR[side]] + self.offsets[SHOULDER[side]]

    def stand_height(self, bend: float = 0.995) -> float:
        """Pelvis height standing with the ankle under the hip and the leg at `bend` of its length."""
        return self.ankle_height + bend * self.leg + self.hip_drop

    def lengths(self) -> np.ndarray:
        return np.linalg.norm(self.offsets, axis=-1)


def sample_body(rng: np.random.Generator) -> Body:
    """Adult proportions: overall scale ~N(1, 0.035) and +-3% per segment group, left/right symmetric."""
    scale = float(np.clip(rng.normal(1.0, 0.035), 0.92, 1.08))
    groups = {
        "leg": (4, 7),
        "foot": (10,),
        "spine": (3, 6, 9, 12, 15),
        "arm": (18, 20),
        "shoulder": (13, 16),
        "hip": (1,),
    }
    factor = np.ones(22)
    for ids in groups.values():
        f = float(np.clip(rng.normal(1.0, 0.015), 0.96, 1.04))
        for j in ids:
            factor[j] = f
            mirror = SMPL22.mirror_index[j]
            factor[mirror] = f
    return Body(SMPL22.rest_offsets * (scale * factor)[:, None])


@dataclass(frozen=True)
class Style:
    """How this clip's performer moves; sampled once per clip."""

    stance_width: float  # ankle separation standing (m)
    toe_out: float  # rad, each foot
    lean: float  # habitual forward spine pitch (rad)
    head_pitch: float  # rad, + looks down
    arm_out: float  # lateral wrist offset of hanging arms (m)
    arm_fwd: float  # forward wrist offset of hanging arms (m)
    arm_ext: float  # fraction of arm length for hanging arms (elbow bend)
    tempo: float  # > 1 moves faster
    fidget: float  # amplitude scale of idle noise
    breath_period: float  # s
    arm_swing: float  # gain of arm swing in locomotion
    asym: float  # small left/right asymmetry in [-1, 1]


def sample_style(rng: np.random.Generator) -> Style:
    return Style(
        stance_width=float(rng.uniform(0.17, 0.27)),
        toe_out=float(np.radians(rng.uniform(3.0, 12.0))),
        lean=float(np.radians(rng.normal(2.0, 2.0))),
        head_pitch=float(np.radians(rng.normal(3.0, 4.0))),
        arm_out=float(rng.uniform(0.02, 0.08)),
        arm_fwd=float(rng.uniform(0.0, 0.07)),
        arm_ext=float(rng.uniform(0.93, 0.975)),
        tempo=float(np.clip(rng.normal(1.0, 0.08), 0.82, 1.2)),
        fidget=float(rng.uniform(0.5, 1.3)),
        breath_period=float(rng.uniform(3.0, 5.0)),
        arm_swing=float(rng.uniform(0.25, 0.45)),
        asym=float(rng.uniform(-1.0, 1.0)),
    )


def hanging_wrist(body: Body, style: Style, side: int) -> np.ndarray:
    """Relaxed arm: wrist target (chest frame, relative to spine3)."""
    s = SIDE_SIGN[side]
    sh = body.shoulder_in_chest(side)
    down = style.arm_ext * body.arm
    x = style.arm_out + 0.01 * style.asym * s
    z = style.arm_fwd
    y = -np.sqrt(max(down**2 - x**2 - z**2, 0.01))
    return sh + np.array([s * x, y, z])
