"""`mogents render videos`: render a dataset's motions as avatar videos with Blender, resumably, in shards.

For every clip of this shard that has no finished output yet, the motion is handed to the Blender worker
(joints files as they are; features are converted to joints here, since Blender has no `backend`), in
chunks of clips per worker process. Each finished clip is reported by the worker; a clip that fails
(wrong shape, NaN, a worker crash on it) is recorded with its message and the others go on.

Outputs: `OUT/CLIP.mp4`, `OUT/CLIP/frame_####.png` (--frames-dir), or with `--sample-frames N` one
`OUT/CLIP.npy` uint8 array (N, R, R, 3) of RGB frames: the centres of N equal segments of the clip,
index_i = floor((i + 1/2) * T / N) for a clip of T frames at --fps (LAVIMO's video encoder sees N = 8).
Finished .npy files of another shape (a different N or R in the same folder) stop the run before anything
is rendered, so a folder never mixes two settings.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from .blender_worker import find_blender, run_worker, worker_command
from .clips import Clip, find_clips, is_finished, npy_header, output_path, parse_shard, partial_output, shard_clips

ENGINES = ("workbench", "eevee", "cycles")
CAMERAS = ("auto", "fit", "follow")
CHUNK_CLIPS = 64  # clips per Blender process: bounds memory and the cost of a crash
CHUNK_SAMPLED_CLIPS = 256  # sampled clips take ~0.3 s each, so Blender's start-up is spread over more of them
MAX_SAMPLE_FRAMES = 256


@dataclass
class RenderRequest:
    dataset: Path
    out: Path | None = None          # default: DATASET/videos
    resolution: int = 512
    engine: str = "workbench"
    shard: str | None = None         # "i/n", zero-based
    frames_dir: bool = False
    avatar: int | None = None        # None: one per clip from its name and the seed
    fps: float = 20.0
    limit: int | None = None
    blender: str | None = None
    seed: int = 0
    camera: str = "auto"
    samples: int = 16
    sample_frames: int | None = None  # N: render only N evenly spread frames per clip into CLIP.npy

    @property
    def layout(self) -> str:
        return "npy" if self.sample_frames else "frames" if self.frames_dir else "mp4"

    def checked(self) -> RenderRequest:
        if self.engine not in ENGINES:
            raise MotionInputError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.camera not in CAMERAS:
            raise MotionInputError(f"unknown camera {self.camera!r}; choose one of {', '.join(CAMERAS)}")
        if not 16 <= self.resolution <= 8192:
            raise MotionInputError(f"resolution must be between 16 and 8192, got {self.resolution}")
        if self.sample_frames is not None:
            if not 1 <= self.sample_frames <= MAX_SAMPLE_FRAMES:
                raise MotionInputError(f"--sample-frames must be between 1 and {MAX_SAMPLE_FRAMES}, "
                                       f"got {self.sample_frames}")
            if self.frames_dir:
                raise MotionInputError("--sample-frames writes one .npy per clip; leave out --frames-dir")
        if self.layout == "mp4" and self.resolution % 2:
            raise MotionInputError(f"MP4 (H.264) needs an even resolution, got {self.resolution}")
        if not 1 <= self.fps <= 240:
            raise MotionInputError(f"fps must be between 1 and 240, got {self.fps}")
        if self.limit is not None and self.limit < 1:
            raise MotionInputError(f"--limit must be at least 1, got {self.limit}")
        if self.avatar is not None and self.avatar < 0:
            raise MotionInputError(f"avatar must be a number from 0 or 'random', got {self.avatar}")
        if not 1 <= self.samples <= 4096:
            raise MotionInputError(f"samples must be between 1 and 4096, got {self.samples}")
        return self


@dataclass
class RenderSummary:
    out: Path
    clips: int = 0                                            # in this shard (after --limit)
    skipped: int = 0                                          # already finished
    rendered: list[dict] = field(default_factory=list)        # worker payloads
    failed: dict[str, str] = field(default_factory=dict)      # clip -> message
    wall_seconds: float = 0.0

    @property
    def frames(self) -> int:
        return sum(int(r["frames"]) for r in self.rendered)

    @property
    def render_seconds(self) -> float:
        return sum(float(r["seconds"]) for r in self.rendered)


def _npy_ndim(path: Path) -> int | None:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False).ndim
    except (OSError, ValueError):
        return None  # the worker reports unreadable files per clip


def _npz_features(path: Path) -> np.ndarray | None:
    """None when the .npz has joints (the worker reads those itself), else its features."""
    try:
        with np.load(path, allow_pickle=False) as z:
            files = list(z.files)
            if "joints" in files:
                return None
            features = np.asarray(z["features"]) if "features" in files else None
    except (OSError, ValueError) as err:
        raise MotionInputError(f"cannot read it as .npz ({err})", str(path)) from None
    if features is None:
        raise MotionInputError(f"has neither 'joints' nor 'features' (found: {', '.join(files) or 'nothing'})",
                               str(path))
    return features


def _prepared_motion(clip: Clip, work_dir: Path) -> Path:
    """A file the worker can read: joints as they are; features (which Blender cannot convert) as joints."""
    if clip.kind == "motion":
        features = _npz_features(clip.path)
        if features is None:
            return clip.path
    elif clip.kind == "joints" and _npy_ndim(clip.path) != 2:  # 2-d: features saved in a plain folder
        return clip.path
    else:
        try:
            features = np.load(clip.path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise MotionInputError(f"cannot read it as .npy ({err})", str(clip.path)) from None
    from ..motion.features import check_features, features_to_joints

    skeleton = check_features(features, str(clip.path))
    if skeleton.num_joints != 22:
        raise MotionInputError(f"{skeleton.name} features: the avatar renderer needs SMPL-22 (HumanML3D) motions",
                               str(clip.path))
    target = work_dir / f"{clip.name}.npy"
    np.save(target, features_to_joints(features).astype(np.float32))
    return target


def _jobs(request: RenderRequest, clips: list[Clip], work_dir: Path, out: Path,
          failed: dict[str, str]) -> list[dict]:
    jobs = []
    for clip in clips:
        try:
            motion = _prepared_motion(clip, work_dir)
        except MotionInputError as err:
            failed[clip.name] = str(err)
            continue
        jobs.append({"name": clip.name, "joints": str(motion), "output": str(output_path(out, clip.name,
                                                                                           request.layout)),
                     "avatar": request.avatar, "fps": 20.0})
    return jobs


def _settings(request: RenderRequest) -> dict:
    return {"engine": request.engine, "resolution": request.resolution, "fps": request.fps,
            "frames_dir": request.frames_dir, "camera": request.camera, "samples": request.samples,
            "sample_frames": request.sample_frames or 0}


class _Progress:
    """tqdm bar over clips, with the running frames-per-second in its postfix."""

    def __init__(self, total: int, enabled: bool):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="clip", desc="render", file=sys.stderr, disable=not enabled)
        self.frames, self.seconds = 0, 0.0

    def clip_done(self, payload: dict) -> None:
        if "error" not in payload:
            self.frames += int(payload["frames"])
            self.seconds += float(payload["seconds"])
        if self.seconds > 0:
            self.bar.set_postfix(fps=f"{self.frames / self.seconds:.1f}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _run_chunk(executable: Path, jobs: list[dict], request: RenderRequest, work_dir: Path, summary: RenderSummary,
               progress: _Progress) -> None:
    """Render `jobs` in one worker; after a crash, blame the clip in flight and go on with the rest."""
    pending = list(jobs)
    attempt = 0
    while pending:
        attempt += 1
        jobs_path = work_dir / f"jobs-{attempt}.json"
        jobs_path.write_text(json.dumps({"settings": _settings(request), "seed": request.seed, "clips": pending}),
                             encoding="utf-8")
        reported: set[str] = set()

        def on_event(tag: str, payload: dict, reported: set[str] = reported) -> None:
            if tag != "MOGENTS-PROGRESS":
                return
            reported.add(payload["clip"])
            if "error" in payload:
                summary.failed[payload["clip"]] = payload["error"]
            else:
                summary.rendered.append(payload)
            progress.clip_done(payload)

        run = run_worker(worker_command(executable, jobs_path), on_event)
        if run.refused is not None:
            raise MotionInputError(run.refused)
        if not run.ready:
            log = "\n  ".join(run.log_tail) or "(no output)"
            raise MotionInputError(f"{executable} could not run the render worker (exit status {run.returncode}):"
                                   f"\n  {log}")
        pending = [job for job in pending if job["name"] not in reported]
        if pending:  # the worker died on pending[0]
            _remove(partial_output(Path(pending[0]["output"])))
            log = " | ".join(list(run.log_tail)[-3:])
            summary.failed[pending[0]["name"]] = (f"the render worker crashed on this clip (exit status "
                                                  f"{run.returncode}): {log}")
            progress.clip_done({"error": True})
            pending = pending[1:]


def _check_finished_arrays(request: RenderRequest, clips: list[Clip], out: Path, finished: list[Clip]) -> None:
    """Refuse to resume into a folder whose finished .npy files are not this run's (N, R, R, 3) uint8."""
    if out.resolve() in {c.path.parent.resolve() for c in clips}:
        raise MotionInputError("--out is the folder the motions are read from; sampled frames need another one",
                               str(out))
    expected = ((request.sample_frames, request.resolution, request.resolution, 3), "uint8")
    wrong = [(c.name, npy_header(output_path(out, c.name, "npy"))) for c in finished]
    wrong = [(name, header) for name, header in wrong if header != expected]
    if wrong:
        name, header = wrong[0]
        found = "not a readable .npy" if header is None else f"{header[0]} {header[1]}"
        raise MotionInputError(f"{len(wrong)} finished file(s) there are not {expected[0]} uint8 frames (e.g. "
                               f"{name}.npy: {found}); use another --out for other --sample-frames or "
                               "--resolution values", str(out))


