"""The installed add-on driven against an in-process fake backend, for workflow tests without a server.

`install_addon` builds the zip and installs it as a user would; `FakeBackend` stands in for the HTTP client
(`session.client` is patched to return it): generation returns smooth synthetic SMPL-22 motions (whose joint
positions also sit in the first 66 feature columns, so edit and compose can work on them), and retargeting
runs the backend's own numpy `retarget`, exactly what the server would answer. With `path` / `keyframes` the
synthetic motion goes through the backend's own control correction (`generate.control.corrected`: path warp,
keyframe blend with IK), and `/v1/retarget/to-motion` is the function the server's route calls.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np

from backend.generate.control import corrected
from backend.motion.constraints import constraints_from_json
from backend.motion.retarget import RetargetOptions, armature_from_dict, bone_map_from_dict, detect_bone_map, retarget
from backend.motion.retarget.inverse import to_motion
from backend.motion.skeleton import SMPL22
from tests.fixtures.bvh_motion import smooth_fk_motion

ROOT = Path(__file__).resolve().parents[2]
ADDON = "bl_ext.user_default.mogents"
FEATURES = 263


def addon_module(name: str):
    return importlib.import_module(f"{ADDON}.{name}")


def install_addon(tmp: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--out", str(tmp)], capture_output=True,
                         text=True, check=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.extensions.package_install_files(filepath=out.stdout.strip(), repo="user_default",
                                                    enable_on_install=True) == {"FINISHED"}


def uninstall_addon() -> None:
    repos = bpy.context.preferences.extensions.repos
    index = next(i for i, r in enumerate(repos) if r.module == "user_default")
    bpy.ops.extensions.package_uninstall(repo_index=index, pkg_id="mogents")


def motion_dict(joints: np.ndarray, seed: int, prompt: str, fps: float = 20.0) -> dict:
    features = np.zeros((len(joints), FEATURES), np.float32)
    features[:, :66] = joints.reshape(len(joints), 66)
    return {"joints": joints.tolist(), "features": features.tolist(), "fps": fps, "seconds": len(joints) / fps,
            "prompt": prompt, "seed": seed}


def joints_of(features) -> np.ndarray:
    features = np.asarray(features, np.float64)
    return features[:, :66].reshape(len(features), 22, 3)


class FakeBackend:
    """What `session.client(conn)` returns in these tests; records the bodies it was sent."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def health(self) -> dict:
        return {"status": "ok", "provider": "fake"}

    def stream_generate(self, body: dict, cancelled):
        self.calls.append(("generate", body))
        seconds = body.get("seconds") or 3.0
        frames = int(round(seconds * 20))
        yield {"event": "progress", "stage": "decode", "step": 1, "total": 2}
        constraints = constraints_from_json(body.get("path"), body.get("keyframes")).checked(frames)
        motions = []
        for i in range(body.get("samples", 1)):
            joints = smooth_fk_motion(frames, seed=body["seed"] * 10 + i)
            if not constraints.empty:
                forward = np.tile([0.0, 0.0, 1.0], (frames, 1))
                joints, _, _ = corrected(SMPL22, joints, forward, constraints, 20.0)
            motions.append(motion_dict(joints, body["seed"], body["prompt"]))
        yield {"event": "result", "motions": motions}

    def to_motion(self, body: dict) -> dict:
        self.calls.append(("to_motion", body))
        keys = ("armature", "bone_map", "preset", "scale", "path", "pose")
        return json.loads(json.dumps(to_motion(**{k: body.get(k) for k in keys})))

    def retarget(self, body: dict) -> dict:
        self.calls.append(("retarget", body))
        arm = armature_from_dict(body["armature"])
        bone_map = (bone_map_from_dict(body["bone_map"], arm) if "bone_map" in body
                    else detect_bone_map(arm, body.get("preset", "auto")))
        options = RetargetOptions(root_motion=body.get("root_motion", "full"), scale=body.get("scale"),
                                  foot_cleanup=body.get("foot_cleanup", True), fps=body.get("fps", 20.0),
                                  origin=tuple(body["origin"]) if body.get("origin") is not None else None)
        result = retarget(np.asarray(body["motion"]["joints"], np.float64), arm, bone_map, options)
        return json.loads(json.dumps(result.to_dict()))

    def detect_bone_map(self, armature: dict, preset: str) -> dict:
        return detect_bone_map(armature_from_dict(armature), preset).to_dict()

    def edit(self, body: dict) -> dict:
        """The complete edited motion, as the backend returns it: the input with the selected joints over frames
        [a, b) replaced by another smooth motion."""
        self.calls.append(("edit", body))
        joints = joints_of(body["motion"]["features"])
        a, b = body["frames"]
        other = smooth_fk_motion(len(joints), seed=1000 + body["seed"], amplitude=0.9)
        names = body.get("joints") or list(SMPL22.joint_names)
        sel = [SMPL22.joint_names.index(n) for n in names]
        joints[a:b, sel] = other[a:b, sel]
        return {"motion": motion_dict(joints, body["seed"], body["prompt"]), "report": {}}

    def compose(self, body: dict) -> dict:
        self.calls.append(("compose", body))
        joints = joints_of(body["motion"]["features"])
        more = smooth_fk_motion(int(body["seconds"][0] * 20), seed=7)
        more += joints[-1, :1] - more[:1, :1]
        return {"motion": motion_dict(np.concatenate([joints, more]), body["seed"], body["prompts"][0])}


def use_fake_backend(fake: FakeBackend):
    """Patch the installed add-on's session so every operator talks to `fake`; returns an undo function."""
    session = addon_module("session")
    saved = session.client
    session.client = lambda conn, start=None: fake

    def restore():
        session.client = saved

    return restore


def metarig() -> bpy.types.Object:
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.active_object


def fresh_scene(fps: int = 20) -> bpy.types.Scene:
    """An empty scene (keeping the add-on) with the test's settings."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0
    settings = scene.mogents
    settings.prompt, settings.seconds, settings.seed, settings.variations = "a person walks forward", 3.0, 0, 1
    settings.start_frame, settings.foot_cleanup = 1, False
    return scene


def curves_by_bone(action) -> dict[str, set[str]]:
    """bone -> the properties its F-curves key in `action`."""
    keys = addon_module("keys")
    out: dict[str, set[str]] = {}
    for fc in keys.action_fcurves(action):
        if fc.data_path.startswith('pose.bones["'):
            bone = fc.data_path.split('"')[1]
            out.setdefault(bone, set()).add(fc.data_path.rsplit(".", 1)[1])
    return out


def fcurve(action, path: str, index: int):
    keys = addon_module("keys")
    return next((fc for fc in keys.action_fcurves(action) if fc.data_path == path and fc.array_index == index), None)
