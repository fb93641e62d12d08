"""Query videos -> RGB frames (N, H, W, 3) uint8: decode, sample, square-crop and resize (numpy, PyAV, Pillow).

The one decoder path of the backend: `mogents retrieve --video` and `POST /v1/retrieve` read videos here.
Sources: video files (MP4/MOV/M4V/MKV/AVI/WebM/GIF, decoded with PyAV), a folder of PNG/JPEG frames
(natural name order: frame_2 before frame_10) and a `.npy` array (N, H, W, 3) uint8; the server hands over
the uploaded bytes and the file name.

Sampling rule (the same as the avatar renderer's `--sample-frames`, `blender_addon/avatar/sampling.py`):
n frames out of T are the centres of n equal segments, index_i = floor((i + 1/2) * T / n), i = 0..n-1.
With fewer than n frames (but at least 2) frames repeat by that rule and the clip says so in `notes`.

Only what sampling needs is converted and kept: with `sample=n` decoding stops after the last sampled
frame and only those n frames are converted to RGB, so memory stays at n frames whatever the length.
Bad input (undecodable or corrupt files, no frames, a single frame, sides outside 16..8192 pixels, more
than `max_frames` frames, a .npy of the wrong dtype or shape, an unsupported extension) raises
MotionInputError naming the problem; nothing is written anywhere. A .npy's header is checked (shape, dtype,
and that the data it claims is really there) before any array is made, so a header claiming
3600x8192x8192x3 frames is refused instead of allocating 724 GB.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionInputError

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".gif")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_SIDE, MAX_SIDE = 16, 8192
MAX_FRAMES = 3600                  # frames decoded at most: 2 minutes at 30 fps
MAX_HELD_BYTES = 1 << 30           # RGB frames kept without sampling (1 GiB)
MIN_FRAMES = 2                     # a single image carries no motion
QUERY_FRAMES = 8                   # LAVIMO's video encoder sees 8 sampled frames
QUERY_MAX_SIDE = 512               # query frames are cropped square and brought down to at most this (LAVIMO: 512²)

Source = str | Path | bytes


@dataclass(frozen=True)
class VideoClip:
    frames: np.ndarray             # (n, H, W, 3) uint8
    fps: float | None              # None for frame folders and .npy arrays
    source_frames: int             # frames in the source video
    notes: tuple[str, ...] = ()    # what was done that the caller may want to tell the user

    @property
    def repeated(self) -> bool:
        """True when the source had fewer frames than were sampled, so some frames repeat."""
        return self.source_frames < len(self.frames)


# ------------------------------------------------------------------------------------------------- sampling

def sample_indices(count: int, n: int) -> np.ndarray:
    """Indices of `n` frames out of `count`: the centres of n equal segments (repeats when count < n)."""
    if count < 1:
        raise MotionInputError("the video has no frames")
    if n < 1:
        raise MotionInputError(f"the number of sampled frames must be at least 1, got {n}")
    i = np.arange(n, dtype=np.int64)
    return ((2 * i + 1) * count) // (2 * n)


def sample_frames(frames: np.ndarray, n: int = QUERY_FRAMES) -> np.ndarray:
    """(n, H, W, 3): `frames` (T, H, W, 3) at `sample_indices(T, n)`."""
    frames = _checked_frames(frames, "frames")
    return frames[sample_indices(len(frames), n)]


def prepare_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8: centre square crop of each frame, then an antialiased bilinear resize."""
    from PIL import Image

    frames = _checked_frames(frames, "frames")
    if not isinstance(size, int | np.integer) or not MIN_SIDE <= size <= MAX_SIDE:
        raise MotionInputError(f"the frame size must be an integer from {MIN_SIDE} to {MAX_SIDE}, got {size!r}")
    height, width = frames.shape[1:3]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = frames[:, top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(square)
    # Pillow's bilinear filter widens with the scale factor, so shrinking averages (no aliasing)
    return np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.BILINEAR))
                     for f in square])


