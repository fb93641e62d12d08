"""Per-bone solve plan: what each mapped bone must point at, and where its twist comes from.

A mapped bone follows the source direction from its SMPL joint to the next mapped joint of its chain
(pelvis -> spine1, upper arm -> elbow ...); the rig's rest direction is measured the same way, head to
head, so bones in between that no joint maps (twist bones, Rigify's spine.005, UE5's spine_04) simply
ride along. The pelvis is the exception: it aims along its hip line (which also places the thighs) and
takes its tilt from the direction up the spine. Twist comes from:
- left-right lines: collars/shoulders for the chest, a blend of hips and shoulders for the spine, so
  the torso faces where the source faces;
- a limb bend: the bend of the limb's middle joint (elbow, knee), so the elbow/knee hinge of the rig bends
  in the plane the source bends in. A rig whose rest limb is (nearly) straight gets the anatomical
  bend direction: elbows bend towards the front, knees towards the back;
- nothing: the smallest rotation from the parent (collar, neck, forearm, shin, foot).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .armature import Armature
from .bone_maps import BoneMap
from .orientation import RigFrame

CHAIN_CHILDREN: dict[str, tuple[str, ...]] = {
    "pelvis": ("spine1", "spine2", "spine3", "neck", "head"),
    "spine1": ("spine2", "spine3", "neck", "head"),
    "spine2": ("spine3", "neck", "head"),
    "spine3": ("neck", "head"),
    "neck": ("head",),
    "head": (),
}
for _s in ("l", "r"):
    CHAIN_CHILDREN.update({
        f"{_s}_collar": (f"{_s}_shoulder", f"{_s}_elbow"), f"{_s}_shoulder": (f"{_s}_elbow", f"{_s}_wrist"),
        f"{_s}_elbow": (f"{_s}_wrist",), f"{_s}_wrist": (),
        f"{_s}_hip": (f"{_s}_knee", f"{_s}_ankle"), f"{_s}_knee": (f"{_s}_ankle", f"{_s}_foot"),
        f"{_s}_ankle": (f"{_s}_foot",), f"{_s}_foot": (),
    })

# left-right line weights per torso joint: (hips, shoulders). The pelvis aims along its hip line
# instead (see `build_plan`), so its entry is used only for rigs without both hips.
LEFT_LINE_WEIGHTS = {"pelvis": (0.0, 1.0), "spine1": (2 / 3, 1 / 3), "spine2": (1 / 3, 2 / 3), "spine3": (0.0, 1.0)}
# limb root -> (middle joint, end joint, anatomical bend: +1 towards the front, -1 towards the back)
# (the hinge joint's own bone -- forearm, shin -- then bends about the limb's rest hinge axis)
BENDS = {"l_shoulder": ("l_elbow", "l_wrist", 1.0), "r_shoulder": ("r_elbow", "r_wrist", 1.0),
         "l_hip": ("l_knee", "l_ankle", -1.0), "r_hip": ("r_knee", "r_ankle", -1.0)}
_MIN_BEND_SIN = np.sin(np.deg2rad(4.0))  # rest limbs bent less than this count as straight

Segments = tuple[tuple[str, str, float], ...]  # (from joint, to joint, weight): sum of weighted unit vectors


@dataclass(frozen=True, eq=False)  # holds numpy arrays: compare by identity
class BonePlan:
    joint: str                      # SMPL joint
    bone: int                       # armature bone index
    parent: int                     # plan index of the nearest mapped ancestor bone, -1 if none
    aim: tuple[str, str] | None     # the rest direction follows this source segment; None: follow the parent
    rest_dir: np.ndarray            # (3,) unit rest direction in armature space
    twist_refs: Segments = ()       # twist follows these source segments about the aim; () = minimal twist
    rest_ref: np.ndarray | None = None  # (3,) unit, perpendicular to rest_dir: the rig's rest twist reference
    positional: bool = True         # the aim's end joint is a bone below this one, so its head follows
    bend: bool = False              # the twist reference is a limb bend (trusted only while bent)
    hinge: np.ndarray | None = None  # (3,) rest hinge axis of an elbow/knee: bend about it, not by shortest arc


def segment_sum(points: dict[str, np.ndarray], segments: Segments) -> np.ndarray:
    """Weighted sum of unit vectors along segments, for rest heads (3,) or per-frame points (T, 3)."""
    total = 0.0
    for start, end, w in segments:
        d = points[end] - points[start]
        total = total + w * d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
    return total


def _perpendicular(v: np.ndarray, axis: np.ndarray) -> np.ndarray | None:
    p = v - (v @ axis) * axis
    n = float(np.linalg.norm(p))
    return p / n if n > 1e-9 else None


def _both(mapping: dict[str, str], left: str, right: str) -> bool:
    return left in mapping and right in mapping


def _left_segments(joint: str, mapping: dict[str, str]) -> Segments:
    hip_w, shoulder_w = LEFT_LINE_WEIGHTS[joint]
    segments = []
    if hip_w > 0 and _both(mapping, "l_hip", "r_hip"):
        segments.append(("r_hip", "l_hip", hip_w))
    pair = next((p for p in (("l_collar", "r_collar"), ("l_shoulder", "r_shoulder")) if _both(mapping, *p)), None)
    if shoulder_w > 0 and pair is not None:
        segments.append((pair[1], pair[0], shoulder_w))
    return tuple(segments)


def _bend_reference(joint: str, heads: dict[str, np.ndarray], rest_dir: np.ndarray,
                    frame: RigFrame) -> np.ndarray | None:
    middle, end, sign = BENDS[joint]
    anatomical = _perpendicular(sign * frame.forward, rest_dir)
    if anatomical is None:
        anatomical = _perpendicular(frame.up, rest_dir)
    if middle in heads and end in heads:
        lower = heads[end] - heads[middle]
        lower = lower / np.linalg.norm(lower)
        measured = lower - (lower @ rest_dir) * rest_dir
        size = float(np.linalg.norm(measured))
        if size > _MIN_BEND_SIN and anatomical is not None and (measured / size) @ anatomical > -0.25:
            return measured / size
    return anatomical


def _chain_aim(arm: Armature, mapping: dict[str, str], joint: str, b: int) -> tuple[str | None, np.ndarray, bool]:
    """(target joint, rest vector, positional): the first mapped chain child with a head below this bone."""
    positional = True
    for child in CHAIN_CHILDREN[joint]:
        if child not in mapping:
            continue
        c = arm.index[mapping[child]]
        vec = arm.heads[c] - arm.heads[b]
        if arm.is_ancestor(b, c) and np.linalg.norm(vec) > 1e-4 * arm.extent:
            return child, vec, positional
        # a mapped child starting on this bone's head (CMU's LowerBack on Hips) rotates the segment
        # to the next joint itself; aim past it, but that head no longer follows this bone alone
        positional = False
    if CHAIN_CHILDREN[joint]:  # the chain goes on in the source but not below this bone: aim its own axis
        return CHAIN_CHILDREN[joint][0], arm.rest[b, :3, 1], False
    return None, arm.rest[b, :3, 1], False


def _pelvis_plan(arm: Armature, mapping: dict[str, str], heads: dict[str, np.ndarray], b: int,
                 parent: int) -> BonePlan | None:
    """The pelvis aims along its hip line (the hip girdle also places the thighs) and takes its forward
    and sideways tilt from the direction up the spine."""
    if not _both(mapping, "l_hip", "r_hip"):
        return None
    rest_dir = heads["l_hip"] - heads["r_hip"]
    rest_dir = rest_dir / np.linalg.norm(rest_dir)
    target, vec, _ = _chain_aim(arm, mapping, "pelvis", b)
    ref = _perpendicular(vec / np.linalg.norm(vec), rest_dir) if target is not None else None
    refs = (("pelvis", target, 1.0),) if ref is not None else ()
    positional = all(arm.is_ancestor(b, arm.index[mapping[h]]) for h in ("l_hip", "r_hip"))
    return BonePlan("pelvis", b, parent, ("r_hip", "l_hip"), rest_dir, refs, ref, positional)


def build_plan(arm: Armature, bone_map: BoneMap, frame: RigFrame) -> list[BonePlan]:
    mapping = bone_map.mapping
    heads = {j: arm.heads[arm.index[b]] for j, b in mapping.items()}
    bone_joint = {arm.index[b]: j for j, b in mapping.items()}
    order = sorted(bone_joint)  # armature order: ancestors first
    plan_index = {b: k for k, b in enumerate(order)}
    plans: list[BonePlan] = []
    for b in order:
        joint = bone_joint[b]
        parent = next((plan_index[a] for a in arm.ancestors(b) if a in plan_index), -1)
        if joint == "pelvis":
            pelvis = _pelvis_plan(arm, mapping, heads, b, parent)
            if pelvis is not None:
                plans.append(pelvis)
                continue
        target, rest_vec, positional = _chain_aim(arm, mapping, joint, b)
        if target is None:
            plans.append(BonePlan(joint, b, parent, None, rest_vec, positional=False))
            continue
        rest_dir = rest_vec / np.linalg.norm(rest_vec)
        refs: Segments = ()
        ref = None
        bend = False
        if joint in LEFT_LINE_WEIGHTS:
            refs = _left_segments(joint, mapping)
            ref = _perpendicular(segment_sum(heads, refs), rest_dir) if refs else None
        elif joint in BENDS and target == BENDS[joint][0]:
            ref = _bend_reference(joint, heads, rest_dir, frame)
            refs, bend = ((BENDS[joint][0], BENDS[joint][1], 1.0),), True
        if ref is None:
            refs, bend = (), False
        plans.append(BonePlan(joint, b, parent, (joint, target), rest_dir, refs, ref, positional, bend))
    return _with_hinges(plans)


def _with_hinges(plans: list[BonePlan]) -> list[BonePlan]:
    """Give each forearm/shin the rest hinge axis of its limb (upper direction x bend direction).

    Bending about that axis is what a real elbow or knee does; the shortest arc gives the same answer
    while the limb's twist matches the source's bend plane, but it spins when the limb folds past
    ~150 degrees or the twist is held from earlier frames.
    """
    by_joint = {p.joint: k for k, p in enumerate(plans)}
    out = list(plans)
    for root, (middle, _, _) in BENDS.items():
        if root not in by_joint or middle not in by_joint:
            continue
        upper, lower = plans[by_joint[root]], plans[by_joint[middle]]
        if upper.bend and lower.parent == by_joint[root] and lower.aim is not None and not lower.twist_refs:
            axis = np.cross(upper.rest_dir, upper.rest_ref)
            out[by_joint[middle]] = replace(lower, hinge=axis / np.linalg.norm(axis))
    return out
