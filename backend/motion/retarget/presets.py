"""Bone-name presets: which rig bone stands for each SMPL-22 joint, per rig family.

A mapped bone starts at its SMPL joint and points towards the next joint of the chain (SMPL's
"shoulder" is the upper arm, Mixamo's "Shoulder" is the clavicle). Names match case-insensitively
after dropping a namespace ("Armature:Hips", "a|b|Hips"); each preset may strip its own prefixes
(`mixamorig1_`, `m_avg_`). `known` recognises the other bones a rig of that family has (fingers, face,
helpers), which is how auto-detection tells look-alike families apart (Mixamo vs CMU, UE4 vs UE5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..skeleton import SMPL_JOINT_NAMES


def namespace_free(name: str) -> str:
    return re.split(r"[:|]", name.strip())[-1]


@dataclass(frozen=True)
class BonePreset:
    name: str
    description: str
    candidates: dict[str, tuple[str, ...]]          # SMPL joint -> bone names, best first
    known: Callable[[str], bool] = lambda key: False  # other bone names (keys) typical of the family
    prefix: re.Pattern[str] | None = None            # family prefix removed before matching
    candidate_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = frozenset(n.lower() for names in self.candidates.values() for n in names)
        object.__setattr__(self, "candidate_keys", keys)

    def key(self, name: str) -> str:
        """Comparison key of a rig bone name for this preset."""
        base = namespace_free(name)
        if self.prefix is not None:
            base = self.prefix.sub("", base) or base
        return base.lower()

    def recognises(self, name: str) -> bool:
        key = self.key(name)
        return key in self.candidate_keys or self.known(key)


def _sided(mid: dict[str, tuple[str, ...]], side: dict[str, tuple[str, ...]],
           words: tuple[str, str]) -> dict[str, tuple[str, ...]]:
    """Expand '{S}' patterns for both sides; keys in SMPL joint order."""
    table = dict(mid)
    for part, patterns in side.items():
        for prefix, word in zip(("l_", "r_"), words, strict=True):
            table[prefix + part] = tuple(p.format(S=word) for p in patterns)
    return {j: table[j] for j in SMPL_JOINT_NAMES if j in table}


def _word_set(*words: str) -> Callable[[str], bool]:
    """Known if the name's first word (split at '.', '_', '-') is one of `words`."""
    vocabulary = frozenset(words)
    return lambda key: re.split(r"[._\-]", key, maxsplit=1)[0] in vocabulary


def _pattern(regex: str) -> Callable[[str], bool]:
    compiled = re.compile(regex)
    return lambda key: compiled.fullmatch(key) is not None


_SMPL_SIDE = {"hip": ("{S}_hip",), "knee": ("{S}_knee",), "ankle": ("{S}_ankle",), "foot": ("{S}_foot",),
              "collar": ("{S}_collar",), "shoulder": ("{S}_shoulder",), "elbow": ("{S}_elbow",),
              "wrist": ("{S}_wrist",)}


def _smpl_candidates() -> dict[str, tuple[str, ...]]:
    short = _sided({}, _SMPL_SIDE, ("l", "r"))
    long = _sided({}, _SMPL_SIDE, ("left", "right"))
    table = {j: short[j] + long[j] for j in short}
    table.update({"pelvis": ("pelvis",), "spine1": ("spine1",), "spine2": ("spine2",), "spine3": ("spine3",),
                  "neck": ("neck",), "head": ("head",)})
    return {j: table[j] for j in SMPL_JOINT_NAMES}


SMPL = BonePreset(
    name="smpl",
    description="SMPL / SMPL-H / SMPL-X joint names (l_hip, L_Hip, left_hip; m_avg_ prefixes)",
    candidates=_smpl_candidates(),
    known=_pattern(r"(l|r|left|right)_(hand|eye_smplhf|eye|(index|middle|pinky|ring|thumb)[1-3])|jaw|root"),
    prefix=re.compile(r"^([mf]_avg_|smplx?_)", re.IGNORECASE),
)

