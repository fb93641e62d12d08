"""Animate one avatar with one motion and render it headless to an MP4, a folder of PNG frames, or sampled frames.

`render_motion` replaces the open file's contents with a fresh scene (it is meant for a background
Blender: the worker, or a test), builds the rig, avatar, floor and camera, renders the frames and
publishes the result atomically: output goes to `NAME.partial.mp4` / `NAME.partial/` / `NAME.partial.npy`
first and is renamed when complete, so a file or folder under the final name is always a finished render.
MP4 is Blender's own FFMPEG output (H.264); the bpy 5.0.1 wheel includes it.

Sampled-frame mode (`sample_frames=n`, training data for LAVIMO's video encoder) renders only the n frames
of `sampling.sample_indices` (centres of n equal segments of the clip at `fps`) and writes one
`NAME.npy` uint8 array (n, R, R, 3), RGB, row 0 at the top. Only those poses are keyed (on frames 1..n)
while sizes, floor and camera are planned over the whole clip, exactly as for a video, so a sampled frame
equals the same frame of the full render.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import bpy
import numpy as np

from .avatars import AVATARS, build_avatar
from .motion_rig import build_segments, segment_lengths
from .outputs import partial_path, remove_path
from .sampling import sample_indices
from .scene import CAMERA_MODES, ENGINES, add_camera, add_floor, add_sun, configure_render, empty_scene, make_world
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
    sample_frames: int = 0        # > 0: render only this many evenly spread frames into one .npy

    def checked(self) -> RenderSettings:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown render engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.camera not in CAMERA_MODES:
            raise ValueError(f"unknown camera mode {self.camera!r}; choose one of {', '.join(CAMERA_MODES)}")
        if not 16 <= int(self.resolution) <= 8192:
            raise ValueError(f"resolution must be between 16 and 8192 pixels, got {self.resolution}")
        sample_frames = self.sample_frames
        if isinstance(sample_frames, bool) or not isinstance(sample_frames, int) or not 0 <= sample_frames <= 256:
            raise ValueError(f"sample_frames must be an integer from 0 (every frame) to 256, got {sample_frames!r}")
        if sample_frames and self.frames_dir:
            raise ValueError("sampled frames go to one .npy per clip; they cannot also be a frame folder")
        if not self.frames_dir and not sample_frames and int(self.resolution) % 2:
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


def build_scene(joints: np.ndarray, avatar: int, settings: RenderSettings,
                keyed: list[int] | None = None) -> bpy.types.Scene:
    """A fresh scene with the animated avatar; `joints` are (T, 22, 3) in Blender axes at `settings.fps`.

    With `keyed` (0-based frame indices) the avatar and camera are keyed only at those frames, on scene
    frames 1..len(keyed): one animation render then gives exactly those frames of the full clip, since
    the body sizes, the floor and the camera's framing still come from every frame.
    """
    scene = empty_scene()
    configure_render(scene, settings.engine, settings.resolution, settings.fps, settings.samples)
    make_world(scene)
    collection = scene.collection
    if settings.engine != "workbench":
        add_sun(collection)
    if settings.floor:
        add_floor(collection, joints.reshape(-1, 3), float(joints[..., 2].min()) - 0.01)
    segments = build_segments(joints if keyed is None else joints[keyed], collection)
    build_avatar(AVATARS[avatar], segments, segment_lengths(joints), body_scale(joints), collection)
    add_camera(collection, scene, joints, settings.camera, settings.fps,
               keyed=None if keyed is None else np.asarray(keyed))
    scene.frame_start, scene.frame_end = 1, len(joints) if keyed is None else len(keyed)
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


def _read_rgb(path: Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8 of an 8-bit PNG Blender wrote; `pixels` of a byte image are its stored values / 255."""
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        width, height = image.size
        if (width, height) != (size, size):
            raise RuntimeError(f"Blender wrote a {width}x{height} frame, expected {size}x{size}")
        pixels = np.empty(width * height * image.channels, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    rgb = pixels.reshape(height, width, -1)[::-1, :, :3]  # Blender's rows start at the bottom
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _render_samples(scene: bpy.types.Scene, on_frame: FrameCallback | None) -> np.ndarray:
    """Render the scene's frames (the keyed samples) as one animation; (n, R, R, 3) uint8 RGB.

    One animation render costs about half of as many still renders, which each set the pipeline up anew.
    """
    size = scene.render.resolution_x
    with tempfile.TemporaryDirectory(prefix="mogents-samples-") as tmp:
        folder = Path(tmp)
        _set_output(scene, folder, frames_dir=True)
        scene.render.image_settings.color_depth = "8"
        scene.render.image_settings.compression = 0  # the files live for a moment: skip the deflate work
        _render_animation(scene, on_frame)
        paths = sorted(folder.glob("frame_*.png"))
        count = scene.frame_end - scene.frame_start + 1
        if len(paths) != count:
            raise RuntimeError(f"expected {count} rendered frames, found {len(paths)}")
        return np.stack([_read_rgb(path, size) for path in paths])


def _save_frames(target: Path, frames: np.ndarray) -> None:
    with open(target, "wb") as handle:  # a handle, so numpy does not append another .npy
        np.save(handle, frames)


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

    `output` is a `.mp4` path, a folder for PNG frames when `settings.frames_dir`, or a `.npy` path for
    `settings.sample_frames` frames. Wrong input raises
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
    if settings.sample_frames and output.suffix.lower() != ".npy":
        raise ValueError(f"{name}: sampled frames are written to a .npy file, got {output.name}")
    if not settings.frames_dir and not settings.sample_frames and output.suffix.lower() != ".mp4":
        raise ValueError(f"{name}: video output must end in .mp4, got {output.name}")
    blender_joints = to_blender_axes(resample(motion, motion_fps, settings.fps))
    keyed = sample_indices(len(blender_joints), settings.sample_frames) if settings.sample_frames else None
    scene = build_scene(blender_joints, int(avatar), settings, keyed)
    target = partial_path(output)
    remove_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.sample_frames:
        frames = _render_samples(scene, on_frame)
        _save_frames(target, frames)
        rendered = len(frames)
    else:
        _set_output(scene, target, settings.frames_dir)
        _render_animation(scene, on_frame)
        _check_output(target, len(blender_joints), settings.frames_dir)
        rendered = len(blender_joints)
    remove_path(output)
    target.rename(output)
    return RenderResult(output, rendered, time.perf_counter() - started, int(avatar))