def _checked_frames(frames: np.ndarray, name: str) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise MotionInputError(f"{name} must be RGB frames (N, H, W, 3) uint8, got shape {frames.shape} "
                               f"dtype {frames.dtype}")
    if len(frames) == 0:
        raise MotionInputError(f"{name}: no frames")
    return frames


def _check_size(width: int, height: int, where: str | None) -> None:
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise MotionInputError(f"frames of {width}x{height} pixels: each side must be {MIN_SIDE} to {MAX_SIDE}",
                               where)


def _check_count(count: int, max_frames: int, where: str | None) -> None:
    if count == 0:
        raise MotionInputError("the video has no frames", where)
    if count < MIN_FRAMES:
        raise MotionInputError(f"the video has {count} frame; at least {MIN_FRAMES} are needed to show motion",
                               where)
    if count > max_frames:
        raise MotionInputError(f"the video has {count} frames; at most {max_frames} are read (trim it)", where)


def _check_held(count: int, width: int, height: int, where: str | None) -> None:
    if count * width * height * 3 > MAX_HELD_BYTES:
        raise MotionInputError(f"{count} frames of {width}x{height} are too many to hold at once; "
                               "sample them (sample=N)", where)


# --------------------------------------------------------------------------------------------- the sources

def _kind(source: Source, filename: str | None) -> tuple[str, str | None]:
    """('video' | 'npy' | 'folder', a name for messages)."""
    if isinstance(source, bytes | bytearray | memoryview):
        suffix = Path(filename).suffix.lower() if filename else ""
        name = filename or "the uploaded video"
        if suffix == ".npy" or (not suffix and bytes(source[:6]) == b"\x93NUMPY"):
            return "npy", name
        if suffix and suffix not in VIDEO_SUFFIXES:
            raise MotionInputError(f"unsupported video type {suffix!r} (use {', '.join(VIDEO_SUFFIXES)} or .npy)",
                                   name)
        return "video", name
    path = Path(source)
    if path.is_dir():
        return "folder", str(path)
    if not path.is_file():
        raise MotionInputError("video file or frame folder not found", str(path))
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return "npy", str(path)
    if suffix not in VIDEO_SUFFIXES:
        raise MotionInputError(f"unsupported video type {suffix or '(none)'!r} (use {', '.join(VIDEO_SUFFIXES)}, "
                               ".npy frames, or a folder of PNG/JPEG frames)", str(path))
    return "video", str(path)


def _npy_header(fh, total: int, max_frames: int, where: str | None) -> tuple[tuple[int, ...], bool, int]:
    """(shape, fortran_order, data offset) of a .npy video from its header alone; raises unless it is
    (N, H, W, 3) uint8 within the limits and the `total` bytes really hold the data it claims."""
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (OSError, ValueError, EOFError, SyntaxError) as err:
        raise MotionInputError(f"cannot read it as a .npy array (bad header: {err})", where) from None
    if len(shape) != 4 or shape[-1] != 3:
        raise MotionInputError(f"a .npy video must be RGB frames (N, H, W, 3), got shape {shape}", where)
    if dtype != np.uint8:
        raise MotionInputError(f"a .npy video must be uint8 (0..255), got dtype {dtype}", where)
    _check_count(shape[0], max_frames, where)
    _check_size(shape[2], shape[1], where)
    offset = fh.tell()
    claimed = int(np.prod(shape, dtype=np.int64))
    if total - offset < claimed:
        raise MotionInputError(f"the .npy header claims {'x'.join(map(str, shape))} uint8 frames ({claimed} bytes) "
                               f"but it holds {max(0, total - offset)} bytes of data", where)
    return tuple(int(n) for n in shape), bool(fortran), offset


