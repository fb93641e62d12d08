"""`mogents retarget`: put a generated motion onto a rig described by its rest pose (JSON from Blender)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from .server_option import add_server_option, wants_server


def _read_json(path: str, what: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise MotionInputError(f"{what} file not found", path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MotionInputError(f"{what} is not valid JSON: {err}", path) from None


def load_joints(path: str) -> tuple[np.ndarray, float | None]:
    """SMPL-22 joints (T, 22, 3) and the fps if the file says, from .npy (joints or 263-d features) or
    .npz (a `joints` or `features` array, optional `fps`)."""
    from ..motion.features import features_to_joints

    p = Path(path)
    if not p.is_file():
        raise MotionInputError("motion file not found", path)
    fps = None
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "joints" in z:
                    data = np.asarray(z["joints"])
                elif "features" in z:
                    data = np.asarray(z["features"])
                else:
                    raise MotionInputError("the .npz has neither 'joints' nor 'features'", path)
                fps = float(z["fps"]) if "fps" in z else None
        elif p.suffix.lower() == ".npy":
            data = np.load(p, allow_pickle=False)
        else:
            raise MotionInputError(f"unknown motion type {p.suffix or '(none)'!r}: use .npy or .npz", path)
    except (ValueError, OSError) as err:
        raise MotionInputError(f"cannot read the motion: {err}", path) from None
    if data.ndim == 2 and data.shape[1] == 263:
        if not np.all(np.isfinite(data)):
            raise MotionInputError("the features contain NaN or inf", path)
        data = features_to_joints(data.astype(np.float32))
    if data.ndim != 3 or data.shape[1:] != (22, 3):
        raise MotionInputError(f"expected SMPL-22 joints (T, 22, 3) or 263-d features, got shape {data.shape}", path)
    return data, fps


def run_retarget(args: argparse.Namespace) -> int:
    from ..motion.retarget import RetargetOptions, bone_map_from_dict, detect_bone_map, retarget
    from ..motion.retarget.input_checks import checked_armature, checked_pose_joints

    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise MotionInputError("the output must be a .json file", str(out))
    joints, file_fps = load_joints(args.motion)
    arm_json = _read_json(args.armature, "armature")
    map_json = _read_json(args.map, "bone map") if args.map else None
    try:
        arm = checked_armature(arm_json)
    except MotionInputError as err:
        raise MotionInputError(str(err), args.armature) from None
    try:
        checked_pose_joints(joints)
    except MotionInputError as err:
        raise MotionInputError(str(err), args.motion) from None
    try:
        bone_map = bone_map_from_dict(map_json, arm) if args.map else detect_bone_map(arm, args.preset)
    except MotionInputError as err:
        raise MotionInputError(str(err), args.map) from None
    options = RetargetOptions(root_motion="in_place" if args.in_place else "full", scale=args.scale,
                              foot_cleanup=not args.no_foot_cleanup, fps=args.fps or file_fps or 20.0)
    if wants_server(args):  # the same computation on the running server
        from .remote import client_for, remote_retarget

        result = remote_retarget(client_for(args), arm_json, joints, map_json, args.preset, options)
    else:
        result = retarget(joints, arm, bone_map, options)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.json")
    tmp.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    tmp.replace(out)
    if not args.quiet:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"wrote {out}: {result.frames} frames, {len(result.rotations)} bones, preset {bone_map.preset} "
              f"(confidence {bone_map.confidence:.2f}), scale {result.scale:.4g}, root bone {result.root_bone}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retarget", help="retarget a motion onto any humanoid rig (rest pose as JSON)",
                       description="Turn SMPL-22 joints into per-bone pose quaternions and root location for "
                                   "a rig described by its rest pose, as the Blender add-on sends it.")
    p.add_argument("motion", help="motion .npz (joints or features) or .npy (joints (T, 22, 3))")
    p.add_argument("--armature", required=True, help="armature JSON: {\"bones\": [{name, parent, head, tail, roll} "
                                                     "| {name, parent, matrix, length}], \"up\": \"Z\"}")
    p.add_argument("--map", help="custom bone map JSON {\"mapping\": {smpl_joint: bone}} (overrides --preset)")
    p.add_argument("--preset", default="auto", help="bone-name preset: auto, smpl, mixamo, rigify_metarig, "
                                                    "rigify_def, rigify_fk, ue4, ue5, cmu, generic")
    p.add_argument("--in-place", action="store_true", help="remove horizontal root motion (height kept)")
    p.add_argument("--scale", type=float, help="rig units per motion metre (default: from leg lengths)")
    p.add_argument("--no-foot-cleanup", action="store_true", help="do not pin planted feet")
    p.add_argument("--fps", type=float, help="motion frame rate (default: from the .npz, else 20)")
    p.add_argument("-o", "--out", required=True, help="output .json (rotations, root location, bone map)")
    p.add_argument("--quiet", action="store_true")
    add_server_option(p)
    p.set_defaults(func=run_retarget)
