"""Query videos: real files written with PyAV (MP4, GIF), frame folders and .npy arrays; sampling; every bad input."""

import base64
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
from PIL import Image

from backend.errors import MotionInputError
from backend.retrieve.video_input import (
    MAX_FRAMES,
    load_query_video,
    load_video,
    prepare_frames,
    query_frame_count,
    read_video,
    sample_frames,
    sample_indices,
)

REPO = Path(__file__).resolve().parents[2]
BACKGROUND = (40, 40, 40)
SQUARE = (230, 60, 30)


def moving_square(count: int, width: int = 64, height: int = 48, side: int = 16) -> np.ndarray:
    """(count, H, W, 3): a red square crossing a dark frame from left to right."""
    frames = np.empty((count, height, width, 3), np.uint8)
    frames[:] = BACKGROUND
    top = (height - side) // 2
    for i in range(count):
        left = round(i * (width - side) / max(count - 1, 1))
        frames[i, top:top + side, left:left + side] = SQUARE
    return frames


def write_video(path: Path, frames: np.ndarray, fps: int = 20, codec: str = "libx264") -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def square_centre_x(frame: np.ndarray) -> float:
    red = (frame[..., 0].astype(int) - frame[..., 2]) > 100
    return float(np.nonzero(red)[1].mean())


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


# --- sampling ---------------------------------------------------------------------------------------------------

def test_sampling_takes_segment_centres_and_matches_the_renderer():
    assert sample_indices(50, 8).tolist() == [3, 9, 15, 21, 28, 34, 40, 46]
    assert sample_indices(8, 8).tolist() == list(range(8))
    assert sample_indices(3, 8).tolist() == [0, 0, 0, 1, 1, 2, 2, 2]  # fewer frames than samples: repeats
    spec = importlib.util.spec_from_file_location("avatar_sampling", REPO / "backend/avatar/sampling.py")
    renderer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(renderer)
    for count in (1, 2, 7, 8, 9, 50, 199, 1000):
        for n in (1, 3, 8, 16):
            assert renderer.sample_indices(count, n) == sample_indices(count, n).tolist(), (count, n)
    frames = moving_square(20)
    assert np.array_equal(sample_frames(frames, 4), frames[[2, 7, 12, 17]])
    with pytest.raises(MotionInputError, match="no frames"):
        sample_frames(frames[:0], 4)


# --- readers ----------------------------------------------------------------------------------------------------

def test_mp4_round_trip(tmp_path):
    source = moving_square(30)
    video = write_video(tmp_path / "square.mp4", source)
    frames, fps = read_video(video)
    assert frames.shape == (30, 48, 64, 3) and frames.dtype == np.uint8 and fps == pytest.approx(20.0)
    assert np.abs(frames.astype(int) - source).mean() < 4  # lossy, but close
    assert np.abs(frames[:, 4].astype(int) - BACKGROUND).max() < 12  # the row above the square
    centres = [square_centre_x(f) for f in frames]
    assert np.allclose(centres, [square_centre_x(f) for f in source], atol=1.0)  # the square moves as written

    clip = load_video(video, 8)
    assert clip.frames.shape == (8, 48, 64, 3) and clip.source_frames == 30 and clip.notes == ()
    assert not clip.repeated
    assert np.array_equal(clip.frames, frames[sample_indices(30, 8)])  # decoding only the samples gives the same

    same = load_video(video.read_bytes(), 8, filename="upload.mp4")  # what the server gets
    assert np.array_equal(same.frames, clip.frames)


def test_gif_round_trip(tmp_path):
    source = moving_square(12, width=41, height=29, side=9)  # odd sizes
    frames, fps = read_video(write_video(tmp_path / "square.gif", source, fps=10, codec="gif"))
    assert frames.shape == (12, 29, 41, 3) and fps == pytest.approx(10.0)
    error = np.abs(frames.astype(int) - source)
    assert error.max() <= 60 and error.mean() < 20  # a 3-3-2 bit palette with dithering
    assert (frames[:, 10:19][..., 0] > 180).sum(axis=(1, 2)).min() >= 70  # the red square is there in every frame
    assert np.allclose([square_centre_x(f) for f in frames], [square_centre_x(f) for f in source], atol=1.0)


