"""Control from the scene: a curve to walk along (Follow curve) and the armature's own keys (Fill between keys).

The add-on only reads Blender data and sends armature-space numbers; the backend turns them into the motion's
frame (`POST /v1/retarget/to-motion`, `backend/motion/retarget/inverse.py`) and the generated motion is
retargeted with the scale and origin it answers, so the root lands back on the curve and the keyed poses.

- **Follow curve**: the first spline of the curve object, evaluated in world space (Bezier segments at 32 points
  each, poly and NURBS splines through their points), then into the armature object's space (its transform, and
  so a Mixamo rig's centimetres, are undone there). The character walks it at an even pace from its first point
  to its last over the motion's length. The motion's frame is the rig's own: origin at the rest pose's pelvis,
  forward the way the rest pose faces; where the curve starts elsewhere or heads another way the backend turns
  the walk onto it.
- **Fill between keys**: the pose at each chosen frame (every frame where the armature's action has a key on a
  mapped bone inside the scene or preview range, or a typed list) is read as pose-bone matrices; the new motion
  starts at the first such frame and ends at the last. After the keys are written, the user's own values at those
  frames are put back on the mapped bones' curves, so they stay exact.
"""

from __future__ import annotations

import re

import bpy
import numpy as np
from mathutils import Vector
from mathutils.geometry import interpolate_bezier

from .keys import bone_path, channel_fcurves, curve_channel, rotation_prop

BEZIER_RESOLUTION = 32
PATH_RATE = 10.0  # path points per second sent to the backend
WALK_SPEED = 1.3  # m/s: the length an "auto" motion gets for a curve


def _matrix(m) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in m])


def curve_world_points(curve_obj: bpy.types.Object, depsgraph) -> np.ndarray:
    """(N, 3) world-space points along the first spline of `curve_obj` (evaluated: modifiers, hooks, animation)."""
    if curve_obj is None or curve_obj.type != "CURVE":
        kind = "nothing" if curve_obj is None else f"a {curve_obj.type.lower()}"
        name = "" if curve_obj is None else f"{curve_obj.name!r} is "
        raise ValueError(f"Follow curve: {name}{kind}, not a curve object; pick a curve (Add > Curve) to walk along")
    evaluated = curve_obj.evaluated_get(depsgraph)
    splines = evaluated.data.splines
    if not len(splines):
        raise ValueError(f"Follow curve: the curve {curve_obj.name!r} has no spline")
    spline = splines[0]
    if spline.type == "BEZIER":
        knots = list(spline.bezier_points)
        pairs = list(zip(knots[:-1], knots[1:], strict=True))
        if spline.use_cyclic_u and len(knots) > 1:
            pairs.append((knots[-1], knots[0]))
        local: list[Vector] = [knots[0].co.copy()] if knots else []
        for a, b in pairs:
            local += interpolate_bezier(a.co, a.handle_right, b.handle_left, b.co, BEZIER_RESOLUTION + 1)[1:]
    else:
        local = [Vector(p.co[:3]) for p in spline.points]
        if spline.use_cyclic_u and local:
            local.append(local[0].copy())
    if len(local) < 2:
        raise ValueError(f"Follow curve: the curve {curve_obj.name!r} needs at least two points")
    world = _matrix(evaluated.matrix_world)
    pts = np.array([tuple(v) for v in local], np.float64)
    return pts @ world[:3, :3].T + world[:3, 3]


def even_pace(points: np.ndarray, seconds: float, rate: float = PATH_RATE) -> tuple[np.ndarray, np.ndarray]:
    """(times (M,), points (M, 3)): the polyline walked at constant speed from t = 0 to `seconds`."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        raise ValueError("Follow curve: the curve has no length")
    times = np.linspace(0.0, seconds, max(2, int(np.ceil(seconds * rate)) + 1))
    at = times / seconds * s[-1]
    return times, np.stack([np.interp(at, s, points[:, k]) for k in range(3)], axis=1)


def curve_length_m(points: np.ndarray, scene: bpy.types.Scene) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum() * scene.unit_settings.scale_length)


def path_request(context: bpy.types.Context, arm_obj: bpy.types.Object, curve_obj: bpy.types.Object,
                 seconds: float) -> dict:
    """The `path` part of a /v1/retarget/to-motion request: the curve in `arm_obj`'s armature space."""
    world = curve_world_points(curve_obj, context.evaluated_depsgraph_get())
    span = max(int(round(seconds * 20.0)) - 1, 1) / 20.0  # the curve ends on the motion's last frame (20 fps)
    times, pts = even_pace(world, span)
    inv = _matrix(arm_obj.matrix_world.inverted())
    local = pts @ inv[:3, :3].T + inv[:3, 3]
    return {"times": [round(float(t), 6) for t in times], "points": np.round(local, 6).tolist()}


