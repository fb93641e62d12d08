"""The stage: render engine and output size, world, light, a tiled floor, and a camera that frames the motion.

Camera: a fixed three-quarter view (front-right, looking slightly down) whose position is solved so that
every joint of every frame, padded by the body's thickness, projects inside the image with a margin.
`camera="fit"` keeps it still for the whole clip, so walking is seen as travel through the frame;
`camera="follow"` moves it with the smoothed root (the same solve on root-relative positions), which keeps
the avatar large on long walks; `camera="auto"` (the default) stays still unless that would put the camera
more than `AUTO_FOLLOW_RATIO` times farther away than following does. Either way the avatar never leaves
the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np

from .motion_rig import key_transforms, matrix_to_quaternion
from .shapes import Geometry, make_material, make_mesh, srgb_to_linear
from .smpl import JOINT, body_scale

ENGINES = {"workbench": ("BLENDER_WORKBENCH",), "eevee": ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"),
           "cycles": ("CYCLES",)}
CAMERA_MODES = ("auto", "fit", "follow")
BACKGROUND = "#c9d3dc"
FLOOR_TILES = ("#e4e4dc", "#c4c4bc")
VIEW_AZIMUTH = math.radians(35.0)     # from straight in front of the body, towards its right
VIEW_ELEVATION = math.radians(14.0)   # camera looks down
FIELD_OF_VIEW = math.radians(40.0)
BODY_PAD = 0.17                       # metres around joints and head tops (hands, shoes, body volume)
HEAD_TOP = 0.12                       # metres above the head joint framed as well (head, hair, hats)
MARGIN = 0.08                         # fraction of the half-image kept free at the border
FOLLOW_SMOOTHING_SECONDS = 1.0
AUTO_FOLLOW_RATIO = 1.6               # "auto" follows when a still camera would be this much farther away


OWN_SCENE = "mogents_avatar_scene"       # marks a scene that only holds what this module and render.py built
BUILT_DATA = ("objects", "meshes", "materials", "actions", "cameras", "lights", "worlds")


def empty_scene() -> bpy.types.Scene:
    """An empty scene to build a clip in.

    The first call resets the file to factory settings (0.15-0.3 s here, more than building and rendering
    eight small frames); later calls in the same process, while the file holds nothing but the previous
    clip's scene, delete that clip's datablocks instead (a few ms). Every setting the renderer depends on
    is set again by `configure_render` and the output setup, so the frames are the same either way.
    """
    scene = bpy.context.scene
    if scene is not None and scene.get(OWN_SCENE) and len(bpy.data.scenes) == 1:
        bpy.data.batch_remove([block for kind in BUILT_DATA for block in getattr(bpy.data, kind)])
        return scene
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene[OWN_SCENE] = True
    return scene


def set_engine(scene: bpy.types.Scene, engine: str) -> str:
    """Select the engine under its name in this Blender (EEVEE is BLENDER_EEVEE_NEXT in 4.2-4.5)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown render engine {engine!r}; choose one of {', '.join(ENGINES)}")
    for identifier in ENGINES[engine]:
        try:
            scene.render.engine = identifier  # the enum is filled at run time, so try the names in turn
        except TypeError:
            continue
        return identifier
    raise ValueError(f"this Blender has no {engine} engine")


def configure_render(scene: bpy.types.Scene, engine: str, resolution: int, fps: float, samples: int) -> None:
    """Engine, square output size, frame rate, colour management and light per engine."""
    set_engine(scene, engine)
    scene.render.resolution_x = scene.render.resolution_y = int(resolution)
    scene.render.resolution_percentage = 100
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"  # colours as picked, not tone-mapped
    if engine == "workbench":
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
        shading.background_type = "WORLD"
        shading.show_shadows = True
        shading.shadow_intensity = 0.35
        scene.display.render_aa = "FXAA"  # 8-sample AA costs about 3x the render time for little gain
        scene.display.light_direction = (0.35, 0.45, 0.82)
    elif engine == "eevee":
        scene.eevee.taa_render_samples = samples
    else:
        scene.cycles.samples = samples
        scene.cycles.use_denoising = False
        scene.cycles.device = "CPU"


