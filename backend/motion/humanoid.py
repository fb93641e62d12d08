"""Turn a humanoid rig's joint trajectories into SMPL-22 joints: units, up axis, missing joints.

Pipeline for a BVH (`bvh_to_smpl22`): forward kinematics -> name mapping (`bvh_names`) -> pick the
mapped joints -> detect units (metres / centimetres / millimetres, otherwise scale to 1.75 m) and the
up axis (rotate to Y up, keeping right-handedness) -> derive the SMPL joints the rig lacks from the
ones it has, with SMPL rest-pose proportions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MotionInputError
from .bvh import BVHData
from .bvh_names import JointMapping, resolve_joints
from .rotations import normalize
from .skeleton import SMPL22

J = {name: i for i, name in enumerate(SMPL22.joint_names)}
NOMINAL_HEIGHT = 1.75  # metres, used when the units cannot be recognised

# Proper rotations taking each signed axis to +Y (so the data ends up Y-up, handedness kept).
_TO_Y_UP = {
    "+y": np.eye(3),
    "-y": np.diag([1.0, -1.0, -1.0]),
    "+z": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
    "-z": np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]),
    "+x": np.array([[0, -1.0, 0], [1.0, 0, 0], [0, 0, 1.0]]),
    "-x": np.array([[0, 1.0, 0], [-1.0, 0, 0], [0, 0, 1.0]]),
}


_REST = SMPL22.rest_joints(root_height=0.0)  # rest pose with the pelvis at the origin


def _spine_fractions() -> dict[int, float]:
    """Where spine1..3 sit along pelvis -> neck in the SMPL rest pose (by path length)."""
    chain = [J["pelvis"], J["spine1"], J["spine2"], J["spine3"], J["neck"]]
    steps = np.linalg.norm(np.diff(_REST[chain], axis=0), axis=-1)
    cum = np.cumsum(steps) / steps.sum()
    return {J["spine1"]: cum[0], J["spine2"]: cum[1], J["spine3"]: cum[2]}


def _collar_weights() -> tuple[float, float]:
    """a, b with collar ~ spine3 + a (shoulder - spine3) + b (neck - spine3) in the SMPL rest pose."""
    s3 = _REST[J["spine3"]]
    basis = np.stack([_REST[J["l_shoulder"]] - s3, _REST[J["neck"]] - s3], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, _REST[J["l_collar"]] - s3, rcond=None)
    return float(a), float(b)


SPINE_FRACTION = _spine_fractions()
COLLAR_WEIGHTS = _collar_weights()
_NECK_FROM_SHOULDERS = 0.4  # neck ~ shoulder midpoint + 0.4 (head - shoulder midpoint)
_HEAD_RATIO = float(np.linalg.norm(SMPL22.rest_offsets[J["head"]]) / np.linalg.norm(SMPL22.rest_offsets[J["neck"]]))
_SHIN = float(np.linalg.norm(SMPL22.rest_offsets[J["l_ankle"]]))


@dataclass
class HumanoidMotion:
    joints: np.ndarray        # (T, 22, 3) Y up, metres, SMPL order
    fps: float
    mapping: JointMapping
    up_axis: str              # e.g. "+y", "+z" as found in the file
    scale: float              # file units -> metres
    units: str                # "m", "cm", "mm" or "unknown (scaled to 1.75 m)"
    derived: list[str]        # SMPL joints that the rig did not provide


def pick_mapped(world: np.ndarray, mapping: JointMapping) -> tuple[np.ndarray, np.ndarray]:
    """(T, 22, 3) with the mapped rig joints filled (NaN elsewhere) and the (22,) mask of mapped joints."""
    out = np.full((world.shape[0], 22, 3), np.nan)
    mask = np.zeros(22, dtype=bool)
    for smpl, rig in mapping.joint_of.items():
        out[:, smpl] = world[:, rig]
        mask[smpl] = True
    return out, mask


def _top(joints: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    top = J["neck"] if mask[J["neck"]] else J["head"]
    return joints[:, top], top


def detect_up_axis(joints: np.ndarray, mask: np.ndarray) -> str:
    """Signed axis ('+y', '+z', ...) along which the body mostly extends from feet to head."""
    top, _ = _top(joints, mask)
    feet = 0.5 * (joints[:, J["l_ankle"]] + joints[:, J["r_ankle"]])
    v = np.mean(normalize(top - feet), axis=0)
    k = int(np.argmax(np.abs(v)))
    return ("+" if v[k] >= 0 else "-") + "xyz"[k]


def estimate_height(joints: np.ndarray, mask: np.ndarray) -> float:
    """Standing height in the data's units from bone lengths (pose independent), median over frames."""
    def length(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)

    leg = 0.5 * (length(J["l_hip"], J["l_knee"]) + length(J["l_knee"], J["l_ankle"])
                 + length(J["r_hip"], J["r_knee"]) + length(J["r_knee"], J["r_ankle"]))
    top_pos, top = _top(joints, mask)
    torso = np.linalg.norm(top_pos - joints[:, J["pelvis"]], axis=-1)
    rest_leg = np.linalg.norm(_REST[J["l_hip"]] - _REST[J["l_knee"]]) + _SHIN
    rest_body = rest_leg + np.linalg.norm(_REST[top] - _REST[J["pelvis"]])
    return float(np.median(leg + torso) * NOMINAL_HEIGHT / rest_body)


