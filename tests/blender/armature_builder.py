"""Build real Blender armatures in the test scene from the rig descriptions of tests/fixtures/rigs.py."""

from __future__ import annotations

import bpy


def build_armature(desc: dict, name: str = "Rig") -> bpy.types.Object:
    """Create an armature object from {"bones": [{"name", "parent", "head", "tail", "roll"}]} (armature space)."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode="EDIT")
    made = {}
    for bone in desc["bones"]:
        eb = data.edit_bones.new(bone["name"])
        eb.head = bone["head"]
        eb.tail = bone["tail"]
        eb.roll = float(bone.get("roll", 0.0))
        made[bone["name"]] = eb
    for bone in desc["bones"]:
        if bone.get("parent"):
            made[bone["name"]].parent = made[bone["parent"]]
            made[bone["name"]].use_connect = False
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def chain_armature(count: int, name: str = "Chain") -> bpy.types.Object:
    """A simple `count`-bone armature (a branching tree) for speed and key-writing tests."""
    bones = []
    for i in range(count):
        parent = None if i == 0 else f"b{(i - 1) // 2}"
        x = 0.1 * (i % 7)
        bones.append({"name": f"b{i}", "parent": parent, "head": [x, 0.0, 0.1 * i], "tail": [x, 0.0, 0.1 * i + 0.1],
                      "roll": 0.0})
    return build_armature({"bones": bones}, name)


def select_pose_bones(obj: bpy.types.Object, names) -> None:
    """Select exactly `names` as a user would in pose mode.

    Blender 5.0 keeps pose-mode selection on the pose bone (`PoseBone.select`); 4.x has it on the bone only.
    """
    wanted = set(names)
    for pb in obj.pose.bones:
        holder = pb if hasattr(pb, "select") else pb.bone
        holder.select = pb.name in wanted
