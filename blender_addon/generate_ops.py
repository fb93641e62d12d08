"""Operators: backend lifecycle, Generate, variations (preview / keep), bone map detection and files."""

from __future__ import annotations

import json

import bpy
import numpy as np
from bpy.props import IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import control, motion_store, session
from .client import BackendError
from .keys import PoseTrack
from .properties import preferences
from .requests_body import generate_body, progress_fraction, retarget_body, retarget_values
from .rig import describe_armature
from .task_operator import (
    TaskOperator,
    backend_reachable,
    has_armature,
    has_motion,
    has_text,
    idle,
    status,
)


def active_armature(context: bpy.types.Context) -> bpy.types.Object:
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE":
        raise ValueError("select the armature to animate (make it the active object)")
    return obj


def connection(context: bpy.types.Context) -> session.Connection:
    return session.Connection.from_preferences(preferences(context))


def start_frame(context: bpy.types.Context) -> int:
    settings = context.scene.mogents
    return context.scene.frame_current if settings.use_playhead else settings.start_frame


def fit_scene_range(context: bpy.types.Context, action: bpy.types.Action) -> None:
    """With 'Fit frame range' on, the scene's range (or the preview range when it is on) becomes the action's."""
    scene = context.scene
    meta = motion_store.motion_meta(action)
    if not scene.mogents.fit_range or meta is None:
        return
    frames, _ = motion_store.key_frames_of(meta)
    first, last = int(round(frames[0])), max(int(round(frames[-1])), int(round(frames[0])) + 1)
    if scene.use_preview_range:
        scene.frame_preview_start, scene.frame_preview_end = first, last
    else:
        scene.frame_start, scene.frame_end = first, last


def apply_variation(context: bpy.types.Context, key: str, preview: bool = True) -> bpy.types.Action:
    """Key one stored variation onto the active armature (a new action; the previous preview goes)."""
    obj = active_armature(context)
    variation = motion_store.get(key)
    if variation.armature and variation.armature != obj.name:
        raise ValueError(f"this variation was fitted to {variation.armature!r}, not {obj.name!r}: make "
                         f"{variation.armature!r} active, or select {obj.name!r} and use Apply to Selected Armatures")
    fps = float(variation.motion["fps"])
    action = _apply(context, obj, variation, fps, preview)
    fit_scene_range(context, action)
    return action


def _apply(context: bpy.types.Context, obj: bpy.types.Object, variation: motion_store.Variation, fps: float,
           preview: bool) -> bpy.types.Action:
    track = PoseTrack.from_retarget(variation.retarget)
    start = start_frame(context) if variation.start_frame is None else variation.start_frame
    action = motion_store.apply_track(
        obj, track, variation.motion, variation.prompt, start,
        motion_store.scene_step(context.scene, fps), variation.retarget.get("bone_map", {}).get("mapping", {}), preview,
        whole_frames=not context.scene.mogents.use_subframes or variation.kept_poses is not None)
    if variation.kept_poses:  # Fill between keys: the user's own values at their frames, exactly
        control.restore_keys(obj, action, variation.kept_poses, track.bones())
    return action