def unit_scale(height: float) -> tuple[float, str]:
    """Factor to metres from the body height in file units: m, cm and mm are recognised."""
    for lo, hi, scale, label in ((0.5, 3.0, 1.0, "m"), (50.0, 300.0, 0.01, "cm"), (500.0, 3000.0, 0.001, "mm")):
        if lo <= height <= hi:
            return scale, label
    if height <= 0 or not np.isfinite(height):
        raise MotionInputError("the skeleton has zero size")
    return NOMINAL_HEIGHT / height, f"unknown (scaled to {NOMINAL_HEIGHT} m)"


def fill_missing(joints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Derive unmapped SMPL joints (Y up) from mapped ones; the required joints must be present."""
    out = joints.copy()
    have = mask.copy()
    if not have[J["neck"]]:
        mid = 0.5 * (out[:, J["l_shoulder"]] + out[:, J["r_shoulder"]])
        out[:, J["neck"]] = mid + _NECK_FROM_SHOULDERS * (out[:, J["head"]] - mid)
        have[J["neck"]] = True
    # spine: interpolate along the polyline pelvis -> known spine joints -> neck, by SMPL fractions
    anchors = [(0.0, J["pelvis"])] + [(SPINE_FRACTION[j], j) for j in SPINE_FRACTION if have[j]]
    anchors.append((1.0, J["neck"]))
    for j, f in SPINE_FRACTION.items():
        if have[j]:
            continue
        (f0, a), (f1, b) = next((lo, hi) for lo, hi in zip(anchors[:-1], anchors[1:], strict=True)
                                if lo[0] <= f <= hi[0])
        w = (f - f0) / max(f1 - f0, 1e-9)
        out[:, j] = (1 - w) * out[:, a] + w * out[:, b]
    have[list(SPINE_FRACTION)] = True
    if not have[J["head"]]:
        out[:, J["head"]] = out[:, J["neck"]] + _HEAD_RATIO * (out[:, J["neck"]] - out[:, J["spine3"]])
    a, b = COLLAR_WEIGHTS
    s3, neck = out[:, J["spine3"]], out[:, J["neck"]]
    for collar, shoulder in (("l_collar", "l_shoulder"), ("r_collar", "r_shoulder")):
        if not have[J[collar]]:
            out[:, J[collar]] = s3 + a * (out[:, J[shoulder]] - s3) + b * (neck - s3)
    _fill_feet(out, have)
    return out


def _fill_feet(out: np.ndarray, have: np.ndarray) -> None:
    """Toe-base joints from the ankle: SMPL's rest foot offset in the body's (left, up, forward) frame."""
    if have[J["l_foot"]] and have[J["r_foot"]]:
        return
    up = np.array([0.0, 1.0, 0.0])
    left = out[:, J["l_hip"]] - out[:, J["r_hip"]]
    left = normalize(left - np.sum(left * up, axis=-1, keepdims=True) * up)
    forward = np.cross(left, up)
    rest = SMPL22.rest_offsets[J["l_foot"]]
    for side, sign in (("l", 1.0), ("r", -1.0)):
        foot, ankle, knee = J[f"{side}_foot"], J[f"{side}_ankle"], J[f"{side}_knee"]
        if have[foot]:
            continue
        s = np.linalg.norm(out[:, knee] - out[:, ankle], axis=-1, keepdims=True) / _SHIN
        out[:, foot] = out[:, ankle] + s * (sign * rest[0] * left + rest[1] * up + rest[2] * forward)


def to_y_up_metres(joints: np.ndarray, mask: np.ndarray, up_axis: str | None = None
                   ) -> tuple[np.ndarray, str, float, str]:
    """Rotate to Y up (detected unless given) and scale to metres; returns (joints, up, scale, units)."""
    up = up_axis or detect_up_axis(joints, mask)
    scale, units = unit_scale(estimate_height(joints, mask))
    return joints @ (_TO_Y_UP[up].T * scale), up, scale, units


def bvh_to_smpl22(data: BVHData, preset: str = "auto", path: str | None = None) -> HumanoidMotion:
    """SMPL-22 joints (T, 22, 3), Y up, metres, at the file's frame rate, from a humanoid BVH."""
    mapping = resolve_joints(data.names, data.parents, data.offsets, preset, path)
    world = data.world_positions()
    partial, mask = pick_mapped(world, mapping)
    try:
        joints, up, scale, units = to_y_up_metres(partial, mask)
    except MotionInputError as err:
        raise MotionInputError(str(err), path) from None
    joints = fill_missing(joints, mask)
    if not np.all(np.isfinite(joints)):
        raise MotionInputError("joint positions became non-finite (degenerate skeleton?)", path)
    derived = [SMPL22.joint_names[j] for j in range(22) if not mask[j]]
    return HumanoidMotion(joints, data.fps, mapping, up, scale, units, derived)
