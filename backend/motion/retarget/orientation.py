"""Which way the rig stands in armature space: its up, left and forward axes, from the rest pose.

Motions are Y up with the body facing +Z (+X = body left). Blender armatures are Z up facing -Y,
which gives (x, y, z)_armature = (x, -z, y)_motion. A rig whose rest pose faces another way (or whose
armature space is Y up although declared Z up) is detected from its hips, shoulders and spine, and the
motion is turned to match, so "walk forward" walks the way the character faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .armature import UP_AXES, Armature

# Facing of a rig that follows its up axis' usual convention (Blender Z-up: -Y; Y-up: +Z like glTF).
DEFAULT_FORWARD = {"Z": (0, -1.0, 0), "-Z": (0, 1.0, 0), "Y": (0, 0, 1.0), "-Y": (0, 0, -1.0),
                   "X": (0, -1.0, 0), "-X": (0, -1.0, 0)}
_SNAP_DEG = 5.0
_UP_MISMATCH_DEG = 45.0


@dataclass(frozen=True, eq=False)  # holds numpy arrays: compare by identity
class RigFrame:
    left: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    yaw_deg: float                  # facing relative to the up axis' default facing, about up
    notes: list[str] = field(default_factory=list)

    @property
    def motion_to_armature(self) -> np.ndarray:
        """Rotation (3, 3): motion (left=+X, up=+Y, forward=+Z) -> armature space."""
        return np.stack([self.left, self.up, self.forward], axis=1)


def axis_name(v: np.ndarray) -> str:
    k = int(np.argmax(np.abs(v)))
    if abs(v[k]) < np.cos(np.deg2rad(_SNAP_DEG)):
        return "(" + ", ".join(f"{x:.2f}" for x in v) + ")"
    return ("+" if v[k] > 0 else "-") + "XYZ"[k]


def _snap(v: np.ndarray) -> np.ndarray:
    """Nearest signed axis when within a few degrees (rigs are built on axes; rounding is noise)."""
    k = int(np.argmax(np.abs(v)))
    if abs(v[k]) >= np.cos(np.deg2rad(_SNAP_DEG)):
        out = np.zeros(3)
        out[k] = np.sign(v[k])
        return out
    return v


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else None


def rig_frame(arm: Armature, joint_heads: dict[str, np.ndarray]) -> RigFrame:
    """Up/left/forward of the rig from the rest heads of its mapped bones (keyed by SMPL joint)."""
    notes: list[str] = []
    declared = np.array(UP_AXES[arm.up])
    up = declared
    top = next((joint_heads[j] for j in ("head", "neck", "spine3", "spine2") if j in joint_heads), None)
    if top is not None and "pelvis" in joint_heads:
        body = top - joint_heads["pelvis"]
        feet = [joint_heads[j] for j in ("l_ankle", "r_ankle") if j in joint_heads]
        if feet:
            body = body + joint_heads["pelvis"] - np.mean(feet, axis=0)
        found = _unit(body)
        if found is not None and found @ declared < np.cos(np.deg2rad(_UP_MISMATCH_DEG)):
            up = _snap(found)
            notes.append(f"the rig stands along {axis_name(up)}, not the declared up axis {arm.up}; using "
                         f"{axis_name(up)}")
    default_forward = np.array(DEFAULT_FORWARD[arm.up]) if up is declared else _default_forward_for(up)
    across = np.zeros(3)
    for left, right in (("l_hip", "r_hip"), ("l_shoulder", "r_shoulder"), ("l_collar", "r_collar")):
        if left in joint_heads and right in joint_heads:
            across += joint_heads[left] - joint_heads[right]
    left_vec = _unit(across - (across @ up) * up)
    if left_vec is None:
        left_vec = np.cross(up, default_forward)
        notes.append("no left/right bones to tell which way the rig faces; assuming the default facing")
    else:
        left_vec = _snap(left_vec)
        left_vec = _unit(left_vec - (left_vec @ up) * up)
    forward = np.cross(left_vec, up)
    yaw = float(np.degrees(np.arctan2(up @ np.cross(default_forward, forward), default_forward @ forward)))
    if abs(yaw) > 1.0:
        notes.append(f"the rig's rest pose faces {axis_name(forward)} (default {axis_name(default_forward)}); "
                     f"the motion is turned by {yaw:.0f} degrees to match")
    return RigFrame(left=left_vec, up=up, forward=forward, yaw_deg=yaw, notes=notes)


def _default_forward_for(up: np.ndarray) -> np.ndarray:
    for name, axis in UP_AXES.items():
        if np.allclose(axis, up):
            return np.array(DEFAULT_FORWARD[name])
    helper = np.array([0, -1.0, 0]) if abs(up[1]) < 0.9 else np.array([0, 0, 1.0])
    return _unit(helper - (helper @ up) * up)