def control_inputs(context: bpy.types.Context, obj: bpy.types.Object, body: dict, values: dict) -> dict | None:
    """Follow curve / Fill between keys, read on the main thread: {"request" (for /v1/retarget/to-motion, without
    the armature), "start" (scene frame or None), "kept" (the poses to put back or None)}; None when both are off.
    Sets body["seconds"] (from the keys' span, or a walking pace for the curve with Auto length)."""
    settings, scene = context.scene.mogents, context.scene
    if not (settings.follow_curve or settings.fill_keys):
        return None
    request: dict = {"scale": values["options"].get("scale")}
    if values.get("mapping"):
        request["bone_map"] = {"mapping": values["mapping"]}
    else:
        request["preset"] = values.get("preset", "auto")
    out = {"request": request, "start": None, "kept": None}
    if settings.follow_curve and not settings.root_motion:
        raise ValueError("Follow curve needs Root motion on (in the rig settings): in place, nothing can walk a curve")
    if settings.follow_curve and (settings.control_curve is None or settings.control_curve.type != "CURVE"):
        control.curve_world_points(settings.control_curve, None)  # raises the message that says what is wrong
    if settings.fill_keys:
        mapped = {p.bone for p in obj.data.mogents.bone_map if p.bone} or None
        if settings.key_source == "LIST":
            frames = control.parse_frames(settings.key_frame_list)
        else:
            lo, hi = control.frame_range(scene)
            frames = control.keyed_frames(obj, mapped, lo, hi)
        if len(frames) < 2:
            where = "typed" if settings.key_source == "LIST" else f"keyed on {obj.name} between frames {lo} and {hi}"
            raise ValueError(f"Fill between keys needs poses at two frames or more; {len(frames)} {where}")
        step = motion_store.scene_step(scene, 20.0)
        motion_frames = [int(round((f - frames[0]) / step)) for f in frames]
        if len(set(motion_frames)) != len(motion_frames):
            raise ValueError("Fill between keys: two kept frames fall on the same motion frame (20 fps); keep "
                             "poses at least one motion frame apart")
        seconds = (motion_frames[-1] + 1) / 20.0
        if seconds > 9.8:
            raise ValueError(f"Fill between keys: frames {frames[0]}..{frames[-1]} span {seconds:.1f} s; the model "
                             "makes at most 9.8 s at once")
        body["seconds"] = max(seconds, 1.0)
        matrices, kept = control.read_poses(context, obj, frames)
        request["pose"] = {"frames": motion_frames, "matrices": matrices}
        out["start"], out["kept"] = frames[0], kept
    if settings.follow_curve:
        if body["seconds"] is None:
            body["seconds"] = control.auto_seconds(context, settings.control_curve)
        request["path"] = control.path_request(context, obj, settings.control_curve, body["seconds"])
    return out


def keyed_summary(action: bpy.types.Action) -> str:
    """'22 bones keyed (3 in their Euler mode)': what the action drives, for the report."""
    meta = motion_store.motion_meta(action) or {}
    modes = list(meta.get("rotation_modes", {}).values())
    other = [m for m in modes if m != "QUATERNION"]
    kinds = sorted({"axis-angle" if m == "AXIS_ANGLE" else "Euler" for m in other})
    return f"{len(modes)} mapped bones keyed" + (f" ({len(other)} in their {'/'.join(kinds)} mode)" if other else "")


def control_ready(cls, context: bpy.types.Context) -> bool:
    """Follow curve has a curve, Fill between keys has keys (or typed frames); the poll message says what is missing."""
    settings = context.scene.mogents
    if settings.follow_curve:
        curve = settings.control_curve
        if curve is None:
            return has_text(cls, "", "Follow curve is on: pick the curve to walk along in the Control box")
        if curve.type != "CURVE":
            return has_text(cls, "", f"Follow curve: {curve.name} is not a curve; pick a curve object")
    if settings.fill_keys:
        if settings.key_source == "LIST":
            return has_text(cls, settings.key_frame_list, "Fill between keys: type the frames whose poses to keep")
        anim = context.active_object.animation_data
        if anim is None or anim.action is None:
            return has_text(cls, "", f"Fill between keys: {context.active_object.name} has no keys; key its poses "
                                     "at two frames or more first")
    return True


def retarget_all(client, armature: dict, motions: list[dict], values: dict, progress, cancelled,
                 lo: float = 0.9) -> list[dict]:
    tracks = []
    for i, motion in enumerate(motions):
        if cancelled():
            return []
        tracks.append(client.retarget(retarget_body(armature, motion["joints"], values)))
        progress(lo + (1 - lo) * (i + 1) / len(motions), f"retarget {i + 1}/{len(motions)}")
    return tracks


