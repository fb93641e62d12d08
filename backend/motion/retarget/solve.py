"""`retarget`: SMPL-22 joint positions -> Blender pose-bone rotations and root location for any rig.

Steps: map bones (preset or custom) -> find how the rig stands (up, facing) -> turn the motion into
armature axes -> per-bone world rotations (swing onto the source bone direction + twist, `deltas.py`)
-> root path scaled by leg length -> optional foot-contact cleanup (`contacts.py`) -> per-bone
quaternions relative to rest, sign-continuous over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...errors import MotionInputError
from ..features import check_joints
from ..skeleton import SMPL22
from .armature import Armature
from .bone_maps import BoneMap, detect_bone_map
from .contacts import detect_foot_contacts, plant_targets, planted_drift, two_bone_ik
from .deltas import basis_rotations, solve_deltas, source_vectors
from .fk import mapped_heads
from .orientation import rig_frame
from .plan import BonePlan, build_plan
from .rotmath import continuous_quats, qrot, unit

ROOT_MOTIONS = ("full", "in_place")
J = {name: i for i, name in enumerate(SMPL22.joint_names)}
_LEGS = {"left": ("l_hip", "l_knee", "l_ankle"), "right": ("r_hip", "r_knee", "r_ankle")}
_REST = SMPL22.rest_joints()
_REST_LEG = float(np.linalg.norm(SMPL22.rest_offsets[J["l_knee"]]) + np.linalg.norm(SMPL22.rest_offsets[J["l_ankle"]]))
_REST_PELVIS_HEIGHT = float(_REST[J["pelvis"], 1])  # standing, feet on the floor


@dataclass(frozen=True)
class RetargetOptions:
    root_motion: str = "full"         # "full" or "in_place" (horizontal root motion removed, height kept)
    scale: float | None = None        # armature units per motion metre; None: rig leg length / motion leg length
    foot_cleanup: bool = True
    fps: float = 20.0
    origin: tuple[float, float] | None = None  # motion ground point (x, z) put at the rest pelvis; None: frame 0's

    def checked(self) -> RetargetOptions:
        if self.root_motion not in ROOT_MOTIONS:
            raise MotionInputError(f"root_motion must be one of {', '.join(ROOT_MOTIONS)}, got {self.root_motion!r}")
        if self.scale is not None and not (isinstance(self.scale, int | float) and math.isfinite(self.scale)
                                           and self.scale > 0):
            raise MotionInputError(f"scale must be a positive number, got {self.scale!r}")
        if not (isinstance(self.fps, int | float) and math.isfinite(self.fps) and self.fps > 0):
            raise MotionInputError(f"fps must be a positive number, got {self.fps!r}")
        if self.origin is not None and (len(self.origin) != 2 or not all(math.isfinite(float(v)) for v in self.origin)):
            raise MotionInputError(f"origin must be two finite numbers (x, z), got {self.origin!r}")
        return self


@dataclass
class RetargetResult:
    rotations: dict[str, np.ndarray]  # every bone -> (T, 4) float32 wxyz, Blender pose_bone.rotation_quaternion
    root_bone: str                    # the bone whose pose_bone.location carries the root motion
    root_location: np.ndarray         # (T, 3) float32 pose_bone.location of root_bone (its rest frame)
    bone_map: BoneMap
    scale: float
    warnings: list[str] = field(default_factory=list)
    fps: float = 20.0
    contacts: np.ndarray | None = None  # (T, 2) bool: source left/right ankle planted
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return len(self.root_location)

    def to_dict(self) -> dict:
        """JSON-ready: plain lists and numbers."""
        out = {
            "frames": self.frames, "fps": float(self.fps), "rotation_mode": "QUATERNION",
            "root_bone": self.root_bone,
            "root_location": np.round(np.asarray(self.root_location, np.float64), 6).tolist(),
            "rotations": {name: np.round(np.asarray(q, np.float64), 6).tolist() for name, q in self.rotations.items()},
            "bone_map": self.bone_map.to_dict(), "scale": float(self.scale), "warnings": list(self.warnings),
            "stats": {k: float(v) for k, v in self.stats.items()},
        }
        if self.contacts is not None:
            out["contacts"] = {"left": self.contacts[:, 0].tolist(), "right": self.contacts[:, 1].tolist()}
        return out


def _leg_length(points: dict[str, np.ndarray]) -> float | None:
    """Mean hip->knee->ankle length over the legs present (points: joint -> (3,) or (T, 3))."""
    legs = []
    for hip, knee, ankle in _LEGS.values():
        if hip in points and knee in points and ankle in points:
            a = np.linalg.norm(points[knee] - points[hip], axis=-1)
            b = np.linalg.norm(points[ankle] - points[knee], axis=-1)
            legs.append(np.mean(a + b))
    return float(np.mean(legs)) if legs else None


def _scale(arm: Armature, bone_map: BoneMap, joints: np.ndarray, warnings: list[str]) -> tuple[float, float]:
    """(armature units per motion metre, the motion's leg length in metres)."""
    rig = {j: arm.heads[arm.index[b]] for j, b in bone_map.mapping.items()}
    source = {name: joints[:, i] for i, name in enumerate(SMPL22.joint_names)}
    source_leg = _leg_length(source)
    rig_leg = _leg_length(rig)
    if rig_leg is not None and rig_leg > 0:
        return rig_leg / source_leg, source_leg
    top = next((j for j in ("neck", "head", "spine3") if j in rig), None)
    if top is not None and "pelvis" in rig:
        warnings.append(f"no complete leg is mapped; scale from the pelvis -> {top} length instead")
        torso = np.mean(np.linalg.norm(source[top] - source["pelvis"], axis=-1))
        return float(np.linalg.norm(rig[top] - rig["pelvis"]) / torso), source_leg
    warnings.append("cannot measure the rig (no legs or spine mapped); scale 1")
    return 1.0, source_leg


def _root_bone(arm: Armature, pelvis: int, warnings: list[str]) -> int:
    root = pelvis
    while arm.connected[root] and arm.parents[root] >= 0:  # Blender ignores location on connected bones
        root = int(arm.parents[root])
    if root != pelvis:
        warnings.append(f"the pelvis bone is connected to its parent; root motion goes to {arm.names[root]!r}")
    return root


def _plan_of(plans: list[BonePlan]) -> dict[str, int]:
    return {p.joint: k for k, p in enumerate(plans)}


def _leg_plans(plans: list[BonePlan], arm: Armature, names: tuple[str, str, str]) -> tuple[int, int, int] | None:
    """Plan indices of thigh, shin and foot when they chain hip -> knee -> ankle in the rig."""
    index = _plan_of(plans)
    if not all(j in index for j in names):
        return None
    h, k, a = (index[j] for j in names)
    if plans[h].aim != names[:2] or plans[k].aim != names[1:] or not (plans[h].positional and plans[k].positional):
        return None
    return h, k, a


def _clean_feet(plans: list[BonePlan], deltas: list, directions: dict, references: dict, arm: Armature,
                root: int, shift: np.ndarray, contacts: np.ndarray, warnings: list[str]) -> tuple[list, dict]:
    """Pin planted ankles with two-bone IK per leg, re-solving only the bones of that leg."""
    heads = mapped_heads(arm, plans, deltas, root, shift)
    redo: set[int] = set()
    pinned: dict[int, int] = {}  # side -> plan index of the ankle bone
    for side, names in enumerate(_LEGS.values()):
        leg = _leg_plans(plans, arm, names)
        if leg is None:
            if names[0] in _plan_of(plans):
                warnings.append(f"foot cleanup skipped for the {list(_LEGS)[side]} leg: its thigh and shin bones "
                                f"do not chain hip -> knee -> ankle")
            continue
        h, k, a = leg
        target, weight = plant_targets(heads[:, a], contacts[:, side])
        moving = weight > 0
        if not np.any(moving):
            continue
        upper = float(np.linalg.norm(arm.heads[plans[k].bone] - arm.heads[plans[h].bone]))
        lower = float(np.linalg.norm(arm.heads[plans[a].bone] - arm.heads[plans[k].bone]))
        # where the knee points: opposite to the shin's bend direction, carried by the thigh
        pole = -qrot(deltas[h], plans[h].rest_ref) if plans[h].rest_ref is not None else heads[:, k] - heads[:, h]
        new_knee, new_ankle = two_bone_ik(heads[:, h], heads[:, k], target, upper, lower, pole)
        hip, knee, _ = names
        directions[hip] = np.where(moving[:, None], unit(new_knee - heads[:, h]), directions[hip])
        directions[knee] = np.where(moving[:, None], unit(new_ankle - new_knee), directions[knee])
        if hip in references:
            references[hip] = directions[knee]
        thigh = plans[h].bone
        redo |= {h} | {i for i, p in enumerate(plans) if arm.is_ancestor(thigh, p.bone)}
        pinned[side] = a
    if not redo:
        return deltas, {}
    deltas = solve_deltas(plans, directions, references, deltas, only=redo)
    after = mapped_heads(arm, plans, deltas, root, shift)
    stats = {}
    for side, a in pinned.items():
        name = list(_LEGS)[side]
        stats[f"planted_drift_{name}_before"] = planted_drift(heads[:, a], contacts[:, side])
        stats[f"planted_drift_{name}_after"] = planted_drift(after[:, a], contacts[:, side])
    return deltas, stats


def retarget(joints: np.ndarray, arm: Armature, bone_map: BoneMap | None = None,
             options: RetargetOptions | None = None) -> RetargetResult:
    """Blender pose-bone rotations + root location that make `arm` follow SMPL-22 `joints` (T, 22, 3)."""
    options = (options or RetargetOptions()).checked()
    joints = np.asarray(joints)
    check_joints(joints, SMPL22, min_frames=1)
    joints = joints.astype(np.float64)
    bone_map = bone_map or detect_bone_map(arm)
    foreign = [b for b in bone_map.mapping.values() if b not in arm.index]
    if foreign:
        raise MotionInputError(f"the bone map names bones that are not in this armature: {', '.join(foreign[:5])}")
    if "pelvis" not in bone_map.mapping:
        raise MotionInputError(f"no bone is mapped to the pelvis (preset {bone_map.preset!r}); pass a bone map "
                               f"or choose another preset")
    warnings = list(bone_map.notes)
    if bone_map.missing_joints:
        warnings.append(f"unmapped SMPL joints (left at rest relative to their parents): "
                        f"{', '.join(bone_map.missing_joints)}")
    frame = rig_frame(arm, {j: arm.heads[arm.index[b]] for j, b in bone_map.mapping.items()})
    warnings += frame.notes
    to_arm = frame.motion_to_armature
    points = joints @ to_arm.T  # armature axes, motion units
    plans = build_plan(arm, bone_map, frame)
    directions, references = source_vectors(plans, points)
    deltas = solve_deltas(plans, directions, references)

    auto_scale, source_leg = _scale(arm, bone_map, joints, warnings)
    scale = auto_scale if options.scale is None else float(options.scale)
    pelvis = arm.index[bone_map.mapping["pelvis"]]
    root = _root_bone(arm, pelvis, warnings)
    # the rest pose stands where the source would stand: its first-frame spot (or `origin`) at standing pelvis
    # height; with `origin` the motion's frame is the rig's (see inverse.py), so a path made from a curve in
    # armature space comes back onto that curve
    source_root = joints[:, J["pelvis"]].copy()
    spot = source_root[0, [0, 2]] if options.origin is None else np.asarray(options.origin, np.float64)
    standing = np.array([spot[0], _REST_PELVIS_HEIGHT * source_leg / _REST_LEG, spot[1]])
    path = source_root - standing
    shift = scale * path @ to_arm.T  # armature-space displacement of the pelvis head from rest
    outside = [arm.names[p.bone] for p in plans if p.bone != root and not arm.is_ancestor(root, p.bone)]
    if outside:
        warnings.append(f"bones not below the root bone {arm.names[root]!r} do not follow the root motion: "
                        f"{', '.join(outside[:8])}")

    contacts = None
    stats: dict[str, float] = {}
    if options.foot_cleanup:
        contacts = detect_foot_contacts(joints, options.fps)
        if contacts.any():
            deltas, stats = _clean_feet(plans, deltas, directions, references, arm, root, shift, contacts, warnings)

    if options.root_motion == "in_place":  # after the foot cleanup, which pins feet on the full path
        path[:, [0, 2]] = 0.0
        shift = scale * path @ to_arm.T
    frames = len(joints)
    quats = continuous_quats(basis_rotations(plans, deltas, arm.rest_quats, frames)).astype(np.float32)
    mapped = {arm.names[p.bone]: quats[:, k] for k, p in enumerate(plans)}
    identity = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    rotations = {name: mapped[name] if name in mapped else np.tile(identity, (frames, 1)) for name in arm.names}
    location = (shift @ arm.rest[root, :3, :3]).astype(np.float32)  # R_root^T @ shift, per frame
    return RetargetResult(rotations=rotations, root_bone=arm.names[root], root_location=location,
                          bone_map=bone_map, scale=float(scale), warnings=warnings, fps=float(options.fps),
                          contacts=contacts, stats=stats)
