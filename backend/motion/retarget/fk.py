"""Forward kinematics of pose bones exactly as Blender evaluates them (no constraints, no drivers).

Blender: pose_matrix = parent_pose @ inv(parent_rest) @ rest @ basis, basis = T(location) @ R(quaternion),
all in armature space; a root bone has pose_matrix = rest @ basis. Connected bones ignore location.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..rotations import quat_to_matrix
from .armature import Armature
from .rotmath import qrot

if TYPE_CHECKING:
    from .plan import BonePlan
    from .solve import RetargetResult


def pose_matrices(arm: Armature, result: RetargetResult) -> np.ndarray:
    """Pose matrices (T, N, 4, 4) in armature space for every bone, in armature order."""
    frames = len(result.root_location)
    n = arm.num_bones
    basis = np.broadcast_to(np.eye(4), (frames, n, 4, 4)).copy()
    for name, quats in result.rotations.items():
        if name in arm.index:
            basis[:, arm.index[name], :3, :3] = quat_to_matrix(np.asarray(quats, np.float64))
    root = arm.index[result.root_bone]
    if not arm.connected[root]:
        basis[:, root, :3, 3] = np.asarray(result.root_location, np.float64)
    local_rest = arm.rest.copy()
    parents = arm.parents
    has_parent = parents >= 0
    local_rest[has_parent] = np.linalg.inv(arm.rest[parents[has_parent]]) @ arm.rest[has_parent]
    pose = np.empty((frames, n, 4, 4))
    for b in range(n):
        own = local_rest[b] @ basis[:, b]
        pose[:, b] = pose[:, parents[b]] @ own if parents[b] >= 0 else own
    return pose


def pose_armature(arm: Armature, result: RetargetResult) -> dict[str, np.ndarray]:
    """Head position (T, 3) of every bone in armature space after posing with `result`."""
    heads = pose_matrices(arm, result)[:, :, :3, 3]
    return {name: heads[:, i] for i, name in enumerate(arm.names)}


def pose_tails(arm: Armature, result: RetargetResult) -> dict[str, np.ndarray]:
    """Tail position (T, 3) of every bone (head + length along the posed Y axis)."""
    pose = pose_matrices(arm, result)
    tails = pose[:, :, :3, 3] + pose[:, :, :3, 1] * arm.lengths[None, :, None]
    return {name: tails[:, i] for i, name in enumerate(arm.names)}


def mapped_heads(arm: Armature, plans: list[BonePlan], deltas: list[np.ndarray | None], root_bone: int,
                 root_shift: np.ndarray) -> np.ndarray:
    """Heads (T, len(plans), 3) of the mapped bones only, from their world-space rest-to-pose rotations.

    A bone between two mapped bones keeps its rest pose relative to its parent, so a mapped bone's head
    moves with the rotation of the nearest mapped ancestor; this is `pose_armature` restricted to the
    bones the solver needs, without the per-bone 4x4 products. `deltas` are world quaternions (T, 4) per plan.
    """
    rest_heads = arm.heads
    out = np.empty((len(root_shift), len(plans), 3))
    for k, plan in enumerate(plans):
        if plan.parent >= 0:
            parent = plans[plan.parent]
            offset = rest_heads[plan.bone] - rest_heads[parent.bone]
            rotation = deltas[plan.parent]
            moved = offset if rotation is None else qrot(rotation, offset)
            out[:, k] = out[:, plan.parent] + moved
        elif plan.bone == root_bone or arm.is_ancestor(root_bone, plan.bone):
            out[:, k] = rest_heads[plan.bone] + root_shift
        else:
            out[:, k] = rest_heads[plan.bone]
    return out
