"""MoGenTS text-to-motion add-on (Blender 4.2+ extension).

Thin by design (bpy, numpy and the standard library only): the sidebar collects a prompt and settings,
a worker thread talks to the backend service over loopback, and operators write the retargeted result
onto the active armature as new actions. Generation, retargeting math, editing and retrieval all run in
the backend (`mogents serve`), which the add-on can start itself.
"""

from __future__ import annotations

import bpy

from . import backend_process, edit_ops, generate_ops, library_ops, panels, properties, render_ops, task_operator

ADDON_VERSION = (0, 1, 0)

_CLASSES = (*generate_ops.CLASSES, *edit_ops.CLASSES, *library_ops.CLASSES, task_operator.MOGENTS_OT_cancel,
            *panels.CLASSES, *render_ops.CLASSES)  # render panel after the main panel it nests in


def register() -> None:
    properties.register()
    for cls in _CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    backend_process.stop()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
    properties.unregister()
