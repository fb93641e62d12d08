"""Which armature bone stands for each SMPL-22 joint: presets, auto-detection, custom JSON maps.

Confidence (0..1) = coverage x structure x (0.85 + 0.15 recognition):
- coverage: mapped SMPL joints, the 13 core joints (hips, knees, ankles, shoulders, elbows, wrists,
  pelvis) counting double;
- structure: share of mapped joints whose bone lies below the bone of their nearest mapped SMPL
  ancestor in the rig's hierarchy (a left knee bone under the left thigh bone ...);
- recognition: share of the rig's bones whose names the preset knows (fingers, face, helpers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import MotionInputError
from ..bvh_names import REQUIRED_JOINTS, match_joints
from ..skeleton import SMPL22, SMPL_JOINT_NAMES
from .armature import Armature
from .presets import GENERIC, PRESET_NAMES, PRESETS, BonePreset, namespace_free

_WEIGHT = {j: 2.0 if j in REQUIRED_JOINTS else 1.0 for j in SMPL_JOINT_NAMES}
_GENERIC_RECOGNITION = 0.0
# SMPL-X / SMPL-H long spellings accepted as joint names in custom maps
JOINT_ALIASES = {j.replace("l_", "left_", 1).replace("r_", "right_", 1): j for j in SMPL_JOINT_NAMES
                 if j[:2] in ("l_", "r_")}


@dataclass
class BoneMap:
    preset: str
    mapping: dict[str, str]            # SMPL joint -> bone name, in SMPL joint order
    confidence: float
    unmapped_bones: list[str]
    missing_joints: list[str]
    notes: list[str] = field(default_factory=list)

    def bone_of(self, joint: str) -> str | None:
        return self.mapping.get(joint)

    def to_dict(self) -> dict:
        return {"preset": self.preset, "mapping": dict(self.mapping), "confidence": round(self.confidence, 4),
                "unmapped_bones": list(self.unmapped_bones), "missing_joints": list(self.missing_joints),
                "notes": list(self.notes)}


def smpl_ancestors(joint: str) -> list[str]:
    """SMPL parent, grandparent, ... of a joint (nearest first)."""
    out = []
    p = SMPL22.parents[SMPL22.index(joint)]
    while p >= 0:
        out.append(SMPL_JOINT_NAMES[p])
        p = SMPL22.parents[p]
    return out


def _inversions(arm: Armature, mapping: dict[str, str]) -> list[tuple[str, str]]:
    """(joint, ancestor joint) pairs whose bones are the same bone or in the wrong hierarchy order."""
    bad = []
    for joint, bone in mapping.items():
        b = arm.index[bone]
        for anc in smpl_ancestors(joint):
            if anc in mapping:
                a = arm.index[mapping[anc]]
                if a == b or arm.is_ancestor(b, a):
                    bad.append((joint, anc))
    return bad


def _structure(arm: Armature, mapping: dict[str, str]) -> float:
    checked = consistent = 0
    for joint, bone in mapping.items():
        anc = next((a for a in smpl_ancestors(joint) if a in mapping), None)
        if anc is None:
            continue
        checked += 1
        consistent += arm.is_ancestor(arm.index[mapping[anc]], arm.index[bone])
    return consistent / checked if checked else 1.0


def _finish(arm: Armature, preset: str, mapping: dict[str, str], recognition: float,
            notes: list[str] | None = None, penalty: float = 1.0) -> BoneMap:
    ordered = {j: mapping[j] for j in SMPL_JOINT_NAMES if j in mapping}
    coverage = sum(_WEIGHT[j] for j in ordered) / sum(_WEIGHT.values())
    confidence = coverage * _structure(arm, ordered) * (0.85 + 0.15 * recognition) * penalty
    used = set(ordered.values())
    return BoneMap(preset=preset, mapping=ordered, confidence=float(np.clip(confidence, 0.0, 1.0)),
                   unmapped_bones=[n for n in arm.names if n not in used],
                   missing_joints=[j for j in SMPL_JOINT_NAMES if j not in ordered], notes=list(notes or []))


def _drop_inversions(arm: Armature, mapping: dict[str, str], notes: list[str]) -> None:
    for joint, anc in _inversions(arm, mapping):
        if joint in mapping:
            notes.append(f"{joint} ({mapping[joint]}) is not below {anc} ({mapping[anc]}) in the rig; left unmapped")
            del mapping[joint]


def _match_preset(arm: Armature, preset: BonePreset) -> BoneMap:
    keys: dict[str, str] = {}
    for name in arm.names:
        keys.setdefault(preset.key(name), name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for joint, candidates in preset.candidates.items():
        for cand in candidates:
            bone = keys.get(cand.lower())
            if bone is not None and bone not in used:
                mapping[joint] = bone
                used.add(bone)
                break
    notes: list[str] = []
    _drop_inversions(arm, mapping, notes)
    recognition = float(np.mean([preset.recognises(n) for n in arm.names]))
    penalty = 1.0
    if preset.name == "rigify_def" and any(n.startswith(("ORG-", "MCH-")) for n in arm.names):
        penalty = 0.9
        notes.append("DEF- bones of a generated Rigify rig follow constraints; posing them has no effect "
                     "unless the constraints are removed (preset rigify_fk targets the FK controls)")
    if preset.name == "rigify_fk" and mapping:
        notes.append("Rigify FK controls: the generated rig's constraint-driven 'follow' options (FK limb "
                     "follow, neck follow) are not modelled; parents are taken from the bone hierarchy")
    return _finish(arm, preset.name, mapping, recognition, notes, penalty)


def _match_generic(arm: Armature) -> BoneMap:
    parents = [int(p) for p in arm.parents]
    heads = arm.heads
    offsets = np.array([heads[i] - heads[p] if p >= 0 else heads[i] for i, p in enumerate(parents)])
    found = match_joints([namespace_free(n) for n in arm.names], parents, offsets, "generic")
    mapping = {SMPL_JOINT_NAMES[j]: arm.names[b] for j, b in found.joint_of.items()}
    notes: list[str] = []
    _drop_inversions(arm, mapping, notes)
    return _finish(arm, GENERIC, mapping, _GENERIC_RECOGNITION, notes)


def detect_bone_map(arm: Armature, preset: str = "auto") -> BoneMap:
    """Map the armature's bones onto SMPL joints with a named preset, or the best-scoring one ('auto')."""
    preset = preset.lower()
    if preset != "auto" and preset not in PRESET_NAMES:
        raise MotionInputError(f"unknown bone-map preset {preset!r}; choose auto or one of {', '.join(PRESET_NAMES)}")
    if preset == GENERIC:
        return _match_generic(arm)
    if preset != "auto":
        return _match_preset(arm, PRESETS[preset])
    candidates = [_match_preset(arm, p) for p in PRESETS.values()] + [_match_generic(arm)]
    order = {name: k for k, name in enumerate(PRESET_NAMES)}
    # confidence already prefers the preset that knows more of the rig's names; exact ties go to the
    # preset that maps more joints, then to the earlier preset
    return max(candidates, key=lambda m: (round(m.confidence, 6), len(m.mapping), -order[m.preset]))


