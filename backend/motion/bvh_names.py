"""Joint-name presets that map rig/BVH joint names onto the SMPL-22 joints, with auto-detection.

A preset lists, for each SMPL joint, the rig joint names that can stand for it in priority order
(namespace-free, matched case-insensitively; `mixamorig:`, `mixamorig1:`, `m_avg_` ... prefixes are
ignored). The tables are plain data so retargeting code can reuse them (`PRESETS[...].candidates`,
`name_to_smpl()`, `smpl_to_name()`).

The `generic` preset recognises names by words instead of exact spellings: the side is read from
`Left`/`Right`, `L`/`R` prefixes or `_l`/`.L`/`_R` ... suffixes, the rest is matched against synonyms
("UpLeg", "thigh", "upper_leg" ... -> hip). Spine joints that no name identifies are taken from the
chain between the pelvis and the neck.

Rig joints with a zero rest offset (CMU's LowerBack, Neck, LeftShoulder sit exactly on their parent)
carry no position information; they are skipped, and the next candidate or a derived position
(see `humanoid.py`) is used instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import MotionInputError
from .skeleton import SMPL_JOINT_NAMES

REQUIRED_JOINTS = ("pelvis", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_shoulder",
                   "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist")
SPINE_JOINTS = ("spine1", "spine2", "spine3")
NECK_OR_HEAD = ("neck", "head")
# SMPL side joints by their part name; order matters when two parts share a word (upper arm before
# collar: Mixamo's "Shoulder" is a collar but SMPL's "shoulder" is the upper arm).
SIDE_PARTS = ("hip", "knee", "ankle", "foot", "shoulder", "collar", "elbow", "wrist")

_PREFIX_RE = re.compile(r"^(mixamorig\d*[_:]?|[mf]_avg_|bip\d+[ _]?|def[-_]|org[-_])", re.IGNORECASE)


def strip_namespace(name: str) -> str:
    """Drop 'ns:' / 'a|b|' namespaces and well-known rig prefixes ('mixamorig1:', 'm_avg_', 'DEF-')."""
    name = re.split(r"[:|]", name.strip())[-1]
    return _PREFIX_RE.sub("", name) or name


def name_key(name: str) -> str:
    return strip_namespace(name).lower()


@dataclass(frozen=True)
class NamePreset:
    """SMPL joint -> rig joint names (priority order), plus other names typical of the rig."""

    name: str
    candidates: dict[str, tuple[str, ...]]
    extra_names: frozenset[str] = field(default_factory=frozenset)

    def name_to_smpl(self) -> dict[str, str]:
        """Rig joint name -> SMPL joint (the first SMPL joint listing it)."""
        out: dict[str, str] = {}
        for smpl, names in self.candidates.items():
            for n in names:
                out.setdefault(n, smpl)
        return out

    def smpl_to_name(self) -> dict[str, str]:
        """SMPL joint -> preferred rig joint name (used as the export template)."""
        return {smpl: names[0] for smpl, names in self.candidates.items()}

    def known_keys(self) -> set[str]:
        keys = {name_key(n) for names in self.candidates.values() for n in names}
        return keys | {name_key(n) for n in self.extra_names}


def _sided(mid: dict[str, tuple[str, ...]], side: dict[str, tuple[str, ...]],
           words: tuple[str, str] = ("Left", "Right")) -> dict[str, tuple[str, ...]]:
    """Expand '{S}Arm'-style patterns for both sides; keys become SMPL names in SMPL order."""
    table = dict(mid)
    for part, pats in side.items():
        for prefix, word in zip(("l_", "r_"), words, strict=True):
            table[prefix + part] = tuple(p.format(S=word) for p in pats)
    return {j: table[j] for j in SMPL_JOINT_NAMES if j in table}


def _fingers(words: tuple[str, ...], parts: tuple[str, ...], count: int) -> frozenset[str]:
    return frozenset(f"{w}{p}{i}" for w in words for p in parts for i in range(1, count + 1))


CMU = NamePreset(
    name="cmu",
    candidates=_sided(
        {"pelvis": ("Hips",), "spine1": ("LowerBack",), "spine2": ("Spine",), "spine3": ("Spine1",),
         "neck": ("Neck", "Neck1"), "head": ("Head",)},
        {"hip": ("{S}UpLeg",), "knee": ("{S}Leg",), "ankle": ("{S}Foot",), "foot": ("{S}ToeBase",),
         "collar": ("{S}Shoulder",), "shoulder": ("{S}Arm",), "elbow": ("{S}ForeArm",),
         "wrist": ("{S}Hand",)}),
    extra_names=frozenset({"LHipJoint", "RHipJoint", "Neck1", "LeftFingerBase", "RightFingerBase",
                           "LeftHandIndex1", "RightHandIndex1", "LThumb", "RThumb"}),
)

MIXAMO = NamePreset(
    name="mixamo",
    candidates=_sided(
        {"pelvis": ("Hips",), "spine1": ("Spine",), "spine2": ("Spine1",), "spine3": ("Spine2",),
         "neck": ("Neck",), "head": ("Head",)},
        {"hip": ("{S}UpLeg",), "knee": ("{S}Leg",), "ankle": ("{S}Foot",), "foot": ("{S}ToeBase",),
         "collar": ("{S}Shoulder",), "shoulder": ("{S}Arm",), "elbow": ("{S}ForeArm",),
         "wrist": ("{S}Hand",)}),
    extra_names=frozenset({"HeadTop_End", "LeftToe_End", "RightToe_End"})
    | _fingers(("LeftHand", "RightHand"), ("Thumb", "Index", "Middle", "Ring", "Pinky"), 4),
)

SMPL = NamePreset(
    name="smpl",
    candidates={j: (j,) for j in SMPL_JOINT_NAMES},
    extra_names=frozenset({"l_hand", "r_hand", "jaw", "left_eye_smplhf", "right_eye_smplhf"}),
)

RIGIFY = NamePreset(
    name="rigify",
    candidates=_sided(
        {"pelvis": ("spine",), "spine1": ("spine.001",), "spine2": ("spine.002",), "spine3": ("spine.003",),
         "neck": ("spine.004", "spine.005"), "head": ("spine.006",)},
        {"hip": ("thigh.{S}",), "knee": ("shin.{S}",), "ankle": ("foot.{S}",), "foot": ("toe.{S}",),
         "collar": ("shoulder.{S}",), "shoulder": ("upper_arm.{S}",), "elbow": ("forearm.{S}",),
         "wrist": ("hand.{S}",)}, words=("L", "R")),
    extra_names=frozenset({"spine.005", "heel.02.L", "heel.02.R", "breast.L", "breast.R", "pelvis.L", "pelvis.R"}),
)

UE_MANNEQUIN = NamePreset(
    name="ue",
    candidates=_sided(
        {"pelvis": ("pelvis",), "spine1": ("spine_01",), "spine2": ("spine_02",), "spine3": ("spine_03",),
         "neck": ("neck_01",), "head": ("head",)},
        {"hip": ("thigh_{S}",), "knee": ("calf_{S}",), "ankle": ("foot_{S}",), "foot": ("ball_{S}",),
         "collar": ("clavicle_{S}",), "shoulder": ("upperarm_{S}",), "elbow": ("lowerarm_{S}",),
         "wrist": ("hand_{S}",)}, words=("l", "r")),
    extra_names=frozenset({"root", "spine_04", "spine_05", "neck_02", "ik_foot_root", "ik_hand_root"}),
)

# Word synonyms for the generic preset, per SMPL part, in priority order.
GENERIC_WORDS: dict[str, tuple[str, ...]] = {
    "pelvis": ("pelvis", "hips", "hip"),
    "neck": ("neck", "neck1", "neck01", "neck001", "lowerneck", "neckbase", "neck0"),
    "head": ("head",),
    "hip": ("upleg", "upperleg", "legupper", "thigh", "uleg", "hip", "femur"),
    "knee": ("knee", "lowerleg", "leglower", "shin", "calf", "lowleg", "loleg", "leg", "tibia"),
    "ankle": ("ankle", "foot"),
    "foot": ("toebase", "toe", "toes", "ball", "toe0", "foot"),
    "shoulder": ("upperarm", "armupper", "uparm", "shldr", "arm", "humerus", "shoulder"),
    "collar": ("collar", "clavicle", "clav", "shoulder"),
    "elbow": ("elbow", "forearm", "lowerarm", "armlower", "loarm", "radius"),
    "wrist": ("wrist", "hand"),
}

PRESETS: dict[str, NamePreset] = {"smpl": SMPL, "mixamo": MIXAMO, "cmu": CMU, "rigify": RIGIFY, "ue": UE_MANNEQUIN}
PRESET_CHOICES = ("auto", *PRESETS, "generic")

_SIDE_WORDS = {"left": "l", "l": "l", "lft": "l", "right": "r", "r": "r", "rgt": "r"}
_NOISE_WORDS = {"joint", "jnt", "bone", "bn", "jt"}
_TOKEN_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def split_side(name: str) -> tuple[str | None, str]:
    """('l' | 'r' | None, base words lower-cased and joined): 'LeftUpLeg' -> ('l', 'upleg'),
    'UpperLeg_L' -> ('l', 'upperleg'), 'thigh.R' -> ('r', 'thigh'), 'lShldr' -> ('l', 'shldr'),
    'Spine1' -> (None, 'spine1'). The side word must be the first or the last word."""
    tokens = [t.lower() for t in _TOKEN_RE.findall(strip_namespace(name))]
    side = None
    if len(tokens) > 1 and tokens[0] in _SIDE_WORDS:
        side, tokens = _SIDE_WORDS[tokens[0]], tokens[1:]
    elif len(tokens) > 1 and tokens[-1] in _SIDE_WORDS:
        side, tokens = _SIDE_WORDS[tokens[-1]], tokens[:-1]
    elif tokens:
        for word, s in (("left", "l"), ("right", "r")):  # all-lower-case names: 'leftarm'
            if tokens[0].startswith(word) and len(tokens[0]) > len(word):
                side, tokens[0] = s, tokens[0][len(word):]
                break
    tokens = [t for t in tokens if t not in _NOISE_WORDS]
    while tokens and tokens[0].isdigit():  # leading rig numbering ('01_l_hip')
        tokens.pop(0)
    return side, "".join(tokens)


@dataclass
class JointMapping:
    """Which rig joint stands for each SMPL joint (SMPL index -> rig joint index)."""

    preset: str
    joint_of: dict[int, int]
    rig_names: list[str]
    recognised: int = 0

    @property
    def mapped_names(self) -> set[str]:
        return {SMPL_JOINT_NAMES[j] for j in self.joint_of}

    @property
    def score(self) -> tuple[int, int]:
        return len(self.joint_of), self.recognised

    def missing_required(self) -> list[str]:
        have = self.mapped_names
        missing = [j for j in REQUIRED_JOINTS if j not in have]
        if not have.intersection(SPINE_JOINTS):
            missing.append("spine (one of spine1/spine2/spine3)")
        if not have.intersection(NECK_OR_HEAD):
            missing.append("neck or head")
        return missing

    def describe(self) -> str:
        return ", ".join(f"{SMPL_JOINT_NAMES[s]}={self.rig_names[r]}" for s, r in sorted(self.joint_of.items()))


class _Rig:
    """Hierarchy facts the matcher needs: names, parents, zero-length joints, bone lengths."""

    def __init__(self, names: list[str], parents: list[int], offsets: np.ndarray | None):
        self.names = list(names)
        self.parents = list(parents)
        n = len(names)
        lengths = np.ones(n) if offsets is None else np.linalg.norm(np.asarray(offsets, float), axis=-1)
        lengths[[j for j, p in enumerate(parents) if p < 0]] = 0.0
        self.lengths = lengths
        # zero-length: shorter than 2% of the mean bone (CMU's helper joints have exactly 0)
        tol = 0.02 * float(lengths.sum()) / max(n - 1, 1)
        self.degenerate = [p >= 0 and lengths[j] <= tol for j, p in enumerate(parents)]

    def ancestors(self, j: int) -> list[int]:
        out = []
        while self.parents[j] >= 0:
            j = self.parents[j]
            out.append(j)
        return out


def _match_table(rig: _Rig, preset: NamePreset) -> JointMapping:
    keys: dict[str, int] = {}
    for j, n in enumerate(rig.names):
        keys.setdefault(name_key(n), j)
    joint_of: dict[int, int] = {}
    used: set[int] = set()
    for smpl, names in preset.candidates.items():
        for n in names:
            j = keys.get(name_key(n))
            if j is not None and j not in used and not (rig.degenerate[j] and smpl != "pelvis"):
                joint_of[SMPL_JOINT_NAMES.index(smpl)] = j
                used.add(j)
                break
    known = preset.known_keys()
    recognised = sum(name_key(n) in known for n in rig.names)
    return JointMapping(preset.name, joint_of, rig.names, recognised)


def _match_generic(rig: _Rig) -> JointMapping:
    parsed = [split_side(n) for n in rig.names]
    used: set[int] = set()
    joint_of: dict[int, int] = {}

    def take(smpl: str, side: str | None, words: tuple[str, ...]) -> None:
        for word in words:
            for j, (s, base) in enumerate(parsed):
                if s == side and base == word and j not in used and not rig.degenerate[j]:
                    joint_of[SMPL_JOINT_NAMES.index(smpl)] = j
                    used.add(j)
                    return

    take("pelvis", None, GENERIC_WORDS["pelvis"])
    take("neck", None, GENERIC_WORDS["neck"])
    take("head", None, GENERIC_WORDS["head"])
    for part in SIDE_PARTS:
        for side in ("l", "r"):
            take(f"{side}_{part}", side, GENERIC_WORDS[part])
    return JointMapping("generic", joint_of, rig.names, 0)


def _pelvis_fallback(rig: _Rig, mapping: JointMapping) -> None:
    """No pelvis by name: use the nearest common ancestor of the two hips."""
    if 0 in mapping.joint_of or 1 not in mapping.joint_of or 2 not in mapping.joint_of:
        return
    left = mapping.joint_of[1]
    right_chain = set(rig.ancestors(mapping.joint_of[2]))
    for a in rig.ancestors(left):
        if a in right_chain and a not in mapping.joint_of.values():
            mapping.joint_of[0] = a
            return


_SMPL_SPINE_FRACTION = {"spine1": 0.21, "spine2": 0.48, "spine3": 0.58}


def _spine_from_chain(rig: _Rig, mapping: JointMapping) -> None:
    """No spine by name: take the joints on the chain from the pelvis up to the neck (or head)."""
    names = mapping.mapped_names
    if names.intersection(SPINE_JOINTS) or "pelvis" not in names:
        return
    top = mapping.joint_of.get(12, mapping.joint_of.get(15))
    if top is None:
        return
    pelvis = mapping.joint_of[0]
    chain = rig.ancestors(top)
    if pelvis not in chain:
        return
    path = list(reversed(chain[:chain.index(pelvis)]))  # pelvis (excluded) ... top (excluded)
    used = set(mapping.joint_of.values())
    total = sum(rig.lengths[j] for j in path) + rig.lengths[top]
    inner = [j for j in path if not rig.degenerate[j] and j not in used]
    if not inner or total <= 0:
        return
    fraction = {j: sum(rig.lengths[k] for k in path[:path.index(j) + 1]) / total for j in inner}
    if len(inner) == 1:
        pick = {min(_SMPL_SPINE_FRACTION, key=lambda s: abs(_SMPL_SPINE_FRACTION[s] - fraction[inner[0]])):
                inner[0]}
    elif len(inner) == 2:
        pick = {"spine1": inner[0], "spine3": inner[1]}
    else:
        middle = min(inner[1:-1], key=lambda j: abs(fraction[j] - _SMPL_SPINE_FRACTION["spine2"]))
        pick = {"spine1": inner[0], "spine2": middle, "spine3": inner[-1]}
    for smpl, j in pick.items():
        mapping.joint_of[SMPL_JOINT_NAMES.index(smpl)] = j


def match_joints(names: list[str], parents: list[int], offsets: np.ndarray | None = None,
                 preset: str = "auto") -> JointMapping:
    """Best mapping of rig joints onto SMPL-22 (no error when joints are missing; see `resolve`)."""
    preset = preset.lower()
    if preset not in PRESET_CHOICES:
        raise MotionInputError(f"unknown joint-name preset {preset!r}; choose one of {', '.join(PRESET_CHOICES)}")
    rig = _Rig(names, parents, offsets)
    candidates = []
    if preset in ("auto", "generic"):
        candidates.append(_match_generic(rig))
    for name, table in PRESETS.items():
        if preset in ("auto", name):
            candidates.append(_match_table(rig, table))
    for m in candidates:
        _pelvis_fallback(rig, m)
        _spine_from_chain(rig, m)
    # Most joints mapped wins, then most rig names the preset knows, then the named presets over generic.
    return max(candidates, key=lambda m: (*m.score, m.preset != "generic"))


def resolve_joints(names: list[str], parents: list[int], offsets: np.ndarray | None = None,
                   preset: str = "auto", path: str | None = None) -> JointMapping:
    """Like `match_joints`, but raise MotionInputError listing the required SMPL joints left unmapped."""
    mapping = match_joints(names, parents, offsets, preset)
    missing = mapping.missing_required()
    if missing:
        shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
        raise MotionInputError(
            f"cannot map this skeleton to the SMPL-22 humanoid (preset {preset!r}, best match "
            f"{mapping.preset!r}); unmapped required joints: {', '.join(missing)}. "
            f"Joints in the file: {shown}. Pass --preset cmu|mixamo|smpl|generic, or rename the joints.",
            path)
    return mapping