_MIXAMO_FINGERS = r"(left|right)hand(thumb|index|middle|ring|pinky)[1-4]"
MIXAMO = BonePreset(
    name="mixamo",
    description="Mixamo (mixamorig:Hips ... with or without the prefix)",
    candidates=_sided(
        {"pelvis": ("Hips",), "spine1": ("Spine",), "spine2": ("Spine1",), "spine3": ("Spine2",),
         "neck": ("Neck",), "head": ("Head",)},
        {"hip": ("{S}UpLeg",), "knee": ("{S}Leg",), "ankle": ("{S}Foot",), "foot": ("{S}ToeBase",),
         "collar": ("{S}Shoulder",), "shoulder": ("{S}Arm",), "elbow": ("{S}ForeArm",), "wrist": ("{S}Hand",)},
        ("Left", "Right")),
    known=_pattern(_MIXAMO_FINGERS + r"|headtop_end|(left|right)(toe_end|eye)"),
    prefix=re.compile(r"^mixamorig\d*[_:]?", re.IGNORECASE),
)

CMU = BonePreset(
    name="cmu",
    description="CMU motion-capture BVH skeleton (Hips, LowerBack, LHipJoint ...)",
    candidates=_sided(
        {"pelvis": ("Hips",), "spine1": ("LowerBack",), "spine2": ("Spine",), "spine3": ("Spine1",),
         "neck": ("Neck1", "Neck"), "head": ("Head",)},
        {"hip": ("{S}UpLeg",), "knee": ("{S}Leg",), "ankle": ("{S}Foot",), "foot": ("{S}ToeBase",),
         "collar": ("{S}Shoulder",), "shoulder": ("{S}Arm",), "elbow": ("{S}ForeArm",), "wrist": ("{S}Hand",)},
        ("Left", "Right")),
    known=_pattern(r"[lr]hipjoint|neck|(left|right)(fingerbase|handindex1)|[lr]thumb"),
)

_RIGIFY_WORDS = ("spine", "face", "nose", "lip", "jaw", "chin", "ear", "brow", "lid", "forehead", "temple",
                 "cheek", "eye", "teeth", "tongue", "shoulder", "upper_arm", "forearm", "hand", "palm", "f_index",
                 "f_middle", "f_ring", "f_pinky", "thumb", "breast", "pelvis", "thigh", "shin", "foot", "toe",
                 "heel")
_rigify_word = re.compile(r"(" + "|".join(_RIGIFY_WORDS) + r")(\.|$)")


def _rigify_metarig_known(key: str) -> bool:
    return _rigify_word.match(key) is not None


_rigify_controls = re.compile(r"tweak_spine|master_eye|lips|nose_master|jaw_master|tongue_master|foot_heel|foot_spin")


def _rigify_generated_known(key: str) -> bool:
    """Generated rigs add DEF-/ORG-/MCH- copies and controls (torso, hips, upper_arm_fk.L, tweak_spine ...)."""
    if re.match(r"(def|org|mch|vis)[-_]", key) or key in ("root", "torso", "hips", "chest", "neck", "head", "eyes"):
        return True
    base = re.sub(r"_(fk|ik|tweak|parent|master|target|heel_ik|spin_ik|ik_target)(?=\.|$)", "", key)
    return _rigify_metarig_known(base) or _rigify_controls.match(key) is not None


_RIGIFY_SIDE = {"hip": ("thigh.{S}",), "knee": ("shin.{S}",), "ankle": ("foot.{S}",), "foot": ("toe.{S}",),
                "collar": ("shoulder.{S}",), "shoulder": ("upper_arm.{S}",), "elbow": ("forearm.{S}",),
                "wrist": ("hand.{S}",)}
_RIGIFY_MID = {"pelvis": ("spine",), "spine1": ("spine.001",), "spine2": ("spine.002",), "spine3": ("spine.003",),
               "neck": ("spine.004",), "head": ("spine.006", "spine.005")}


def _prefixed(table: dict[str, tuple[str, ...]], prefix: str) -> dict[str, tuple[str, ...]]:
    return {j: tuple(prefix + n for n in names) for j, names in table.items()}


