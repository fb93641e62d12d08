"""Operator base for backend work: modal with progress + Cancel from the panel, blocking from scripts.

`prepare()` runs on the main thread and reads everything it needs from bpy into plain values; it returns
the work function for the thread. `apply()` runs on the main thread when the work is done, inside the
operator, so scene edits are undoable (the operator has the UNDO flag and finishes with FINISHED).

From the panel (`invoke`) the work runs in a thread and a timer polls it; from a script or a test
(`bpy.ops.mogents.x()`, which calls `execute`) it runs to completion before returning.
"""

from __future__ import annotations

import bpy

from . import tasks
from .client import BackendError

USER_ERRORS = (BackendError, ValueError, KeyError)


def status(context: bpy.types.Context):
    return context.window_manager.mogents


def redraw(context: bpy.types.Context) -> None:
    screen = getattr(context, "screen", None)
    for area in (screen.areas if screen else ()):
        if area.type == "VIEW_3D":
            area.tag_redraw()


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

    def execute(self, context: bpy.types.Context) -> set[str]:
        if not tasks.cancel_current():
            self.report({"INFO"}, "Nothing is running")
        return {"FINISHED"}
