"""Write a retargeted motion onto an armature as a new action, fast.

Keys go in through `keyframe_points.add` + `foreach_set` (one call per F-curve instead of one Python call
per key). Blender 4.4+ stores F-curves in a slot's channelbag on a layered action (5.0 removed
`Action.fcurves`); 4.2 and 4.3 use the flat `Action.fcurves`. The code asks the API what it has instead of
comparing version numbers: 4.4 and 4.5 have channelbags but their `fcurves.new` takes no `group_name`, so
the bone's group is made with `channelbag.groups.new` and assigned. Every call makes a new action named after
the prompt, so the user's own action is never touched: it stays in the file and can be reassigned.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

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
        """From the backend's `/v1/retarget` JSON (`rotations`, `root_bone`, `root_location`)."""
        rotations = {name: np.asarray(q, dtype=np.float32) for name, q in result["rotations"].items()}
        loc = result.get("root_location")
        return cls(rotations, result.get("root_bone"), None if loc is None else np.asarray(loc, np.float32))

    @property
    def frames(self) -> int:
        return len(next(iter(self.rotations.values()))) if self.rotations else 0


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


def _bone_path(bone: str, prop: str) -> str:
    escaped = bone.replace("\\", "\\\\").replace('"', '\\"')
    return f'pose.bones["{escaped}"].{prop}'


def write_action(obj: bpy.types.Object, track: PoseTrack, prompt: str, start_frame: int = 1,
                 step: float = 1.0) -> bpy.types.Action:
    """Key `track` on `obj` into a new action starting at `start_frame` and assign it.

    `step` spaces the keys in scene frames (scene fps / motion fps), so a 20 fps motion plays at its real
    speed in a 24 or 30 fps scene. Bones get rotation mode QUATERNION so the keys drive them.
    """
    if obj is None or obj.type != "ARMATURE":
        raise ValueError("the active object is not an armature")
    unknown = [name for name in track.rotations if name not in obj.pose.bones]
    if track.root_bone and track.root_bone not in obj.pose.bones:
        unknown.append(track.root_bone)
    if unknown:
        raise ValueError(f"the armature has no bone(s) {', '.join(sorted(unknown)[:5])}")
    frames = start_frame + step * np.arange(track.frames, dtype=np.float32)
    action = bpy.data.actions.new(action_name(prompt))
    action.use_fake_user = False
    curves = _CurveFactory(action, obj)
    for bone, quats in track.rotations.items():
        obj.pose.bones[bone].rotation_mode = "QUATERNION"
        path = _bone_path(bone, "rotation_quaternion")
        for i in range(4):
            _fill(curves.new(path, i, bone), frames, quats[:, i])
    if track.root_bone and track.root_location is not None:
        path = _bone_path(track.root_bone, "location")
        for i in range(3):
            _fill(curves.new(path, i, track.root_bone), frames, track.root_location[:, i])
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
