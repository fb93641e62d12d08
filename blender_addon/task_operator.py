"""Operator base for backend work: modal with progress + Cancel from the panel, blocking from scripts.

`prepare()` runs on the main thread and reads everything it needs from bpy into plain values; it returns
the work function for the thread. `apply()` runs on the main thread when the work is done, inside the
operator, so scene edits are undoable (the operator has the UNDO flag and finishes with FINISHED).

From the panel (`invoke`) the work runs in a thread and a timer polls it; from a script or a test
(`bpy.ops.mogents.x()`, which calls `execute`) it runs to completion before returning.
"""

from __future__ import annotations

import bpy

from . import backend_process, tasks
from .client import BackendError

USER_ERRORS = (BackendError, ValueError, KeyError)


def status(context: bpy.types.Context):
    return context.window_manager.mogents


def redraw(context: bpy.types.Context) -> None:
    screen = getattr(context, "screen", None)
    for area in (screen.areas if screen else ()):
        if area.type == "VIEW_3D":
            area.tag_redraw()


def _refuse(cls, message: str) -> bool:
    cls.poll_message_set(message)
    return False


def idle(cls, context: bpy.types.Context) -> bool:
    """No other MoGenTS task is running (one runs at a time)."""
    task = tasks.current()
    if task is not None and not task.state.done:
        return _refuse(cls, f"'{task.state.label}' is running: wait for it or press Cancel")
    return True


def has_armature(cls, context: bpy.types.Context) -> bool:
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE":
        return _refuse(cls, "Select the armature to animate (make it the active object)")
    return True


def has_motion(cls, context: bpy.types.Context) -> bool:
    """The active armature carries a MoGenTS action."""
    if not has_armature(cls, context):
        return False
    anim = context.active_object.animation_data
    action = anim.action if anim else None
    if action is None or "mogents" not in action:
        return _refuse(cls, f"{context.active_object.name} has no MoGenTS motion: generate or apply one first")
    return True


def backend_reachable(cls, context: bpy.types.Context) -> bool:
    """The preferences can reach a backend without the user doing anything (a cheap check, no network)."""
    from .properties import preferences

    prefs = preferences(context)
    if prefs.connection != "LAUNCH" or prefs.auto_start:
        return True
    if status(context).connected or backend_process.running_process() is not None:
        return True
    code = backend_process.crashed()
    reason = f"The backend exited (code {code})" if code is not None else "The backend is not running"
    return _refuse(cls, f"{reason}: press Start in the MoGenTS panel")


def has_text(cls, text: str, message: str) -> bool:
    return True if text.strip() else _refuse(cls, message)


class TaskOperator:
    bl_options = {"REGISTER", "UNDO"}
    _task: tasks.Task | None = None
    _timer = None

    def prepare(self, context: bpy.types.Context):
        raise NotImplementedError

    def apply(self, context: bpy.types.Context, result) -> None:
        raise NotImplementedError

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            work = self.prepare(context)
            result = work(lambda fraction, message="": None, lambda: False)
            self.apply(context, result)
        except USER_ERRORS as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        return {"FINISHED"}

    def invoke(self, context: bpy.types.Context, event) -> set[str]:
        try:
            work = self.prepare(context)
            self._task = tasks.start(self.bl_label, work)
        except (*USER_ERRORS, RuntimeError) as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        st = status(context)
        st.busy, st.progress, st.message = True, 0.0, f"{self.bl_label}..."
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _finish(self, context: bpy.types.Context) -> None:
        context.window_manager.event_timer_remove(self._timer)
        tasks.finish(self._task)
        st = status(context)
        st.busy, st.progress = False, 0.0
        redraw(context)

    def modal(self, context: bpy.types.Context, event) -> set[str]:
        if event.type == "ESC":
            self._task.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        snap = self._task.snapshot()
        st = status(context)
        st.progress, st.message = snap.fraction, snap.message or snap.label
        redraw(context)
        if not snap.done:
            return {"PASS_THROUGH"}
        self._finish(context)
        if snap.cancelled:
            st.message = f"{snap.label}: cancelled"
            self.report({"INFO"}, f"{snap.label} cancelled; nothing changed")
            return {"CANCELLED"}
        if snap.error:
            st.message = f"{snap.label}: failed"
            self.report({"ERROR"}, snap.error)
            return {"CANCELLED"}
        try:
            self.apply(context, snap.result)
        except USER_ERRORS as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        st.message = f"{snap.label}: done"
        return {"FINISHED"}


class MOGENTS_OT_cancel(bpy.types.Operator):
    """Cancel the running MoGenTS request"""

    bl_idname = "mogents.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        task = tasks.current()
        return True if task is not None and not task.state.done else _refuse(cls, "Nothing is running")

    def execute(self, context: bpy.types.Context) -> set[str]:
        if not tasks.cancel_current():
            self.report({"INFO"}, "Nothing is running")
        return {"FINISHED"}
