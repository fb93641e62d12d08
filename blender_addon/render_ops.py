"""Render avatar videos of motions from the sidebar, in a background Blender so the interface stays live.

The operator collects the clips on the main thread (the active MoGenTS action's stored joint positions, or
every .npy / .npz joints file in the Motions folder), writes a jobs file, and runs the avatar worker
(`avatar/worker.py`) in a subprocess from a TaskOperator thread: progress comes from the worker's lines,
Cancel kills the process and deletes the clip it was writing. The worker is the running Blender binary
(`-b --factory-startup`), or `$MOGENTS_BLENDER`, or, under the bpy module, this Python.

The defaults suit a CPU and a file that was never saved: Workbench at 256 x 256, and with the Output folder
left empty the videos go beside the .blend file, or, before it is saved, into the add-on's user folder (the
panel shows where). The Frames option renders the whole motion, the scene (or preview) range, or a custom
range of scene frames; the Camera option is passed to the worker (auto, still or follow).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, IntProperty

from . import tasks
from .avatar import runner
from .edit_ops import motion_frames, scene_range
from .motion_store import motion_meta
from .panels import wrap_lines
from .task_operator import TaskOperator, idle

JOINTS_PER_FRAME = 22 * 3
ENGINES = {"BLENDER_WORKBENCH": "workbench", "BLENDER_EEVEE": "eevee", "CYCLES": "cycles"}
MOTION_SUFFIXES = (".npy", ".npz")


def clip_name(text: str) -> str:
    """A file-name-safe clip name from an action name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "motion"


def action_joints(action: bpy.types.Action) -> tuple[np.ndarray, float]:
    """The joint positions (T, 22, 3) and fps a MoGenTS action carries in `action["mogents_joints"]`."""
    meta = motion_meta(action)
    if meta is None:
        raise ValueError(f"the action {action.name!r} was not made by MoGenTS; generate a motion first")
    if "mogents_joints" not in action:
        raise ValueError(f"the action {action.name!r} has no stored joint positions to render; "
                         "generate or apply it again with this version of the add-on")
    flat = np.asarray(action["mogents_joints"], dtype=np.float32)
    if flat.size == 0 or flat.size % JOINTS_PER_FRAME:
        raise ValueError(f"the action {action.name!r} stores {flat.size} joint values, "
                         f"not a whole number of 22-joint frames")
    return flat.reshape(-1, 22, 3), float(meta.get("fps", 20.0))


def active_action(context: bpy.types.Context) -> bpy.types.Action:
    obj = context.active_object
    if obj is None:
        raise ValueError("select the armature that carries the MoGenTS motion")
    anim = obj.animation_data
    if anim is None or anim.action is None:
        raise ValueError(f"{obj.name!r} has no action; generate or apply a motion first")
    return anim.action


def addon_user_folder(create: bool = False) -> Path:
    """Where videos go while the .blend file is unsaved: the extension's user folder (kept across sessions and
    upgrades), or Blender's user data folder when the add-on is not installed as an extension."""
    try:
        return Path(bpy.utils.extension_path_user(__package__, path="videos", create=create))
    except ValueError:  # "the package does not name an extension"
        return Path(bpy.utils.user_resource("DATAFILES", path="mogents/videos", create=create))


def output_folder(path_setting: str, create: bool = False) -> Path:
    """The folder the videos go to. Empty setting: `videos` beside the saved .blend file, else (unsaved) the
    add-on's user folder. A folder relative to an unsaved file (`//...`) is refused with the reason."""
    path_setting = path_setting.strip()
    if not path_setting:
        return Path(bpy.path.abspath("//videos")) if bpy.data.filepath else addon_user_folder(create)
    if path_setting.startswith("//") and not bpy.data.filepath:
        raise ValueError(f"the Output folder {path_setting} is relative to the .blend file, which is not saved: "
                         "save the file, choose an absolute folder, or leave Output empty")
    return Path(bpy.path.abspath(path_setting))


