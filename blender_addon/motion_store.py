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

from .keys import PoseTrack, action_fcurves, push_to_nla, write_action

PREVIEW_TAG = "mogents_preview"


@dataclass
class Variation:
    motion: dict            # backend motion: joints, features, fps, prompt, seed
    retarget: dict          # backend /v1/retarget answer
    prompt: str


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


def _drop_preview(obj: bpy.types.Object) -> None:
    anim = obj.animation_data
    action = anim.action if anim else None
    if action is not None and action.get(PREVIEW_TAG):
        anim.action = None
        if action.users == 0:
            bpy.data.actions.remove(action)


def apply_track(obj: bpy.types.Object, track: PoseTrack, motion: dict, prompt: str, start_frame: int, step: float,
                bone_map: dict, preview: bool, extra: dict | None = None) -> bpy.types.Action:
    """Write a new action for `track` on `obj` and record the motion on it."""
    if preview:
        _drop_preview(obj)
    action = write_action(obj, track, prompt, start_frame, step)
    features = np.asarray(motion["features"], dtype=np.float32)
    meta = {"prompt": prompt, "seed": motion.get("seed", 0), "fps": float(motion["fps"]), "frames": len(features),
            "start_frame": start_frame, "step": step, "bone_map": bone_map, **(extra or {})}
    action["mogents"] = json.dumps(meta)
    action["mogents_features"] = features.ravel().tolist()
    if "joints" in motion:  # for rendering avatar videos of the applied motion
        action["mogents_joints"] = np.asarray(motion["joints"], dtype=np.float32).ravel().tolist()
    if preview:
        action[PREVIEW_TAG] = True
    return action


def keep(obj: bpy.types.Object, push: bool) -> bpy.types.Action:
    """Turn the previewed variation into a kept action (optionally pushed down to the NLA)."""
    anim = obj.animation_data
    action = anim.action if anim else None
    if action is None or motion_meta(action) is None:
        raise ValueError("no MoGenTS motion is applied to this armature")
    if PREVIEW_TAG in action:
        del action[PREVIEW_TAG]
    if push:
        push_to_nla(obj, action, motion_meta(action)["start_frame"])
    return action


def track_from_action(obj: bpy.types.Object, action: bpy.types.Action, frames: int, start: float,
                      step: float) -> PoseTrack:
    """Evaluate the action's quaternion/location curves at the motion's frames (for edit merging)."""
    curves = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(action)}
    times = start + step * np.arange(frames)
    rotations: dict[str, np.ndarray] = {}
    root, root_loc = None, None
    for pb in obj.pose.bones:
        quat = [curves.get((f'pose.bones["{pb.name}"].rotation_quaternion', i)) for i in range(4)]
        if all(c is not None for c in quat):
            rotations[pb.name] = np.stack([[c.evaluate(t) for t in times] for c in quat], axis=1).astype(np.float32)
        loc = [curves.get((f'pose.bones["{pb.name}"].location', i)) for i in range(3)]
        if all(c is not None for c in loc):
            root = pb.name
            root_loc = np.stack([[c.evaluate(t) for t in times] for c in loc], axis=1).astype(np.float32)
    return PoseTrack(rotations, root, root_loc)
