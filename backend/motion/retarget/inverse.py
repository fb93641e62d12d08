"""From the rig back to the motion's frame: a curve in armature space -> a control path, posed bones -> keyframes.

The inverse of `retarget` for the add-on's Follow curve and Fill between keys (the add-on sends armature-space
numbers, the math lives here). The motion frame is the one `retarget` maps from, with one convention fixed:

- **origin**: the motion's ground origin (x, z) = (0, 0) is the rig's rest-pose pelvis head projected on the
  ground, and the motion's floor is where the rest pose stands (pelvis at the SMPL standing height);
- **facing**: motion +Z is the way the rig's rest pose faces (its forward axis from hips and shoulders, as
  `orientation.rig_frame` finds it), +X its left, +Y its up;
- **scale**: armature units per motion metre = the rig's leg length / SMPL's rest leg length (or the caller's).

Retargeting the generated motion with `RetargetOptions(origin=(0, 0), scale=<the same scale>)` then puts the
root exactly where these conversions took it from, so the root follows the curve and keyed poses stay in place.

Keyframe joints keep SMPL proportions: the torso joints (pelvis, spine, neck, head, collars, hips) follow the
rest-to-pose rotation of their parent bone applied to SMPL's rest offsets (a rig's rest pose maps onto SMPL's
rest pose), and limb joints (shoulder, elbow, wrist, knee, ankle, foot) are placed along the posed rig's own
segment directions at SMPL's segment lengths (an A-pose and a T-pose rig give the same arm direction).
"""

from __future__ import annotations

import numpy as np

from ...errors import MotionInputError
from ..constraints import keyframes_from_arrays, path_from_points
from ..skeleton import SMPL22
from .armature import Armature
from .bone_maps import BoneMap, bone_map_from_dict, detect_bone_map
from .input_checks import checked_armature
from .orientation import rig_frame
from .solve import _REST_LEG, _REST_PELVIS_HEIGHT, _leg_length

NAMES = SMPL22.joint_names
J = {name: i for i, name in enumerate(NAMES)}
# joints whose position follows the rotation of the parent's bone (rigid torso); the rest follow segment directions
RIGID_CHILDREN = {"spine1", "spine2", "spine3", "neck", "head", "l_collar", "r_collar", "l_hip", "r_hip"}


def motion_scale(arm: Armature, bone_map: BoneMap, scale: float | None = None) -> float:
    """Armature units per motion metre: the caller's, else the rig's leg over SMPL's rest leg (else the torso)."""
    if scale is not None:
        if not (np.isfinite(scale) and scale > 0):
            raise MotionInputError(f"scale must be a positive number, got {scale!r}")
        return float(scale)
    rig = {j: arm.heads[arm.index[b]] for j, b in bone_map.mapping.items()}
    leg = _leg_length(rig)
    if leg is not None and leg > 0:
        return leg / _REST_LEG
    rest = SMPL22.rest_joints()
    top = next((j for j in ("neck", "head", "spine3") if j in rig), None)
    if top is not None and "pelvis" in rig:
        return float(np.linalg.norm(rig[top] - rig["pelvis"]) / np.linalg.norm(rest[J[top]] - rest[J["pelvis"]]))
    return 1.0


class RigSpace:
    """Armature space <-> the motion frame of the module doc, for one rig and bone map."""

    def __init__(self, arm: Armature, bone_map: BoneMap, scale: float | None = None):
        if "pelvis" not in bone_map.mapping:
            raise MotionInputError("no bone is mapped to the pelvis: detect or load a bone map first")
        foreign = [b for b in bone_map.mapping.values() if b not in arm.index]
        if foreign:
            raise MotionInputError(f"the bone map names bones that are not in this armature: {', '.join(foreign[:5])}")
        self.arm, self.bone_map = arm, bone_map
        self.frame = rig_frame(arm, {j: arm.heads[arm.index[b]] for j, b in bone_map.mapping.items()})
        self.to_arm = self.frame.motion_to_armature          # motion axes -> armature axes
        self.scale = motion_scale(arm, bone_map, scale)
        self.origin = arm.heads[arm.index[bone_map.mapping["pelvis"]]].copy()  # rest pelvis head
        self.standing = np.array([0.0, _REST_PELVIS_HEIGHT, 0.0])

    def to_motion(self, points: np.ndarray) -> np.ndarray:
        """Armature-space points (..., 3) -> motion-frame points (..., 3) in metres."""
        return (np.asarray(points, np.float64) - self.origin) @ self.to_arm / self.scale + self.standing

    def rotation_to_motion(self, rot: np.ndarray) -> np.ndarray:
        """Armature-space rotations (..., 3, 3) -> the same rotations in motion axes."""
        return self.to_arm.T @ rot @ self.to_arm


