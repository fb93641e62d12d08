"""The avatar renderer in real bpy 5.0.1, headless: frames, visibility, motion, framing, avatars, worker, operator.

Renders are tiny (64 x 64, Workbench) so the whole file runs in well under a minute. Silhouettes come from
renders without the floor: every pixel that differs from the flat world colour belongs to the avatar.
"""

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_extras.object_utils import world_to_camera_view  # noqa: E402

from backend.avatar import runner  # noqa: E402
from backend.avatar.avatars import AVATARS, pick_avatar  # noqa: E402
from backend.avatar.render import RenderSettings, render_motion  # noqa: E402
from backend.avatar.sampling import sample_indices  # noqa: E402
from backend.avatar.scene import plan_camera  # noqa: E402
from backend.avatar.smpl import JOINT_NAMES, PARENTS, to_blender_axes  # noqa: E402
from backend.motion.skeleton import SMPL22  # noqa: E402
from tests.fixtures.synthetic_motion import walking_joints  # noqa: E402

pytestmark = pytest.mark.blender
SIZE = 64


def sideways_walk(frames: int, speed: float = 1.2, turn_rate: float = 0.0) -> np.ndarray:
    """A walk along motion +X (the synthetic walk goes along +Z): it crosses the image instead of nearing it."""
    walk = walking_joints(SMPL22, frames, speed=speed, turn_rate=turn_rate)
    return np.stack([walk[..., 2], walk[..., 1], -walk[..., 0]], axis=-1)


def read_frames(folder: Path) -> np.ndarray:
    """(T, H, W, 3) float RGB, row 0 at the top."""
    frames = []
    for path in sorted(folder.glob("frame_*.png")):
        image = bpy.data.images.load(str(path))
        width, height = image.size
        pixels = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
        frames.append(pixels.reshape(height, width, 4)[::-1, :, :3])
        bpy.data.images.remove(image)
    return np.stack(frames)


def silhouettes(frames: np.ndarray) -> np.ndarray:
    """Avatar pixels: anything that differs from the background (the most common border colour)."""
    background = np.median(frames[:, 0, :, :], axis=(0, 1))
    return np.abs(frames - background).max(axis=-1) > 0.03


def no_floor(**kwargs) -> RenderSettings:
    return RenderSettings(resolution=SIZE, frames_dir=True, floor=False, **kwargs)


def test_skeleton_constants_match_the_backend():
    assert PARENTS == SMPL22.parents
    assert JOINT_NAMES == SMPL22.joint_names


def test_frames_are_written_at_the_requested_size(tmp_path):
    out = tmp_path / "walk"
    result = render_motion(walking_joints(SMPL22, 12), out, avatar=0,
                           settings=RenderSettings(resolution=SIZE, frames_dir=True))
    assert result.frames == 12 and result.output == out
    frames = read_frames(out)
    assert frames.shape == (12, SIZE, SIZE, 3)
    assert not (tmp_path / "walk.partial").exists()


def test_avatar_is_visible_moves_and_its_centroid_follows_the_root(tmp_path):
    joints = sideways_walk(24)
    render_motion(joints, tmp_path / "f", avatar=1, settings=no_floor(camera="fit"))
    masks = silhouettes(read_frames(tmp_path / "f"))
    area = masks.mean(axis=(1, 2))
    assert (area > 0.01).all(), "the avatar must be visible in every frame"
    assert (np.abs(np.diff(masks.astype(int), axis=0)).sum(axis=(1, 2)) > 0).all(), "every frame must change"

    scene = bpy.context.scene
    pelvis = to_blender_axes(joints)[:, 0]
    projected = np.array([world_to_camera_view(scene, scene.camera, _vector(p))[:2] for p in pelvis])
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    centroid_x = np.array([(cols * m).sum() / m.sum() for m in masks]) / SIZE
    centroid_y = 1.0 - np.array([(rows * m).sum() / m.sum() for m in masks]) / SIZE
    assert np.ptp(projected[:, 0]) > 0.2, "the walk should cross a good part of the image"
    assert np.corrcoef(centroid_x, projected[:, 0])[0, 1] > 0.97
    assert np.abs(centroid_x - projected[:, 0]).max() < 0.08
    assert np.abs(centroid_y - projected[:, 1]).max() < 0.2


def _vector(point):
    from mathutils import Vector

    return Vector(point.tolist())


