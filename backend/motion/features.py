"""HumanML3D motion features: joints (T, J, 3) <-> features (T-1, D), D = 263 (SMPL-22) or 251 (KIT-21).

Layout for J joints (REFERENCE §1):
    [0]                 root angular velocity about Y (half-angle per frame, as the arcsin of the
                        y part of the frame-to-frame root quaternion)
    [1:3]               root linear velocity x, z in the root's heading frame
    [3]                 root height
    ric                 (J-1) x 3 root-relative positions, heading removed
    rot                 (J-1) x 6 continuous 6D local rotations from the position IK
    vel                 J x 3 local velocities (heading frame)
    contacts            left (2), right (2) foot contact flags

The pipeline reproduces the released HumanML3D preprocessing (motion_representation.ipynb), quirks
included, so that features of a user's own mocap and of the corpus mix with real HumanML3D:
- the clip is rescaled to the skeleton's target bone lengths (HumanML3D's reference body for SMPL-22),
  put on the floor, its frame-0 root xz moved to the origin, and turned so that frame 0 faces +Z by
  its *unsmoothed* heading from (r_hip, l_hip, r_shoulder, l_shoulder);
- the root rotation is the heading from the released IK, which reads the hip pair in the opposite
  order (across = (l_hip - r_hip) + (r_shoulder - l_shoulder)), smoothed with sigma 20, and which
  forces frame 0's root rotation to the identity. So the first angular velocity can be a step, and
  the root rotation follows the shoulders more than the hips.
One difference is kept on purpose: the released pipeline takes the frame-to-frame root quaternion
from a w >= 0 cover, so its angular velocity flips sign at the one frame where the heading passes
+-180 degrees from the start; here the heading is unwrapped and that frame is correct.
joints -> features -> joints is exact after canonicalisation (features_to_joints(f) == canonical[:-1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MotionInputError
from .kinematics import heading_yaw, inverse_kinematics, rescale_to_skeleton, root_rotation
from .rotations import qfrom_yaw, qinv, qrot, quat_to_cont6d
from .skeleton import SMPL22, Skeleton, skeleton_for_feature_dim

FOOT_CONTACT_THRESHOLD = 0.002  # squared displacement per frame (m^2), as HumanML3D
HEADING_SMOOTH_SIGMA = 20.0     # frames


@dataclass(frozen=True)
class FeatureLayout:
    """Named slices of the feature vector for a skeleton with J joints."""

    num_joints: int

    @property
    def root(self) -> slice:
        return slice(0, 4)

    @property
    def ric(self) -> slice:
        return slice(4, 4 + (self.num_joints - 1) * 3)

    @property
    def rot(self) -> slice:
        start = self.ric.stop
        return slice(start, start + (self.num_joints - 1) * 6)

    @property
    def vel(self) -> slice:
        start = self.rot.stop
        return slice(start, start + self.num_joints * 3)

    @property
    def contacts(self) -> slice:
        start = self.vel.stop
        return slice(start, start + 4)

    @property
    def dim(self) -> int:
        return self.contacts.stop


def check_joints(joints: np.ndarray, skeleton: Skeleton, name: str | None = None, min_frames: int = 2) -> None:
    """Raise MotionInputError unless `joints` is a finite (T, J, 3) array with T >= min_frames."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.num_joints, 3):
        raise MotionInputError(f"expected joint positions of shape (T, {skeleton.num_joints}, 3), "
                               f"got {joints.shape}", name)
    if joints.shape[0] < min_frames:
        raise MotionInputError(f"need at least {min_frames} frames, got {joints.shape[0]}", name)
    if not np.all(np.isfinite(joints)):
        bad = np.argwhere(~np.isfinite(joints))[0]
        raise MotionInputError(f"non-finite value (NaN or inf) at frame {bad[0]}, joint {bad[1]}", name)


def check_features(features: np.ndarray, name: str | None = None) -> Skeleton:
    features = np.asarray(features)
    if features.ndim < 2:
        raise MotionInputError(f"expected features of shape (T, 263) or (T, 251), got {features.shape}", name)
    try:
        skeleton = skeleton_for_feature_dim(features.shape[-1])
    except ValueError as err:
        raise MotionInputError(str(err), name) from None
    if not np.all(np.isfinite(features)):
        raise MotionInputError("features contain NaN or inf", name)
    return skeleton


def released_ik_face_joints(skeleton: Skeleton) -> tuple[int, int, int, int]:
    """The facing joints as the released IK reads them: the hip pair swapped (see the module doc)."""
    r_hip, l_hip, r_sh, l_sh = skeleton.face_joints
    return (l_hip, r_hip, r_sh, l_sh)


