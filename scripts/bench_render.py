"""Frames per second of the avatar video renderer per engine and resolution (MP4 output, one walking clip).

Run with Blender's Python (here the bpy wheel): `.venv-blender/bin/python scripts/bench_render.py`.
Per row: the steady rate (between the first and the last rendered frame, so scene building, shader
compilation and the first frame are out), and the overall rate of the whole call (scene + render + encode).
Prints a table; `--json OUT` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.avatar.render import RenderSettings, render_motion  # noqa: E402
from backend.motion.skeleton import SMPL22  # noqa: E402
from tests.fixtures.synthetic_motion import walking_joints  # noqa: E402

DEFAULT_FRAMES = {"workbench": 40, "cycles": 20, "eevee": 4}


def bench(engine: str, resolution: int, frames: int, samples: int, out_dir: Path) -> dict:
    stamps: list[float] = []
    joints = walking_joints(SMPL22, frames)
    settings = RenderSettings(engine=engine, resolution=resolution, samples=samples)
    render_motion(joints[:2], out_dir / "warmup.mp4", settings=settings)  # compile shaders, load kernels
    started = time.perf_counter()
    result = render_motion(joints, out_dir / f"{engine}_{resolution}.mp4", avatar=0, settings=settings,
                           on_frame=lambda done, total: stamps.append(time.perf_counter()))
    total = time.perf_counter() - started
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    return {"engine": engine, "resolution": resolution, "frames": result.frames, "samples": samples,
            "steady_fps": steady, "overall_fps": result.frames / total, "seconds": total,
            "bytes": result.output.stat().st_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="workbench,cycles,eevee")
    parser.add_argument("--resolutions", default="128,512")
    parser.add_argument("--frames", type=int, help="frames per clip (default: 40 Workbench, 20 Cycles, 4 EEVEE)")
    parser.add_argument("--samples", type=int, default=16, help="EEVEE / Cycles samples per pixel")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            for resolution in (int(r) for r in args.resolutions.split(",")):
                frames = args.frames or DEFAULT_FRAMES.get(engine, 20)
                rows.append(bench(engine, resolution, frames, args.samples, Path(tmp)))
                print(f"  done {engine} {resolution}", file=sys.stderr, flush=True)
    print(f"{'engine':<10} {'size':>5} {'frames':>6} {'steady fps':>11} {'overall fps':>12} {'s/frame':>8}")
    for r in rows:
        print(f"{r['engine']:<10} {r['resolution']:>5} {r['frames']:>6} {r['steady_fps']:>11.2f} "
              f"{r['overall_fps']:>12.2f} {1 / r['steady_fps']:>8.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