def render_videos(request: RenderRequest, show_progress: bool = True) -> RenderSummary:
    """Render every unfinished clip of the request's shard; see the module docstring."""
    started = time.perf_counter()
    request = request.checked()
    shard_index, shard_count = parse_shard(request.shard)
    clips, _layout = find_clips(request.dataset)
    executable = find_blender(request.blender)
    clips = shard_clips(clips, shard_index, shard_count)[:request.limit]
    out = Path(request.out) if request.out is not None else Path(request.dataset) / "videos"
    summary = RenderSummary(out=out, clips=len(clips))
    finished = [c for c in clips if is_finished(output_path(out, c.name, request.layout), request.layout)]
    if request.layout == "npy":
        _check_finished_arrays(request, clips, out, finished)
    done = {c.name for c in finished}
    todo = [c for c in clips if c.name not in done]
    summary.skipped = len(finished)
    chunk_clips = CHUNK_SAMPLED_CLIPS if request.layout == "npy" else CHUNK_CLIPS
    if todo:
        progress = _Progress(len(todo), show_progress)
        try:
            with tempfile.TemporaryDirectory(prefix="mogents-render-") as tmp:
                work_dir = Path(tmp)
                worker_command(executable, work_dir / "check.json")  # fails early if the worker is missing
                for start in range(0, len(todo), chunk_clips):
                    chunk = todo[start:start + chunk_clips]
                    before = len(summary.failed)
                    jobs = _jobs(request, chunk, work_dir, out, summary.failed)
                    for _ in range(len(summary.failed) - before):
                        progress.clip_done({"error": True})
                    _run_chunk(executable, jobs, request, work_dir, summary, progress)
        finally:
            progress.close()
    summary.wall_seconds = time.perf_counter() - started
    return summary


def format_summary(summary: RenderSummary, request: RenderRequest) -> str:
    lines = [f"{summary.clips} clip(s) in this shard: {len(summary.rendered)} rendered, {summary.skipped} already "
             f"finished, {len(summary.failed)} failed -> {summary.out}"]
    if summary.rendered:
        render_fps = summary.frames / max(summary.render_seconds, 1e-9)
        wall_fps = summary.frames / max(summary.wall_seconds, 1e-9)
        sampled = f" ({request.sample_frames} sampled per clip)" if request.sample_frames else ""
        lines.append(f"{summary.frames} frames{sampled} at {request.resolution}x{request.resolution} with "
                     f"{request.engine}: {render_fps:.1f} frames/s rendering, {wall_fps:.1f} frames/s overall "
                     f"(incl. Blender start-up), {len(summary.rendered) / max(summary.wall_seconds, 1e-9):.2f} "
                     "clips/s")
    for name, message in sorted(summary.failed.items()):
        lines.append(f"failed {name}: {message}")
    return "\n".join(lines)