def canonicalize(joints: np.ndarray, skeleton: Skeleton = SMPL22, target_lengths: np.ndarray | None = None
                 ) -> np.ndarray:
    """Scale to the target skeleton, put on the floor, move frame 0's root xz to the origin, face +Z.

    Frame 0 faces +Z by its raw (unsmoothed) heading, as in the released preprocessing.
    """
    check_joints(joints, skeleton)
    joints = np.asarray(joints, dtype=np.float64)
    if target_lengths is not None:
        joints = rescale_to_skeleton(skeleton, joints, target_lengths)
    joints = joints.copy()
    joints[..., 1] -= joints[..., 1].min()
    joints[..., [0, 2]] -= joints[0, 0, [0, 2]]
    yaw0 = heading_yaw(skeleton, joints[:1])[0]
    return qrot(root_rotation(np.full(joints.shape[:-1], yaw0)), joints)


def root_heading(skeleton: Skeleton, canonical: np.ndarray, smooth_sigma: float = HEADING_SMOOTH_SIGMA
                 ) -> np.ndarray:
    """Root yaw (T,) that defines the root rotation of the features: the released IK's smoothed
    heading, with frame 0 set to 0 (the released IK forces the first root rotation to the identity)."""
    yaw = heading_yaw(skeleton, canonical, smooth_sigma, face_joints=released_ik_face_joints(skeleton))
    yaw[0] = 0.0
    if len(yaw) > 1:  # the step from the identity is taken the short way round, as the released arcsin does
        yaw[1:] -= 2 * np.pi * np.round(yaw[1] / (2 * np.pi))
    return yaw


def foot_contacts(joints: np.ndarray, skeleton: Skeleton, threshold: float = FOOT_CONTACT_THRESHOLD) -> np.ndarray:
    """(T-1, 4) flags: left pair then right pair, 1 where squared frame displacement < threshold."""
    ids = list(skeleton.feet_left) + list(skeleton.feet_right)
    disp = np.sum((joints[1:, ids] - joints[:-1, ids]) ** 2, axis=-1)
    return (disp < threshold).astype(np.float64)


def joints_to_features(joints: np.ndarray, skeleton: Skeleton = SMPL22, *, rescale: bool = True,
                       contact_threshold: float = FOOT_CONTACT_THRESHOLD,
                       smooth_sigma: float = HEADING_SMOOTH_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Full HumanML3D preprocessing. Returns (features (T-1, D), canonical joints (T, J, 3)).

    `features_to_joints(features)` equals `canonical[:-1]` up to float rounding.
    """
    target = skeleton.target_lengths if rescale else None
    pos = canonicalize(joints, skeleton, target)
    yaw = root_heading(skeleton, pos, smooth_sigma)
    r_rot = root_rotation(yaw)  # (T, 4) world -> heading frame

    root = pos[:, 0]
    ang_vel = -(yaw[1:] - yaw[:-1]) / 2.0
    lin_vel = qrot(r_rot[1:], root[1:] - root[:-1])[:, [0, 2]]
    root_data = np.concatenate([ang_vel[:, None], lin_vel, root[:-1, 1:2]], axis=-1)

    rel = pos.copy()
    rel[..., [0, 2]] -= root[:, None, [0, 2]]
    ric = qrot(r_rot[:, None], rel)[:, 1:]

    quats = inverse_kinematics(skeleton, pos, r_rot)
    rot6d = quat_to_cont6d(quats[:, 1:])

    local_vel = qrot(r_rot[:-1, None], pos[1:] - pos[:-1])
    contacts = foot_contacts(pos, skeleton, contact_threshold)

    n = len(pos) - 1
    feats = np.concatenate([
        root_data, ric[:-1].reshape(n, -1), rot6d[:-1].reshape(n, -1), local_vel.reshape(n, -1), contacts,
    ], axis=-1)
    return feats, pos


def recover_root(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root rotation quaternions (..., T, 4) and root positions (..., T, 3) from features (..., T, D)."""
    half = np.zeros(features.shape[:-1])
    half[..., 1:] = np.cumsum(features[..., :-1, 0], axis=-1)
    r_rot = qfrom_yaw(2.0 * half)
    step = np.zeros((*features.shape[:-1], 3))
    step[..., 1:, 0] = features[..., :-1, 1]
    step[..., 1:, 2] = features[..., :-1, 2]
    r_pos = np.cumsum(qrot(qinv(r_rot), step), axis=-2)
    r_pos[..., 1] = features[..., 3]
    return r_rot, r_pos


def features_to_joints(features: np.ndarray, skeleton: Skeleton | None = None) -> np.ndarray:
    """Joint positions (..., T, J, 3) from features (..., T, D) via the ric positions (HumanML3D)."""
    features = np.asarray(features, dtype=np.float64)
    skeleton = skeleton or skeleton_for_feature_dim(features.shape[-1])
    layout = FeatureLayout(skeleton.num_joints)
    r_rot, r_pos = recover_root(features)
    ric = features[..., layout.ric].reshape(*features.shape[:-1], skeleton.num_joints - 1, 3)
    world = qrot(qinv(r_rot)[..., None, :], ric)
    world[..., 0] += r_pos[..., None, 0]
    world[..., 2] += r_pos[..., None, 2]
    return np.concatenate([r_pos[..., None, :], world], axis=-2)