def make_world(scene: bpy.types.Scene) -> None:
    world = bpy.data.worlds.new("mogents.world")
    rgb = srgb_to_linear(BACKGROUND)
    world.color = rgb  # Workbench background
    tree = world.node_tree
    if tree is not None:
        for node in tree.nodes:
            if node.type == "BACKGROUND":
                node.inputs["Color"].default_value = (*rgb, 1.0)
                node.inputs["Strength"].default_value = 0.9
    scene.world = world


def add_sun(collection: bpy.types.Collection) -> bpy.types.Object:
    """Key light for EEVEE and Cycles (Workbench uses its studio light)."""
    sun = bpy.data.lights.new("mogents.sun", type="SUN")
    sun.energy = 3.0
    sun.angle = math.radians(8.0)
    obj = bpy.data.objects.new("mogents.sun", sun)
    obj.rotation_euler = (math.radians(40.0), 0.0, math.radians(30.0))
    collection.objects.link(obj)
    return obj


def add_floor(collection: bpy.types.Collection, points: np.ndarray, height: float,
              tile: float = 1.0, border: float = 8.0) -> list[bpy.types.Object]:
    """A checkerboard of `tile`-metre squares under the motion (two meshes, one per colour)."""
    lo = np.floor((points[:, :2].min(axis=0) - border) / tile).astype(int)
    hi = np.ceil((points[:, :2].max(axis=0) + border) / tile).astype(int)
    objects = []
    for parity, hex_colour in enumerate(FLOOR_TILES):
        vertices, faces = [], []
        for i in range(lo[0], hi[0]):
            for j in range(lo[1], hi[1]):
                if (i + j) % 2 != parity:
                    continue
                base = len(vertices)
                x0, y0 = i * tile, j * tile
                vertices += [(x0, y0, height), (x0 + tile, y0, height), (x0 + tile, y0 + tile, height),
                             (x0, y0 + tile, height)]
                faces.append((base, base + 1, base + 2, base + 3))
        mat = make_material(f"mogents.floor.{parity}", hex_colour, 0.9)
        mesh = make_mesh(f"mogents.floor.{parity}", Geometry(np.array(vertices, dtype=float), faces), mat)
        mesh.polygons.foreach_set("use_smooth", np.zeros(len(mesh.polygons), dtype=bool))
        obj = bpy.data.objects.new(f"mogents.floor.{parity}", mesh)
        collection.objects.link(obj)
        objects.append(obj)
    return objects


@dataclass
class CameraFit:
    offset: np.ndarray     # camera position relative to the target point
    rotation: np.ndarray   # (3, 3) columns: camera right, up, backward (Blender's camera looks down -Z)
    distance: float        # from the framed points' centre along the view direction


