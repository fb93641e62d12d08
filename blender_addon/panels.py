"""The MoGenTS tab of the 3D Viewport sidebar: backend, generate, apply, edit, library."""

from __future__ import annotations

import textwrap

import bpy

from . import backend_process, tasks
from .properties import preferences, rig_settings


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MoGenTS"


def _progress(layout, context) -> bool:
    """Progress bar + Cancel while a task runs; returns True when busy."""
    st = context.window_manager.mogents
    task = tasks.current()
    if task is None or task.state.done:
        return False
    row = layout.row(align=True)
    row.progress(factor=st.progress, type="BAR", text=st.message or "working")  # UILayout.progress: 4.0+
    row.operator("mogents.cancel", text="", icon="CANCEL")
    return True


def wrap_lines(text: str, context: bpy.types.Context, max_lines: int = 12) -> list[str]:
    """`text` wrapped to the sidebar's width (about 7 px per character), at most `max_lines` lines."""
    region = getattr(context, "region", None)
    width = max(20, int((region.width if region is not None else 300) / 7))
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [f"... ({len(text.split(','))} in all)"]
    return lines


class MOGENTS_PT_main(_Panel, bpy.types.Panel):
    bl_label = "MoGenTS"
    bl_idname = "MOGENTS_PT_main"

    def draw(self, context):
        layout = self.layout
        st = context.window_manager.mogents
        prefs = preferences(context)
        row = layout.row(align=True)
        code = backend_process.crashed()
        if code is not None:
            row.label(text=f"Backend exited (code {code})", icon="ERROR")
        elif st.connected:
            row.label(text=f"Backend: {st.health}", icon="CHECKMARK")
        else:
            row.label(text="Backend: not connected", icon="UNLINKED")
        row.operator("mogents.backend_start", text="", icon="PLAY" if prefs.connection == "LAUNCH" else "LINKED")
        row.operator("mogents.backend_stop", text="", icon="QUIT")
        _progress(layout, context)


class MOGENTS_PT_generate(_Panel, bpy.types.Panel):
    bl_label = "Generate"
    bl_parent_id = "MOGENTS_PT_main"

    def draw(self, context):
        layout = self.layout
        s = context.scene.mogents
        busy = tasks.current() is not None and not tasks.current().state.done
        layout.prop(s, "prompt", text="")
        row = layout.row(align=True)
        row.prop(s, "auto_length")
        sub = row.row(align=True)
        sub.enabled = not s.auto_length
        sub.prop(s, "seconds")
        row = layout.row(align=True)
        row.prop(s, "seed")
        row.prop(s, "variations")
        row = layout.row(align=True)
        row.prop(s, "use_playhead")
        sub = row.row(align=True)
        sub.enabled = not s.use_playhead
        sub.prop(s, "start_frame")
        row = layout.row(align=True)
        row.prop(s, "fit_range")
        row.prop(s, "use_subframes")
        box = layout.box()
        box.label(text="Control", icon="CON_FOLLOWPATH")
        row = box.row(align=True)
        row.prop(s, "follow_curve")
        sub = row.row(align=True)
        sub.enabled = s.follow_curve
        sub.prop(s, "control_curve", text="")
        box.prop(s, "fill_keys")
        if s.fill_keys:
            row = box.row(align=True)
            row.prop(s, "key_source", text="")
            if s.key_source == "LIST":
                row.prop(s, "key_frame_list", text="")
        layout.prop(s, "show_advanced", icon="PREFERENCES")
        if s.show_advanced:
            row = layout.row(align=True)
            row.prop(s, "auto_strength", text="", icon="AUTO")
            sub = row.row(align=True)
            sub.enabled = not s.auto_strength
            sub.prop(s, "cfg")
            row.prop(s, "steps")
        col = layout.column()
        col.enabled = not busy and context.active_object is not None and context.active_object.type == "ARMATURE"
        col.operator("mogents.generate", icon="ACTION")
        if len(s.results):
            box = layout.box()
            row = box.row(align=True)
            row.label(text="Variations")
            row.operator("mogents.clear_variations", text="", icon="TRASH")
            for i, item in enumerate(s.results):
                row = box.row(align=True)
                op = row.operator("mogents.preview_variation", text="", icon="HIDE_OFF" if i == s.result_index
                                  else "HIDE_ON", depress=i == s.result_index)
                op.index = i
                row.prop(item, "label", text="")
                row.label(text=f"{item.seconds:.1f} s")
            row = box.row(align=True)
            row.prop(s, "push_nla")
            row.operator("mogents.keep", icon="FAKE_USER_ON")
        layout.operator("mogents.apply_to_selected", icon="OUTLINER_OB_ARMATURE")


