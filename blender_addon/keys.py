"""Write a retargeted motion onto an armature as a new action, fast.

Keys go in through `keyframe_points.add` + `foreach_set` (one call per F-curve instead of one Python call
per key). Blender 4.4+ stores F-curves in a slot's channelbag on a layered action (5.0 removed
`Action.fcurves`); 4.2 and 4.3 use the flat `Action.fcurves`. The code asks the API what it has instead of
comparing version numbers: 4.4 and 4.5 have channelbags but their `fcurves.new` takes no `group_name`, so
the bone's group is made with `channelbag.groups.new` and assigned. Every call makes a new action named after
the prompt, so the user's own action is never touched: it stays in the file and can be reassigned.

Only the bones the motion drives are keyed, each in its own rotation mode (Euler bones get Euler keys, no
bone's mode is changed); the F-curves the previous action had on every other channel are copied over, so a
hand-keyed finger pose keeps playing under a generated body motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Euler, Quaternion

LINEAR = 1  # enum index of 'LINEAR' in FCurve keyframe interpolation (CONSTANT=0, LINEAR=1, BEZIER=2)
MAX_ACTION_NAME = 63


@dataclass
class PoseTrack:
    """What one apply writes: per-bone quaternions (T, 4) wxyz and the root bone's location (T, 3)."""

    rotations: dict[str, np.ndarray]
    root_bone: str | None
    root_location: np.ndarray | None

    @classmethod
    def from_retarget(cls, result: dict) -> PoseTrack:
        """From the backend's `/v1/retarget` JSON (`rotations`, `root_bone`, `root_location`).

        The backend answers a rotation for every bone of the armature (identity for bones no joint maps);
        only the bones of its bone map are kept, so fingers, face and twist bones keep the user's own pose
        and keys.
        """
        mapped = mapped_bones(result)
        rotations = {name: np.asarray(q, dtype=np.float32) for name, q in result["rotations"].items()
                     if mapped is None or name in mapped}
        loc = result.get("root_location")
        return cls(rotations, result.get("root_bone"), None if loc is None else np.asarray(loc, np.float32))

    @property
    def frames(self) -> int:
        if self.rotations:
            return len(next(iter(self.rotations.values())))
        return 0 if self.root_location is None else len(self.root_location)

    def bones(self) -> set[str]:
        return set(self.rotations) | ({self.root_bone} if self.root_bone and self.root_location is not None else set())


def mapped_bones(result: dict) -> set[str] | None:
    """The bones the retarget answer's bone map drives (None when the answer carries no map)."""
    mapping = (result.get("bone_map") or {}).get("mapping")
    if mapping is None:
        return None
    return {bone for bone in mapping.values() if bone}


def key_frames(start: float, step: float, count: int, whole_frames: bool) -> tuple[np.ndarray, np.ndarray]:
    """(scene frames of the keys, the motion frame each key samples) for a motion of `count` frames.

    `whole_frames`: one key per whole scene frame from the first to the last the motion covers (the motion
    resampled to the scene's frame rate); else one key per motion frame at `start + step * k` (subframes
    when the scene's rate is not the motion's).
    """
    if count < 1:
        return np.zeros(0, np.float64), np.zeros(0, np.float64)
    if not whole_frames:
        times = np.arange(count, dtype=np.float64)
        return start + step * times, times
    last = start + step * (count - 1)
    frames = np.arange(np.ceil(start - 1e-6), np.floor(last + 1e-6) + 1, dtype=np.float64)
    return frames, np.clip((frames - start) / step, 0.0, count - 1)


