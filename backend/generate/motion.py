"""A generated motion: features and joints at the model's frame rate, with what produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..motion.features import features_to_joints


@dataclass
class GeneratedMotion:
    features: np.ndarray          # (T, D) HumanML3D features (denormalised)
    joints: np.ndarray            # (T, J, 3) world positions, Y up, metres
    fps: float
    prompt: str
    seed: int
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_features(cls, features: np.ndarray, fps: float, prompt: str, seed: int, **meta) -> GeneratedMotion:
        features = np.asarray(features, np.float32)
        if not np.all(np.isfinite(features)):
            raise MotionInputError("the motion contains NaN or inf values")
        joints = features_to_joints(features).astype(np.float32)
        return cls(features, joints, fps, prompt, seed, dict(meta))

    @property
    def seconds(self) -> float:
        return len(self.joints) / self.fps


def save_motion(motion: GeneratedMotion, path: str | Path) -> Path:
    """Write by extension: .npy joints (T, J, 3); .npz joints, features, fps, prompt, seed; .bvh; .gif."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".bvh", ".gif"):
        raise MotionInputError(f"unknown output type {suffix or '(none)'!r}: use .npy, .npz, .bvh or .gif", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial" + path.suffix)
    if suffix == ".npy":
        np.save(tmp, motion.joints)
    elif suffix == ".npz":
        with tmp.open("wb") as f:
            np.savez(f, joints=motion.joints, features=motion.features, fps=np.float32(motion.fps),
                     prompt=np.array(motion.prompt), seed=np.int64(motion.seed))
    elif suffix == ".bvh":
        from ..data.exporter import joints_to_bvh

        tmp.write_text(joints_to_bvh(motion.joints, fps=motion.fps))
    else:
        from ..data.stick_render import render_stick_gif
        from ..motion.skeleton import skeleton_for_feature_dim

        render_stick_gif(motion.joints, skeleton_for_feature_dim(motion.features.shape[-1]), tmp,
                         title=motion.prompt[:60], fps=motion.fps)
    tmp.replace(path)
    return path


def load_motion_npz(path: str | Path) -> GeneratedMotion:
    """A motion written as .npz (features are required: editing works on features)."""
    path = Path(path)
    if not path.is_file():
        raise MotionInputError("motion file not found", str(path))
    try:
        with np.load(path, allow_pickle=False) as z:
            features = np.asarray(z["features"], np.float32)
            fps = float(z["fps"]) if "fps" in z else 20.0
            prompt = str(z["prompt"]) if "prompt" in z else ""
            seed = int(z["seed"]) if "seed" in z else 0
    except (KeyError, ValueError, OSError) as err:
        raise MotionInputError(f"not a motion .npz with 'features': {err}", str(path)) from None
    if features.ndim != 2 or features.shape[1] not in (263, 251):
        raise MotionInputError(f"features must be (T, 263) or (T, 251), got {features.shape}", str(path))
    return GeneratedMotion.from_features(features, fps, prompt, seed)
