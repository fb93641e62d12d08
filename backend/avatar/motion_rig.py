"""A rig without skinning: one keyed empty per body segment, posed from the joint positions.

Each segment runs from an origin joint towards an aim joint (its +Y axis); its +X axis is a body
reference (across the hips, across the shoulders, or the body's forward direction) made orthogonal to
+Y, falling back to the other reference where the two are nearly parallel. The frames are computed in
numpy and keyed as location + quaternion with `keyframe_points.add` + `foreach_set`, so Blender evaluates
no constraints while rendering. Body parts are parented rigidly to the segment empties.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from .smpl import JOINT

LINEAR = 1  # enum index of 'LINEAR' in FCurve keyframe interpolation


@dataclass(frozen=True)
class Segment:
    origin: int
    aim: int
    reference: str  # "hips", "shoulders" or "forward"


def _seg(origin: str, aim: str, reference: str) -> Segment:
    return Segment(JOINT[origin], JOINT[aim], reference)


SEGMENTS: dict[str, Segment] = {
    "pelvis": _seg("pelvis", "spine1", "hips"),
    "belly": _seg("spine1", "spine2", "hips"),
    "waist": _seg("spine2", "spine3", "shoulders"),
    "chest": _seg("spine3", "neck", "shoulders"),
    "head": _seg("neck", "head", "shoulders"),
    "l_collar": _seg("l_collar", "l_shoulder", "forward"),
    "r_collar": _seg("r_collar", "r_shoulder", "forward"),
    "l_upper_arm": _seg("l_shoulder", "l_elbow", "forward"),
    "r_upper_arm": _seg("r_shoulder", "r_elbow", "forward"),
    "l_forearm": _seg("l_elbow", "l_wrist", "forward"),
    "r_forearm": _seg("r_elbow", "r_wrist", "forward"),
    "l_thigh": _seg("l_hip", "l_knee", "hips"),
    "r_thigh": _seg("r_hip", "r_knee", "hips"),
    "l_shin": _seg("l_knee", "l_ankle", "hips"),
    "r_shin": _seg("r_knee", "r_ankle", "hips"),
    "l_foot": _seg("l_ankle", "l_foot", "hips"),
    "r_foot": _seg("r_ankle", "r_foot", "hips"),
}


def _normalized(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _orthogonal(ref: np.ndarray, axis: np.ndarray) -> np.ndarray:
    return ref - np.sum(ref * axis, axis=-1, keepdims=True) * axis


def body_references(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Unit vectors (T, 3) per frame in Blender axes (Z up): across the hips/shoulders and forward."""
    hips = _normalized(joints[:, JOINT["l_hip"]] - joints[:, JOINT["r_hip"]])
    shoulders = _normalized(joints[:, JOINT["l_shoulder"]] - joints[:, JOINT["r_shoulder"]])
    up = np.array([0.0, 0.0, 1.0])
    # +X is the body's left and Z is up, so left x up points where the body faces.
    forward = _normalized(np.cross(hips + shoulders, up))
    return {"hips": hips, "shoulders": shoulders, "forward": forward}


def segment_lengths(joints: np.ndarray) -> dict[str, float]:
    """Median length of each segment over the clip (the body parts are built to these)."""
    return {name: float(np.median(np.linalg.norm(joints[:, s.aim] - joints[:, s.origin], axis=-1)))
            for name, s in SEGMENTS.items()}


def segment_rotations(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Rotation matrices (T, 3, 3) per segment; columns are the segment's X, Y, Z axes in world space."""
    refs = body_references(joints)
    fallback = {"hips": "forward", "shoulders": "forward", "forward": "shoulders"}
    matrices = {}
    for name, seg in SEGMENTS.items():
        y = _normalized(joints[:, seg.aim] - joints[:, seg.origin])
        x = _orthogonal(refs[seg.reference], y)
        x_alt = _orthogonal(refs[fallback[seg.reference]], y)
        weak = np.linalg.norm(x, axis=-1, keepdims=True) < 0.3
        x = _normalized(np.where(weak, x_alt, x))
        z = np.cross(x, y)
        matrices[name] = np.stack([x, y, z], axis=-1)
    return matrices


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices to (..., 4) unit quaternions (w, x, y, z), branch-free per element."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = np.stack([
        np.stack([1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                  m[..., 1, 0] - m[..., 0, 1]], axis=-1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0],
                  m[..., 0, 2] + m[..., 2, 0]], axis=-1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22,
                  m[..., 1, 2] + m[..., 2, 1]], axis=-1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                  1 - m00 - m11 + m22], axis=-1),
    ], axis=-2)
    # the candidate built on the largest diagonal term is the numerically stable one
    best = np.argmax(np.stack([m00 + m11 + m22, m00, m11, m22], axis=-1), axis=-1)
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    return _normalized(q)


def continuous(quaternions: np.ndarray) -> np.ndarray:
    """Flip signs along time (axis 0) so neighbouring keys interpolate the short way."""
    q = quaternions.copy()
    for t in range(1, len(q)):
        if np.dot(q[t], q[t - 1]) < 0:
            q[t] = -q[t]
    return q


def _fcurve_factory(obj: bpy.types.Object, name: str):
    """`new(path, index)` making F-curves on a new action for `obj` (slotted actions on Blender 4.4+)."""
    action = bpy.data.actions.new(name)
    anim = obj.animation_data or obj.animation_data_create()
    if hasattr(action, "slots"):
        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        bag = action.layers.new("Layer").strips.new(type="KEYFRAME").channelbag(slot, ensure=True)
        anim.action = action
        anim.action_slot = slot
        return lambda path, index: bag.fcurves.new(path, index=index)
    anim.action = action
    return lambda path, index: action.fcurves.new(path, index=index)


def key_transforms(obj: bpy.types.Object, frames: np.ndarray, locations: np.ndarray | None,
                   quaternions: np.ndarray | None) -> None:
    """Key location (T, 3) and/or rotation_quaternion (T, 4) on `obj` at `frames`, linear interpolation."""
    new_curve = _fcurve_factory(obj, f"{obj.name} motion")
    channels = []
    if locations is not None:
        channels += [("location", i, locations[:, i]) for i in range(3)]
    if quaternions is not None:
        obj.rotation_mode = "QUATERNION"
        channels += [("rotation_quaternion", i, quaternions[:, i]) for i in range(4)]
    n = len(frames)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    linear = np.full(n, LINEAR, dtype=np.int32)
    for path, index, values in channels:
        curve = new_curve(path, index)
        curve.keyframe_points.add(n)
        co[1::2] = values
        curve.keyframe_points.foreach_set("co", co)
        curve.keyframe_points.foreach_set("interpolation", linear)
        curve.update()


def build_segments(joints: np.ndarray, collection: bpy.types.Collection,
                   first_frame: int = 1) -> dict[str, bpy.types.Object]:
    """One keyed empty per segment, named `seg.NAME`, at its origin joint and oriented along it."""
    frames = first_frame + np.arange(len(joints), dtype=np.float32)
    rotations = segment_rotations(joints)
    empties = {}
    for name, seg in SEGMENTS.items():
        empty = bpy.data.objects.new(f"seg.{name}", None)
        empty.empty_display_size = 0.05
        collection.objects.link(empty)
        key_transforms(empty, frames, joints[:, seg.origin], continuous(matrix_to_quaternion(rotations[name])))
        empties[name] = empty
    return empties