def sample_track(track: PoseTrack, times: np.ndarray) -> PoseTrack:
    """`track` at fractional motion frames `times`: linear for locations, normalised lerp for quaternions
    (the backend's quaternions are sign-continuous, so neighbours are on the same side)."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) == track.frames and np.array_equal(times, np.arange(track.frames)):
        return track
    lo = np.clip(np.floor(times).astype(int), 0, max(track.frames - 1, 0))
    hi = np.minimum(lo + 1, track.frames - 1)
    w = (times - lo)[:, None].astype(np.float32)

    def lerp(x: np.ndarray) -> np.ndarray:
        return ((1 - w) * x[lo] + w * x[hi]).astype(np.float32)

    rotations = {}
    for name, q in track.rotations.items():
        r = lerp(q)
        rotations[name] = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)
    loc = None if track.root_location is None else lerp(track.root_location)
    return PoseTrack(rotations, track.root_bone, loc)


def layered_actions() -> bool:
    """True on Blender 4.4+, where actions have slots, layers and channelbags."""
    return "slots" in bpy.types.Action.bl_rna.properties


def _channelbag_takes_group_name() -> bool:
    """`ActionChannelbagFCurves.new(..., group_name=)` exists from Blender 5.0 on (4.4 and 4.5 lack it)."""
    curves = getattr(bpy.types, "ActionChannelbagFCurves", None)
    return curves is not None and "group_name" in curves.bl_rna.functions["new"].parameters


def action_fcurves(action: bpy.types.Action) -> list[bpy.types.FCurve]:
    """Every F-curve of `action`: from all channelbags of a layered action, else the legacy flat list."""
    if getattr(action, "layers", None) is not None and len(action.layers):
        return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for fc in bag.fcurves]
    return list(getattr(action, "fcurves", ()))


def action_name(prompt: str) -> str:
    text = " ".join(prompt.split()) or "motion"
    return ("MoGenTS: " + text)[:MAX_ACTION_NAME]


class _CurveFactory:
    """Creates F-curves on either action API with the bone's group name."""

    def __init__(self, action: bpy.types.Action, obj: bpy.types.Object):
        self.action = action
        self.slot = None
        self.bag = None
        self._groups: dict[str, bpy.types.ActionGroup] = {}
        self._group_name_arg = _channelbag_takes_group_name()
        if layered_actions():
            self.slot = action.slots.new(id_type="OBJECT", name=obj.name)
            layer = action.layers.new("MoGenTS")
            strip = layer.strips.new(type="KEYFRAME")
            self.bag = strip.channelbag(self.slot, ensure=True)

    def new(self, data_path: str, index: int, group: str) -> bpy.types.FCurve:
        if self.bag is None:
            return self.action.fcurves.new(data_path, index=index, action_group=group)
        if self._group_name_arg:
            return self.bag.fcurves.new(data_path, index=index, group_name=group)
        curve = self.bag.fcurves.new(data_path, index=index)
        if group not in self._groups:
            self._groups[group] = self.bag.groups.new(group)
        curve.group = self._groups[group]
        return curve


def _fill(curve: bpy.types.FCurve, frames: np.ndarray, values: np.ndarray) -> None:
    n = len(frames)
    curve.keyframe_points.add(n)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    curve.keyframe_points.foreach_set("co", co)
    curve.keyframe_points.foreach_set("interpolation", np.full(n, LINEAR, dtype=np.int32))
    curve.update()


def bone_path(bone: str, prop: str) -> str:
    escaped = bone.replace("\\", "\\\\").replace('"', '\\"')
    return f'pose.bones["{escaped}"].{prop}'


ROTATION_PROPS = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}  # else rotation_euler


def rotation_prop(mode: str) -> str:
    return ROTATION_PROPS.get(mode, "rotation_euler")


def quats_to_mode(quats: np.ndarray, mode: str) -> np.ndarray:
    """(T, 4) wxyz quaternions as the channels of a bone's rotation mode: (T, 4) for QUATERNION and
    AXIS_ANGLE (angle, x, y, z), (T, 3) for an Euler order, each frame compatible with the one before
    (no 360-degree flips)."""
    if mode == "QUATERNION":
        return quats
    out = np.empty((len(quats), 4 if mode == "AXIS_ANGLE" else 3), dtype=np.float32)
    prev = None
    for t, q in enumerate(quats):
        quat = Quaternion([float(v) for v in q])
        if mode == "AXIS_ANGLE":
            if prev is not None and quat.dot(prev) < 0:
                quat.negate()
            axis, angle = quat.to_axis_angle()
            out[t] = (angle, *axis)
            prev = quat
        else:
            prev = quat.to_euler(mode) if prev is None else quat.to_euler(mode, prev)
            out[t] = tuple(prev)
    return out


def mode_to_quats(values: np.ndarray, mode: str) -> np.ndarray:
    """The inverse of `quats_to_mode`: a bone's rotation channels (T, 3 or 4) as (T, 4) wxyz quaternions."""
    if mode == "QUATERNION":
        return np.asarray(values, dtype=np.float32)
    out = np.empty((len(values), 4), dtype=np.float32)
    for t, v in enumerate(values):
        if mode == "AXIS_ANGLE":
            quat = Quaternion([float(x) for x in v[1:4]], float(v[0]))
        else:
            quat = Euler([float(x) for x in v], mode).to_quaternion()
        out[t] = tuple(quat)
    return out


def channel_fcurves(action: bpy.types.Action, slot=None) -> list[bpy.types.FCurve]:
    """The F-curves `action` has for `slot` (4.4+; all slots when None), or its flat list (4.2, 4.3)."""
    if slot is None or getattr(action, "layers", None) is None or not len(action.layers):
        return action_fcurves(action)
    out = []
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot)
            if bag is not None:
                out.extend(bag.fcurves)
    return out


_BONE_PREFIX = 'pose.bones["'
_ROTATIONS = ("rotation_quaternion", "rotation_euler", "rotation_axis_angle")
_KEY_FLOAT2 = ("co", "handle_left", "handle_right")
_KEY_ENUMS = ("interpolation", "handle_left_type", "handle_right_type", "easing", "type")


def curve_channel(data_path: str) -> tuple[str | None, str]:
    """('bone', 'rotation' | 'location' | other property) of a pose-bone F-curve path; (None, path) else."""
    if not data_path.startswith(_BONE_PREFIX):
        return None, data_path
    end = data_path.rfind('"].')
    if end < 0:
        return None, data_path
    bone = data_path[len(_BONE_PREFIX):end].replace('\\"', '"').replace("\\\\", "\\")
    prop = data_path[end + 3:]
    return bone, "rotation" if prop in _ROTATIONS else prop


