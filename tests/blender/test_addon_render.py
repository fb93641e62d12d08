"""Rendering avatar videos from the installed add-on: defaults that work on a CPU and on an unsaved file (issue 17
§2), frame range and camera options, on real bpy with a fake in-process backend.
"""

import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from tests.blender.addon_harness import (  # noqa: E402
    ADDON,
    addon_module,
    fresh_scene,
    metarig,
)

pytestmark = pytest.mark.blender


def _generated() -> bpy.types.Action:
    """An unsaved file with the metarig carrying a 3 s (60 frame) MoGenTS motion from frame 1."""
    fresh_scene()
    bpy.context.view_layer.objects.active = metarig()
    assert bpy.ops.mogents.generate() == {"FINISHED"}
    assert not bpy.data.filepath
    return bpy.context.active_object.animation_data.action


@pytest.fixture
def captured_jobs():
    """Stand in for the render worker: record each jobs file (settings, clips and their joints) instead."""
    runner = addon_module("avatar.runner")
    saved, jobs = runner.run_worker, []

    def run_worker(command, outputs, on_line, cancelled):
        data = json.loads(Path(command[command.index("--jobs") + 1]).read_text())
        for clip in data["clips"]:
            clip["joints"] = np.load(clip["joints"])
            clip["frames"] = len(clip["joints"])
        jobs.append(data)
        return runner.WorkerOutcome(finished=[{"clip": c["name"]} for c in data["clips"]])

    runner.run_worker = run_worker
    yield jobs
    runner.run_worker = saved


def test_render_defaults_work_on_a_cpu_and_an_unsaved_file(fake):
    action = _generated()
    settings = bpy.context.scene.mogents
    assert (settings.render_resolution, settings.render_engine, settings.render_out) == (256, "BLENDER_WORKBENCH", "")
    render_ops = addon_module("render_ops")
    folder = Path(bpy.utils.extension_path_user(ADDON, path="videos"))
    assert render_ops.output_folder(settings.render_out) == folder  # the extension's user folder
    settings.render_range, settings.render_frame_start, settings.render_frame_end = "CUSTOM", 11, 22
    video = folder / f"{render_ops.clip_name(action.name)}_f11-22.mp4"
    video.unlink(missing_ok=True)
    try:
        assert bpy.ops.mogents.render_videos() == {"FINISHED"}
        clip = bpy.data.movieclips.load(str(video))
        assert tuple(clip.size) == (256, 256) and clip.frame_duration == 12
        bpy.data.movieclips.remove(clip)
    finally:
        video.unlink(missing_ok=True)


def test_frame_range_and_camera_reach_the_worker(fake, captured_jobs):
    action = _generated()
    scene, settings = bpy.context.scene, bpy.context.scene.mogents
    name = addon_module("render_ops").clip_name(action.name)
    settings.render_camera = "follow"
    assert bpy.ops.mogents.render_videos() == {"FINISHED"}  # whole motion by default
    scene.use_preview_range, scene.frame_preview_start, scene.frame_preview_end = True, 5, 14
    settings.render_range = "SCENE"
    assert bpy.ops.mogents.render_videos() == {"FINISHED"}
    whole, ranged = captured_jobs
    assert whole["settings"] == {"engine": "workbench", "resolution": 256, "camera": "follow"}
    assert [(c["name"], c["frames"]) for c in whole["clips"]] == [(name, 60)]
    assert [(c["name"], c["frames"]) for c in ranged["clips"]] == [(f"{name}_f5-14", 10)]
    joints = np.asarray(action["mogents_joints"], np.float32).reshape(-1, 22, 3)
    np.testing.assert_array_equal(ranged["clips"][0]["joints"], joints[4:14])  # scene frames 5-14


def test_bad_ranges_and_a_folder_relative_to_an_unsaved_file_are_refused(fake, captured_jobs):
    _generated()
    settings = bpy.context.scene.mogents
    settings.render_range, settings.render_frame_start, settings.render_frame_end = "CUSTOM", 30, 20
    with pytest.raises(RuntimeError, match=r"ends \(20\) before it starts \(30\)"):
        bpy.ops.mogents.render_videos()
    settings.render_frame_start, settings.render_frame_end = 200, 240
    with pytest.raises(RuntimeError, match="does not overlap the motion"):
        bpy.ops.mogents.render_videos()
    settings.render_range, settings.render_out = "MOTION", "//videos"
    with pytest.raises(RuntimeError, match="not saved: save the file, choose an absolute folder, or leave"):
        bpy.ops.mogents.render_videos()
    assert captured_jobs == []


def test_a_saved_file_renders_beside_itself_by_default(fake, tmp_path):
    _generated()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend"))
    render_ops = addon_module("render_ops")
    assert render_ops.output_folder("") == tmp_path / "videos"
    assert render_ops.output_folder("//renders") == tmp_path / "renders"