def test_frame_folder_in_natural_order_and_npy(tmp_path):
    source = moving_square(12)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(source):  # frame_2 must come before frame_10
        Image.fromarray(frame).save(folder / f"frame_{i + 1}.png")
    (folder / "notes.txt").write_text("ignored")
    frames, fps = read_video(folder)
    assert fps is None and np.array_equal(frames, source)
    clip = load_video(folder, 4)
    assert np.array_equal(clip.frames, source[[1, 4, 7, 10]]) and clip.source_frames == 12

    np.save(tmp_path / "frames.npy", source)
    frames, fps = read_video(tmp_path / "frames.npy")
    assert fps is None and np.array_equal(frames, source)
    assert np.array_equal(load_video((tmp_path / "frames.npy").read_bytes(), 3).frames, source[[2, 6, 10]])


def test_few_frames_repeat_and_say_so(tmp_path):
    clip = load_video(write_video(tmp_path / "short.mp4", moving_square(3)), 8)
    assert clip.frames.shape[0] == 8 and clip.source_frames == 3 and clip.repeated
    assert clip.notes == ("the video has 3 frames, fewer than the 8 sampled: frames repeat",)
    assert np.array_equal(clip.frames[0], clip.frames[2]) and not np.array_equal(clip.frames[2], clip.frames[3])


# --- square crop and resize -------------------------------------------------------------------------------------