def _copy_curve(src: bpy.types.FCurve, dst: bpy.types.FCurve) -> None:
    n = len(src.keyframe_points)
    dst.keyframe_points.add(n)
    for attr in _KEY_FLOAT2:
        buf = np.empty(2 * n, dtype=np.float32)
        src.keyframe_points.foreach_get(attr, buf)
        dst.keyframe_points.foreach_set(attr, buf)
    for attr in _KEY_ENUMS:
        buf = np.empty(n, dtype=np.int32)
        src.keyframe_points.foreach_get(attr, buf)
        dst.keyframe_points.foreach_set(attr, buf)
    dst.extrapolation = src.extrapolation
    dst.mute = src.mute
    dst.update()


def write_action(obj: bpy.types.Object, track: PoseTrack, prompt: str, start_frame: float = 1,
                 step: float = 1.0, frames: np.ndarray | None = None, base: bpy.types.Action | None = None,
                 base_slot=None) -> bpy.types.Action:
    """Key `track` on `obj` into a new action and assign it.

    Keys go at `frames` (scene frames, one per track frame) or, without them, at `start_frame + step * k`,
    so a 20 fps motion plays at its real speed in a 24 or 30 fps scene. Each bone is keyed in its own
    rotation mode (quaternion, Euler of any order, axis-angle): no bone's mode is changed, so the user's
    other actions still play on it. Only the bones in `track` (and the root bone's location) are keyed;
    every F-curve of `base` (the action the object had, for `base_slot`) on any other channel is copied
    into the new action, so unmapped bones (fingers, face) and object channels keep the user's keys.
    """
    if obj is None or obj.type != "ARMATURE":
        raise ValueError("the active object is not an armature")
    unknown = [name for name in track.rotations if name not in obj.pose.bones]
    if track.root_bone and track.root_bone not in obj.pose.bones:
        unknown.append(track.root_bone)
    if unknown:
        raise ValueError(f"the armature has no bone(s) {', '.join(sorted(unknown)[:5])}")
    if frames is None:
        frames = start_frame + step * np.arange(track.frames, dtype=np.float64)
    frames = np.asarray(frames, dtype=np.float32)
    if len(frames) != track.frames:
        raise ValueError(f"{len(frames)} key frames for a track of {track.frames} frames")
    action = bpy.data.actions.new(action_name(prompt))
    action.use_fake_user = False
    curves = _CurveFactory(action, obj)
    written: set[tuple[str, str]] = set()
    for bone, quats in track.rotations.items():
        mode = obj.pose.bones[bone].rotation_mode
        values = quats_to_mode(quats, mode)
        path = bone_path(bone, rotation_prop(mode))
        for i in range(values.shape[1]):
            _fill(curves.new(path, i, bone), frames, values[:, i])
        written.add((bone, "rotation"))
    if track.root_bone and track.root_location is not None:
        path = bone_path(track.root_bone, "location")
        for i in range(3):
            _fill(curves.new(path, i, track.root_bone), frames, track.root_location[:, i])
        written.add((track.root_bone, "location"))
    if base is not None:
        for src in channel_fcurves(base, base_slot):
            bone, channel = curve_channel(src.data_path)
            if bone is not None and (bone, channel) in written:
                continue
            group = src.group.name if src.group is not None else (bone or "Object Transforms")
            _copy_curve(src, curves.new(src.data_path, src.array_index, group))
    anim = obj.animation_data or obj.animation_data_create()
    anim.action = action
    if curves.slot is not None:
        anim.action_slot = curves.slot
    return action


def push_to_nla(obj: bpy.types.Object, action: bpy.types.Action, start_frame: int = 1) -> bpy.types.NlaStrip:
    """Move the action into a new NLA track (the user's active action slot is left empty)."""
    anim = obj.animation_data or obj.animation_data_create()
    track = anim.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, int(start_frame), action)
    if layered_actions() and len(action.slots):
        strip.action_slot = action.slots[0]
    if anim.action == action:
        anim.action = None
    return strip


def keyframe_insert_reference(obj: bpy.types.Object, track: PoseTrack, start_frame: int = 1) -> int:
    """The slow way (one `keyframe_insert` per bone, channel and frame); for the benchmark only."""
    count = 0
    for t in range(track.frames):
        frame = start_frame + t
        for bone, quats in track.rotations.items():
            pb = obj.pose.bones[bone]
            pb.rotation_mode = "QUATERNION"
            pb.rotation_quaternion = quats[t].tolist()
            pb.keyframe_insert("rotation_quaternion", frame=frame)
            count += 4
        if track.root_bone and track.root_location is not None:
            pb = obj.pose.bones[track.root_bone]
            pb.location = track.root_location[t].tolist()
            pb.keyframe_insert("location", frame=frame)
            count += 3
    return count
