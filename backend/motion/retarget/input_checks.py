"""Checks of retargeting input that passes the schema but describes no pose: a rig whose bones all start at
one point, a motion frame with every joint at one point (all-zero joints). Shared by the HTTP API and the
CLI, so both refuse them with the same message before the solver runs."""

from __future__ import annotations

import numpy as np

from ...errors import MotionInputError
from .armature import Armature, armature_from_dict

SPREAD_TOLERANCE = 1e-6  # relative to the rig's longest bone; metres for joints


def checked_armature(description: dict) -> Armature:
    """The request's armature, refused when its bones' heads all coincide (no rest pose to retarget onto)."""
    arm = armature_from_dict(description)
    heads = arm.rest[:, :3, 3]
    spread = float(np.max(heads.max(axis=0) - heads.min(axis=0)))
    if len(arm.names) > 1 and not spread > SPREAD_TOLERANCE * float(arm.lengths.max()):
        raise MotionInputError(f"the armature's {len(arm.names)} bones all start at one point: send the rest pose "
                               "in armature space (each bone's head and tail, as Blender's edit bones give them)")
    return arm


def checked_pose_joints(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 3) joints, refused when non-finite or when a frame has every joint at one point (e.g. all zeros)."""
    if not np.all(np.isfinite(joints)):
        frame = int(np.argwhere(~np.isfinite(joints))[0][0])
        raise MotionInputError(f"motion.joints: non-finite value (NaN or inf) at frame {frame}")
    spread = (joints.max(axis=1) - joints.min(axis=1)).max(axis=-1)
    flat = np.flatnonzero(~(spread > SPREAD_TOLERANCE))
    if len(flat):
        which = "every frame has" if len(flat) == len(joints) else f"frame {int(flat[0])} has"
        raise MotionInputError(f"motion.joints: {which} all {joints.shape[1]} joints at one point; not a pose "
                               "to retarget")
    return joints