def ground_path(space: RigSpace, times: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Path points [[t, x, z], ...] (seconds, metres, motion frame) of armature-space points (N, 3) at `times`."""
    times = np.asarray(times, np.float64)
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or times.shape != (len(points),):
        raise MotionInputError(f"path: need N times and N x 3 points, got {times.shape} and {points.shape}")
    if not (np.all(np.isfinite(points)) and np.all(np.isfinite(times))):
        raise MotionInputError("path: the points contain NaN or inf")
    xz = space.to_motion(points)[:, [0, 2]]
    return np.concatenate([times[:, None], xz], axis=1)


def joints_from_pose(space: RigSpace, matrices: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """SMPL-22 joints (K, 22, 3) in the motion frame and their mask (K, 22) from posed bones.

    `matrices`: bone name -> (K, 4, 4) pose matrices in armature space (Blender's `pose_bone.matrix`) at K
    frames. A joint is in the mask when its bone is mapped and given (and, for a limb joint, its parent's
    too); an unmapped joint is still placed (rigidly from its parent) so the chain below it goes on.
    """
    arm, mapping = space.arm, space.bone_map.mapping
    given = {j: np.asarray(matrices[b], np.float64) for j, b in mapping.items() if b in matrices}
    if "pelvis" not in given:
        raise MotionInputError(f"the pose has no matrices for the pelvis bone {mapping['pelvis']!r}")
    k = len(given["pelvis"])
    for j, m in given.items():
        if m.shape != (k, 4, 4) or not np.all(np.isfinite(m)):
            raise MotionInputError(f"pose of {mapping[j]!r}: need ({k}, 4, 4) finite matrices, got {m.shape}")
    heads = {j: space.to_motion(m[:, :3, 3]) for j, m in given.items()}
    turns = {}
    for j, m in given.items():  # rest -> pose rotation of each given bone, in motion axes
        rest = arm.rest[arm.index[mapping[j]], :3, :3]
        turns[j] = space.rotation_to_motion(m[:, :3, :3] @ rest.T)
    offsets = SMPL22.rest_offsets
    joints = np.zeros((k, len(NAMES), 3))
    mask = np.zeros((k, len(NAMES)), bool)
    carried: dict[str, np.ndarray] = {}  # joint -> rotation (K, 3, 3) its children inherit when unmapped
    for j, name in enumerate(NAMES):
        p = SMPL22.parents[j]
        if p < 0:
            joints[:, j] = heads["pelvis"]
            mask[:, j] = True
            carried[name] = turns["pelvis"]
            continue
        parent = NAMES[p]
        turn = carried[parent]
        length = float(np.linalg.norm(offsets[j]))
        if name not in RIGID_CHILDREN and name in heads and parent in heads:
            seg = heads[name] - heads[parent]
            n = np.linalg.norm(seg, axis=-1, keepdims=True)
            rigid = (turn @ offsets[j])
            direction = np.where(n > 1e-9, seg / np.maximum(n, 1e-12), rigid / max(length, 1e-12))
            joints[:, j] = joints[:, p] + length * direction
        else:
            joints[:, j] = joints[:, p] + turn @ offsets[j]
        mask[:, j] = name in given and (name in RIGID_CHILDREN or parent in given)
        carried[name] = turns.get(name, turn)
    return joints, mask


def to_motion(armature: dict, bone_map: dict | None = None, preset: str | None = None, scale: float | None = None,
              path: dict | None = None, pose: dict | None = None) -> dict:
    """What POST /v1/retarget/to-motion answers: `path` {"times", "points" (N, 3) armature space} and `pose`
    {"frames" (K,) motion frames, "matrices" {bone: (K, 4, 4)}} in the motion frame, checked like /v1/generate's
    `path` and `keyframes` (too fast, out of order, a mask that selects nothing: MotionInputError)."""
    if bone_map is not None and preset is not None:
        raise MotionInputError("give either bone_map or preset, not both")
    if path is None and pose is None:
        raise MotionInputError("give a path (a curve) or a pose (keyed frames) to convert")
    arm = checked_armature(armature)
    found = bone_map_from_dict(bone_map, arm) if bone_map is not None else detect_bone_map(arm, preset or "auto")
    space = RigSpace(arm, found, scale)
    out: dict = {"scale": space.scale, "origin": [0.0, 0.0], "bone_map": found.to_dict(),
                 "warnings": list(space.frame.notes)}
    if path is not None:
        points = ground_path(space, np.asarray(path["times"], np.float64), np.asarray(path["points"], np.float64))
        out["path"] = path_from_points(points).to_json()  # refuses out-of-order times and sprint speeds now
    if pose is not None:
        unknown = [b for b in pose["matrices"] if b not in arm.index]
        if unknown:
            raise MotionInputError(f"pose: bones not in the armature: {', '.join(unknown[:5])}")
        try:
            matrices = {b: np.asarray(m, np.float64) for b, m in pose["matrices"].items()}
        except ValueError:
            raise MotionInputError("pose: every bone needs one 4x4 matrix per frame") from None
        joints, mask = joints_from_pose(space, matrices)
        if len(joints) != len(pose["frames"]):
            raise MotionInputError(f"pose: {len(pose['frames'])} frames but {len(joints)} matrices per bone")
        keys = keyframes_from_arrays(np.asarray(pose["frames"]), joints, mask)
        out["keyframes"] = {"frames": keys.frames.tolist(), "joints": np.round(keys.joints, 6).tolist(),
                            "mask": keys.mask.tolist()}
    return out
