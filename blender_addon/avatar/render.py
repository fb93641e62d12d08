"""Animate one avatar with one motion and render it headless to an MP4 or a folder of PNG frames.

`render_motion` replaces the open file's contents with a fresh scene (it is meant for a background
Blender: the worker, or a test), builds the rig, avatar, floor and camera, renders every frame and
publishes the result atomically: frames go to `NAME.partial.mp4` / `NAME.partial/` first and are
renamed when complete, so a file or folder under the final name is always a finished render.
MP4 is Blender's own FFMPEG output (H.264); the bpy 5.0.1 wheel includes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import bpy
import numpy as np

from .avatars import AVATARS, build_avatar
from .motion_rig import build_segments, segment_lengths
from .outputs import partial_path, remove_path
from .scene import CAMERA_MODES, ENGINES, add_camera, add_floor, add_sun, configure_render, make_world
from .smpl import MOTION_FPS, body_scale, check_joints, resample, to_blender_axes

FRAME_PATTERN = "frame_####"
FrameCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderSettings:
    engine: str = "workbench"     # "workbench", "eevee" or "cycles"
    resolution: int = 512         # square frames, pixels (LAVIMO: 512)
    fps: float = MOTION_FPS       # video frame rate; motions are resampled to it
    frames_dir: bool = False      # PNG frames in a folder instead of an MP4
    floor: bool = True
    camera: str = "auto"          # "fit" (still), "follow", or "auto" (still unless the motion travels far)
    samples: int = 16             # EEVEE / Cycles samples per pixel

    def checked(self) -> RenderSettings:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown render engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.camera not in CAMERA_MODES:
            raise ValueError(f"unknown camera mode {self.camera!r}; choose one of {', '.join(CAMERA_MODES)}")
        if not 16 <= int(self.resolution) <= 8192:
            raise ValueError(f"resolution must be between 16 and 8192 pixels, got {self.resolution}")
        if not self.frames_dir and int(self.resolution) % 2:
            raise ValueError(f"MP4 (H.264) needs an even resolution, got {self.resolution}")
        if not 1.0 <= float(self.fps) <= 240.0:
            raise ValueError(f"fps must be between 1 and 240, got {self.fps}")
        if not 1 <= int(self.samples) <= 4096:
            raise ValueError(f"samples must be between 1 and 4096, got {self.samples}")
        return replace(self, resolution=int(self.resolution), fps=float(self.fps), samples=int(self.samples))

    @classmethod
    def from_dict(cls, values: dict) -> RenderSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown render setting(s): {', '.join(unknown)}")
        return cls(**values).checked()


@dataclass
class RenderResult:
    output: Path
    frames: int
    seconds: float
    avatar: int


def build_scene(joints: np.ndarray, avatar: int, settings: RenderSettings) -> bpy.types.Scene:
    """A fresh scene with the animated avatar; `joints` are (T, 22, 3) in Blender axes at `settings.fps`."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    configure_render(scene, settings.engine, settings.resolution, settings.fps, settings.samples)
    make_world(scene)
    collection = scene.collection
    if settings.engine != "workbench":
        add_sun(collection)
    if settings.floor:
        add_floor(collection, joints.reshape(-1, 3), float(joints[..., 2].min()) - 0.01)
    segments = build_segments(joints, collection)
    build_avatar(AVATARS[avatar], segments, segment_lengths(joints), body_scale(joints), collection)
    add_camera(collection, scene, joints, settings.camera, settings.fps)
    scene.frame_start, scene.frame_end = 1, len(joints)
    scene.frame_set(1)
    return scene


def _set_output(scene: bpy.types.Scene, target: Path, frames_dir: bool) -> None:
    image = scene.render.image_settings
    if frames_dir:
        if hasattr(image, "media_type"):  # Blender 5.0+
            image.media_type = "IMAGE"
        image.file_format = "PNG"
        image.color_mode = "RGB"
        image.compression = 15
        scene.render.filepath = str(target / FRAME_PATTERN)
        return
    if hasattr(image, "media_type"):
        image.media_type = "VIDEO"
    image.file_format = "FFMPEG"
    image.color_mode = "RGB"
    ffmpeg = scene.render.ffmpeg
    ffmpeg.format = "MPEG4"
    ffmpeg.codec = "H264"
    ffmpeg.constant_rate_factor = "HIGH"
    ffmpeg.ffmpeg_preset = "GOOD"
    ffmpeg.gopsize = max(1, scene.render.fps)
    ffmpeg.audio_codec = "NONE"
    scene.render.filepath = str(target)


def _render_animation(scene: bpy.types.Scene, on_frame: FrameCallback | None) -> None:
    total = scene.frame_end - scene.frame_start + 1

    def frame_written(scene_: bpy.types.Scene, *_args) -> None:
        if on_frame is not None:
            on_frame(scene_.frame_current - scene_.frame_start + 1, total)

    bpy.app.handlers.render_write.append(frame_written)
    try:
        result = bpy.ops.render.render(animation=True, scene=scene.name)
    finally:
        bpy.app.handlers.render_write.remove(frame_written)
    if "FINISHED" not in result:
        raise RuntimeError(f"Blender did not finish rendering ({', '.join(sorted(result))})")


def _check_output(target: Path, frames: int, frames_dir: bool) -> None:
    if frames_dir:
        written = len(list(target.glob("frame_*.png"))) if target.is_dir() else 0
        if written != frames:
            raise RuntimeError(f"expected {frames} frames in {target}, found {written}")
    elif not target.is_file() or target.stat().st_size == 0:
        raise RuntimeError(f"Blender wrote no video at {target}")


def render_motion(joints: np.ndarray, output: str | Path, avatar: int = 0,
                  settings: RenderSettings | None = None, motion_fps: float = MOTION_FPS, name: str = "motion",
                  on_frame: FrameCallback | None = None) -> RenderResult:
    """Render SMPL-22 `joints` (T, 22, 3; Y up, metres, facing +Z) with avatar number `avatar` to `output`.

    `output` is a `.mp4` path, or a folder for PNG frames when `settings.frames_dir`. Wrong input raises
    ValueError naming `name`; nothing is written then. `on_frame(done, total)` is called per frame.
    """
    started = time.perf_counter()
    settings = (settings or RenderSettings()).checked()
    motion = check_joints(joints, name)
    if not 0 <= int(avatar) < len(AVATARS):
        raise ValueError(f"avatar must be 0..{len(AVATARS) - 1}, got {avatar}")
    if not motion_fps > 0:
        raise ValueError(f"{name}: motion fps must be positive, got {motion_fps}")
    output = Path(output)
    if not settings.frames_dir and output.suffix.lower() != ".mp4":
        raise ValueError(f"{name}: video output must end in .mp4, got {output.name}")
    blender_joints = to_blender_axes(resample(motion, motion_fps, settings.fps))
    scene = build_scene(blender_joints, int(avatar), settings)
    target = partial_path(output)
    remove_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _set_output(scene, target, settings.frames_dir)
    _render_animation(scene, on_frame)
    _check_output(target, len(blender_joints), settings.frames_dir)
    remove_path(output)
    target.rename(output)
    return RenderResult(output, len(blender_joints), time.perf_counter() - started, int(avatar))
