"""What leaves the generator: animation-ready joints by default (`backend.motion.cleanup`), the model's own with
`raw`, and an edit's joints merged once, here, so that clients write the complete motion as it comes.

An edit changes features only inside its region; the joints of the edited motion are cleaned as a whole and then
merged with the input's cleaned joints:
- before the region: the input's joints, exactly;
- inside it: the edited joints for the edited joints (all of them when the root is edited), the input's for the
  rest, cross-faded over up to FADE_FRAMES at each border inside the region and fitted back onto the rigid
  skeleton;
- after it: the input's joints, exactly when the root was not edited; after a whole-body edit the motion
  continues from where the edit ends, i.e. the input's joints moved and turned by the change of the root's
  position and heading at the region's end (what the features' root velocities imply).
So the frames outside a region are the input's even when the region is shorter than the blend ramps.
"""

from __future__ import annotations

import numpy as np

from ..motion.cleanup import clean_motion, floor_lift, rigid_fit
from ..motion.features import features_to_joints, recover_root
from ..motion.retarget.contacts import two_bone_ik
from ..motion.rotations import qinv, qmul, qrot
from ..motion.skeleton import skeleton_for_feature_dim
from .motion import GeneratedMotion

FADE_FRAMES = 4


def delivered_joints(features: np.ndarray, fps: float, raw: bool,
                     root_scale: float | None = None) -> tuple[np.ndarray, dict, float]:
    """(joints (T, J, 3), meta, root scale): cleaned unless `raw`."""
    if raw:
        return features_to_joints(np.asarray(features, np.float64)), {"raw": True}, 1.0
    result = clean_motion(features, fps, root_scale=root_scale)
    return result.joints, {"raw": False, "cleanup": result.stats()}, result.root_scale


def finish(motion: GeneratedMotion, raw: bool, root_scale: float | None = None) -> GeneratedMotion:
    """The motion with its delivered joints (in place; returned for chaining)."""
    joints, meta, _ = delivered_joints(motion.features, motion.fps, raw, root_scale)
    motion.joints = joints.astype(np.float32)
    motion.meta.update(meta)
    return motion


def rest_transform(before: np.ndarray, after: np.ndarray, frame: int,
                   scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quaternion, from, to) that carry the input's world joints at and after `frame` onto the edited motion's:
    p -> q * (p - from) + to, from the features' root heading and position at `frame` (xz scaled by `scale`)."""
    r_in, p_in = recover_root(np.asarray(before, np.float64))
    r_out, p_out = recover_root(np.asarray(after, np.float64))
    q = qmul(qinv(r_out[frame]), r_in[frame])
    src, dst = p_in[frame].copy(), p_out[frame].copy()
    src[1] = dst[1] = 0.0
    return q, src * scale, dst * scale


def merge_edit(before_joints: np.ndarray, after_joints: np.ndarray, before_features: np.ndarray,
               after_features: np.ndarray, frames: tuple[int, int], joints: list[int], root_scale: float = 1.0,
               floor: float = 0.0) -> np.ndarray:
    """The edited motion's delivered joints (T, J, 3); see the module doc."""
    a, b = frames
    total = len(before_joints)
    skeleton = skeleton_for_feature_dim(np.asarray(before_features).shape[-1])
    before = np.asarray(before_joints, np.float64)
    after = np.asarray(after_joints, np.float64)
    out = before.copy()
    root_edited = 0 in joints
    if root_edited and b < total:
        q, src, dst = rest_transform(before_features, after_features, b, root_scale)
        out[b:] = qrot(q, before[b:] - src) + dst
    n = b - a
    weight = np.ones(n)
    fade = min(FADE_FRAMES, n // 2)
    if fade > 0:
        ramp = np.arange(1, fade + 1) / (fade + 1)
        if a > 0:
            weight[:fade] = ramp
        if b < total:
            weight[n - fade:] = np.minimum(weight[n - fade:], ramp[::-1])
    # the kept side of each border: the input before the region, the (moved) input after it
    kept = out[a:b].copy()
    if root_edited and b < total:
        tail = np.arange(a, b) >= a + n / 2  # the region's second half fades towards the moved rest
        kept[tail] = qrot(q, before[a:b][tail] - src) + dst
    sel = np.zeros(skeleton.num_joints, bool)
    sel[list(range(skeleton.num_joints)) if root_edited else joints] = True
    region = kept.copy()
    w = weight[:, None, None]
    region[:, sel] = kept[:, sel] + w * (after[a:b][:, sel] - kept[:, sel])
    region = rigid_fit(skeleton, region)
    if root_edited:
        region[..., 1] += floor_lift(region, floor)[:, None]
    else:  # lifting the body would move the joints the edit leaves alone: raise only the edited legs' feet
        region = _lift_edited_feet(skeleton, region, sel, floor)
    out[a:b] = region
    return out


def _lift_edited_feet(skeleton, joints: np.ndarray, edited: np.ndarray, floor: float) -> np.ndarray:
    """A partial edit's joints with each edited leg's foot kept above the floor by a two-bone IK of hip, knee
    and ankle, the toe moving with the ankle (the rigid fit's bone lengths hold and no other joint moves)."""
    out = joints.copy()
    lengths = skeleton.target_lengths  # what rigid_fit gave the region
    for ankle, toe in (skeleton.feet_left, skeleton.feet_right):
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        if not edited[[knee, ankle, toe]].any():
            continue
        need = floor_lift(out[:, [ankle, toe]], floor)
        if not need.any():
            continue
        target = out[:, ankle] + need[:, None] * np.array([0.0, 1.0, 0.0])
        pole = out[:, knee] - 0.5 * (out[:, hip] + out[:, ankle])
        new_knee, new_ankle = two_bone_ik(out[:, hip], out[:, knee], target, lengths[knee], lengths[ankle], pole)
        out[:, toe] += new_ankle - out[:, ankle]
        out[:, knee], out[:, ankle] = new_knee, new_ankle
    return out