class MOGENTS_OT_generate(TaskOperator, bpy.types.Operator):
    """Generate motion from the prompt and key it onto the active armature"""

    bl_idname = "mogents.generate"
    bl_label = "Generate"

    @classmethod
    def poll(cls, context):
        return (idle(cls, context) and has_armature(cls, context) and backend_reachable(cls, context)
                and has_text(cls, context.scene.mogents.prompt, "Type a prompt first") and control_ready(cls, context))

    def prepare(self, context):
        settings = context.scene.mogents
        obj = active_armature(context)
        armature = describe_armature(obj)
        body = generate_body(settings)
        values = retarget_values(settings, obj.data.mogents, 20.0)
        ctrl = control_inputs(context, obj, body, values)
        name = obj.name
        conn = connection(context)

        count = body["samples"]

        def work(progress, cancelled):
            client = session.client(conn)
            progress(0.02, "connected")
            if ctrl is not None:  # the curve and poses in the motion's frame; the retarget then maps them back
                answer = client.to_motion({**ctrl["request"], "armature": armature})
                body.update({k: answer[k] for k in ("path", "keyframes") if k in answer})
                values["options"].update(scale=answer["scale"], origin=answer["origin"])
            motions = []
            for i in range(count):  # one request per variation, so each has a seed that reproduces it alone
                seed = body["seed"] + i

                def part(fraction, message="", i=i):
                    progress(0.9 * (i + fraction / 0.9) / count, f"{i + 1}/{count}: {message}" if count > 1
                             else message)

                result = None
                for event in client.stream_generate({**body, "seed": seed, "samples": 1}, cancelled):
                    if event.get("event") == "progress":
                        part(*progress_fraction(event))
                    elif event.get("event") == "result":
                        result = event
                if cancelled():
                    return None
                if result is None:
                    raise BackendError("the backend closed the stream without a result")
                motions.append({**result["motions"][0], "seed": seed})
            values["options"]["fps"] = float(motions[0]["fps"])
            tracks = retarget_all(client, armature, motions, values, progress, cancelled)
            return body["prompt"], motions, tracks, name, ctrl

        return work

    def apply(self, context, result):
        if result is None:
            return
        prompt, motions, tracks, name, ctrl = result
        settings = context.scene.mogents
        settings.results.clear()
        start, kept = (ctrl["start"], ctrl["kept"]) if ctrl else (None, None)
        for i, (motion, track) in enumerate(zip(motions, tracks, strict=True)):
            item = settings.results.add()
            item.key = motion_store.remember(motion_store.Variation(motion, track, prompt, name, start, kept))
            item.label = f"{i + 1}: seed {motion['seed']}"
            item.seed = int(motion["seed"])
            item.seconds = len(motion["joints"]) / float(motion["fps"])
        settings.result_index = 0
        action = apply_variation(context, settings.results[0].key)
        warnings = tracks[0].get("warnings") or []
        self.report({"WARNING"} if warnings else {"INFO"},
                    f"{action.name}: {len(motions)} variation(s); {keyed_summary(action)}"
                    + (f"; {warnings[0]}" if warnings else ""))


class MOGENTS_OT_preview_variation(bpy.types.Operator):
    """Show this variation on the armature (replaces the previous preview, not your own actions)"""

    bl_idname = "mogents.preview_variation"
    bl_label = "Preview variation"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if not len(context.scene.mogents.results):
            return has_text(cls, "", "Generate first: there are no variations")
        return idle(cls, context) and has_armature(cls, context)

    index: IntProperty(default=-1)

    def execute(self, context):
        settings = context.scene.mogents
        index = settings.result_index if self.index < 0 else self.index
        if not 0 <= index < len(settings.results):
            self.report({"ERROR"}, "no such variation")
            return {"CANCELLED"}
        try:
            apply_variation(context, settings.results[index].key)
        except (ValueError, KeyError) as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        settings.result_index = index
        return {"FINISHED"}


class MOGENTS_OT_clear_variations(bpy.types.Operator):
    """Empty the list of variations (the motion on the armature stays; a kept one is never removed)"""

    bl_idname = "mogents.clear_variations"
    bl_label = "Clear variations"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if not len(context.scene.mogents.results):
            return has_text(cls, "", "The list of variations is already empty")
        return idle(cls, context)

    def execute(self, context):
        settings = context.scene.mogents
        settings.results.clear()
        settings.result_index = 0
        motion_store.forget_all()
        return {"FINISHED"}


class MOGENTS_OT_keep(bpy.types.Operator):
    """Keep the previewed variation as a normal action (optionally pushed to the NLA)"""

    bl_idname = "mogents.keep"
    bl_label = "Keep"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return idle(cls, context) and has_motion(cls, context)

    def execute(self, context):
        try:
            action = motion_store.keep(active_armature(context), context.scene.mogents.push_nla)
        except ValueError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        self.report({"INFO"}, f"kept {action.name}")
        return {"FINISHED"}


def selected_armatures(context: bpy.types.Context) -> list[bpy.types.Object]:
    """The selected armature objects, the active one first."""
    active = context.active_object
    objs = [obj for obj in context.selected_objects if obj.type == "ARMATURE"]
    return sorted(objs, key=lambda obj: obj != active)