def auto_seconds(context: bpy.types.Context, curve_obj: bpy.types.Object) -> float:
    """A walking pace's length for the curve (with Auto length on), within the model's 1..9.8 s."""
    world = curve_world_points(curve_obj, context.evaluated_depsgraph_get())
    return float(np.clip(curve_length_m(world, context.scene) / WALK_SPEED, 1.0, 9.8))


# ------------------------------------------------------------------------------------------ fill between keys

def parse_frames(text: str) -> list[int]:
    """'1, 30 60' -> [1, 30, 60] (sorted, unique)."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        frames = sorted({int(p) for p in parts})
    except ValueError:
        raise ValueError(f"Fill between keys: frames must be whole numbers separated by commas, got {text!r}") from None
    return frames


def keyed_frames(obj: bpy.types.Object, bones: set[str] | None, lo: int, hi: int) -> list[int]:
    """Whole frames in [lo, hi] where the armature's action has a key on one of `bones` (None: any bone)."""
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        return []
    slot = getattr(obj.animation_data, "action_slot", None)
    frames: set[int] = set()
    for fc in channel_fcurves(action, slot):
        bone, _ = curve_channel(fc.data_path)
        if bone is None or (bones is not None and bone not in bones):
            continue
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        frames |= {int(round(f)) for f in co[0::2] if lo - 1e-3 <= f <= hi + 1e-3}
    return sorted(frames)


def frame_range(scene: bpy.types.Scene) -> tuple[int, int]:
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end
    return scene.frame_start, scene.frame_end


def channel_values(pb: bpy.types.PoseBone) -> dict[str, list[float]]:
    """The bone's own animated values now: its rotation in its mode and its location."""
    prop = rotation_prop(pb.rotation_mode)
    return {prop: [float(v) for v in getattr(pb, prop)], "location": [float(v) for v in pb.location]}


def read_poses(context: bpy.types.Context, obj: bpy.types.Object, frames: list[int]
               ) -> tuple[dict[str, list], dict[int, dict[str, dict[str, list[float]]]]]:
    """(bone -> pose matrices at `frames` (armature space), frame -> bone -> its channel values there)."""
    scene = context.scene
    current = scene.frame_current, scene.frame_subframe
    matrices: dict[str, list] = {pb.name: [] for pb in obj.pose.bones}
    values: dict[int, dict[str, dict[str, list[float]]]] = {}
    try:
        for f in frames:
            scene.frame_set(f)
            values[f] = {}
            for pb in obj.pose.bones:
                matrices[pb.name].append(np.round(_matrix(pb.matrix), 7).tolist())
                values[f][pb.name] = channel_values(pb)
    finally:
        scene.frame_set(current[0], subframe=current[1])
    return matrices, values


def restore_keys(obj: bpy.types.Object, action: bpy.types.Action, values: dict[int, dict[str, dict[str, list[float]]]],
                 bones: set[str]) -> int:
    """Put the user's values back at their frames on `action`'s curves of `bones`; returns how many keys."""
    slot = getattr(obj.animation_data, "action_slot", None)
    curves = {(fc.data_path, fc.array_index): fc for fc in channel_fcurves(action, slot)}
    count = 0
    for frame, by_bone in values.items():
        for bone in bones:
            for prop, vals in by_bone.get(bone, {}).items():
                for i, v in enumerate(vals):
                    fc = curves.get((bone_path(bone, prop), i))
                    if fc is None:
                        continue
                    key = next((k for k in fc.keyframe_points if abs(k.co[0] - frame) < 1e-3), None)
                    if key is None:
                        fc.keyframe_points.insert(frame, v, options={"FAST"})
                    else:
                        delta = v - key.co[1]
                        key.co[1] = v
                        key.handle_left[1] += delta
                        key.handle_right[1] += delta
                    count += 1
    for fc in curves.values():
        fc.update()
    return count
