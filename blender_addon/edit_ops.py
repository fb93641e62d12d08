"""Operators: regenerate the selected bones over a frame range, and append "then ..." at the playhead.

Editing works on the MoGenTS action applied to the active armature (it carries the motion's features and
the bone map used). The backend regenerates the body parts covering the selected bones' joints over the frame
range and returns the complete edited motion, merged once on its side: outside the range it is the input's
motion, and after a whole-body edit (the root among the selected joints) the rest continues from where the
edit ends instead of jumping back onto the old root path. The add-on retargets that motion and writes it as a
new action; it merges no tracks itself. The previous action stays in the file.
"""

from __future__ import annotations

import bpy
import numpy as np

from . import motion_store, session
from .generate_ops import active_armature, connection, fit_scene_range, retarget_all
from .keys import PoseTrack
from .requests_body import retarget_values
from .rig import describe_armature, selected_bone_names
from .task_operator import TaskOperator, backend_reachable, has_motion, has_text, idle


def applied_motion(obj: bpy.types.Object) -> tuple[bpy.types.Action, dict, np.ndarray]:
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        raise ValueError(f"{obj.name} has no action; generate a motion first")
    return action, motion_store.motion_meta(action) or {}, motion_store.motion_features(action)


def scene_range(scene: bpy.types.Scene) -> tuple[int, int]:
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end
    return scene.frame_start, scene.frame_end


def edit_range(context: bpy.types.Context) -> tuple[int, int]:
    """The frames to edit: the preview range (or the scene range), or the Edit panel's own range."""
    settings = context.scene.mogents
    if settings.edit_use_scene_range:
        return scene_range(context.scene)
    if settings.edit_frame_end < settings.edit_frame_start:
        raise ValueError(f"the edit range ends ({settings.edit_frame_end}) before it starts "
                         f"({settings.edit_frame_start})")
    return settings.edit_frame_start, settings.edit_frame_end


def motion_frames(meta: dict, first: float, last: float) -> tuple[int, int]:
    """Scene frames [first, last] -> the motion frames [a, b) whose keys lie inside them, clipped to the motion.

    The first frame rounds up and the last down: a 20 fps motion in a 24 fps scene has keys at 19.0 and 20.2,
    and a range starting at 20 must not touch the one at 19.
    """
    start, step, total = meta["start_frame"], meta["step"], meta["frames"]
    a = int(np.ceil((first - start) / step - 1e-6))
    b = int(np.floor((last - start) / step + 1e-6)) + 1
    a, b = max(0, a), min(total, b)
    if b - a < 1:
        raise ValueError(f"the frame range {first}-{last} does not overlap the motion "
                         f"(frames {start}-{start + step * (total - 1):.0f})")
    return a, b


def keys_in_range(frames: np.ndarray, first: float, last: float) -> np.ndarray:
    """Which keys (scene frames) lie in [first, last]."""
    return (frames >= first - 1e-4) & (frames <= last + 1e-4)


def selected_joints(obj: bpy.types.Object, meta: dict) -> tuple[list[str], list[str], list[str]]:
    """(selected bones the bone map drives, their joints, selected bones it does not drive)."""
    bones = selected_bone_names(obj)
    if not bones:
        raise ValueError("select the bones to regenerate (pose mode)")
    joint_of = {bone: joint for joint, bone in meta.get("bone_map", {}).items()}
    mapped = [b for b in bones if b in joint_of]
    unmapped = [b for b in bones if b not in joint_of]
    if not mapped:
        raise ValueError(f"none of the {len(bones)} selected bone(s) ({', '.join(bones[:4])}"
                         f"{', ...' if len(bones) > 4 else ''}) has a joint in the bone map; select mapped bones")
    return mapped, sorted({joint_of[b] for b in mapped}), unmapped


def fetch_and_retarget(context: bpy.types.Context, obj: bpy.types.Object, meta: dict, label: str, call,
                       extra: tuple = ()):
    """Work for a thread: `call(client)` returns a motion, which is retargeted with the bone map the applied
    action used; the result is (motion, retarget answer, the backend's whole answer, *extra), or None when
    cancelled."""
    armature = describe_armature(obj)
    values = retarget_values(context.scene.mogents, obj.data.mogents, meta["fps"])
    values["mapping"] = values["mapping"] or meta.get("bone_map")
    conn = connection(context)

    def work(progress, cancelled):
        client = session.client(conn)
        progress(0.1, label)
        answer = call(client)
        motion = answer.get("motion", answer)
        tracks = retarget_all(client, armature, [motion], values, progress, cancelled, lo=0.8)
        return (motion, tracks[0], answer, *extra) if tracks else None

    return work