@pytest.mark.parametrize("camera", ["fit", "follow", "auto"])
def test_camera_keeps_a_long_curved_walk_in_frame(tmp_path, camera):
    joints = sideways_walk(100, speed=1.4, turn_rate=0.4)  # 5 s, about 7 m along a curve
    assert np.linalg.norm(joints[-1, 0] - joints[0, 0]) > 5.0
    render_motion(joints, tmp_path / "long", avatar=3, settings=no_floor(fps=5.0, camera=camera))
    masks = silhouettes(read_frames(tmp_path / "long"))
    assert len(masks) == 25
    assert (masks.mean(axis=(1, 2)) > 0.002).all()
    border = masks[:, 0, :].any() or masks[:, -1, :].any() or masks[:, :, 0].any() or masks[:, :, -1].any()
    assert not border, "the avatar touched the image border"


def test_auto_camera_stays_still_for_motion_in_place_and_follows_long_walks():
    in_place = to_blender_axes(walking_joints(SMPL22, 60, speed=0.0))
    long_walk = to_blender_axes(walking_joints(SMPL22, 160, speed=1.5))  # 12 m straight at the camera's side
    assert plan_camera(in_place, "auto", 20.0)[0] == "fit"
    assert plan_camera(long_walk, "auto", 20.0)[0] == "follow"
    assert plan_camera(long_walk, "fit", 20.0)[0] == "fit"


def test_every_avatar_looks_different(tmp_path):
    joints = walking_joints(SMPL22, 2, speed=0.0)
    histograms = []
    for index in range(len(AVATARS)):
        render_motion(joints, tmp_path / f"a{index}", avatar=index, settings=no_floor())
        frame = read_frames(tmp_path / f"a{index}")[0]
        mask = silhouettes(frame[None])[0]
        bins = np.clip((frame[mask] * 8).astype(int), 0, 7)  # 8 x 8 x 8 RGB bins over the avatar's pixels
        hist = np.bincount(bins[:, 0] * 64 + bins[:, 1] * 8 + bins[:, 2], minlength=512) / mask.sum()
        histograms.append(hist)
    assert len(AVATARS) >= 6
    for i in range(len(histograms)):
        for j in range(i):
            distance = np.abs(histograms[i] - histograms[j]).sum()
            assert distance > 0.4, f"avatars {AVATARS[i].name} and {AVATARS[j].name} look alike ({distance:.2f})"


def test_mp4_has_every_frame_at_the_requested_size(tmp_path):
    out = tmp_path / "clip.mp4"
    render_motion(walking_joints(SMPL22, 15), out, avatar=2, settings=RenderSettings(resolution=SIZE))
    clip = bpy.data.movieclips.load(str(out))
    assert tuple(clip.size) == (SIZE, SIZE)
    assert clip.frame_duration == 15
    assert not (tmp_path / "clip.partial.mp4").exists()


def test_bad_motions_are_refused_before_anything_is_written(tmp_path):
    bad = walking_joints(SMPL22, 10)
    bad[4, 7, 1] = np.nan
    with pytest.raises(ValueError, match=r"walk: non-finite value .* frame 4, joint l_ankle"):
        render_motion(bad, tmp_path / "a.mp4", settings=RenderSettings(resolution=SIZE), name="walk")
    with pytest.raises(ValueError, match=r"\(T, 22, 3\), got \(10, 21, 3\)"):
        render_motion(np.zeros((10, 21, 3)), tmp_path / "b.mp4", settings=RenderSettings(resolution=SIZE))
    with pytest.raises(ValueError, match="avatar must be"):
        render_motion(walking_joints(SMPL22, 5), tmp_path / "c.mp4", avatar=len(AVATARS))
    assert list(tmp_path.iterdir()) == []


def _no_border(masks: np.ndarray) -> bool:
    return not (masks[:, 0, :].any() or masks[:, -1, :].any() or masks[:, :, 0].any() or masks[:, :, -1].any())


