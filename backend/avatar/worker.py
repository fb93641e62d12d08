"""Render a list of clips in a background Blender, printing one machine-readable line per finished clip.

Run it with Blender's Python or with Blender itself:

    BLENDER_PYTHON -m backend.avatar.worker --jobs JOBS.json          (from a source checkout)
    BLENDER_PYTHON path/to/avatar/worker.py --jobs JOBS.json
    blender -b --factory-startup --python path/to/avatar/worker.py -- --jobs JOBS.json

JOBS.json:

    {"settings": {"engine": "workbench", "resolution": 512, "fps": 20, "frames_dir": false,
                  "floor": true, "camera": "auto", "samples": 16, "sample_frames": 0},
     "seed": 0,
     "clips": [{"name": "000021", "joints": "/abs/000021.npy", "output": "/abs/videos/000021.mp4",
                "avatar": 3, "fps": 20.0}]}

`joints` is a (T, 22, 3) .npy or an .npz with a `joints` array (and optionally `fps`); `avatar` null picks
one from the clip name and the seed; `fps` is the motion's frame rate (default 20). With `sample_frames` N > 0
each `output` is a `.npy` that receives N sampled frames (see `render.py`). One Blender process renders
the clips one after another in the same scene, cleared between clips (`scene.empty_scene`). Standard output:

    MOGENTS-READY {"clips": n}                                               the jobs file is usable
    MOGENTS-FRAME {"clip": ..., "index": i, "frame": f, "frames": n}          after each rendered frame
    MOGENTS-PROGRESS {"clip": ..., "index": i, "frames": n, "seconds": s, "avatar": k, "output": ...}
    MOGENTS-PROGRESS {"clip": ..., "index": i, "error": "..."}                a clip that failed
    MOGENTS-ERROR {"error": "..."}                                            unusable jobs file, exit 2

A failed clip never stops the others; the exit status is 0 once every clip has been tried.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

READY = "MOGENTS-READY"
PROGRESS = "MOGENTS-PROGRESS"
FRAME = "MOGENTS-FRAME"
ERROR = "MOGENTS-ERROR"


def _standalone_package():
    """This folder loaded as a top-level package, for runs as a plain script (`--python worker.py`).

    The relative imports inside the package then work without the add-on around it and without
    touching sys.path.
    """
    here = Path(__file__).resolve().parent
    name = "mogents_avatar"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, here / "__init__.py",
                                                      submodule_search_locations=[str(here)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return tuple(importlib.import_module(f"{name}.{module}") for module in ("avatars", "outputs", "render"))


if __package__:
    from . import avatars, outputs, render
else:
    avatars, outputs, render = _standalone_package()


@dataclass
class ClipJob:
    name: str
    joints: Path
    output: Path
    avatar: int
    fps: float


@dataclass
class Jobs:
    settings: render.RenderSettings
    clips: list[ClipJob]


def emit(tag: str, payload: dict) -> None:
    print(f"{tag} {json.dumps(payload)}", flush=True)


def _clip_job(raw: dict, index: int, seed: int) -> ClipJob:
    if not isinstance(raw, dict):
        raise ValueError(f"clip {index} must be an object")
    missing = [key for key in ("name", "joints", "output") if not raw.get(key)]
    if missing:
        raise ValueError(f"clip {index} lacks {', '.join(missing)}")
    name = str(raw["name"])
    if "/" in name or "\\" in name:
        raise ValueError(f"clip name {name!r} must not contain path separators")
    avatar = raw.get("avatar")
    count = len(avatars.AVATARS)
    if avatar is None or avatar == "random":
        avatar = avatars.pick_avatar(name, seed)
    elif isinstance(avatar, bool) or not isinstance(avatar, int) or not 0 <= avatar < count:
        raise ValueError(f"clip {name}: avatar must be 0..{count - 1} or null (random), got {avatar!r}")
    fps = raw.get("fps", 20.0)
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0:
        raise ValueError(f"clip {name}: fps must be a positive number, got {fps!r}")
    return ClipJob(name, Path(raw["joints"]), Path(raw["output"]), int(avatar), float(fps))


def load_jobs(path: str | Path) -> Jobs:
    """Read and check a jobs file; ValueError or OSError describe what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clips"), list):
        raise ValueError(f"{path} needs a 'clips' list")
    settings = render.RenderSettings.from_dict(dict(data.get("settings") or {}))
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    clips = [_clip_job(raw, i, seed) for i, raw in enumerate(data["clips"])]
    names = [c.name for c in clips]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"clip names must be unique: {', '.join(duplicates[:5])}")
    return Jobs(settings, clips)


def load_motion(job: ClipJob) -> tuple[np.ndarray, float]:
    """The clip's joints and frame rate from its .npy or .npz (ValueError with the file's name)."""
    path = job.joints
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "joints" not in z:
                    raise ValueError(f"{path}: no 'joints' array (found: {', '.join(z.files) or 'nothing'})")
                fps = float(z["fps"]) if "fps" in z else job.fps
                return np.asarray(z["joints"]), fps
        return np.asarray(np.load(path, allow_pickle=False)), job.fps
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot read it as numpy data ({err})") from None
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: cannot read it as numpy data ({err})") from None


def render_clip(job: ClipJob, index: int, settings: render.RenderSettings) -> dict:
    def on_frame(done: int, total: int) -> None:
        emit(FRAME, {"clip": job.name, "index": index, "frame": done, "frames": total})

    joints, fps = load_motion(job)
    result = render.render_motion(joints, job.output, job.avatar, settings, fps, job.name, on_frame)
    return {"clip": job.name, "index": index, "frames": result.frames, "seconds": round(result.seconds, 4),
            "avatar": result.avatar, "output": str(result.output)}


def run(jobs: Jobs) -> int:
    """Render every clip; returns how many failed."""
    failed = 0
    for index, job in enumerate(jobs.clips):
        try:
            payload = render_clip(job, index, jobs.settings)
        except Exception as err:  # noqa: BLE001 - one broken clip must not stop the rest; it is reported
            failed += 1
            outputs.remove_path(outputs.partial_path(job.output))
            message = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            payload = {"clip": job.name, "index": index, "error": message}
        emit(PROGRESS, payload)
    return failed


def script_arguments(argv: list[str]) -> list[str]:
    """Arguments meant for this script: after `--` when Blender runs it, else all but the program name."""
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mogents-render-worker", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", required=True, help="the jobs file (JSON)")
    args = parser.parse_args(script_arguments(sys.argv) if argv is None else argv)
    try:
        jobs = load_jobs(args.jobs)
    except (OSError, ValueError) as err:
        emit(ERROR, {"error": str(err)})
        return 2
    emit(READY, {"clips": len(jobs.clips)})
    run(jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