def view_axes(azimuth: float = VIEW_AZIMUTH, elevation: float = VIEW_ELEVATION) -> tuple[np.ndarray, ...]:
    """Unit (forward, right, up) of a camera in front of a body that faces -Y (Blender axes)."""
    # from the front (-Y side) swung towards the body's right (-X), looking back at it and slightly down
    horizontal = np.array([math.sin(azimuth), math.cos(azimuth), 0.0])
    forward = horizontal * math.cos(elevation) + np.array([0.0, 0.0, -math.sin(elevation)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return forward, right, up


def fit_camera(points: np.ndarray, fov: float = FIELD_OF_VIEW, pad: float = BODY_PAD,
               margin: float = MARGIN) -> CameraFit:
    """The nearest camera on the fixed view that sees every point (N, 3), padded by `pad`, inside the margin.

    For a pinhole camera at c - d*forward + a*right + b*up, a point with view coordinates (x, y, z)
    relative to c is inside the horizontal field when |x - a| <= t (z + d), t = tan(fov/2): that is
    max(x - t z) - t d <= a <= min(x + t z) + t d. The smallest d that admits an a, and that a, are closed
    form; the same holds vertically. Padding widens each point by `pad` on both sides.
    """
    forward, right, up = view_axes()
    centre = 0.5 * (points.min(axis=0) + points.max(axis=0))
    rel = points - centre
    x, y, z = rel @ right, rel @ up, rel @ forward
    t = math.tan(fov / 2.0) * (1.0 - margin)

    def solve(u: np.ndarray) -> tuple[float, float]:
        high = np.max(u + pad - t * z)
        low = np.min(u - pad + t * z)
        return (high - low) / (2.0 * t), 0.5 * (high + low)

    dist_x, shift_x = solve(x)
    dist_y, shift_y = solve(y)
    near = float(np.max(-z)) + pad + 0.3  # keep every point in front of the lens
    distance = max(dist_x, dist_y, near)
    offset = centre + shift_x * right + shift_y * up - distance * forward
    rotation = np.stack([right, up, -forward], axis=1)
    return CameraFit(offset=offset, rotation=rotation, distance=float(distance))


def smoothed_track(positions: np.ndarray, fps: float, seconds: float = FOLLOW_SMOOTHING_SECONDS) -> np.ndarray:
    """Gaussian-smoothed horizontal path (T, 3) with z = 0, for the follow camera."""
    sigma = max(seconds * fps, 1e-3)
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(positions[:, :2], ((radius, radius), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(2)], axis=1)
    return np.column_stack([smooth, np.zeros(len(smooth))])


def framing_points(joints: np.ndarray) -> np.ndarray:
    """(T, 23, 3): the joints plus a point above each head, so heads, hair and hats stay in frame."""
    crowns = joints[:, JOINT["head"]] + np.array([0.0, 0.0, HEAD_TOP * body_scale(joints)])
    return np.concatenate([joints, crowns[:, None]], axis=1)


def plan_camera(joints: np.ndarray, mode: str, fps: float) -> tuple[str, CameraFit, np.ndarray]:
    """The camera mode actually used ("fit" or "follow"), its fit, and the target path (T, 3) it is relative to."""
    if mode not in CAMERA_MODES:
        raise ValueError(f"unknown camera mode {mode!r}; choose one of {', '.join(CAMERA_MODES)}")
    points = framing_points(joints)
    still_target = np.zeros((len(joints), 3))
    if mode == "fit":
        return mode, fit_camera(points.reshape(-1, 3)), still_target
    track = smoothed_track(joints[:, 0], fps)
    moving = fit_camera((points - track[:, None]).reshape(-1, 3))
    if mode == "follow":
        return mode, moving, track
    still = fit_camera(points.reshape(-1, 3))
    if still.distance <= AUTO_FOLLOW_RATIO * moving.distance:
        return "fit", still, still_target
    return "follow", moving, track


def add_camera(collection: bpy.types.Collection, scene: bpy.types.Scene, joints: np.ndarray, mode: str,
               fps: float, first_frame: int = 1, keyed: np.ndarray | None = None) -> bpy.types.Object:
    """A camera that keeps all of `joints` (T, 22, 3, Blender axes) in view, still or following the root.

    `keyed` (0-based frame indices) keys a following camera only at those frames of the clip, on
    consecutive scene frames from `first_frame`; the framing is always planned over the whole clip.
    """
    used, fit, target = plan_camera(joints, mode, fps)
    data = bpy.data.cameras.new("mogents.camera")
    data.sensor_fit = "AUTO"
    data.angle = FIELD_OF_VIEW
    data.clip_start = 0.05
    data.clip_end = 500.0
    cam = bpy.data.objects.new("mogents.camera", data)
    cam["mogents_camera_mode"] = used
    collection.objects.link(cam)
    scene.camera = cam
    cam.rotation_mode = "QUATERNION"
    cam.rotation_quaternion = matrix_to_quaternion(fit.rotation).tolist()
    if used == "fit":
        cam.location = fit.offset.tolist()
    else:
        picked = np.arange(len(joints)) if keyed is None else np.asarray(keyed)
        frames = first_frame + np.arange(len(picked), dtype=np.float32)
        key_transforms(cam, frames, target[picked] + fit.offset, None)
    return cam