@pytest.mark.parametrize("camera", ["fit", "follow"])
def test_sampled_frames_are_the_full_renders_frames_and_keep_the_avatar_in_frame(tmp_path, camera):
    joints = sideways_walk(50, speed=1.4, turn_rate=0.3)
    settings = dict(resolution=SIZE, floor=False, camera=camera)
    result = render_motion(joints, tmp_path / "clip.npy", avatar=4,
                           settings=RenderSettings(sample_frames=8, **settings))
    assert result.frames == 8 and result.output == tmp_path / "clip.npy"
    sampled = np.load(tmp_path / "clip.npy")
    assert sampled.shape == (8, SIZE, SIZE, 3) and sampled.dtype == np.uint8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.npy"]  # no partial file or PNG left over

    render_motion(joints, tmp_path / "full", avatar=4, settings=RenderSettings(frames_dir=True, **settings))
    full = np.rint(read_frames(tmp_path / "full") * 255).astype(int)
    assert sample_indices(50, 8) == [3, 9, 15, 21, 28, 34, 40, 46]
    assert np.abs(sampled.astype(int) - full[sample_indices(50, 8)]).max() <= 1  # the same frames, same camera

    masks = silhouettes(sampled / 255.0)
    assert (masks.mean(axis=(1, 2)) > 0.005).all(), "the avatar must be visible in every sampled frame"
    assert _no_border(masks), "the avatar touched the image border"
    changed = np.abs(np.diff(sampled.astype(int), axis=0)).max(axis=-1) > 8
    assert (changed.sum(axis=(1, 2)) > 10).all(), "every sampled frame must differ from the one before"


def test_reusing_the_scene_between_clips_renders_the_same_frames(tmp_path):
    """The worker clears the previous clip instead of resetting Blender; that must not change a pixel."""
    settings = RenderSettings(resolution=SIZE, sample_frames=3)
    first, other = walking_joints(SMPL22, 20), sideways_walk(30, turn_rate=0.5)
    bpy.ops.wm.read_factory_settings(use_empty=True)  # the next render starts from factory settings
    render_motion(first, tmp_path / "a.npy", avatar=5, settings=settings)
    render_motion(other, tmp_path / "b.npy", avatar=8, settings=replace(settings, camera="follow"))
    render_motion(first, tmp_path / "a2.npy", avatar=5, settings=settings)
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "a2.npy"))
    leftovers = [o.name for o in bpy.data.objects if o.name.startswith(f"{AVATARS[8].name}.")]
    assert leftovers == [] and len(bpy.data.scenes) == 1 and len(bpy.data.cameras) == 1


def test_sampled_mode_refuses_wrong_outputs_and_settings(tmp_path):
    joints = walking_joints(SMPL22, 6)
    with pytest.raises(ValueError, match=r"sampled frames are written to a \.npy file, got a\.mp4"):
        render_motion(joints, tmp_path / "a.mp4", settings=RenderSettings(resolution=SIZE, sample_frames=4))
    with pytest.raises(ValueError, match="cannot also be a frame folder"):
        RenderSettings(sample_frames=4, frames_dir=True).checked()
    with pytest.raises(ValueError, match="sample_frames must be an integer from 0"):
        RenderSettings(sample_frames=-1).checked()
    assert RenderSettings(resolution=63, sample_frames=2).checked().resolution == 63  # odd sizes: no MP4 involved
    assert list(tmp_path.iterdir()) == []


def test_avatar_choice_is_stable_and_uses_every_avatar():
    picks = [pick_avatar(f"{i:06d}", seed=0) for i in range(300)]
    assert picks == [pick_avatar(f"{i:06d}", seed=0) for i in range(300)]
    assert set(picks) == set(range(len(AVATARS)))
    assert picks != [pick_avatar(f"{i:06d}", seed=1) for i in range(300)]


def _jobs_file(tmp_path: Path, clips: dict[str, np.ndarray]) -> tuple[Path, dict[str, Path]]:
    entries, outputs = [], {}
    for name, joints in clips.items():
        np.save(tmp_path / f"{name}.npy", joints)
        outputs[name] = tmp_path / "out" / f"{name}.mp4"
        entries.append({"name": name, "joints": str(tmp_path / f"{name}.npy"), "output": str(outputs[name]),
                        "avatar": None})
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"settings": {"resolution": SIZE}, "clips": entries}))
    return jobs, outputs


