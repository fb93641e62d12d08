"""Mesh primitives for the avatars, all surfaces of revolution about +Y (numpy), and one bpy helper.

A profile is a list of (radius, height) points from bottom to top; a zero radius at either end closes
that end with a single pole vertex. Ellipsoids and flattened shapes come from scaling X and Z afterwards.
Shapes are built in a body segment's frame: +Y along the segment, +X the body's left, +Z the third axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

SEGMENTS = 16  # vertices around each ring


@dataclass
class Geometry:
    vertices: np.ndarray          # (V, 3)
    faces: list[tuple[int, ...]]

    def scaled(self, sx: float, sy: float, sz: float) -> Geometry:
        return Geometry(self.vertices * np.array([sx, sy, sz]), self.faces)

    def moved(self, dx: float, dy: float, dz: float) -> Geometry:
        return Geometry(self.vertices + np.array([dx, dy, dz]), self.faces)

    def tilted(self, angle: float) -> Geometry:
        """Rotated about +X by `angle` radians (positive tips +Y towards +Z)."""
        c, s = np.cos(angle), np.sin(angle)
        rot = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
        return Geometry(self.vertices @ rot.T, self.faces)


def revolve(profile: list[tuple[float, float]], segments: int = SEGMENTS) -> Geometry:
    """Rotate a (radius, height) profile about +Y."""
    angles = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    ring_xz = np.stack([np.sin(angles), np.cos(angles)], axis=1)
    vertices: list[np.ndarray] = []
    rings: list[list[int] | int] = []  # a ring's vertex ids, or a pole's single id
    for radius, height in profile:
        start = sum(len(v) for v in vertices)
        if radius <= 1e-9:
            vertices.append(np.array([[0.0, height, 0.0]]))
            rings.append(start)
        else:
            vertices.append(np.column_stack([radius * ring_xz[:, 0], np.full(segments, height),
                                             radius * ring_xz[:, 1]]))
            rings.append(list(range(start, start + segments)))
    faces: list[tuple[int, ...]] = []
    for lower, upper in zip(rings[:-1], rings[1:], strict=True):
        for k in range(segments):
            k1 = (k + 1) % segments
            if isinstance(lower, int) and isinstance(upper, int):
                continue
            if isinstance(lower, int):
                faces.append((lower, upper[k1], upper[k]))
            elif isinstance(upper, int):
                faces.append((lower[k], lower[k1], upper))
            else:
                faces.append((lower[k], lower[k1], upper[k1], upper[k]))
    return Geometry(np.concatenate(vertices), faces)


def _arc(center: float, radius: float, start: float, stop: float, steps: int) -> list[tuple[float, float]]:
    """Points of a meridian arc: polar angle from `start` to `stop` (0 = top pole, pi = bottom pole)."""
    return [(radius * np.sin(a), center + radius * np.cos(a)) for a in np.linspace(start, stop, steps)]


def capsule(length: float, bottom_radius: float, top_radius: float, steps: int = 5) -> Geometry:
    """Tapered capsule from y=0 to y=length: half-spheres on a cone, closed at both ends."""
    bottom = _arc(0.0, bottom_radius, np.pi, np.pi / 2, steps)
    top = _arc(length, top_radius, np.pi / 2, 0.0, steps)
    return revolve(bottom + top)


def ellipsoid(rx: float, ry: float, rz: float, rings: int = 10) -> Geometry:
    """Closed ellipsoid centred at the origin."""
    return revolve(_arc(0.0, 1.0, np.pi, 0.0, rings + 1)).scaled(rx, ry, rz)


def dome(radius: float, opening: float, rings: int = 6) -> Geometry:
    """Open spherical cap around +Y, from the top pole down to polar angle `opening` (radians)."""
    return revolve(_arc(0.0, radius, opening, 0.0, rings + 1))


def frustum(height: float, bottom_radius: float, top_radius: float, closed: bool = True) -> Geometry:
    """Truncated cone from y=0 to y=height (a disc or cylinder when the radii are equal)."""
    profile = [(bottom_radius, 0.0), (top_radius, height)]
    if closed:
        profile = [(0.0, 0.0), *profile, (0.0, height)]
    return revolve(profile)


def combine(parts: list[Geometry]) -> Geometry:
    vertices, faces, offset = [], [], 0
    for part in parts:
        vertices.append(part.vertices)
        faces.extend(tuple(i + offset for i in face) for face in part.faces)
        offset += len(part.vertices)
    return Geometry(np.concatenate(vertices), faces)


def srgb_to_linear(hex_colour: str) -> tuple[float, float, float]:
    """Blender colours are scene-linear; palettes are written in sRGB, as a colour picker shows them."""
    value = hex_colour.lstrip("#")
    srgb = np.array([int(value[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return tuple(float(c) for c in linear)


def make_material(name: str, hex_colour: str, roughness: float = 0.7) -> bpy.types.Material:
    """A flat colour every engine reads: Workbench's material colour and the Principled BSDF's base colour."""
    rgb = srgb_to_linear(hex_colour)
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*rgb, 1.0)
    mat.roughness = roughness
    for node in (mat.node_tree.nodes if mat.node_tree else ()):
        if node.type == "BSDF_PRINCIPLED":
            node.inputs["Base Color"].default_value = (*rgb, 1.0)
            node.inputs["Roughness"].default_value = roughness
    return mat


def make_mesh(name: str, geometry: Geometry, material: bpy.types.Material) -> bpy.types.Mesh:
    """A smooth-shaded mesh datablock with one material."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(geometry.vertices.tolist(), [], geometry.faces)
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    mesh.materials.append(material)
    mesh.validate()
    mesh.update()
    return mesh
