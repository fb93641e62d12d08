"""Skeleton definitions: SMPL-22 (HumanML3D) and KIT-21 (KIT-ML).

Conventions (HumanML3D): Y up, metres, +X is the body's left for SMPL, the body faces +Z after
canonicalisation. `raw_offsets` are the unit rest directions used by the position IK (they define
what the 6D rotation features mean); `rest_offsets` are a realistic adult rest pose in metres used
as the target skeleton when features are computed and by the procedural corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    kinematic_chain: tuple[tuple[int, ...], ...]
    raw_offsets: np.ndarray = field(repr=False)
    rest_offsets: np.ndarray = field(repr=False)
    # (r_hip, l_hip, r_shoulder, l_shoulder): heading = cross(up, across) with across from these
    face_joints: tuple[int, int, int, int]
    feet_left: tuple[int, int]
    feet_right: tuple[int, int]
    # bones (child joint ids) whose lengths define "leg length" for scaling to the target skeleton
    leg_bones: tuple[int, int]
    mirror_pairs: tuple[tuple[int, int], ...]
    fps: float
    # bone lengths (J,) of the target skeleton that features are computed on (the dataset's reference
    # body); None means the rest pose's own lengths
    feature_lengths: np.ndarray | None = field(default=None, repr=False)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def feature_dim(self) -> int:
        j = self.num_joints
        return 4 + (j - 1) * 3 + (j - 1) * 6 + j * 3 + 4

    @property
    def mirror_index(self) -> np.ndarray:
        """Permutation that maps each joint to its left/right counterpart (itself on the midline)."""
        idx = np.arange(self.num_joints)
        for a, b in self.mirror_pairs:
            idx[a], idx[b] = b, a
        return idx

    @property
    def bone_lengths(self) -> np.ndarray:
        """Length of the bone ending at each joint (0 for the root), from the rest pose."""
        return np.linalg.norm(self.rest_offsets, axis=-1)

    @property
    def target_lengths(self) -> np.ndarray:
        """Bone lengths that `joints_to_features` rescales every clip to."""
        return self.bone_lengths if self.feature_lengths is None else self.feature_lengths

    def index(self, joint: str) -> int:
        try:
            return self.joint_names.index(joint)
        except ValueError:
            raise KeyError(f"unknown joint {joint!r} for skeleton {self.name}; "
                           f"known: {', '.join(self.joint_names)}") from None

    def rest_joints(self, root_height: float | None = None) -> np.ndarray:
        """World positions (J, 3) of the rest pose; feet on the floor unless root_height is given."""
        pos = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.rest_offsets[j]
        pos[:, 1] += -pos[:, 1].min() if root_height is None else root_height
        return pos

    def children(self, joint: int) -> list[int]:
        return [j for j, p in enumerate(self.parents) if p == joint]

    def subtree(self, joint: int) -> list[int]:
        """The joint and every joint below it."""
        out, todo = [], [joint]
        while todo:
            j = todo.pop()
            out.append(j)
            todo += self.children(j)
        return out


def _parents_from_chains(num_joints: int, chains: list[list[int]]) -> tuple[int, ...]:
    parents = [-1] * num_joints
    for chain in chains:
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            parents[b] = a
    return tuple(parents)


SMPL_JOINT_NAMES = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle", "spine3",
    "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder", "r_shoulder", "l_elbow",
    "r_elbow", "l_wrist", "r_wrist",
)
T2M_RAW_OFFSETS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0],
    [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0],
    [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64)
T2M_KINEMATIC_CHAIN = [[0, 2, 5, 8, 11], [0, 1, 4, 7, 10], [0, 3, 6, 9, 12, 15], [9, 14, 17, 19, 21],
                       [9, 13, 16, 18, 20]]

# HumanML3D's target skeleton: the released pipeline rescales every clip to one reference body (the
# first frame of clip 000021), so every released clip has these bone lengths (metres; entry j is the
# bone ending at joint j). Measured on the released clip 012314 (constant over its frames to 2e-7).
_SMPL_MIRROR_PAIRS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21))
HUMANML3D_BONE_LENGTHS = np.array([
    0.0, 0.103074, 0.109883, 0.131568, 0.393623, 0.390188, 0.143190, 0.432433, 0.425643, 0.057365,
    0.143382, 0.149419, 0.219360, 0.137487, 0.143383, 0.103039, 0.131614, 0.122984, 0.256840, 0.263092,
    0.266012, 0.269876])

# Rest-pose directions of an adult in a T-pose, facing +Z, +X = body left, close to the SMPL neutral
# template. Only the directions are used: each offset is scaled to HumanML3D's bone length, averaged
# over left and right, so the rest body is HumanML3D's and symmetric. Features are computed on the
# exact (slightly asymmetric) target skeleton: `Skeleton.target_lengths`.
_SMPL_REST_LEFT = {
    "l_hip": (0.060, -0.085, -0.010), "l_knee": (0.035, -0.385, 0.005), "l_ankle": (-0.010, -0.410, -0.035),
    "l_foot": (0.020, -0.055, 0.125), "l_collar": (0.075, 0.115, -0.010), "l_shoulder": (0.115, 0.040, -0.015),
    "l_elbow": (0.260, 0.0, -0.010), "l_wrist": (0.250, 0.0, 0.005),
}
_SMPL_REST_MID = {
    "pelvis": (0.0, 0.0, 0.0), "spine1": (0.0, 0.110, -0.025), "spine2": (0.0, 0.135, 0.005),
    "spine3": (0.0, 0.055, 0.0), "neck": (0.0, 0.215, -0.030), "head": (0.0, 0.085, 0.050),
}


def _smpl_rest_offsets() -> np.ndarray:
    offs = np.zeros((22, 3))
    for j, name in enumerate(SMPL_JOINT_NAMES):
        if name in _SMPL_REST_MID:
            offs[j] = _SMPL_REST_MID[name]
        else:
            side, base = name.split("_", 1)
            x, y, z = _SMPL_REST_LEFT["l_" + base]
            offs[j] = (x if side == "l" else -x, y, z)
    norms = np.linalg.norm(offs, axis=-1, keepdims=True)
    mirror = np.arange(22)
    for a, b in _SMPL_MIRROR_PAIRS:
        mirror[a], mirror[b] = b, a
    symmetric = 0.5 * (HUMANML3D_BONE_LENGTHS + HUMANML3D_BONE_LENGTHS[mirror])
    return np.where(norms > 0, offs / np.maximum(norms, 1e-12), 0.0) * symmetric[:, None]


SMPL22 = Skeleton(
    name="smpl22",
    joint_names=SMPL_JOINT_NAMES,
    parents=_parents_from_chains(22, T2M_KINEMATIC_CHAIN),
    kinematic_chain=tuple(tuple(c) for c in T2M_KINEMATIC_CHAIN),
    raw_offsets=T2M_RAW_OFFSETS,
    rest_offsets=_smpl_rest_offsets(),
    face_joints=(2, 1, 17, 16),
    feet_left=(7, 10),
    feet_right=(8, 11),
    leg_bones=(5, 8),
    mirror_pairs=_SMPL_MIRROR_PAIRS,
    fps=20.0,
    feature_lengths=HUMANML3D_BONE_LENGTHS,
)

# KIT-ML (MMM marker skeleton). Names follow the MMM labels. The index facts (face joints, feet,
# leg bones) are those of the public HumanML3D processing of KIT-ML, kept so that features we compute
# agree with the released KIT-ML features. Note that this processing passes the MMM *left* hip and
# shoulder (11, 5) in the slots meant for the right ones, so KIT-ML clips end up facing -Z in their
# canonical frame and the first contact pair is the right foot; code that needs sides should read
# them from the names (mirror_pairs), not from face_joints.
KIT_JOINT_NAMES = (
    "root", "pelvis", "torso", "lower_neck", "upper_neck", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder",
    "r_elbow", "r_wrist", "l_hip", "l_knee", "l_ankle", "l_foot", "l_toe", "r_hip", "r_knee", "r_ankle",
    "r_foot", "r_toe",
)
KIT_RAW_OFFSETS = np.array([
    [0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [-1, 0, 0],
    [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1], [-1, 0, 0], [0, -1, 0],
    [0, -1, 0], [0, 0, 1], [0, 0, 1]], dtype=np.float64)
KIT_KINEMATIC_CHAIN = [[0, 11, 12, 13, 14, 15], [0, 16, 17, 18, 19, 20], [0, 1, 2, 3, 4], [3, 5, 6, 7],
                       [3, 8, 9, 10]]
_KIT_REST = np.array([
    [0, 0, 0], [0, 0.10, 0], [0, 0.20, 0], [0, 0.22, 0], [0, 0.14, 0.02], [0.18, 0.0, 0], [0, -0.28, 0],
    [0, -0.25, 0], [-0.18, 0.0, 0], [0, -0.28, 0], [0, -0.25, 0], [0.09, 0, 0], [0, -0.42, 0],
    [0, -0.41, 0], [0, -0.05, 0.06], [0, -0.02, 0.09], [-0.09, 0, 0], [0, -0.42, 0], [0, -0.41, 0],
    [0, -0.05, 0.06], [0, -0.02, 0.09]], dtype=np.float64)

KIT21 = Skeleton(
    name="kit21",
    joint_names=KIT_JOINT_NAMES,
    parents=_parents_from_chains(21, KIT_KINEMATIC_CHAIN),
    kinematic_chain=tuple(tuple(c) for c in KIT_KINEMATIC_CHAIN),
    raw_offsets=KIT_RAW_OFFSETS,
    rest_offsets=_KIT_REST,
    face_joints=(11, 16, 5, 8),
    feet_left=(19, 20),
    feet_right=(14, 15),
    leg_bones=(17, 18),
    mirror_pairs=((5, 8), (6, 9), (7, 10), (11, 16), (12, 17), (13, 18), (14, 19), (15, 20)),
    fps=12.5,
)

SKELETONS = {"smpl22": SMPL22, "humanml3d": SMPL22, "t2m": SMPL22, "kit21": KIT21, "kit": KIT21}


def get_skeleton(name: str) -> Skeleton:
    try:
        return SKELETONS[name.lower()]
    except KeyError:
        raise KeyError(f"unknown skeleton {name!r}; choose one of {sorted(SKELETONS)}") from None


def skeleton_for_feature_dim(dim: int) -> Skeleton:
    for sk in (SMPL22, KIT21):
        if sk.feature_dim == dim:
            return sk
    raise ValueError(f"no skeleton has {dim}-d features (SMPL-22: 263, KIT-21: 251)")