def _read_npy(source: Source, max_frames: int, sample: int | None, where: str | None):
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            data = memoryview(source).cast("B")
            shape, fortran, offset = _npy_header(io.BytesIO(data), len(data), max_frames, where)
            array = np.frombuffer(data, np.uint8, int(np.prod(shape)), offset)  # a view: nothing copied yet
            array = array.reshape(shape, order="F" if fortran else "C")
        else:
            with open(source, "rb") as fh:
                _npy_header(fh, os.fstat(fh.fileno()).st_size, max_frames, where)
            array = np.load(source, mmap_mode="r", allow_pickle=False)  # only sampled frames are read
    except (OSError, ValueError, EOFError) as err:
        raise MotionInputError(f"cannot read it as a .npy array ({err})", where) from None
    if sample is None:
        return np.array(array), len(array)
    return np.array(array[sample_indices(len(array), sample)]), len(array)


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _read_folder(folder: Path, max_frames: int, sample: int | None, where: str | None):
    from PIL import Image, UnidentifiedImageError

    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                   key=_natural_key)
    if not files:
        raise MotionInputError(f"no frames in the folder (expected {', '.join(IMAGE_SUFFIXES)} files)", where)
    _check_count(len(files), max_frames, where)
    chosen = range(len(files)) if sample is None else sample_indices(len(files), sample)
    frames, cache = [], {}
    for index in chosen:
        if index not in cache:
            try:
                with Image.open(files[index]) as image:
                    cache[index] = np.asarray(image.convert("RGB"))
            except (OSError, UnidentifiedImageError, ValueError) as err:
                raise MotionInputError(f"cannot read the frame image ({err})", str(files[index])) from None
            height, width = cache[index].shape[:2]
            _check_size(width, height, str(files[index]))
            if sample is None:
                _check_held(len(files), width, height, where)
        frames.append(cache[index])
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise MotionInputError(f"the frames differ in size ({', '.join(sorted(f'{s[1]}x{s[0]}' for s in shapes))})",
                               where)
    return np.stack(frames), len(files)


# ------------------------------------------------------------------------------------------------- PyAV

def _av():
    try:
        import av
    except ImportError:
        raise MotionInputError("reading video files needs PyAV (pip install av)") from None
    return av


def _open(source: Source):
    av = _av()
    data = io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray | memoryview) else str(source)
    return av.open(data, mode="r", metadata_errors="ignore")


def _decode_errors() -> tuple[type[BaseException], ...]:
    av = _av()
    return (av.FFmpegError, OSError, ValueError, EOFError, UnicodeDecodeError, IndexError)


def _count_packets(source: Source, max_frames: int) -> int:
    """Video packets of the first video stream (one per frame), counted without decoding; stops past max."""
    with _open(source) as container:
        stream = container.streams.video[0]
        count = 0
        for packet in container.demux(stream):
            if packet.size:
                count += 1
                if count > max_frames:
                    break
        return count


def _decode(source: Source, wanted: set[int] | None, last: int, where: str | None) -> tuple[dict, int]:
    """{index: RGB frame} for the wanted indices (all when None) and how many frames decoded (up to `last`)."""
    frames, count = {}, 0
    with _open(source) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if wanted is None or count in wanted:
                frames[count] = frame.to_ndarray(format="rgb24")
                height, width = frames[count].shape[:2]
                _check_size(width, height, where)
            count += 1
            if count > last:
                break
    return frames, count