@pytest.mark.parametrize("height, width", [(359, 641), (641, 359), (64, 64), (17, 16)])
def test_prepare_crops_the_centre_square_and_resizes(height, width):
    frames = np.zeros((2, height, width, 3), np.uint8)
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    frames[:, top:top + side, left:left + side] = (200, 100, 50)  # exactly the square that must survive
    frames[:, top + side // 4:top + side // 2, left + side // 4:left + side // 2] = (0, 255, 0)  # a marker
    out = prepare_frames(frames, 32)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.uint8
    assert np.abs(out[:, -4:, -4:].astype(int) - (200, 100, 50)).max() <= 2  # nothing from outside the square
    green = out[0, ..., 1] > 200
    rows, cols = np.nonzero(green)
    assert 8 <= rows.mean() <= 12 and 8 <= cols.mean() <= 12  # the marker keeps its place (centre 12 - 0.5)


def test_query_frames_are_square_and_at_most_512(tmp_path):
    big = np.zeros((10, 700, 600, 3), np.uint8)
    np.save(tmp_path / "big.npy", big)
    assert load_query_video(tmp_path / "big.npy").frames.shape == (8, 512, 512, 3)
    small = load_query_video(write_video(tmp_path / "small.mp4", moving_square(9)))
    assert small.frames.shape == (8, 48, 48, 3)


def test_server_reads_uploaded_videos_through_the_same_path(tmp_path):
    from backend.server.routes_retrieve import _video_clip

    video = write_video(tmp_path / "square.mp4", moving_square(30))
    upload = base64.b64encode(video.read_bytes()).decode()
    clip = _video_clip(upload, "clip.mp4")
    assert np.array_equal(clip.frames, load_query_video(video).frames) and len(clip.frames) == 8

    class SixteenFrameRuntime:  # a model whose video encoder samples 16 frames gets 16
        video = SimpleNamespace(frames=16, resolution=64)

    assert query_frame_count(SixteenFrameRuntime()) == 16 and query_frame_count(object()) == 8
    assert _video_clip(upload, "clip.mp4", SixteenFrameRuntime()).frames.shape == (16, 48, 48, 3)
    with pytest.raises(MotionInputError, match="not valid base64"):
        _video_clip("!!!", "clip.mp4")


# --- bad input --------------------------------------------------------------------------------------------------

def _random_bytes(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    return path


def _truncated(tmp_path):
    data = write_video(tmp_path / "full.mp4", moving_square(30)).read_bytes()
    (tmp_path / "full.mp4").unlink()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[:len(data) // 2])
    return path


def _truncated_faststart(tmp_path):
    """The index (moov) first, as streaming sites write MP4s: opening works, decoding the lost half does not."""
    full = tmp_path / "full.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in moving_square(60):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    data = full.read_bytes()
    full.unlink()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    return tmp_path / "cut.mp4"


def _npy(tmp_path, array, name="v.npy"):
    np.save(tmp_path / name, array)
    return tmp_path / name


def _empty_mp4(tmp_path):
    with av.open(str(tmp_path / "empty.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # a header and no frames
    return tmp_path / "empty.mp4"


def _audio_only(tmp_path):
    with av.open(str(tmp_path / "sound.mp4"), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return tmp_path / "sound.mp4"


def _empty_folder(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "readme.txt").write_text("no images")
    return tmp_path / "frames"


def _mixed_folder(tmp_path):
    folder = _empty_folder(tmp_path)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / "a1.png")
    Image.fromarray(np.zeros((32, 40, 3), np.uint8)).save(folder / "a2.png")
    return folder


def _broken_frame(tmp_path):
    folder = _empty_folder(tmp_path)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / "a1.png")
    (folder / "a2.jpg").write_bytes(b"not a jpeg")
    return folder


def _text_file(tmp_path):
    path = tmp_path / "clip.txt"
    path.write_text("hello")
    return path


BAD_INPUTS = {
    "random bytes named .mp4": (_random_bytes, "cannot decode the video: it is corrupt, truncated or not a video"),
    "truncated mp4": (_truncated, "cannot decode the video"),
    "truncated faststart mp4": (_truncated_faststart, "cannot decode the video"),
    "mp4 without frames": (_empty_mp4, "has no video stream|has no frames"),
    "audio only": (_audio_only, "has no video stream"),
    "one-frame mp4": (lambda p: write_video(p / "one.mp4", moving_square(1)), "1 frame; at least 2"),
    "npy without frames": (lambda p: _npy(p, np.zeros((0, 32, 32, 3), np.uint8)), "has no frames"),
    "one-frame npy": (lambda p: _npy(p, np.zeros((1, 32, 32, 3), np.uint8)), "1 frame; at least 2"),
    "tiny frames": (lambda p: write_video(p / "tiny.mp4", moving_square(4, 8, 8, 2)), "8x8 pixels: each side"),
    "huge frames": (lambda p: _npy(p, np.zeros((2, 8200, 16, 3), np.uint8)), "16x8200 pixels: each side"),
    "too long": (lambda p: _npy(p, np.zeros((MAX_FRAMES + 1, 16, 16, 3), np.uint8)), "at most 3600 are read"),
    "float npy": (lambda p: _npy(p, np.zeros((4, 32, 32, 3), np.float32)), "must be uint8"),
    "grey npy": (lambda p: _npy(p, np.zeros((4, 32, 32), np.uint8)), r"\(N, H, W, 3\), got shape \(4, 32, 32\)"),
    "corrupt npy": (lambda p: (p / "v.npy").write_bytes(b"\x93NUMPY garbage") and p / "v.npy", "cannot read it"),
    "unsupported extension": (_text_file, "unsupported video type '.txt'"),
    "missing file": (lambda p: p / "missing.mp4", "not found"),
    "folder without images": (_empty_folder, "no frames in the folder"),
    "frames of two sizes": (_mixed_folder, "the frames differ in size"),
    "unreadable frame": (_broken_frame, "cannot read the frame image"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_videos_are_refused_clearly_and_nothing_is_written(tmp_path, case):
    make, message = BAD_INPUTS[case]
    source = make(tmp_path)
    before = files(tmp_path)
    for read in (lambda: read_video(source), lambda: load_video(source, 8)):
        with pytest.raises(MotionInputError, match=message):
            read()
    assert files(tmp_path) == before


def test_bad_uploads_and_arguments(tmp_path):
    with pytest.raises(MotionInputError, match="unsupported video type '.exe'"):
        load_video(b"MZ....", filename="tool.exe")
    with pytest.raises(MotionInputError, match="the uploaded video: cannot decode"):
        load_video(b"not a video at all" * 20)
    video = write_video(tmp_path / "v.mp4", moving_square(30))
    with pytest.raises(MotionInputError, match="30 frames; at most 10 are read"):
        read_video(video, max_frames=10)
    with pytest.raises(MotionInputError, match="sampled frames must be at least 1"):
        load_video(video, 0)
    with pytest.raises(MotionInputError, match="frame size must be an integer from 16"):
        prepare_frames(moving_square(2), 8)
    with pytest.raises(MotionInputError, match=r"\(N, H, W, 3\) uint8"):
        prepare_frames(np.zeros((2, 32, 32, 3), np.float32), 16)