RIGIFY_METARIG = BonePreset(
    name="rigify_metarig",
    description="Rigify human metarig (spine, spine.001-.006, upper_arm.L, thigh.L ... + fingers and face)",
    candidates=_sided(_RIGIFY_MID, _RIGIFY_SIDE, ("L", "R")),
    known=_rigify_metarig_known,
)

RIGIFY_DEF = BonePreset(
    name="rigify_def",
    description="Rigify generated rig, deform bones (DEF-spine, DEF-upper_arm.L ...)",
    candidates=_prefixed(_sided(_RIGIFY_MID, _RIGIFY_SIDE, ("L", "R")), "DEF-"),
    known=_rigify_generated_known,
)

# FK controls of a generated Rigify rig. Below the torso pivot Rigify's FK spine runs downwards
# (spine_fk.001 -> spine_fk carry the hips and legs), so spine1 has no FK control of its own.
RIGIFY_FK = BonePreset(
    name="rigify_fk",
    description="Rigify generated rig, FK controls (torso, spine_fk.002/.003, neck, head, upper_arm_fk.L ...)",
    candidates=_sided(
        {"pelvis": ("torso",), "spine2": ("spine_fk.002",), "spine3": ("spine_fk.003",), "neck": ("neck",),
         "head": ("head",)},
        {"hip": ("thigh_fk.{S}",), "knee": ("shin_fk.{S}",), "ankle": ("foot_fk.{S}",),
         "foot": ("toe_fk.{S}", "toe.{S}"), "collar": ("shoulder.{S}",), "shoulder": ("upper_arm_fk.{S}",),
         "elbow": ("forearm_fk.{S}",), "wrist": ("hand_fk.{S}",)},
        ("L", "R")),
    known=_rigify_generated_known,
)

_UE_SIDE = {"hip": ("thigh_{S}",), "knee": ("calf_{S}",), "ankle": ("foot_{S}",), "foot": ("ball_{S}",),
            "collar": ("clavicle_{S}",), "shoulder": ("upperarm_{S}",), "elbow": ("lowerarm_{S}",),
            "wrist": ("hand_{S}",)}
_UE_COMMON = (r"root|ik_(foot|hand)_(root|gun|l|r)|(thumb|index|middle|ring|pinky)_(0[1-3]|metacarpal)_[lr]"
              r"|(upperarm|lowerarm|thigh|calf)_twist_0[1-2]_[lr]|interaction|center_of_mass|weapon_[lr]")
UE4 = BonePreset(
    name="ue4",
    description="Unreal Engine 4 mannequin (pelvis, spine_01-03, neck_01, clavicle_l ...)",
    candidates=_sided(
        {"pelvis": ("pelvis",), "spine1": ("spine_01",), "spine2": ("spine_02",), "spine3": ("spine_03",),
         "neck": ("neck_01",), "head": ("head",)}, _UE_SIDE, ("l", "r")),
    known=_pattern(_UE_COMMON),
)
UE5 = BonePreset(
    name="ue5",
    description="Unreal Engine 5 mannequin (pelvis, spine_01-05, neck_01-02, clavicle_l ...)",
    candidates=_sided(
        {"pelvis": ("pelvis",), "spine1": ("spine_01",), "spine2": ("spine_03",), "spine3": ("spine_05",),
         "neck": ("neck_01",), "head": ("head",)}, _UE_SIDE, ("l", "r")),
    known=_pattern(_UE_COMMON + r"|spine_0[24]|neck_02|(upperarm|lowerarm|thigh|calf|clavicle|hand|foot|ball)"
                                r"_(correctiveroot|bck|fwd|in|out|inner|outer|twistcor)[_a-z0-9]*"),
)

PRESETS: dict[str, BonePreset] = {p.name: p for p in (SMPL, MIXAMO, RIGIFY_METARIG, RIGIFY_DEF, RIGIFY_FK, UE4,
                                                      UE5, CMU)}
GENERIC = "generic"  # word-based matching (`bvh_names`), for rigs no preset knows
PRESET_NAMES: tuple[str, ...] = (*PRESETS, GENERIC)
