"""Controls -> joint positions (T, 22, 3): FK for the torso, two-bone IK for arms and legs.

Every joint is placed at a fixed bone length from its parent, so bone lengths are constant by
construction. The pelvis is lowered (smoothly) wherever a leg could not reach its ankle target, which
keeps planted feet exactly where they were put.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from .body import ANKLE, COLLAR, ELBOW, HIP, KNEE, LEG_REACH, REACH, SHOULDER, SIDE_SIGN, TOE, WRIST, Body
from .controls import Controls
from .curves import FPS
from .fastrot import axis_angle_to_quat, normalize, qfrom_yaw, qmul, qrot
from .ik import two_bone_ik

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
SPINE_SHARE = (0.3, 0.35, 0.35)  # how a whole-spine bend is spread over spine1, spine2, spine3
MIN_HAND_HEIGHT = 0.03
MAX_SWING_DROP = 0.05  # most the pelvis is lowered for a moving foot that is out of reach (m)


def _aa(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return axis_angle_to_quat(np.asarray(angle)[..., None] * axis)


def _ypr(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Yaw about Y, then pitch about X (+ forward), then roll about Z (+ toward the body's left)."""
    return qmul(qmul(_aa(_Y, yaw), _aa(_X, pitch)), _aa(_Z, -roll))


def _seg(parent_pos: np.ndarray, parent_rot: np.ndarray, offset: np.ndarray) -> np.ndarray:
    return parent_pos + qrot(parent_rot, np.broadcast_to(offset, parent_pos.shape))


def _reach_limit(c: Controls, body: Body, q_pelvis: np.ndarray) -> np.ndarray:
    """Pelvis heights (T,) after lowering it so both ankles are within reach of the hips."""
    want = c.root[:, 1].copy()
    deficit = np.zeros_like(want)
    max_len = LEG_REACH * body.leg - 1e-3
    for side in (0, 1):
        hip_off = qrot(q_pelvis, np.broadcast_to(body.offsets[HIP[side]], c.root.shape))
        dh = np.linalg.norm(c.root[:, [0, 2]] + hip_off[:, [0, 2]] - c.ankle[:, side, [0, 2]], axis=-1)
        vertical = np.sqrt(np.maximum(max_len**2 - dh**2, 0.0))
        limit = c.ankle[:, side, 1] + vertical - hip_off[:, 1]
        # A foot in the air may be pulled toward the hip instead; only a planted foot may pull the pelvis
        # down far.
        speed = np.zeros(len(want))
        speed[1:] = np.linalg.norm(np.diff(c.ankle[:, side], axis=0), axis=-1) * FPS
        speed[0] = speed[1] if len(speed) > 1 else 0.0
        need = want - limit
        need = np.where(speed > 0.1, np.minimum(need, MAX_SWING_DROP), need)
        deficit = np.maximum(deficit, need)
    deficit = np.maximum(deficit, 0.0)
    if np.any(deficit > 0):
        smooth = gaussian_filter1d(maximum_filter1d(deficit, size=7, mode="nearest"), 1.5, mode="nearest")
        deficit = np.maximum(smooth, deficit)
    return want - deficit


def render(c: Controls, body: Body) -> np.ndarray:
    """Joint positions (T, 22, 3) in metres for the given controls."""
    n = c.frames
    off = body.offsets
    j = np.zeros((n, 22, 3))
    q_pel = _ypr(c.yaw, c.pelvis[:, 0], c.pelvis[:, 1])
    root = c.root.copy()
    root[:, 1] = _reach_limit(c, body, q_pel)
    j[:, 0] = root

    # Spine, neck and head (FK).
    q = q_pel
    pos = root
    for share, joint in zip(SPINE_SHARE, (3, 6, 9), strict=True):
        pos = _seg(pos, q, off[joint])
        j[:, joint] = pos
        q = qmul(q, _ypr(share * c.spine[:, 2], share * c.spine[:, 0], share * c.spine[:, 1]))
    q_chest = q
    j[:, 12] = _seg(j[:, 9], q_chest, off[12])
    q_neck = qmul(q_chest, _ypr(c.head[:, 1], c.head[:, 0], np.zeros(n)))
    j[:, 15] = _seg(j[:, 12], q_neck, off[15])

    # Arms: collars lift a little when the arm is raised, then shoulder-elbow-wrist IK.
    for side in (0, 1):
        s = SIDE_SIGN[side]
        j[:, COLLAR[side]] = _seg(j[:, 9], q_chest, off[COLLAR[side]])
        rel = c.wrist[:, side] - body.shoulder_in_chest(side)
        elevation = np.arctan2(rel[:, 1], np.linalg.norm(rel[:, [0, 2]], axis=-1))
        shrug = 0.25 * np.clip(elevation + 0.3, 0.0, None)
        q_col = qmul(q_chest, _aa(_Z, s * shrug))
        j[:, SHOULDER[side]] = _seg(j[:, COLLAR[side]], q_col, off[SHOULDER[side]])
        target = j[:, 9] + qrot(q_chest, c.wrist[:, side])
        target[:, 1] = np.maximum(target[:, 1], MIN_HAND_HEIGHT)
        pole = qrot(q_chest, c.pole[:, side])
        j[:, ELBOW[side]], j[:, WRIST[side]] = two_bone_ik(
            j[:, SHOULDER[side]], target, body.upper_arm, body.forearm, pole, REACH
        )

    # Legs: hip from the pelvis, knee pointing over the foot, then the toe from the foot orientation.
    # Knees bend toward the pelvis's front (its full orientation, so a body rolling over or upside down
    # keeps its knees bending forward), with the feet's heading only while it agrees with that front.
    front = qrot(q_pel, np.broadcast_to(_Z, (n, 3)))
    up = qrot(q_pel, np.broadcast_to(_Y, (n, 3)))
    tilted = up[:, 1] < 0.978  # more than ~12 degrees from upright: a lying, rolling or upside-down body
    fwd_pelvis = np.where(tilted[:, None], front, qrot(qfrom_yaw(c.yaw), np.broadcast_to(_Z, (n, 3))))
    up = np.where(tilted[:, None], up, _Y)
    for side in (0, 1):
        j[:, HIP[side]] = _seg(root, q_pel, off[HIP[side]])
        q_foot = qmul(qfrom_yaw(c.foot_yaw[:, side]), _aa(_X, c.foot_pitch[:, side]))
        fwd_foot = qrot(qfrom_yaw(c.foot_yaw[:, side]), np.broadcast_to(_Z, (n, 3)))
        agree = np.clip(2.0 * np.sum(fwd_pelvis * fwd_foot, axis=-1, keepdims=True), 0.0, 1.0)
        pole = normalize(fwd_pelvis + agree * fwd_foot) + 0.3 * up
        j[:, KNEE[side]], j[:, ANKLE[side]] = two_bone_ik(
            j[:, HIP[side]], c.ankle[:, side], body.thigh, body.shin, pole, LEG_REACH
        )
        j[:, TOE[side]] = _seg(j[:, ANKLE[side]], q_foot, off[TOE[side]])
    return j