def source_motion(context: bpy.types.Context) -> tuple[dict, str]:
    """(motion, prompt) for Apply to Selected: the chosen variation, else the active armature's MoGenTS motion."""
    settings = context.scene.mogents
    if 0 <= settings.result_index < len(settings.results):
        try:
            variation = motion_store.get(settings.results[settings.result_index].key)
            return variation.motion, variation.prompt
        except KeyError:
            pass  # the list outlived the session (a reopened file): use the motion on the armature
    obj = context.active_object
    action = obj.animation_data.action if obj is not None and obj.animation_data else None
    meta = motion_store.motion_meta(action)
    if meta is None or "mogents_joints" not in action:
        raise ValueError("generate a motion first (or make an armature that carries one active)")
    features = motion_store.motion_features(action)
    joints = np.asarray(action["mogents_joints"], dtype=np.float32).reshape(len(features), 22, 3)
    motion = {"joints": joints, "features": features, "fps": float(meta["fps"]), "seed": meta.get("seed", 0),
              "prompt": meta["prompt"]}
    return motion, meta["prompt"]


class MOGENTS_OT_apply_to_selected(TaskOperator, bpy.types.Operator):
    """Key the chosen variation (or the active armature's motion) onto every selected armature, each through its
    own bone map; each gets a new kept action"""

    bl_idname = "mogents.apply_to_selected"
    bl_label = "Apply to Selected Armatures"

    @classmethod
    def poll(cls, context):
        if not idle(cls, context) or not backend_reachable(cls, context):
            return False
        if not any(obj.type == "ARMATURE" for obj in context.selected_objects):
            return has_text(cls, "", "Select the armatures to animate")
        if len(context.scene.mogents.results):
            return True
        return has_motion(cls, context)

    def prepare(self, context):
        settings = context.scene.mogents
        targets = selected_armatures(context)
        if not targets:
            raise ValueError("select the armatures to animate")
        motion, prompt = source_motion(context)
        fps = float(motion["fps"])
        rigs = [(obj.name, describe_armature(obj), retarget_values(settings, obj.data.mogents, fps))
                for obj in targets]
        joints = np.asarray(motion["joints"], dtype=np.float32)
        conn = connection(context)

        def work(progress, cancelled):
            client = session.client(conn)
            answers, failed = [], []
            for i, (name, armature, values) in enumerate(rigs):  # one retarget request per rig, with its own map
                if cancelled():
                    return None
                try:
                    answers.append((name, client.retarget(retarget_body(armature, joints, values))))
                except BackendError as err:
                    failed.append(f"{name}: {err}")
                progress((i + 1) / len(rigs), f"retarget {i + 1}/{len(rigs)}: {name}")
            return motion, prompt, answers, failed

        return work

    def apply(self, context, result):
        if result is None:
            return
        motion, prompt, answers, failed = result
        if not answers:
            raise ValueError("; ".join(failed))
        keyed, action = [], None
        for name, track in answers:
            obj = bpy.data.objects.get(name)
            if obj is None or obj.type != "ARMATURE":
                failed.append(f"{name}: the armature is gone")
                continue
            variation = motion_store.Variation(motion, track, prompt, name)
            action = _apply(context, obj, variation, float(motion["fps"]), preview=False)
            keyed.append(f"{name} ({keyed_summary(action)})")
        if action is not None:
            fit_scene_range(context, action)
        for message in failed:
            self.report({"WARNING"}, message)
        self.report({"WARNING"} if failed else {"INFO"},
                    f"keyed {len(keyed)} armature(s) with {prompt!r}: {', '.join(keyed)}")


class MOGENTS_OT_backend_start(TaskOperator, bpy.types.Operator):
    """Start (or connect to) the MoGenTS backend"""

    bl_idname = "mogents.backend_start"
    bl_label = "Start backend"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return idle(cls, context)

    def prepare(self, context):
        conn = connection(context)

        def work(progress, cancelled):
            progress(0.1, "starting the backend")
            return session.client(conn, start=True).health()

        return work

    def apply(self, context, health):
        st = status(context)
        st.connected = True
        provider = health.get("provider") or health.get("execution_provider", "?")
        st.health = f"{health.get('status', 'ok')} · {provider}"
        self.report({"INFO"}, f"backend ready ({provider})")


class MOGENTS_OT_backend_stop(bpy.types.Operator):
    """Stop the backend this add-on started (a backend started elsewhere is only disconnected)"""

    bl_idname = "mogents.backend_stop"
    bl_label = "Stop backend"

    @classmethod
    def poll(cls, context):
        from . import backend_process

        if status(context).connected or backend_process.running_process() is not None:
            return idle(cls, context)
        return has_text(cls, "", "No backend is connected")

    def execute(self, context):
        stopped = session.disconnect(stop_process=True)
        st = status(context)
        st.connected, st.health = False, ""
        self.report({"INFO"}, "backend stopped" if stopped else "disconnected")
        return {"FINISHED"}


