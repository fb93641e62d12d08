"""Retarget speed: a 60-bone humanoid (SMPL body, Mixamo names, fingers) and a walk from the shipped
generator (planted feet, so the foot cleanup does real work) or a smooth synthetic motion.

    python -m backend.motion.retarget.bench [--frames 196] [--bones 60] [--repeats 30] [--synthetic]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..rotations import axis_angle_to_quat, quat_to_matrix
from ..skeleton import SMPL22
from .armature import Armature, armature_from_dict
from .bone_maps import detect_bone_map
from .fk import pose_armature
from .solve import RetargetOptions, retarget

_MIXAMO = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck", "head": "Head"}
for _s, _w in (("l", "Left"), ("r", "Right")):
    _MIXAMO.update({f"{_s}_hip": f"{_w}UpLeg", f"{_s}_knee": f"{_w}Leg", f"{_s}_ankle": f"{_w}Foot",
                    f"{_s}_foot": f"{_w}ToeBase", f"{_s}_collar": f"{_w}Shoulder", f"{_s}_shoulder": f"{_w}Arm",
                    f"{_s}_elbow": f"{_w}ForeArm", f"{_s}_wrist": f"{_w}Hand"})
_CHILD = {"pelvis": "spine1", "spine1": "spine2", "spine2": "spine3", "spine3": "neck", "neck": "head"}
for _s in ("l", "r"):
    _CHILD.update({f"{_s}_hip": f"{_s}_knee", f"{_s}_knee": f"{_s}_ankle", f"{_s}_ankle": f"{_s}_foot",
                   f"{_s}_collar": f"{_s}_shoulder", f"{_s}_shoulder": f"{_s}_elbow", f"{_s}_elbow": f"{_s}_wrist"})


def _blender(p: np.ndarray) -> list[float]:
    return [float(p[0]), float(-p[2]), float(p[1])]


def bench_rig(bones: int = 60) -> Armature:
    """SMPL-proportioned T-pose with Mixamo names; extra finger/helper chains up to `bones` bones."""
    if bones < 22:
        raise ValueError("the benchmark rig needs at least the 22 body bones")
    rest = SMPL22.rest_joints()
    names = SMPL22.joint_names
    out = []
    for j, joint in enumerate(names):
        parent = SMPL22.parents[j]
        tail = rest[names.index(_CHILD[joint])] if joint in _CHILD else rest[j] + [0.0, 0.1, 0.05]
        out.append({"name": _MIXAMO[joint], "parent": _MIXAMO[names[parent]] if parent >= 0 else None,
                    "head": _blender(rest[j]), "tail": _blender(tail), "roll": 0.3 * j})
    extra = bones - len(out)
    for k in range(extra):  # four-bone finger chains under the hands, alternating sides
        side = "Left" if (k // 4) % 2 == 0 else "Right"
        wrist = rest[names.index("l_wrist" if side == "Left" else "r_wrist")]
        finger, segment = k // 8, k % 4
        sign = 1.0 if side == "Left" else -1.0
        head = wrist + [sign * (0.06 + 0.03 * segment), 0.0, 0.02 * finger - 0.04]
        parent = f"{side}Hand" if segment == 0 else out[-1]["name"]
        out.append({"name": f"{side}HandFinger{finger}_{segment}", "parent": parent, "head": _blender(head),
                    "tail": _blender(head + [sign * 0.03, 0.0, 0.0]), "roll": 0.0})
    return armature_from_dict({"bones": out})


def bench_motion(frames: int = 196, seed: int = 0, fps: float = 20.0) -> np.ndarray:
    """(frames, 22, 3): smooth random joint rotations on the SMPL rest pose, walking forward at ~1 m/s."""
    rng = np.random.default_rng(seed)
    aa = gaussian_filter1d(rng.normal(size=(frames, 22, 3)), 0.3 * fps, axis=0, mode="nearest")
    aa *= 0.5 / max(float(aa.std()), 1e-9)
    aa[:, 0] *= 0.2
    local = quat_to_matrix(axis_angle_to_quat(aa))
    t = np.arange(frames) / fps
    root = np.stack([0 * t, 0.92 + 0.02 * np.sin(2 * np.pi * 1.8 * t), 1.0 * t], axis=-1)
    world = np.zeros_like(local)
    pos = np.zeros((frames, 22, 3))
    for j, p in enumerate(SMPL22.parents):
        if p < 0:
            world[:, j], pos[:, j] = local[:, j], root
        else:
            world[:, j] = world[:, p] @ local[:, j]
            pos[:, j] = pos[:, p] + world[:, p] @ SMPL22.rest_offsets[j]
    return pos


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000.0)


def generated_walk(frames: int = 196) -> np.ndarray:
    """A walk from the shipped generator, looped or cut to `frames`."""
    from ...generate.loader import load_generator

    joints = load_generator().generate("a person walks forward", frames / 20.0, seed=0)[0].joints
    return np.resize(joints, (frames, *joints.shape[1:])) if len(joints) != frames else joints


def bench_retarget(frames: int = 196, bones: int = 60, repeats: int = 30, synthetic: bool = False) -> dict:
    """Median wall times (ms) of bone-map detection, retarget (with and without foot cleanup) and FK."""
    arm = bench_rig(bones)
    joints = bench_motion(frames) if synthetic else generated_walk(frames)
    bone_map = detect_bone_map(arm)
    result = retarget(joints, arm, bone_map)
    return {
        "frames": frames, "bones": arm.num_bones, "repeats": repeats,
        "motion": "synthetic" if synthetic else "generated walk",
        "planted_frames": int(result.contacts.sum()) if result.contacts is not None else 0,
        "detect_bone_map_ms": _median_ms(lambda: detect_bone_map(arm), repeats),
        "retarget_ms": _median_ms(lambda: retarget(joints, arm, bone_map), repeats),
        "retarget_no_foot_cleanup_ms": _median_ms(
            lambda: retarget(joints, arm, bone_map, RetargetOptions(foot_cleanup=False)), repeats),
        "pose_armature_ms": _median_ms(lambda: pose_armature(arm, result), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--bones", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--synthetic", action="store_true", help="smooth random motion instead of a generated walk")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    numbers = bench_retarget(args.frames, args.bones, args.repeats, args.synthetic)
    print(f"retarget benchmark: {numbers['frames']} frames ({numbers['motion']}, {numbers['planted_frames']} "
          f"planted foot-frames), {numbers['bones']} bones, median of {args.repeats}")
    print(f"{'step':32s} {'ms':>8s}")
    for key, value in numbers.items():
        if key.endswith("_ms"):
            print(f"{key[:-3]:32s} {value:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(numbers, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
