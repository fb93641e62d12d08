"""Left/right mirroring of joints, features and captions (HumanML3D's 'M' copies)."""

from __future__ import annotations

import re

import numpy as np

from .features import FeatureLayout
from .skeleton import SMPL22, Skeleton, skeleton_for_feature_dim

_X = np.array([-1.0, 1.0, 1.0])


def mirror_joints(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """Reflect across the body's sagittal plane (x -> -x) and swap left/right joints."""
    return joints[..., skeleton.mirror_index, :] * _X


def mirror_features(features: np.ndarray, skeleton: Skeleton | None = None) -> np.ndarray:
    """Mirror features directly; equals the features of the mirrored joints for a symmetric skeleton."""
    skeleton = skeleton or skeleton_for_feature_dim(features.shape[-1])
    layout = FeatureLayout(skeleton.num_joints)
    lead = features.shape[:-1]
    nj = skeleton.num_joints
    perm = skeleton.mirror_index
    perm_nonroot = perm[1:] - 1  # joints 1..J-1 map among themselves

    out = features.copy()
    out[..., 0] *= -1.0
    out[..., 1] *= -1.0
    ric = features[..., layout.ric].reshape(*lead, nj - 1, 3)
    out[..., layout.ric] = (ric[..., perm_nonroot, :] * _X).reshape(*lead, -1)
    # R' = M R M with M = diag(-1, 1, 1): first column -> -M c0, second -> M c1.
    rot = features[..., layout.rot].reshape(*lead, nj - 1, 6)[..., perm_nonroot, :]
    rot = rot * np.array([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])
    out[..., layout.rot] = rot.reshape(*lead, -1)
    vel = features[..., layout.vel].reshape(*lead, nj, 3)
    out[..., layout.vel] = (vel[..., perm, :] * _X).reshape(*lead, -1)
    c = layout.contacts.start
    out[..., c:c + 2], out[..., c + 2:c + 4] = features[..., c + 2:c + 4], features[..., c:c + 2]
    return out


_SWAPS = {
    "left": "right", "right": "left",
    "clockwise": "counterclockwise", "counterclockwise": "clockwise", "anticlockwise": "clockwise",
    "counter-clockwise": "clockwise",
}
# "leftward(s)" / "rightward(s)" swap their stem (the corpus lexicon writes them for "to the left"); "upright",
# "bright" and "leftover" are other words and stay.
_SWAP_RE = re.compile(r"\b(counter-clockwise|counterclockwise|anticlockwise|clockwise|left|right)(wards?)?\b",
                      re.IGNORECASE)


def _swap(match: re.Match) -> str:
    word, suffix = match.group(1), match.group(2) or ""
    if suffix and word.lower() not in ("left", "right"):  # "clockwards" is no word: leave it
        return match.group(0)
    repl = _SWAPS[word.lower()] + (suffix.upper() if word.isupper() else suffix)
    if word.isupper():
        return repl.upper()
    if word[0].isupper():
        return repl[0].upper() + repl[1:]
    return repl


def mirror_caption(text: str) -> str:
    """Swap left/right (and clockwise/counterclockwise) in a caption or a whole texts-file line."""
    return _SWAP_RE.sub(_swap, text)
