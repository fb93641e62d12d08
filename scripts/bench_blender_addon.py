"""Prompt-to-keys latency and retargeting error of the installed add-on on the Rigify human metarig.

Run with Blender's Python (here the bpy wheel) after `bash scripts/setup.sh`:
    .venv-blender/bin/python scripts/bench_blender_addon.py [--runs 5] [--seconds 4] [--steps 10] [--json OUT]

It builds and installs the add-on zip, starts the shipped backend from the add-on (CPU), then times
`bpy.ops.mogents.generate()` (prompt -> streamed generation -> retarget -> keys) and measures, on the
evaluated metarig, each mapped joint's distance to the generated joint after scaling (relative to the
pelvis, in cm of a 1.75 m person) and each limb bone's direction error in degrees.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ADDON = "bl_ext.user_default.mogents"
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
PROMPTS = ("a person walks forward", "a person jumps up and down", "someone waves with the right hand",
           "a person kicks with the left leg", "a man turns around")


def install(tmp: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--out", str(tmp)], capture_output=True,
                         text=True, check=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.extensions.package_install_files(filepath=out.stdout.strip(), repo="user_default",
                                             enable_on_install=True)
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.connection, prefs.command, prefs.device = "LAUNCH", f"{ROOT / '.venv/bin/mogents'} serve", "cpu"
    t0 = time.perf_counter()
    bpy.ops.mogents.backend_start()
    print(f"backend start (launch + model load + warm-up): {time.perf_counter() - t0:.2f} s")


def metarig() -> bpy.types.Object:
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.active_object


def joint_errors(obj) -> tuple[np.ndarray, np.ndarray]:
    """(position error cm (frames, joints), limb direction error deg) of the current variation."""
    from backend.motion.skeleton import SMPL22

    store = importlib.import_module(f"{ADDON}.motion_store")
    settings = bpy.context.scene.mogents
    variation = store.get(settings.results[settings.result_index].key)
    joints = np.asarray(variation.motion["joints"], dtype=np.float64)
    mapping = variation.retarget["bone_map"]["mapping"]
    scale = variation.retarget["scale"]
    names = list(mapping)
    index = [SMPL22.joint_names.index(n) for n in names]
    got = np.zeros((len(joints), len(names), 3))
    for f in range(len(joints)):
        bpy.context.scene.frame_set(1 + f)
        for k, n in enumerate(names):
            got[f, k] = obj.pose.bones[mapping[n]].head
    src = np.einsum("ij,fkj->fki", Y_UP_TO_Z_UP, joints[:, index])
    p = names.index("pelvis")
    pos_cm = 100 * np.linalg.norm((got - got[:, p:p + 1]) / scale - (src - src[:, p:p + 1]), axis=-1)
    limbs = [("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"), ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"),
             ("l_hip", "l_knee"), ("l_knee", "l_ankle"), ("r_hip", "r_knee"), ("r_knee", "r_ankle")]
    angles = []
    for a, b in limbs:
        ia, ib = names.index(a), names.index(b)
        u, v = got[:, ib] - got[:, ia], src[:, ib] - src[:, ia]
        cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
        angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return pos_cm, np.stack(angles, 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MOGENTS_CONFIG_DIR", str(Path(tmp) / "config"))
        os.environ.setdefault("MOGENTS_HOME", str(Path(tmp) / "home"))
        install(Path(tmp))
        obj = metarig()
        settings = bpy.context.scene.mogents
        bpy.context.scene.render.fps = 20
        settings.seconds, settings.steps, settings.foot_cleanup = args.seconds, args.steps, False
        latencies, pos, ang = [], [], []
        for i in range(args.runs + 1):
            settings.prompt, settings.seed = PROMPTS[i % len(PROMPTS)], i
            t0 = time.perf_counter()
            assert bpy.ops.mogents.generate() == {"FINISHED"}
            if i:  # the first call also connects; keep it out of the median
                latencies.append(time.perf_counter() - t0)
            p, a = joint_errors(obj)
            pos.append(p)
            ang.append(a)
        bpy.ops.mogents.backend_stop()
    pos_all, ang_all = np.concatenate([p.ravel() for p in pos]), np.concatenate([a.ravel() for a in ang])
    rows = {"latency_median_s": statistics.median(latencies), "latency_max_s": max(latencies),
            "joint_error_mean_cm": float(pos_all.mean()), "joint_error_p95_cm": float(np.percentile(pos_all, 95)),
            "limb_direction_error_mean_deg": float(ang_all.mean()),
            "limb_direction_error_max_deg": float(ang_all.max())}
    print(f"Rigify metarig, {args.seconds:.0f} s motions, {args.steps} steps, CPU, {args.runs} prompts")
    print("| measure | value |\n|---|---|")
    for key, value in rows.items():
        print(f"| {key} | {value:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
