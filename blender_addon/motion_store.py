"""Generated motions and their retargeted tracks: kept in memory while previewing, on the action once applied.

An applied action carries what made it (`action["mogents"]`: prompt, seed, fps, start frame, frame step,
the bone map used), the motion's features (`action["mogents_features"]`) and joint positions
(`action["mogents_joints"]`, (frames, 22, 3) flattened, Y up, metres), so editing by selection and avatar
rendering work on it later, also after saving and reopening the file.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import bpy
import numpy as np

from .keys import (
    PoseTrack,
    bone_path,
    channel_fcurves,
    key_frames,
    layered_actions,
    mode_to_quats,
    push_to_nla,
    rotation_prop,
    sample_track,
    write_action,
)

PREVIEW_TAG = "mogents_preview"


@dataclass
class Variation:
    motion: dict            # backend motion: joints, features, fps, prompt, seed
    retarget: dict          # backend /v1/retarget answer
    prompt: str
    armature: str = ""      # the armature object the retarget answer was made for ("" : any)
    start_frame: float | None = None  # where it must start (Fill between keys: the first kept pose); None: the panel's
    kept_poses: dict | None = None    # Fill between keys: frame -> bone -> channel values put back after keying


_store: dict[str, Variation] = {}
_ids = itertools.count()


def remember(variation: Variation) -> str:
    key = f"v{next(_ids)}"
    _store[key] = variation
    return key


def get(key: str) -> Variation:
    if key not in _store:
        raise KeyError("this variation is no longer in memory; generate again")
    return _store[key]


def forget_all() -> None:
    _store.clear()


def scene_step(scene: bpy.types.Scene, motion_fps: float) -> float:
    """Scene frames per motion frame, so a 20 fps motion plays at its real speed."""
    return (scene.render.fps / scene.render.fps_base) / float(motion_fps)


def motion_meta(action: bpy.types.Action) -> dict | None:
    raw = action.get("mogents") if action is not None else None
    return json.loads(raw) if raw else None


def motion_features(action: bpy.types.Action) -> np.ndarray:
    meta = motion_meta(action)
    if meta is None or "mogents_features" not in action:
        raise ValueError(f"the action {action.name!r} was not made by MoGenTS; generate a motion first")
    flat = np.asarray(action["mogents_features"], dtype=np.float32)
    return flat.reshape(meta["frames"], -1)


def is_preview(action: bpy.types.Action | None) -> bool:
    return action is not None and bool(action.get(PREVIEW_TAG))


def protect(action: bpy.types.Action) -> None:
    """Give a kept action a fake user, so it stays in the file when nothing else uses it."""
    if action is not None and not action.use_fake_user:
        action.use_fake_user = True


def key_frames_of(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """(scene frames of the action's keys, the motion frame each one samples) from its metadata."""
    return key_frames(meta["start_frame"], meta["step"], meta["frames"], bool(meta.get("whole_frames", False)))


def apply_track(obj: bpy.types.Object, track: PoseTrack, motion: dict, prompt: str, start_frame: float, step: float,
                bone_map: dict, preview: bool, extra: dict | None = None, whole_frames: bool = True,
                keyed: bool = False, derived: bool = False) -> bpy.types.Action:
    """Write a new action for `track` on `obj` and record the motion on it.

    `track` holds one sample per motion frame and is resampled to the keys (`whole_frames`: one key per
    whole scene frame), or, with `keyed`, already holds one sample per key of `key_frames`. The action the
    object had is the base: its curves on channels the motion does not drive are copied over. A previous
    preview is removed (it is disposable) unless the new action is `derived` from it (an edit or a
    continuation: then the preview is kept as the edit's original); any other action that would lose its
    last user gets a fake user so a save keeps it. A non-preview result gets a fake user too.
    """
    anim = obj.animation_data
    old = anim.action if anim else None
    old_slot = getattr(anim, "action_slot", None) if anim else None
    features = np.asarray(motion["features"], dtype=np.float32)
    frames, times = key_frames(start_frame, step, len(features), whole_frames)
    if not keyed:
        track = sample_track(track, times)
    action = write_action(obj, track, prompt, frames=frames, base=old, base_slot=old_slot)
    modes = {bone: obj.pose.bones[bone].rotation_mode for bone in track.rotations}
    meta = {"prompt": prompt, "seed": motion.get("seed", 0), "fps": float(motion["fps"]), "frames": len(features),
            "start_frame": start_frame, "step": step, "whole_frames": bool(whole_frames), "bone_map": bone_map,
            "root_bone": track.root_bone, "rotation_modes": modes, **(extra or {})}
    action["mogents"] = json.dumps(meta)
    action["mogents_features"] = features.ravel().tolist()
    if "joints" in motion:  # for rendering avatar videos of the applied motion
        action["mogents_joints"] = np.asarray(motion["joints"], dtype=np.float32).ravel().tolist()
    if preview:
        action[PREVIEW_TAG] = True
    else:
        protect(action)
    if old is not None and old != action:
        if is_preview(old) and derived:
            del old[PREVIEW_TAG]
            protect(old)
        elif is_preview(old):
            if old.users == 0:
                bpy.data.actions.remove(old)
        elif old.users == 0:
            protect(old)
    return action


def keep(obj: bpy.types.Object, push: bool) -> bpy.types.Action:
    """Turn the previewed variation into a kept action (fake user; optionally pushed down to the NLA)."""
    anim = obj.animation_data
    action = anim.action if anim else None
    if action is None or motion_meta(action) is None:
        raise ValueError("no MoGenTS motion is applied to this armature")
    if PREVIEW_TAG in action:
        del action[PREVIEW_TAG]
    protect(action)
    if push:
        push_to_nla(obj, action, motion_meta(action)["start_frame"])
    return action


def rotation_modes(obj: bpy.types.Object, bones) -> dict[str, int]:
    """How many of `bones` are keyed in each rotation mode (for the report)."""
    counts: dict[str, int] = {}
    for bone in bones:
        mode = obj.pose.bones[bone].rotation_mode
        counts[mode] = counts.get(mode, 0) + 1
    return counts


def track_from_action(obj: bpy.types.Object, action: bpy.types.Action, frames: np.ndarray,
                      bones=None) -> PoseTrack:
    """Evaluate the action's rotation curves (any rotation mode, as quaternions) and the root location at scene
    `frames`, for `bones` (default: the bones the MoGenTS metadata says it drove)."""
    meta = motion_meta(action) or {}
    modes = meta.get("rotation_modes", {})
    if bones is None:
        bones = list(modes) or [pb.name for pb in obj.pose.bones]
    slot = action.slots[0] if layered_actions() and len(action.slots) else None
    curves = {(fc.data_path, fc.array_index): fc for fc in channel_fcurves(action, slot)}
    frames = np.asarray(frames, dtype=np.float64)

    def sample(path: str, count: int) -> np.ndarray | None:
        channel = [curves.get((path, i)) for i in range(count)]
        if any(c is None for c in channel):
            return None
        return np.stack([[c.evaluate(t) for t in frames] for c in channel], axis=1).astype(np.float32)

    rotations: dict[str, np.ndarray] = {}
    for name in bones:
        mode = modes.get(name, obj.pose.bones[name].rotation_mode if name in obj.pose.bones else "QUATERNION")
        values = sample(bone_path(name, rotation_prop(mode)), 3 if rotation_prop(mode) == "rotation_euler" else 4)
        if values is not None:
            rotations[name] = mode_to_quats(values, mode)
    root, root_loc = meta.get("root_bone"), None
    candidates = [root] if root else ([] if "root_bone" in meta else bones)  # older actions: find it
    for name in candidates:
        root_loc = sample(bone_path(name, "location"), 3)
        if root_loc is not None:
            root = name
            break
    return PoseTrack(rotations, root if root_loc is not None else None, root_loc)
