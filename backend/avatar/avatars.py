"""The procedural avatars: ten looks (build, proportions, clothing, hair, hats), one per clip.

LAVIMO renders each motion with one of 13 avatars picked at random; here `pick_avatar` picks one of
`AVATARS` from the clip name and a seed, so the choice is random across clips but the same on every
rerun and in every shard. An avatar is a set of rigid parts (capsules, ellipsoids, cones) in the frames
of the segments of `motion_rig`, sized to the clip's own segment lengths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import bpy

from .shapes import Geometry, capsule, combine, dome, ellipsoid, frustum, make_material, make_mesh

HEAD_REST_TILT = 0.53  # radians the neck->head direction leans forward in the SMPL rest pose


@dataclass(frozen=True)
class AvatarStyle:
    name: str
    skin: str           # colours as sRGB hex
    top: str
    bottom: str
    shoes: str
    hair: str = "#000000"
    hat_colour: str = "#000000"
    sleeves: str = "short"       # "long", "short" or "none"
    legwear: str = "trousers"    # "trousers", "shorts" or "skirt"
    hair_style: str = "short"    # "short", "long" or "none"
    hat: str = "none"            # "none", "cap", "beanie", "hardhat" or "sunhat"
    limbs: float = 1.0           # limb thickness
    torso_width: float = 1.0
    torso_depth: float = 1.0
    shoulders: float = 1.0
    head: float = 1.0            # head size


AVATARS: tuple[AvatarStyle, ...] = (
    AvatarStyle("office", skin="#e0ac8a", top="#f2f2f2", bottom="#3a3f4a", shoes="#1c1c1c", hair="#3b2a1e",
                sleeves="long"),
    AvatarStyle("runner", skin="#5c3a26", top="#d63a2f", bottom="#1f4fa8", shoes="#f5f5f5", sleeves="none",
                legwear="shorts", hair_style="none", limbs=0.82, torso_width=0.9, torso_depth=0.85),
    AvatarStyle("summer", skin="#f1c9a9", top="#f2c230", bottom="#2f8f5b", shoes="#8b5a2b", hair="#d9b36c",
                legwear="skirt", hair_style="long", torso_width=0.9, shoulders=0.88),
    AvatarStyle("builder", skin="#c68d5f", top="#f07d1a", bottom="#3c5a8c", shoes="#6b4423", hair_style="none",
                hat="hardhat", hat_colour="#f7d117", limbs=1.25, torso_width=1.22, torso_depth=1.4, head=1.05),
    AvatarStyle("athlete", skin="#8d5a3b", top="#2e9e4f", bottom="#151515", shoes="#d92b2b", hair="#1a1a1a",
                sleeves="long", limbs=1.15, shoulders=1.2, head=0.9),
    AvatarStyle("kid", skin="#f3d2b3", top="#7b4bb7", bottom="#8a8f96", shoes="#2d6fd1", hair="#5a3825",
                legwear="shorts", hat="beanie", hat_colour="#c23b6b", sleeves="long", limbs=0.78, torso_width=0.85,
                head=1.32),
    AvatarStyle("elder", skin="#f0d5c4", top="#c9b48a", bottom="#5a4331", shoes="#2b2118", hair="#c8c8c8",
                sleeves="long", torso_width=1.1, torso_depth=1.25),
    AvatarStyle("skater", skin="#b07a50", top="#1ba3a3", bottom="#b9a27a", shoes="#ececec", hair="#2a1a10",
                legwear="shorts", hat="cap", hat_colour="#b5242c", limbs=0.95),
    AvatarStyle("dancer", skin="#7a4a30", top="#e84a8a", bottom="#262626", shoes="#101010", hair="#140c08",
                sleeves="none", legwear="skirt", hair_style="long", limbs=0.88, torso_width=0.88, shoulders=0.9),
    AvatarStyle("hiker", skin="#d7a27e", top="#4a6b2f", bottom="#7d6a4f", shoes="#5b3b1f", hair="#6b4a2b",
                sleeves="long", hat="sunhat", hat_colour="#d8c38f", torso_depth=1.1),
)


def pick_avatar(clip_name: str, seed: int = 0) -> int:
    """A stable pseudo-random avatar index for a clip (independent of clip order, shard and rerun)."""
    digest = hashlib.sha256(f"{seed}:{clip_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % len(AVATARS)


@dataclass
class Part:
    segment: str
    material: str       # "skin", "top", "bottom", "shoes", "hair" or "hat"
    geometry: Geometry


def _head_parts(style: AvatarStyle, neck: float, s: float) -> list[Part]:
    """Head, nose, hair and hat, built upright around the head centre, then leaned into the neck frame."""
    h = style.head * s
    rx, ry, rz = 0.082 * h, 0.108 * h, 0.098 * h
    centre_y = 0.085 * s

    def place(g: Geometry) -> Geometry:
        return g.moved(0.0, centre_y, 0.0).tilted(-HEAD_REST_TILT).moved(0.0, neck, 0.0)

    parts = [Part("head", "skin", place(ellipsoid(rx, ry, rz))),
             Part("head", "skin", place(ellipsoid(0.018 * h, 0.024 * h, 0.022 * h).moved(0.0, -0.01 * h, rz)))]
    if style.hair_style != "none":
        hair = [dome(1.0, 1.9).tilted(-0.75).scaled(rx * 1.08, ry * 1.06, rz * 1.08)]
        if style.hair_style == "long":
            hair.append(ellipsoid(rx * 1.02, 0.15 * h, 0.045 * h).moved(0.0, -0.06 * h, -rz * 0.72))
        parts.append(Part("head", "hair", place(combine(hair))))
    if style.hat != "none":
        parts.append(Part("head", "hat", place(_hat(style.hat, rx, ry, rz, h))))
    return parts


def _hat(kind: str, rx: float, ry: float, rz: float, h: float) -> Geometry:
    if kind == "beanie":
        return dome(1.0, 1.45).scaled(rx * 1.12, ry * 1.12, rz * 1.12).moved(0.0, 0.012 * h, 0.0)
    crown = dome(1.0, 1.5).scaled(rx * 1.12, ry * 1.05, rz * 1.12).moved(0.0, 0.02 * h, 0.0)
    if kind == "cap":
        brim = frustum(0.006 * h, 0.075 * h, 0.075 * h).scaled(1.0, 1.0, 0.9).moved(0.0, 0.02 * h, rz * 1.05)
    elif kind == "hardhat":
        crown = dome(1.0, 1.57).scaled(rx * 1.2, ry * 1.12, rz * 1.2).moved(0.0, 0.03 * h, 0.0)
        brim = frustum(0.008 * h, rz * 1.45, rz * 1.35).moved(0.0, 0.03 * h, 0.012 * h)
    else:  # sunhat
        brim = frustum(0.006 * h, rz * 2.1, rz * 2.0).moved(0.0, 0.035 * h, 0.0)
    return combine([crown, brim])


def _torso_parts(style: AvatarStyle, lengths: dict[str, float], s: float) -> list[Part]:
    w, d, sh = style.torso_width * s, style.torso_depth * s, style.shoulders * s
    pelvis_cloth = "bottom"
    parts = [
        Part("pelvis", pelvis_cloth, ellipsoid(0.155 * w, 0.12 * s, 0.11 * d).moved(0.0, -0.035 * s, 0.0)),
        Part("belly", "top", ellipsoid(0.145 * w, 0.125 * s, 0.108 * d).moved(0.0, lengths["belly"] * 0.5, 0.0)),
        Part("waist", "top", ellipsoid(0.155 * w, 0.12 * s, 0.105 * d).moved(0.0, lengths["waist"] * 0.5, 0.0)),
        Part("chest", "top", ellipsoid(0.165 * sh, 0.165 * s, 0.11 * d).moved(0.0, 0.055 * s, 0.005 * s)),
    ]
    shoulder = "skin" if style.sleeves == "none" else "top"
    for side in ("l", "r"):
        collar = lengths[f"{side}_collar"]
        parts.append(Part(f"{side}_collar", shoulder,
                          capsule(collar, 0.05 * sh, 0.06 * style.limbs * s).moved(0.0, -0.01 * s, 0.0)))
    neck_radius = 0.05 * s * max(1.0, style.limbs) ** 0.5
    parts.append(Part("head", "skin", capsule(lengths["head"] + 0.03 * s, neck_radius, neck_radius * 0.92)
                      .moved(0.0, -0.05 * s, 0.0)))
    if style.legwear == "skirt":
        skirt = frustum(0.44 * s, 0.29 * w, 0.165 * w, closed=False).scaled(1.0, 1.0, 0.85)
        parts.append(Part("pelvis", "bottom", skirt.moved(0.0, -0.42 * s, 0.0)))
    return parts


def _arm_parts(style: AvatarStyle, lengths: dict[str, float], s: float, side: str) -> list[Part]:
    t = style.limbs * s
    upper, fore = lengths[f"{side}_upper_arm"], lengths[f"{side}_forearm"]
    sleeve = "top" if style.sleeves == "long" else "skin"
    parts = [
        Part(f"{side}_upper_arm", sleeve, capsule(upper, 0.058 * t, 0.046 * t)),
        Part(f"{side}_forearm", sleeve, capsule(fore, 0.045 * t, 0.035 * t)),
        Part(f"{side}_forearm", "skin", ellipsoid(0.048 * s, 0.09 * s, 0.026 * s).moved(0.0, fore + 0.07 * s, 0.0)),
    ]
    if style.sleeves == "short":
        parts.append(Part(f"{side}_upper_arm", "top", capsule(upper * 0.45, 0.07 * t, 0.062 * t)))
    return parts


def _leg_parts(style: AvatarStyle, lengths: dict[str, float], s: float, side: str) -> list[Part]:
    t = style.limbs * s
    thigh, shin, foot = lengths[f"{side}_thigh"], lengths[f"{side}_shin"], lengths[f"{side}_foot"]
    long_legs = style.legwear == "trousers"
    thigh_cloth = "skin" if style.legwear == "skirt" else "bottom"
    parts = [
        Part(f"{side}_thigh", thigh_cloth if long_legs else "skin", capsule(thigh, 0.082 * t, 0.058 * t)),
        Part(f"{side}_shin", "bottom" if long_legs else "skin", capsule(shin, 0.056 * t, 0.042 * t)),
        # foot frame: +Y from the ankle towards the toes, +Z points down
        Part(f"{side}_foot", "shoes", ellipsoid(0.05 * s, 0.12 * s, 0.042 * s).moved(0.0, foot * 0.45, 0.015 * s)),
    ]
    if style.legwear == "shorts":
        parts.append(Part(f"{side}_thigh", "bottom", capsule(thigh * 0.55, 0.094 * t, 0.08 * t)))
    return parts


def avatar_parts(style: AvatarStyle, lengths: dict[str, float], scale: float = 1.0) -> list[Part]:
    """Every part of `style`, sized to the clip's segment `lengths` and skeleton `scale`."""
    parts = _head_parts(style, lengths["head"], scale) + _torso_parts(style, lengths, scale)
    for side in ("l", "r"):
        parts += _arm_parts(style, lengths, scale, side) + _leg_parts(style, lengths, scale, side)
    return parts


def make_materials(style: AvatarStyle) -> dict[str, bpy.types.Material]:
    colours = {"skin": style.skin, "top": style.top, "bottom": style.bottom, "shoes": style.shoes,
               "hair": style.hair, "hat": style.hat_colour}
    return {key: make_material(f"{style.name}.{key}", hex_colour, 0.5 if key == "skin" else 0.75)
            for key, hex_colour in colours.items()}


def build_avatar(style: AvatarStyle, segments: dict[str, bpy.types.Object], lengths: dict[str, float],
                 scale: float, collection: bpy.types.Collection) -> list[bpy.types.Object]:
    """Mesh objects for every part, parented rigidly (no inverse) to their segment empties."""
    materials = make_materials(style)
    objects = []
    for i, part in enumerate(avatar_parts(style, lengths, scale)):
        name = f"{style.name}.{part.segment}.{i}"
        obj = bpy.data.objects.new(name, make_mesh(name, part.geometry, materials[part.material]))
        collection.objects.link(obj)
        obj.parent = segments[part.segment]
        objects.append(obj)
    return objects
