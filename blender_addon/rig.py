"""Describe an armature's rest pose for the backend's retargeting, and read its selection.

The backend does the math (`backend/motion/retarget`); the add-on only sends, per bone, the name, the
parent, the rest matrix in armature space (`Bone.matrix_local`, which carries the roll) and the length,
plus head and tail for readability. Positions are in armature units; the object's own transform is the
user's business and is left alone.
"""

from __future__ import annotations

import bpy


def _rows(matrix) -> list[list[float]]:
    return [[float(v) for v in row] for row in matrix]


def describe_armature(obj: bpy.types.Object) -> dict:
    """JSON-ready rest pose of `obj`'s armature, bones listed parents first."""
    if obj is None or obj.type != "ARMATURE":
        raise ValueError("select an armature first")
    bones = []
    for bone in obj.data.bones:  # Blender lists bones parents first
        bones.append({
            "name": bone.name,
            "parent": bone.parent.name if bone.parent else None,
            "matrix": _rows(bone.matrix_local),
            "length": float(bone.length),
            "head": [float(v) for v in bone.head_local],
            "tail": [float(v) for v in bone.tail_local],
        })
    if not bones:
        raise ValueError(f"the armature {obj.name!r} has no bones")
    return {"name": obj.name, "up": "Z", "bones": bones}


def selected_bone_names(obj: bpy.types.Object) -> list[str]:
    """Bones selected in pose mode (Blender 5 keeps selection on the pose bone; 4.x on the bone)."""
    if obj is None or obj.type != "ARMATURE":
        return []
    names = []
    for pb in obj.pose.bones:
        selected = getattr(pb, "select", None)
        if selected is None:
            selected = pb.bone.select
        if selected:
            names.append(pb.name)
    return names
