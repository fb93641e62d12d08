"""`mogents render videos`: clip discovery, shards, Blender lookup, bad input, and real renders with the worker.

The render tests start the real Blender worker (`.venv-blender/bin/python`, bpy 5.0.1) on two or three tiny
clips at 64 x 64 with Workbench; they skip when that environment is missing.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.cli.main import main
from backend.errors import MotionInputError
from backend.motion.features import joints_to_features
from backend.motion.skeleton import SMPL22
from backend.render.blender_worker import REPO_ROOT, find_blender
from backend.render.clips import find_clips, parse_shard, shard_clips
from backend.render.videos import RenderRequest
from backend.retrieve.video_input import sample_indices
from tests.fixtures.synthetic_motion import walking_joints

BLENDER_PYTHON = REPO_ROOT / ".venv-blender" / "bin" / "python"
needs_blender = pytest.mark.skipif(not BLENDER_PYTHON.is_file(),
                                   reason=f"needs the bpy environment at {BLENDER_PYTHON} (scripts/setup.sh)")


def _joints_folder(root: Path, frames: dict[str, int]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, count in frames.items():
        np.save(root / f"{name}.npy", walking_joints(SMPL22, count).astype(np.float32))
    return root


def _features_dataset(root: Path, frames: dict[str, int]) -> Path:
    """HumanML3D layout with features only (new_joint_vecs), so the backend must convert them."""
    (root / "new_joint_vecs").mkdir(parents=True)
    for name, count in frames.items():
        features, _ = joints_to_features(walking_joints(SMPL22, count + 1))
        np.save(root / "new_joint_vecs" / f"{name}.npy", features.astype(np.float32))
    return root


def _render(*args: str) -> int:
    return main(["render", "videos", *args, "--resolution", "64", "--quiet", "--blender", str(BLENDER_PYTHON)])


# --- no Blender needed -------------------------------------------------------------------------------------------

def test_layouts_are_recognised(tmp_path):
    both = tmp_path / "both"
    _joints_folder(both / "new_joints", {"b": 5, "a": 5})
    _features_dataset(both, {"a": 5, "b": 5, "c": 5})
    clips, layout = find_clips(both)
    assert [c.name for c in clips] == ["a", "b"] and {c.kind for c in clips} == {"joints"}
    assert "new_joints" in layout

    clips, _ = find_clips(_features_dataset(tmp_path / "vecs", {"x": 5, "y": 5}))
    assert [(c.name, c.kind) for c in clips] == [("x", "features"), ("y", "features")]

    plain = _joints_folder(tmp_path / "plain", {"m1": 5})
    np.savez(plain / "m0.npz", joints=walking_joints(SMPL22, 5))
    (plain / "notes.txt").write_text("not a motion")
    clips, _ = find_clips(plain)
    assert [(c.name, c.kind) for c in clips] == [("m0", "motion"), ("m1", "joints")]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "dataset folder not found"),
    (lambda p: p, "no motions found"),
])
def test_unusable_dataset_folders_are_named(tmp_path, make, message):
    with pytest.raises(MotionInputError, match=message):
        find_clips(make(tmp_path))


def test_clip_name_clash_is_refused(tmp_path):
    folder = _joints_folder(tmp_path, {"walk": 5})
    np.savez(folder / "walk.npz", joints=walking_joints(SMPL22, 5))
    with pytest.raises(MotionInputError, match="same clip name: walk"):
        find_clips(folder)


def test_shards_partition_the_clips(tmp_path):
    clips, _ = find_clips(_joints_folder(tmp_path, {f"{i:03d}": 3 for i in range(11)}))
    names = {c.name for c in clips}
    for count in (1, 2, 3, 4, 11, 12):
        shards = [{c.name for c in shard_clips(clips, i, count)} for i in range(count)]
        assert set().union(*shards) == names
        assert sum(len(s) for s in shards) == len(names)  # disjoint
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shard_clips(list(reversed(clips)), 1, 3) == shard_clips(clips, 1, 3)  # by name, not by listing order


@pytest.mark.parametrize("spec", ["3/2", "2/2", "-1/2", "0/0", "a/b", "1", "1/"])
def test_bad_shard_specs_are_refused(spec):
    with pytest.raises(MotionInputError, match="shard"):
        parse_shard(spec)


def test_good_shard_specs():
    assert parse_shard(None) == (0, 1)
    assert parse_shard("0/4") == (0, 4) and parse_shard("3/4") == (3, 4)


def test_blender_lookup_order(tmp_path):
    fake = tmp_path / "bin" / "blender"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    venv_python = tmp_path / "repo" / ".venv-blender" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("#!/bin/sh\n")
    venv_python.chmod(0o755)
    env = {"PATH": str(fake.parent)}
    assert find_blender(str(fake), env, tmp_path / "repo") == fake
    assert find_blender(None, {**env, "MOGENTS_BLENDER": str(venv_python)}, tmp_path) == venv_python
    assert find_blender(None, env, tmp_path / "repo") == venv_python
    assert find_blender(None, env, tmp_path / "elsewhere") == fake
    with pytest.raises(MotionInputError, match="no Blender found"):
        find_blender(None, {"PATH": ""}, tmp_path / "elsewhere")
    with pytest.raises(MotionInputError, match="--blender .*no executable"):
        find_blender(str(tmp_path / "nope"), env, tmp_path / "repo")


@pytest.mark.parametrize("args, message", [
    (["{missing}"], "dataset folder not found"),
    (["{data}", "--shard", "3/2"], "bad shard '3/2'"),
    (["{data}", "--blender", "{missing}"], "no executable file"),
    (["{data}", "--resolution", "65"], "even resolution"),
    (["{data}", "--limit", "0"], "--limit must be at least 1"),
    (["{data}", "--sample-frames", "0"], "--sample-frames must be between 1 and 256"),
    (["{data}", "--sample-frames", "8", "--frames-dir"], "leave out --frames-dir"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    data = _joints_folder(tmp_path / "data", {"a": 5})
    filled = [a.format(missing=tmp_path / "missing", data=data) for a in args]
    assert main(["render", "videos", *filled, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert sorted(p.name for p in data.iterdir()) == ["a.npy"]


def test_sampled_frames_allow_odd_sizes_and_write_npy_files(tmp_path):
    request = RenderRequest(dataset=tmp_path, resolution=65, sample_frames=8).checked()
    assert request.layout == "npy"
    assert RenderRequest(dataset=tmp_path, frames_dir=True).layout == "frames"
    assert RenderRequest(dataset=tmp_path).layout == "mp4"


def test_sampled_frames_are_not_written_into_the_motion_folder(tmp_path, capsys):
    data = _joints_folder(tmp_path / "data", {"a": 5})
    assert main(["render", "videos", str(data), "--out", str(data), "--sample-frames", "4", "--quiet",
                 "--blender", sys.executable]) == 2
    assert "--out is the folder the motions are read from" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == ["a.npy"]


# --- with the real Blender worker --------------------------------------------------------------------------------

@needs_blender
def test_renders_mp4s_reports_a_bad_clip_and_resumes(tmp_path, capsys):
    data = _joints_folder(tmp_path / "data", {"a": 8})
    np.savez(data / "b.npz", joints=walking_joints(SMPL22, 6), fps=np.float32(20.0))
    bad = walking_joints(SMPL22, 6)
    bad[3, 5] = np.nan
    np.save(data / "c.npy", bad)
    out = data / "videos"
    (out).mkdir()
    (out / "a.partial.mp4").write_bytes(b"left over by an interrupted run")

    assert _render(str(data)) == 1  # default output beside the dataset; one clip failed
    report = capsys.readouterr().out
    assert "2 rendered" in report and "1 failed" in report and "frames/s" in report
    assert "failed c:" in report and "non-finite value (NaN or inf) at frame 3, joint r_knee" in report
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4"]
    for video in ("a.mp4", "b.mp4"):
        assert (out / video).read_bytes()[4:8] == b"ftyp"  # an MP4 container
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    assert _render(str(data)) == 1
    report = capsys.readouterr().out
    assert "0 rendered, 2 already finished, 1 failed" in report
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


@needs_blender
def test_feature_dataset_renders_frame_folders_split_in_shards(tmp_path, capsys):
    frames = {"000001": 7, "000002": 5, "000003": 6}
    data = _features_dataset(tmp_path / "humanml", frames)
    out = tmp_path / "frames"
    for shard in ("0/2", "1/2"):
        assert _render(str(data), "--out", str(out), "--frames-dir", "--shard", shard) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == sorted(frames)
    for name, count in frames.items():
        pngs = sorted((out / name).glob("frame_*.png"))
        assert len(pngs) == count
        with Image.open(pngs[0]) as image:
            assert image.size == (64, 64) and image.mode == "RGB"
            assert np.asarray(image).std() > 5  # not a blank frame


@needs_blender
def test_worker_refusal_is_a_user_error(tmp_path, capsys):
    data = _joints_folder(tmp_path / "data", {"a": 4})
    assert _render(str(data), "--avatar", "99") == 2
    assert "avatar must be 0.." in capsys.readouterr().err
    assert not (data / "videos").exists()


FAKE_WORKER = """#!{python}
# Stands in for a Blender that crashes: renders (pretends to) until it reaches a clip named "boom".
import json, os, sys
jobs = json.load(open(sys.argv[sys.argv.index("--jobs") + 1]))
print("MOGENTS-READY " + json.dumps({{"clips": len(jobs["clips"])}}), flush=True)
for i, clip in enumerate(jobs["clips"]):
    if clip["name"] == "boom":
        open(clip["output"].replace(".mp4", ".partial.mp4"), "w").write("half a video")
        print("Segmentation fault", flush=True)
        os._exit(139)
    open(clip["output"], "w").write("video")
    print("MOGENTS-PROGRESS " + json.dumps({{"clip": clip["name"], "index": i, "frames": 4, "seconds": 0.1}}),
          flush=True)