class MOGENTS_OT_edit_selection(TaskOperator, bpy.types.Operator):
    """Regenerate the selected bones over the preview range (or the scene range) with a new prompt"""

    bl_idname = "mogents.edit_selection"
    bl_label = "Regenerate selection"

    @classmethod
    def poll(cls, context):
        return (idle(cls, context) and has_motion(cls, context) and backend_reachable(cls, context)
                and has_text(cls, context.scene.mogents.edit_prompt, "Type the new prompt for the selection"))

    def prepare(self, context):
        settings = context.scene.mogents
        obj = active_armature(context)
        action, meta, features = applied_motion(obj)
        bones, joints, unmapped = selected_joints(obj, meta)
        first, last = edit_range(context)
        a, b = motion_frames(meta, first, last)
        prompt = " ".join(settings.edit_prompt.split())
        if not prompt:
            raise ValueError("type the new prompt for the selection")
        # the stored float32 features go as they are (not rounded), so the backend sees the motion exactly
        body = {"motion": {"features": features.tolist(), "fps": meta["fps"]}, "frames": [a, b],
                "joints": joints, "prompt": prompt, "seed": int(settings.seed), "raw": bool(settings.raw_output)}
        return fetch_and_retarget(context, obj, meta, "editing", lambda client: client.edit(body),
                                  extra=(bones, unmapped, a, b, meta, prompt))

    def apply(self, context, result):
        if result is None:
            return
        motion, retargeted, answer, bones, unmapped, a, b, meta, prompt = result
        obj = active_armature(context)
        report = answer.get("report") or {}
        action = motion_store.apply_track(obj, PoseTrack.from_retarget(retargeted), motion, f"edit: {prompt}",
                                          meta["start_frame"], meta["step"], meta.get("bone_map", {}), preview=False,
                                          extra={"edited_frames": [a, b], "edited_bones": bones, "edit_report": report},
                                          whole_frames=bool(meta.get("whole_frames", False)), derived=True)
        moved = float(report.get("rest_moved_mm", 0.0))
        rest = (f"; the frames after the range continue from where the edit ends ({moved / 1000:.2f} m, "
                f"{float(report.get('rest_turned_deg', 0.0)):.0f} deg from the old path)") if moved > 0.5 else ""
        if unmapped:
            self.report({"WARNING"}, f"{action.name}: edited {len(bones)} bone(s){rest}; {len(unmapped)} selected "
                                     f"bone(s) have no joint in the bone map and were left as they are: "
                                     f"{', '.join(unmapped[:6])}{', ...' if len(unmapped) > 6 else ''}")
        else:
            self.report({"INFO"}, f"{action.name}: {len(bones)} bone(s), motion frames {a}-{b - 1}{rest}")


class MOGENTS_OT_compose_then(TaskOperator, bpy.types.Operator):
    """Cut the motion at the playhead and continue it with the 'then ...' prompt (with a generated transition)"""

    bl_idname = "mogents.compose_then"
    bl_label = "Append at playhead"

    @classmethod
    def poll(cls, context):
        return (idle(cls, context) and has_motion(cls, context) and backend_reachable(cls, context)
                and has_text(cls, context.scene.mogents.then_prompt, "Type what happens next"))

    def prepare(self, context):
        scene, settings = context.scene, context.scene.mogents
        obj = active_armature(context)
        _, meta, features = applied_motion(obj)
        cut = int(np.floor((scene.frame_current - meta["start_frame"]) / meta["step"] + 1e-6)) + 1
        if not 4 <= cut <= meta["frames"]:
            raise ValueError("put the playhead inside the motion (at least 4 frames after its start)")
        prompt = " ".join(settings.then_prompt.split())
        if not prompt:
            raise ValueError("type what happens next")
        body = {"motion": {"features": features[:cut].tolist(), "fps": meta["fps"]}, "prompts": [prompt],
                "seconds": [float(settings.then_seconds)], "seed": int(settings.seed), "raw": bool(settings.raw_output)}
        return fetch_and_retarget(context, obj, meta, "composing", lambda client: client.compose(body),
                                  extra=(meta, f"{meta['prompt']}, {prompt}"))

    def apply(self, context, result):
        if result is None:
            return
        motion, retargeted, _, meta, prompt = result
        obj = active_armature(context)
        action = motion_store.apply_track(obj, PoseTrack.from_retarget(retargeted), motion, prompt,
                                          meta["start_frame"], meta["step"], meta.get("bone_map", {}), preview=False,
                                          whole_frames=bool(meta.get("whole_frames", False)), derived=True)
        fit_scene_range(context, action)
        self.report({"INFO"}, f"{action.name}: {len(motion['features'])} frames")


CLASSES = (MOGENTS_OT_edit_selection, MOGENTS_OT_compose_then)
