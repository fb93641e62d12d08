"""Motions in request bodies -> numpy arrays, with every problem a `MotionInputError` (HTTP 400)."""

from __future__ import annotations

import numpy as np

from ..errors import MotionInputError
from ..generate.generator import Generator
from ..generate.motion import GeneratedMotion
from ..motion.features import features_to_joints
from ..retrieve.motion_values import check_motion_values
from .schemas import MotionIn


def _array(data: list, name: str, dtype: type = np.float32) -> np.ndarray:
    try:
        arr = np.asarray(data, np.float64)
    except ValueError:
        raise MotionInputError(f"{name} is not a regular array (rows of different lengths)") from None
    return check_motion_values(arr, name).astype(dtype)


def features_array(motion: MotionIn, dim: int) -> np.ndarray:
    """The request's features (T, dim) as float32."""
    if motion.features is None:
        raise MotionInputError("the motion needs 'features' (T, D), as /v1/generate returns them")
    feats = _array(motion.features, "motion.features")
    if feats.ndim != 2 or feats.shape[1] != dim or len(feats) == 0:
        raise MotionInputError(f"motion.features must be (T, {dim}), got {feats.shape}")
    return feats


def features_motion(motion: MotionIn, generator: Generator) -> GeneratedMotion:
    """The request's motion with its features (T, D), as editing needs them (at most the model's length)."""
    feats = features_array(motion, generator.info.feature_dim)
    if len(feats) > generator.info.max_frames:
        raise MotionInputError(f"the motion has {len(feats)} frames; editing works on up to "
                               f"{generator.info.max_frames}")
    result = GeneratedMotion.from_features(feats, motion.fps, motion.prompt, motion.seed)
    generator.check_fps(result)  # features at another rate would be misread: refused before any work starts
    return result


def motion_joints(motion: MotionIn) -> np.ndarray:
    """SMPL-22 joints (T, 22, 3) in float64: as given, or recovered from 263-d features."""
    if motion.joints is not None:
        joints = _array(motion.joints, "motion.joints", np.float64)
        if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) == 0:
            raise MotionInputError(f"motion.joints must be (T, 22, 3), got {joints.shape}")
        if not np.all(np.isfinite(joints)):
            raise MotionInputError("motion.joints contains NaN or inf values")
        return joints
    if motion.features is None:
        raise MotionInputError("the motion needs 'joints' (T, 22, 3) or 'features' (T, 263)")
    feats = _array(motion.features, "motion.features", np.float64)
    if feats.ndim != 2 or feats.shape[1] != 263 or len(feats) == 0:
        raise MotionInputError(f"motion.features must be (T, 263) for SMPL-22 joints, got {feats.shape}")
    if not np.all(np.isfinite(feats)):
        raise MotionInputError("motion.features contains NaN or inf values")
    return features_to_joints(feats)