"""


def test_a_worker_crash_fails_only_the_clip_in_flight(tmp_path, capsys):
    """A real Blender cannot be made to crash on demand, so a tiny script plays the crashing worker."""
    data = _joints_folder(tmp_path / "data", {"a": 4, "boom": 4, "c": 4})
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(FAKE_WORKER.format(python=sys.executable))
    fake.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["render", "videos", str(data), "--out", str(out), "--quiet", "--blender", str(fake)]) == 1
    report = capsys.readouterr().out
    assert "2 rendered" in report and "failed boom: the render worker crashed on this clip (exit status 139)" in report
    assert "Segmentation fault" in report
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "c.mp4"]  # the half-written boom is gone


def test_a_program_that_is_not_blender_is_a_user_error(tmp_path, capsys):
    data = _joints_folder(tmp_path / "data", {"a": 4})
    assert main(["render", "videos", str(data), "--quiet", "--blender", "/bin/true"]) == 2
    assert "could not run the render worker" in capsys.readouterr().err
    assert not (data / "videos").exists()


def test_motions_that_cannot_become_smpl_joints_fail_one_by_one(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "kit.npy", np.zeros((10, 251), np.float32))
    np.save(data / "odd.npy", np.zeros((10, 100), np.float32))
    np.savez(data / "empty.npz", prompt=np.array("nothing else"))
    (data / "broken.npz").write_bytes(b"not a zip")
    assert main(["render", "videos", str(data), "--quiet", "--blender", sys.executable]) == 1
    report = capsys.readouterr().out
    assert "0 rendered, 0 already finished, 4 failed" in report
    assert "failed kit:" in report and "kit21 features: the avatar renderer needs SMPL-22" in report
    assert "failed odd:" in report and "no skeleton has 100-d features" in report
    assert "failed empty:" in report and "neither 'joints' nor 'features' (found: prompt)" in report
    assert "failed broken:" in report and "cannot read it as .npz" in report
    assert not (data / "videos").exists()


@needs_blender
def test_sampled_frames_render_resume_and_refuse_other_settings(tmp_path, capsys):
    """8 frames per clip into CLIP.npy; a mirrored clip is a clip like any other; a rerun skips finished clips."""
    data = _joints_folder(tmp_path / "humanml" / "new_joints", {"000001": 30, "M000001": 30, "000002": 7})
    out = tmp_path / "frames64"
    out.mkdir()
    (out / "000002.partial.npy").write_bytes(b"left over by an interrupted run")
    assert _render(str(data.parent), "--out", str(out), "--sample-frames", "8") == 0
    report = capsys.readouterr().out
    assert "3 rendered" in report and "24 frames (8 sampled per clip) at 64x64" in report and "clips/s" in report
    assert sorted(p.name for p in out.iterdir()) == ["000001.npy", "000002.npy", "M000001.npy"]
    clips = {p.stem: np.load(p) for p in out.iterdir()}
    for name, frames in clips.items():
        assert frames.shape == (8, 64, 64, 3) and frames.dtype == np.uint8, name
        assert frames.std() > 5, f"{name} is blank"
    assert np.abs(np.diff(clips["000001"].astype(int), axis=0)).sum(axis=(1, 2, 3)).min() > 0, "frames must change"
    assert np.array_equal(clips["000002"][3], clips["000002"][4])  # 7 frames, 8 samples: frame 3 twice
    assert not np.array_equal(clips["000001"], clips["M000001"])  # rendered, not copied or flipped
    # the same pixels as those frames of a full render, read independently of Blender
    assert _render(str(data.parent), "--out", str(tmp_path / "full"), "--frames-dir", "--limit", "1") == 0
    pngs = sorted((tmp_path / "full" / "000001").glob("frame_*.png"))
    expected = [np.asarray(Image.open(pngs[i]).convert("RGB")) for i in sample_indices(30, 8)]
    assert np.array_equal(clips["000001"], np.stack(expected))
    capsys.readouterr()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    assert _render(str(data.parent), "--out", str(out), "--sample-frames", "8") == 0
    assert "0 rendered, 3 already finished, 0 failed" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps

    assert _render(str(data.parent), "--out", str(out), "--sample-frames", "4") == 2
    err = capsys.readouterr().err
    assert "3 finished file(s) there are not (4, 64, 64, 3) uint8 frames" in err and "(8, 64, 64, 3)" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
