"""Keys written per second on the Rigify human metarig: the add-on's foreach_set writer vs keyframe_insert.

Run with Blender's Python (here the bpy wheel): `.venv-blender/bin/python scripts/bench_blender_keys.py`.
Prints a table; `--json OUT` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import bpy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from blender_addon.keys import PoseTrack, keyframe_insert_reference, write_action  # noqa: E402


def metarig() -> bpy.types.Object:
    import addon_utils  # importable only after bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.active_object


def random_track(names: list[str], frames: int) -> PoseTrack:
    rng = np.random.default_rng(0)
    rot = {}
    for n in names:
        q = rng.normal(size=(frames, 4)).astype(np.float32)
        rot[n] = q / np.linalg.norm(q, axis=1, keepdims=True)
    return PoseTrack(rot, names[0], rng.normal(size=(frames, 3)).astype(np.float32))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--json")
    args = parser.parse_args()
    rig = metarig()
    names = [b.name for b in rig.data.bones]
    track = random_track(names, args.frames)
    keys = args.frames * (4 * len(names) + 3)
    rows = []
    t0 = time.perf_counter()
    write_action(rig, track, "bench")
    fast = time.perf_counter() - t0
    rows.append(("keyframe_points.add + foreach_set", fast, keys / fast))
    rig.animation_data.action = bpy.data.actions.new("slow")
    t0 = time.perf_counter()
    count = keyframe_insert_reference(rig, track)
    slow = time.perf_counter() - t0
    rows.append(("per-key keyframe_insert", slow, count / slow))
    print(f"Rigify metarig: {len(names)} bones x {args.frames} frames = {keys} keys (bpy {bpy.app.version_string})")
    print("| writer | seconds | keys/s |\n|---|---|---|")
    for name, sec, rate in rows:
        print(f"| {name} | {sec:.3f} | {rate:,.0f} |")
    print(f"speed-up: {slow / fast:.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"bones": len(names), "frames": args.frames, "keys": keys,
                                               "foreach_set_s": fast, "keyframe_insert_s": slow}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
