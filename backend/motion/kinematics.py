"""Forward kinematics, the HumanML3D-style position IK, and root heading."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .rotations import normalize, qbetween, qfrom_yaw, qinv, qmul, qrot
from .skeleton import Skeleton

UP = np.array([0.0, 1.0, 0.0])


def forward_kinematics(skeleton: Skeleton, quats: np.ndarray, root_pos: np.ndarray,
                       offsets: np.ndarray | None = None) -> np.ndarray:
    """Joint positions (..., J, 3) from per-joint quaternions in the HumanML3D convention.

    quats[..., j] rotates the bone that *ends* at joint j relative to its parent bone (the root entry
    is the root's global rotation); offsets default to the skeleton's raw unit directions scaled by
    its rest bone lengths.
    """
    if offsets is None:
        offsets = skeleton.raw_offsets * skeleton.bone_lengths[:, None]
    out = np.zeros((*quats.shape[:-1], 3))
    out[..., 0, :] = root_pos
    for chain in skeleton.kinematic_chain:
        rot = quats[..., 0, :]
        for prev, j in zip(chain[:-1], chain[1:], strict=True):
            rot = qmul(rot, quats[..., j, :])
            out[..., j, :] = qrot(rot, np.broadcast_to(offsets[j], out[..., j, :].shape)) + out[..., prev, :]
    return out


def heading_yaw(skeleton: Skeleton, joints: np.ndarray, smooth_sigma: float = 0.0,
                face_joints: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Yaw angle (T,) of the body's facing direction, unwrapped over time.

    Facing = up x across, across = (r_hip - l_hip) + (r_shoulder - l_shoulder) for the four joints of
    `face_joints` (default: the skeleton's). The returned angle phi satisfies facing =
    (sin phi, 0, cos phi). HumanML3D smooths the facing vector with a Gaussian of sigma 20 frames
    before taking it as the root rotation.
    """
    r_hip, l_hip, r_sh, l_sh = face_joints or skeleton.face_joints
    across = (joints[:, r_hip] - joints[:, l_hip]) + (joints[:, r_sh] - joints[:, l_sh])
    forward = np.cross(UP, normalize(across))
    if smooth_sigma > 0 and len(forward) > 1:
        smoothed = gaussian_filter1d(forward, smooth_sigma, axis=0, mode="nearest")
        # A fast half-turn can average the facing vector to ~zero; keep the raw one there.
        ok = np.linalg.norm(smoothed[:, [0, 2]], axis=-1) > 1e-3
        forward = np.where(ok[:, None], smoothed, forward)
    return np.unwrap(np.arctan2(forward[:, 0], forward[:, 2]))


def root_rotation(yaw: np.ndarray) -> np.ndarray:
    """World -> heading-frame quaternion: rotates the facing direction onto +Z."""
    return qfrom_yaw(-yaw)


def inverse_kinematics(skeleton: Skeleton, joints: np.ndarray, root_quat: np.ndarray) -> np.ndarray:
    """Per-joint local quaternions (T, J, 4) from positions (T, J, 3), as HumanML3D's IK.

    Each bone gets the shortest-arc swing from its raw rest direction to its current direction (in
    world space); the local rotation is that swing relative to the parent bone's swing. The root
    entry is `root_quat` (the heading rotation).
    """
    quats = np.zeros((*joints.shape[:-1], 4))
    quats[..., 0, :] = root_quat
    for chain in skeleton.kinematic_chain:
        parent_global = root_quat
        for prev, j in zip(chain[:-1], chain[1:], strict=True):
            rest_dir = np.broadcast_to(skeleton.raw_offsets[j], joints[..., j, :].shape)
            swing = qbetween(rest_dir, joints[..., j, :] - joints[..., prev, :])
            quats[..., j, :] = qmul(qinv(parent_global), swing)
            parent_global = swing
    return quats


def rescale_to_skeleton(skeleton: Skeleton, joints: np.ndarray, target_lengths: np.ndarray) -> np.ndarray:
    """Keep every bone's direction, set its length from `target_lengths` (J,), scale the root path.

    Equivalent to HumanML3D's IK followed by FK on the target offsets. The root trajectory is scaled by
    the ratio of target to source leg length (the two `leg_bones`), measured on the first frame.
    """
    a, b = skeleton.leg_bones
    p = skeleton.parents
    src_leg = (np.linalg.norm(joints[0, a] - joints[0, p[a]]) + np.linalg.norm(joints[0, b] - joints[0, p[b]]))
    tgt_leg = target_lengths[a] + target_lengths[b]
    out = np.zeros_like(joints)
    out[:, 0] = joints[:, 0] * (tgt_leg / max(src_leg, 1e-9))
    for chain in skeleton.kinematic_chain:
        for prev, j in zip(chain[:-1], chain[1:], strict=True):
            direction = normalize(joints[:, j] - joints[:, prev])
            out[:, j] = out[:, prev] + direction * target_lengths[j]
    return out