def _joint_name(key: object) -> str:
    if not isinstance(key, str):
        raise MotionInputError(f"bone map keys must be SMPL joint names, got {key!r}")
    name = key.strip().lower()
    name = JOINT_ALIASES.get(name, name)
    if name not in SMPL_JOINT_NAMES:
        raise MotionInputError(f"unknown SMPL joint {key!r} in the bone map; known joints: "
                               f"{', '.join(SMPL_JOINT_NAMES)}")
    return name


def bone_map_from_dict(d: dict, arm: Armature) -> BoneMap:
    """A custom map {"mapping": {smpl_joint: bone_name}} checked against the armature."""
    if not isinstance(d, dict):
        raise MotionInputError("the bone map must be a JSON object {\"mapping\": {smpl_joint: bone}}")
    raw = d["mapping"] if "mapping" in d else d  # a bare {joint: bone} object is accepted too
    if not isinstance(raw, dict) or not raw:
        raise MotionInputError("the bone map needs a non-empty 'mapping' object {smpl_joint: bone}")
    mapping: dict[str, str] = {}
    owner: dict[str, str] = {}
    for key, bone in raw.items():
        joint = _joint_name(key)
        if bone is None or bone == "":
            continue
        if not isinstance(bone, str):
            raise MotionInputError(f"bone map: the bone for {joint} must be a bone name, got {bone!r}")
        if bone not in arm.index:
            raise MotionInputError(f"bone map: bone {bone!r} (for {joint}) is not in the armature")
        if joint in mapping:
            raise MotionInputError(f"bone map: joint {joint} is mapped twice")
        if bone in owner:
            raise MotionInputError(f"bone map: bone {bone!r} is mapped to both {owner[bone]} and {joint}")
        mapping[joint] = bone
        owner[bone] = joint
    if not mapping:
        raise MotionInputError("the bone map maps no joints")
    for joint, anc in _inversions(arm, mapping):
        raise MotionInputError(f"bone map: {joint} ({mapping[joint]}) must be a descendant of {anc} "
                               f"({mapping[anc]}) in the armature, not the same bone or its ancestor")
    return _finish(arm, "custom", mapping, recognition=1.0)