def frame_span(context: bpy.types.Context, action: bpy.types.Action, count: int) -> tuple[int, int] | None:
    """Motion frames [a, b) of the active motion that the Frames option asks for (None: all `count` frames)."""
    settings = context.scene.mogents
    if settings.render_range == "MOTION":
        return None
    if settings.render_range == "SCENE":
        first, last = scene_range(context.scene)
    else:
        first, last = settings.render_frame_start, settings.render_frame_end
        if last < first:
            raise ValueError(f"the render range ends ({last}) before it starts ({first})")
    meta = motion_meta(action) or {}
    if "start_frame" not in meta or "step" not in meta:
        raise ValueError(f"the action {action.name!r} does not record where it sits in the scene; "
                         "render the whole motion, or apply it again with this version of the add-on")
    return motion_frames({**meta, "frames": min(int(meta.get("frames", count)), count)}, first, last)


def folder_motions(folder_setting: str) -> list[Path]:
    if not folder_setting.strip():
        raise ValueError("choose the Motions folder (.npy joints or .npz files from `mogents generate`)")
    folder = Path(bpy.path.abspath(folder_setting))
    if not folder.is_dir():
        raise ValueError(f"the Motions folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MOTION_SUFFIXES)
    if not files:
        raise ValueError(f"no .npy or .npz motions in {folder}")
    return files


def worker_executable() -> str:
    """$MOGENTS_BLENDER, else the running Blender, else (bpy as a Python module) this Python."""
    return os.environ.get("MOGENTS_BLENDER") or bpy.app.binary_path or sys.executable


def _write_jobs(folder: Path, clips: list[dict], settings: dict) -> Path:
    """The worker's jobs file in `folder`; in-memory joints are saved beside it as .npy."""
    entries = []
    for clip in clips:
        if isinstance(clip["joints"], np.ndarray):
            path = folder / f"{clip['name']}.npy"
            np.save(path, clip["joints"])
            clip = {**clip, "joints": str(path)}
        entries.append(clip)
    jobs_path = folder / "jobs.json"
    jobs_path.write_text(json.dumps({"settings": settings, "seed": 0, "clips": entries}), encoding="utf-8")
    return jobs_path


class MOGENTS_OT_render_videos(TaskOperator, bpy.types.Operator):
    """Render avatar videos (MP4) of the active MoGenTS motion, or of every motion in the Motions folder"""

    bl_idname = "mogents.render_videos"
    bl_label = "Render videos"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return idle(cls, context)

    source: EnumProperty(name="Source", default="ACTIVE",
                         items=[("ACTIVE", "Active motion", "The MoGenTS action on the active object"),
                                ("FOLDER", "Motions folder", "Every .npy / .npz motion in the Motions folder")])
    avatar: IntProperty(name="Avatar", default=-1, min=-1,
                        description="Avatar number; -1 picks one per clip from its name")
    overwrite: BoolProperty(name="Overwrite", default=False,
                            description="Render folder clips again even when their video exists")

    def _clips(self, context: bpy.types.Context, out_dir: Path) -> list[dict]:
        """Jobs for the worker; the active motion's joints travel in memory until the thread writes them."""
        avatar = None if self.avatar < 0 else int(self.avatar)
        if self.source == "ACTIVE":
            action = active_action(context)
            joints, fps = action_joints(action)
            name = clip_name(action.name)
            span = frame_span(context, action, len(joints))
            if span is not None:
                a, b = span
                meta = motion_meta(action)
                first = meta["start_frame"] + meta["step"] * a
                last = meta["start_frame"] + meta["step"] * (b - 1)
                joints, name = joints[a:b], f"{name}_f{int(round(first))}-{int(round(last))}"
            return [{"name": name, "joints": joints, "output": str(out_dir / f"{name}.mp4"), "avatar": avatar,
                     "fps": fps}]
        clips = []
        for path in folder_motions(context.scene.mogents.motions_folder):
            output = out_dir / f"{path.stem}.mp4"
            if output.exists() and not self.overwrite:
                continue
            clips.append({"name": path.stem, "joints": str(path), "output": str(output), "avatar": avatar,
                          "fps": 20.0})
        return clips

    def prepare(self, context: bpy.types.Context):
        settings = context.scene.mogents
        out_dir = output_folder(settings.render_out)
        clips = self._clips(context, out_dir)
        render_settings = {"engine": ENGINES[settings.render_engine],
                           "resolution": int(settings.render_resolution) // 2 * 2,  # H.264 needs even sizes
                           "camera": settings.render_camera}
        out_dir.mkdir(parents=True, exist_ok=True)
        executable = worker_executable()

        def work(progress, cancelled):
            if not clips:
                return {"out_dir": str(out_dir), "finished": [], "failed": [], "skipped": True}
            done = [0]

            def on_line(tag: str, payload: dict) -> None:
                if tag == "MOGENTS-PROGRESS":
                    done[0] += 1
                    progress(done[0] / len(clips), f"{done[0]}/{len(clips)} rendered")
                elif tag == "MOGENTS-FRAME":
                    frames = max(int(payload.get("frames", 1)), 1)
                    fraction = (done[0] + int(payload.get("frame", 0)) / frames) / len(clips)
                    progress(fraction, f"{payload.get('clip')}: frame {payload.get('frame')}/{frames}")

            with tempfile.TemporaryDirectory(prefix="mogents-render-") as tmp:
                jobs_path = _write_jobs(Path(tmp), clips, render_settings)
                outputs = {c["name"]: Path(c["output"]) for c in clips}
                outcome = runner.run_worker(runner.worker_command(executable, jobs_path), outputs, on_line,
                                            cancelled)
            return {"out_dir": str(out_dir), "finished": outcome.finished, "failed": outcome.failed,
                    "skipped": False}

        return work

    def apply(self, context: bpy.types.Context, result: dict) -> None:
        if result["skipped"]:
            self.report({"INFO"}, f"every video is already in {result['out_dir']} (tick Overwrite to redo)")
            return
        failed = [f"{f['clip']}: {f['error']}" for f in result["failed"]]
        if failed and not result["finished"]:
            raise ValueError("; ".join(failed[:3]) + (f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""))
        for message in failed[:5]:
            self.report({"WARNING"}, message)
        self.report({"INFO"}, f"rendered {len(result['finished'])} video(s) to {result['out_dir']}")


class MOGENTS_PT_render(bpy.types.Panel):
    bl_label = "Render videos"
    bl_idname = "MOGENTS_PT_render"
    bl_parent_id = "MOGENTS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MoGenTS"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.mogents
        task = tasks.current()
        busy = task is not None and not task.state.done
        layout.prop(settings, "render_out")
        try:
            where = str(output_folder(settings.render_out))
        except ValueError as err:
            layout.label(text=str(err).split(":")[0], icon="ERROR")
        else:
            col = layout.column(align=True)
            for i, line in enumerate(wrap_lines(f"Videos go to {where}", context, max_lines=4)):
                col.label(text=line, icon="FILE_FOLDER" if i == 0 else "BLANK1")
        row = layout.row(align=True)
        row.prop(settings, "render_engine", text="")
        row.prop(settings, "render_resolution", text="Size")
        layout.prop(settings, "render_camera")
        layout.prop(settings, "render_range")
        if settings.render_range == "CUSTOM":
            row = layout.row(align=True)
            row.prop(settings, "render_frame_start")
            row.prop(settings, "render_frame_end")
        col = layout.column()
        col.enabled = not busy
        col.operator(MOGENTS_OT_render_videos.bl_idname, text="Render active motion", icon="RENDER_ANIMATION")
        layout.prop(settings, "motions_folder")
        col = layout.column()
        col.enabled = not busy
        op = col.operator(MOGENTS_OT_render_videos.bl_idname, text="Render folder", icon="FILE_MOVIE")
        op.source = "FOLDER"


CLASSES = (MOGENTS_OT_render_videos, MOGENTS_PT_render)
