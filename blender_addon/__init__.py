"""MoGenTS text-to-motion add-on (Blender 4.2+ extension).

This first version registers the sidebar tab and shows the add-on's status. Generation, retargeting,
editing and library search arrive with the backend service; the add-on stays thin (bpy, numpy and the
standard library only) and talks to that service over loopback.
"""

from __future__ import annotations

import bpy

ADDON_VERSION = (0, 1, 0)


class MOGENTS_PT_main(bpy.types.Panel):
    bl_label = "MoGenTS"
    bl_idname = "MOGENTS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MoGenTS"

    def draw(self, context: bpy.types.Context) -> None:
        col = self.layout.column()
        col.label(text=f"Version {'.'.join(map(str, ADDON_VERSION))}")
        col.label(text="Backend service: not available in this version", icon="INFO")


_CLASSES = (MOGENTS_PT_main,)


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