def test_worker_subprocess_reports_each_clip_and_survives_a_bad_one(tmp_path):
    bad = walking_joints(SMPL22, 8)
    bad[2] = np.inf
    jobs, outputs = _jobs_file(tmp_path, {"a": walking_joints(SMPL22, 8), "bad": bad,
                                          "c": walking_joints(SMPL22, 6)})
    events = []
    outcome = runner.run_worker(runner.worker_command(sys.executable, jobs), outputs,
                                lambda tag, payload: events.append((tag, payload)))
    assert [p["clip"] for p in outcome.finished] == ["a", "c"]
    assert [p["frames"] for p in outcome.finished] == [8, 6]
    assert outcome.failed[0]["clip"] == "bad" and "non-finite" in outcome.failed[0]["error"]
    assert outputs["a"].is_file() and outputs["c"].is_file() and not outputs["bad"].exists()
    frame_events = [p for tag, p in events if tag == "MOGENTS-FRAME" and p["clip"] == "a"]
    assert [p["frame"] for p in frame_events] == list(range(1, 9))


def test_worker_refuses_a_bad_jobs_file(tmp_path):
    jobs, outputs = _jobs_file(tmp_path, {"a": walking_joints(SMPL22, 4)})
    data = json.loads(jobs.read_text())
    data["settings"]["engine"] = "povray"
    jobs.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unknown render engine 'povray'"):
        runner.run_worker(runner.worker_command(sys.executable, jobs), outputs)
    assert not (tmp_path / "out").exists()


def test_cancel_kills_the_worker_and_leaves_no_partial_output(tmp_path):
    jobs, outputs = _jobs_file(tmp_path, {"long": walking_joints(SMPL22, 200), "next": walking_joints(SMPL22, 8)})
    seen_frames = []
    outcome = runner.run_worker(runner.worker_command(sys.executable, jobs), outputs,
                                lambda tag, payload: seen_frames.append(tag == "MOGENTS-FRAME"),
                                cancelled=lambda: any(seen_frames))
    assert outcome.cancelled and outcome.returncode != 0
    assert any(seen_frames)
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


@pytest.fixture
def addon():
    import blender_addon

    bpy.ops.wm.read_factory_settings(use_empty=True)
    blender_addon.register()  # registers the render operator and panel with the rest
    yield
    blender_addon.unregister()


def _object_with_motion(joints: np.ndarray | None) -> bpy.types.Object:
    obj = bpy.data.objects.new("Rig", None)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    action = bpy.data.actions.new("MoGenTS: a person walks")
    action["mogents"] = json.dumps({"prompt": "a person walks", "fps": 20.0, "frames": 10})
    if joints is not None:
        action["mogents_joints"] = joints.astype(np.float32).ravel().tolist()
    obj.animation_data_create().action = action
    return obj


def test_render_operator_renders_the_active_motion(addon, tmp_path):
    _object_with_motion(walking_joints(SMPL22, 10))
    settings = bpy.context.scene.mogents
    settings.render_out, settings.render_resolution = str(tmp_path / "videos"), SIZE
    assert bpy.ops.mogents.render_videos() == {"FINISHED"}
    video = tmp_path / "videos" / "MoGenTS_a_person_walks.mp4"
    assert video.is_file() and video.stat().st_size > 0


def test_render_operator_explains_a_motion_without_joints(addon, tmp_path):
    _object_with_motion(None)
    bpy.context.scene.mogents.render_out = str(tmp_path / "videos")
    with pytest.raises(RuntimeError, match="no stored joint positions"):
        bpy.ops.mogents.render_videos()
    assert not (tmp_path / "videos").exists()


def test_render_operator_renders_a_folder_and_skips_finished_videos(addon, tmp_path):
    motions = tmp_path / "motions"
    motions.mkdir()
    np.save(motions / "one.npy", walking_joints(SMPL22, 6))
    np.savez(motions / "two.npz", joints=walking_joints(SMPL22, 6), fps=np.float32(20.0))
    settings = bpy.context.scene.mogents
    settings.render_out, settings.render_resolution = str(tmp_path / "videos"), SIZE
    settings.motions_folder = str(motions)
    assert bpy.ops.mogents.render_videos(source="FOLDER") == {"FINISHED"}
    one, two = tmp_path / "videos" / "one.mp4", tmp_path / "videos" / "two.mp4"
    assert one.is_file() and two.is_file()
    stamp = one.stat().st_mtime_ns
    assert bpy.ops.mogents.render_videos(source="FOLDER") == {"FINISHED"}
    assert one.stat().st_mtime_ns == stamp