def _read_av(source: Source, max_frames: int, sample: int | None, where: str | None):
    errors = _decode_errors()
    notes: list[str] = []
    try:
        with _open(source) as container:
            if not container.streams.video:
                raise MotionInputError("the file has no video stream", where)
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width and height:
                _check_size(width, height, where)
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else None
            listed = int(stream.frames or 0)
        count = listed if listed > 0 else _count_packets(source, max_frames)
        _check_count(count, max_frames, where)
        if sample is None and width and height:
            _check_held(count, width, height, where)
        wanted = None if sample is None else set(sample_indices(count, sample).tolist())
        frames, decoded = _decode(source, wanted, count - 1 if wanted is None else max(wanted), where)
        if decoded < count and (wanted is None or len(frames) < len(wanted)):
            # the container promised more frames than decode: sample again over what is really there
            notes.append(f"the file lists {count} frames but only {decoded} could be decoded")
            _check_count(decoded, max_frames, where)
            count = decoded
            wanted = None if sample is None else set(sample_indices(count, sample).tolist())
            frames, decoded = _decode(source, wanted, count - 1 if wanted is None else max(wanted), where)
    except MotionInputError:
        raise
    except errors as err:
        raise MotionInputError(f"cannot decode the video: it is corrupt, truncated or not a video ({err})",
                               where) from None
    chosen = range(count) if sample is None else sample_indices(count, sample)
    if any(i not in frames for i in chosen):
        raise MotionInputError(f"cannot decode the video: only {decoded} of its {count} frames decode", where)
    if len({f.shape for f in frames.values()}) > 1:
        raise MotionInputError("the frame size changes within the video", where)
    return np.stack([frames[i] for i in chosen]), count, fps, notes


# ---------------------------------------------------------------------------------------------- public API

def read_video(source: Source, max_frames: int = MAX_FRAMES, sample: int | None = None,
               filename: str | None = None) -> tuple[np.ndarray, float | None]:
    """RGB frames (N, H, W, 3) uint8 of a video file, frame folder, .npy array or uploaded bytes, and its fps.

    With `sample=n` only the n frames of the sampling rule are decoded into RGB and returned; `filename`
    names uploaded bytes (its extension picks the reader). fps is None for folders and arrays.
    """
    clip = _read(source, max_frames, sample, filename)
    return clip.frames, clip.fps


def load_video(source: Source, n: int = QUERY_FRAMES, size: int | None = None, max_frames: int = MAX_FRAMES,
               filename: str | None = None) -> VideoClip:
    """n sampled frames of a video, optionally cropped square and resized to `size`, with notes for the user."""
    clip = _read(source, max_frames, n, filename)
    frames = clip.frames if size is None else prepare_frames(clip.frames, size)
    return VideoClip(frames, clip.fps, clip.source_frames, clip.notes)


def load_query_video(source: Source, filename: str | None = None, n: int = QUERY_FRAMES) -> VideoClip:
    """The frames a retrieval query hands to the video encoder: n sampled (the encoder's own count, LAVIMO: 8),
    square, at most QUERY_MAX_SIDE pixels, so a long or large video never reaches the encoder whole."""
    clip = load_video(source, n, filename=filename)
    side = min(clip.frames.shape[1:3])
    return VideoClip(prepare_frames(clip.frames, min(side, QUERY_MAX_SIDE)), clip.fps, clip.source_frames,
                     clip.notes)


def query_frame_count(runtime) -> int:
    """Frames the runtime's video encoder samples (its `video.frames` setting), else LAVIMO's 8."""
    return int(getattr(getattr(runtime, "video", None), "frames", None) or QUERY_FRAMES)


def _read(source: Source, max_frames: int, sample: int | None, filename: str | None) -> VideoClip:
    if not isinstance(max_frames, int) or max_frames < MIN_FRAMES:
        raise MotionInputError(f"max_frames must be an integer of at least {MIN_FRAMES}, got {max_frames!r}")
    if sample is not None and (not isinstance(sample, int) or sample < 1):
        raise MotionInputError(f"the number of sampled frames must be at least 1, got {sample!r}")
    kind, where = _kind(source, filename)
    notes: list[str] = []
    fps = None
    if kind == "npy":
        frames, count = _read_npy(source, max_frames, sample, where)
    elif kind == "folder":
        frames, count = _read_folder(Path(source), max_frames, sample, where)
    else:
        frames, count, fps, notes = _read_av(source, max_frames, sample, where)
    if sample is not None and count < sample:
        notes.append(f"the video has {count} frames, fewer than the {sample} sampled: frames repeat")
    return VideoClip(frames, fps, count, tuple(notes))
