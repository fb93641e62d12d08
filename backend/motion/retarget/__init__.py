"""Retargeting SMPL-22 motions onto any humanoid rig (numpy only; the Blender add-on keys the result).

    arm = armature_from_dict(rest_pose_json)          # what the add-on sends
    result = retarget(joints, arm)                    # bone map auto-detected
    result.rotations[bone]                            # (T, 4) wxyz = pose_bone.rotation_quaternion
    result.root_location                              # (T, 3) = pose_bone.location of result.root_bone
"""

from .armature import Armature, armature_from_dict
from .bone_maps import BoneMap, bone_map_from_dict, detect_bone_map
from .fk import pose_armature, pose_matrices
from .presets import PRESET_NAMES
from .solve import RetargetOptions, RetargetResult, retarget

__all__ = [
    "PRESET_NAMES", "Armature", "BoneMap", "RetargetOptions", "RetargetResult", "armature_from_dict",
    "bone_map_from_dict", "detect_bone_map", "pose_armature", "pose_matrices", "retarget",
]