class MOGENTS_OT_detect_bone_map(TaskOperator, bpy.types.Operator):
    """Ask the backend which bones stand for which joints; fills the editable map and the unmapped list"""

    bl_idname = "mogents.detect_bone_map"
    bl_label = "Detect bone map"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return idle(cls, context) and has_armature(cls, context) and backend_reachable(cls, context)

    def prepare(self, context):
        obj = active_armature(context)
        armature = describe_armature(obj)
        preset = obj.data.mogents.preset
        preset = "auto" if preset == "custom" else preset
        conn = connection(context)
        name = obj.name

        def work(progress, cancelled):
            return name, session.client(conn).detect_bone_map(armature, preset)

        return work

    def apply(self, context, result):
        name, answer = result
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "ARMATURE":
            raise ValueError(f"the armature {name!r} is gone")
        rig = obj.data.mogents
        bone_map = answer.get("bone_map", answer)
        fill_bone_map(rig, bone_map)
        self.report({"INFO"}, f"{obj.name}: {rig.detected_preset}, confidence {rig.map_confidence:.2f}, "
                              f"{len(bone_map.get('unmapped_bones', []))} unmapped bones")


def fill_bone_map(rig, bone_map: dict) -> None:
    """Write a bone map answer into an armature's settings (`armature_data.mogents`)."""
    rig.bone_map.clear()
    for joint, bone in bone_map.get("mapping", {}).items():
        pair = rig.bone_map.add()
        pair.joint, pair.bone = joint, bone or ""
    for joint in bone_map.get("missing_joints", []):
        pair = rig.bone_map.add()
        pair.joint, pair.bone = joint, ""
    rig.detected_preset = str(bone_map.get("preset", ""))
    rig.map_confidence = float(bone_map.get("confidence", 0.0))
    rig.unmapped = ", ".join(bone_map.get("unmapped_bones", []))


class MOGENTS_OT_save_bone_map(bpy.types.Operator, ExportHelper):
    """Save the bone map below as JSON (reusable on other rigs with the same names)"""

    bl_idname = "mogents.save_bone_map"
    bl_label = "Save bone map"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        if not has_armature(cls, context):
            return False
        return has_text(cls, "x" if any(p.bone for p in context.active_object.data.mogents.bone_map) else "",
                        "This armature's bone map is empty: detect it first")

    def execute(self, context):
        mapping = {p.joint: p.bone for p in context.active_object.data.mogents.bone_map if p.bone}
        if not mapping:
            self.report({"ERROR"}, "the bone map is empty; detect it first")
            return {"CANCELLED"}
        with open(self.filepath, "w", encoding="utf-8") as f:
            json.dump({"mapping": mapping}, f, indent=1)
        return {"FINISHED"}


class MOGENTS_OT_load_bone_map(bpy.types.Operator, ImportHelper):
    """Load a bone map JSON ({"mapping": {joint: bone}}) and use it as the custom map"""

    bl_idname = "mogents.load_bone_map"
    bl_label = "Load bone map"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return idle(cls, context) and has_armature(cls, context)

    def execute(self, context):
        try:
            with open(self.filepath, encoding="utf-8") as f:
                data = json.load(f)
            mapping = data["mapping"]
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                raise ValueError("'mapping' must map joint names to bone names")
        except (OSError, ValueError, KeyError, TypeError) as err:
            self.report({"ERROR"}, f"{self.filepath}: not a bone map ({err})")
            return {"CANCELLED"}
        rig = context.active_object.data.mogents
        fill_bone_map(rig, {"mapping": mapping, "preset": "custom", "confidence": 1.0})
        rig.preset = "custom"
        return {"FINISHED"}


CLASSES = (MOGENTS_OT_generate, MOGENTS_OT_preview_variation, MOGENTS_OT_clear_variations, MOGENTS_OT_keep,
           MOGENTS_OT_apply_to_selected,
           MOGENTS_OT_backend_start, MOGENTS_OT_backend_stop, MOGENTS_OT_detect_bone_map, MOGENTS_OT_save_bone_map,
           MOGENTS_OT_load_bone_map)