class MOGENTS_PT_apply(_Panel, bpy.types.Panel):
    bl_label = "Armature"
    bl_parent_id = "MOGENTS_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        s = context.scene.mogents
        obj = context.active_object
        rig = rig_settings(obj)
        if rig is None:
            layout.label(text="Select an armature to see its bone map", icon="INFO")
        else:
            layout.label(text=f"Bone map of {obj.data.name} (saved with the armature)", icon="ARMATURE_DATA")
            row = layout.row(align=True)
            row.prop(rig, "preset", text="")
            row.operator("mogents.detect_bone_map", text="", icon="VIEWZOOM")
            if rig.detected_preset:
                layout.label(text=f"{rig.detected_preset}: confidence {rig.map_confidence:.2f}")
            if len(rig.bone_map):
                box = layout.box()
                for pair in rig.bone_map:
                    row = box.row(align=True)
                    row.label(text=pair.joint)
                    row.prop_search(pair, "bone", obj.data, "bones", text="")
            row = layout.row(align=True)
            row.operator("mogents.save_bone_map", icon="EXPORT")
            row.operator("mogents.load_bone_map", icon="IMPORT")
            if rig.unmapped:
                col = layout.column()
                col.label(text="Unmapped bones (left as they are):")
                for line in wrap_lines(rig.unmapped, context):
                    col.label(text=line)
        col = layout.column(align=True)
        col.label(text="Only mapped bones get keys, each in its own", icon="INFO")
        col.label(text="rotation mode; other bones keep their keys")
        row = layout.row(align=True)
        row.prop(s, "root_motion")
        row.prop(s, "foot_cleanup")
        layout.prop(s, "scale")
        layout.prop(s, "raw_output")


class MOGENTS_PT_edit(_Panel, bpy.types.Panel):
    bl_label = "Edit selection"
    bl_parent_id = "MOGENTS_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        s = context.scene.mogents
        scene = context.scene
        rng = "preview range" if scene.use_preview_range else "scene range"
        layout.prop(s, "edit_use_scene_range", text=f"Use the {rng}")
        row = layout.row(align=True)
        row.enabled = not s.edit_use_scene_range
        row.prop(s, "edit_frame_start")
        row.prop(s, "edit_frame_end")
        layout.prop(s, "edit_prompt", text="")
        layout.operator("mogents.edit_selection", icon="BONE_DATA")
        layout.separator()
        layout.prop(s, "then_prompt", text="")
        row = layout.row(align=True)
        row.prop(s, "then_seconds")
        row.operator("mogents.compose_then", icon="NEXT_KEYFRAME")


class MOGENTS_PT_library(_Panel, bpy.types.Panel):
    bl_label = "Library"
    bl_parent_id = "MOGENTS_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        s = context.scene.mogents
        layout.prop(s, "query", text="")
        layout.prop(s, "video_path")
        row = layout.row(align=True)
        row.prop(s, "top_k")
        row.operator("mogents.library_search", icon="VIEWZOOM")
        for i, hit in enumerate(s.hits):
            row = layout.row(align=True)
            row.prop(hit, "score", text="", emboss=False)
            op = row.operator("mogents.select_hit", text=f"{hit.label}: {hit.caption[:40]}", depress=i == s.hit_index)
            op.index = i
        if len(s.hits):
            layout.operator("mogents.library_apply", icon="ARMATURE_DATA")
        layout.separator()
        layout.prop(s, "library_folder")
        layout.operator("mogents.library_add_folder", icon="FILE_FOLDER")


class MOGENTS_OT_select_hit(bpy.types.Operator):
    """Choose this library result"""

    bl_idname = "mogents.select_hit"
    bl_label = "Select result"

    @classmethod
    def poll(cls, context):
        if not len(context.scene.mogents.hits):
            cls.poll_message_set("Search the library first")
            return False
        return True

    index: bpy.props.IntProperty()

    def execute(self, context):
        context.scene.mogents.hit_index = self.index
        return {"FINISHED"}


CLASSES = (MOGENTS_PT_main, MOGENTS_PT_generate, MOGENTS_PT_apply, MOGENTS_PT_edit, MOGENTS_PT_library,
           MOGENTS_OT_select_hit)
