"""Keyframe correction: move a motion onto keyed poses (all joints or a few, e.g. a wrist) with a smooth falloff.

At each keyframe the constrained joints get the displacement to their target; joints below a constrained joint
that are not constrained themselves are carried along (a keyed ankle carries its toe). The displacement fades in
and out with a half-cosine over a window that grows with its size (WINDOW_PER_METRE frames per metre, MIN_WINDOW to
MAX_WINDOW frames) and never reaches past the neighbouring keyframes of the same joint, so consecutive keys are
blended into each other and every key is met exactly. Arms and legs whose end is displaced are re-solved with a
two-bone IK (shoulder-elbow-wrist, hip-knee-ankle; lengths kept, the elbow/knee in its current plane), and the
rest is fitted back onto the bone lengths (`cleanup.rigid_fit`).
"""

from __future__ import annotations

import numpy as np

from .constraints import KeyframeConstraint
from .retarget.contacts import two_bone_ik
from .skeleton import Skeleton

MIN_WINDOW, MAX_WINDOW = 4, 30   # frames
WINDOW_PER_METRE = 16.0          # half-cosine over W frames moves a joint at most pi/2 * d / W per frame


def limbs(skeleton: Skeleton) -> list[tuple[int, int, int, float]]:
    """(root, middle, end, pole sign) of the two-bone chains: arms (elbows point back), legs (knees forward)."""
    name = skeleton.joint_names.index
    out = []
    for s in ("l", "r"):
        out.append((name(f"{s}_shoulder"), name(f"{s}_elbow"), name(f"{s}_wrist"), -1.0))
        out.append((name(f"{s}_hip"), name(f"{s}_knee"), name(f"{s}_ankle"), 1.0))
    return out


def key_displacements(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(displacements (K, J, 3), constrained (K, J) bool): keyed joints to their targets, unkeyed joints below a
    keyed one carried with their nearest keyed ancestor."""
    k, nj = keys.mask.shape
    d = np.zeros((k, nj, 3))
    held = keys.mask.copy()
    d[keys.mask] = (keys.joints - joints[keys.frames])[keys.mask]
    for j in range(nj):  # parents come before children in SMPL order
        p = skeleton.parents[j]
        if p >= 0:
            carried = ~keys.mask[:, j] & held[:, p]
            d[carried, j] = d[carried, p]
            held[:, j] |= carried
    return d, held


def offset_tracks(frames: int, keys: KeyframeConstraint, d: np.ndarray, held: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (T, J, 3), weights (T, J)): the displacements faded in and out around their keyframes."""
    nj = d.shape[1]
    offsets = np.zeros((frames, nj, 3))
    weights = np.zeros((frames, nj))
    size = np.linalg.norm(d, axis=-1).max(axis=1)
    window = np.clip(np.ceil(WINDOW_PER_METRE * size), MIN_WINDOW, MAX_WINDOW).astype(int)
    t = np.arange(frames)
    for j in range(nj):
        ks = np.flatnonzero(held[:, j])
        for i, k in enumerate(ks):
            f = int(keys.frames[k])
            left = min(window[k], f - int(keys.frames[ks[i - 1]])) if i > 0 else window[k]
            right = min(window[k], int(keys.frames[ks[i + 1]]) - f) if i + 1 < len(ks) else window[k]
            x = np.where(t < f, (t - f) / max(left, 1), (t - f) / max(right, 1))
            w = np.where(np.abs(x) < 1, 0.5 * (1 + np.cos(np.pi * np.clip(x, -1, 1))), 0.0)
            offsets[:, j] += w[:, None] * d[k, j]
            weights[:, j] = np.maximum(weights[:, j], w)
    return offsets, weights


def root_offset_track(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint) -> np.ndarray | None:
    """(T, 2) ground offsets of the pelvis that bring it to its keyed positions (and within reach of keyed hands
    and feet that are out of reach), smooth over the whole motion and held before the first and after the last
    such key; None when no key asks the body to move."""
    from scipy.interpolate import PchipInterpolator

    frames, offsets = [], []
    for f, target, m in zip(keys.frames, keys.joints, keys.mask, strict=True):
        pose = joints[f]
        if m[0]:
            frames.append(int(f))
            offsets.append((target[0] - pose[0])[[0, 2]])
            continue
        need = []
        for root, _, end, _ in limbs(skeleton):
            if m[end]:
                reach = 0.95 * (np.linalg.norm(pose[end] - pose[skeleton.parents[end]])
                                + np.linalg.norm(pose[skeleton.parents[end]] - pose[root]))
                gap = (target[end] - pose[root])[[0, 2]]
                dist = float(np.linalg.norm(gap))
                if dist > reach:
                    need.append(gap * (1 - reach / dist))
        if need:
            frames.append(int(f))
            offsets.append(np.mean(need, axis=0))
    if not frames:
        return None
    t = np.arange(len(joints))
    if len(frames) == 1:
        return np.tile(offsets[0], (len(joints), 1))
    curve = PchipInterpolator(frames, np.array(offsets), axis=0)
    return curve(np.clip(t, frames[0], frames[-1]))


def fit_keyframes(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint, forward: np.ndarray,
                  lengths: np.ndarray | None = None) -> np.ndarray:
    """Joints (T, J, 3) that meet the keyframes, blended into the given motion (see the module doc).

    `lengths` (J,) are the bone lengths to keep (default: the motion's own mean lengths)."""
    from .cleanup import rigid_fit

    joints = np.asarray(joints, np.float64)
    if lengths is None:
        parents = np.maximum(np.asarray(skeleton.parents), 0)
        lengths = np.linalg.norm(joints - joints[:, parents], axis=-1).mean(axis=0)
    d, held = key_displacements(skeleton, joints, keys)
    offsets, weights = offset_tracks(len(joints), keys, d, held)
    out = joints + offsets
    for root, mid, end, sign in limbs(skeleton):
        active = weights[:, end] > 0
        if not active.any():
            continue
        knee, ankle = two_bone_ik(out[active, root], out[active, mid], out[active, end], lengths[mid],
                                  lengths[end], sign * forward[active])
        moved = ankle - out[active, end]
        out[active, mid], out[active, end] = knee, ankle
        for child in range(len(skeleton.parents)):  # the foot goes with its ankle
            if skeleton.parents[child] == end:
                out[active, child] += moved
    fitted = rigid_fit(skeleton, out, lengths)
    touched = (weights > 0).any(axis=1)
    out[touched] = fitted[touched]
    return out


def keyframe_errors(joints: np.ndarray, keys: KeyframeConstraint) -> np.ndarray:
    """Distances (m) of the constrained joints to their targets, one per (keyframe, joint) in the mask."""
    return np.linalg.norm(joints[keys.frames] - keys.joints, axis=-1)[keys.mask]
