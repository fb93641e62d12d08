"""Keyframe correction: move a motion onto keyed poses (all joints or a few, e.g. a wrist) with a smooth falloff.

At each keyframe the constrained joints get the displacement to their target; joints below a constrained joint
that are not constrained themselves are carried along (a keyed ankle carries its toe). The displacement fades in
and out with a half-cosine over a window that grows with its size (WINDOW_PER_METRE frames per metre, MIN_WINDOW to
MAX_WINDOW frames) and never reaches past the neighbouring keyframes of the same joint, so consecutive keys are
blended into each other and every key is met exactly.

A keyed hand or foot beyond its limb's reach (REACH of the arm's or leg's length from the shoulder or hip) moves
the body: the smallest offset, horizontal first, that brings every such limb root within reach (`reach_offset`)
is given to the unkeyed joints, except the feet of unkeyed legs, which stay where they were. Limbs whose end is
displaced but whose middle joint is not keyed (a wrist-only key, a foot kept while the body moves) are re-solved
with a two-bone IK (shoulder-elbow-wrist, hip-knee-ankle; lengths kept, the elbow/knee in its own plane); limbs
keyed whole keep their blended pose, so an elbow or knee never flips through the limb's axis. The rest is fitted
back onto the bone lengths (`cleanup.rigid_fit`).
"""

from __future__ import annotations

import numpy as np

from .constraints import KeyframeConstraint
from .retarget.contacts import two_bone_ik
from .skeleton import Skeleton

MIN_WINDOW, MAX_WINDOW = 4, 30   # frames
WINDOW_PER_METRE = 16.0          # half-cosine over W frames moves a joint at most pi/2 * d / W per frame
REACH = 0.97                     # share of a limb's length a keyed hand or foot may be from its shoulder or hip
UPRIGHT = 0.85                   # a vertical gap up to this share of the reach is left to the limb, not the body


def limbs(skeleton: Skeleton) -> list[tuple[int, int, int, float]]:
    """(root, middle, end, pole sign) of the two-bone chains: arms (elbows point back), legs (knees forward)."""
    name = skeleton.joint_names.index
    out = []
    for s in ("l", "r"):
        out.append((name(f"{s}_shoulder"), name(f"{s}_elbow"), name(f"{s}_wrist"), -1.0))
        out.append((name(f"{s}_hip"), name(f"{s}_knee"), name(f"{s}_ankle"), 1.0))
    return out


def _limb_length(pose: np.ndarray, root: int, mid: int, end: int) -> float:
    return float(np.linalg.norm(pose[end] - pose[mid]) + np.linalg.norm(pose[mid] - pose[root]))


def reach_offset(gaps: np.ndarray, reach: np.ndarray, horizontal_only: bool = False) -> np.ndarray:
    """The smallest body offset (3,) that brings limb roots within reach of their targets.

    `gaps` (N, 3) are target minus limb root, `reach` (N,) the longest allowed distances. A vertical gap is left
    to the limb up to UPRIGHT of its reach (the body moves up or down only for what no lean could give), the
    horizontal offset is the smallest that puts every root within the horizontal radius left to it."""
    gaps = np.asarray(gaps, np.float64).reshape(-1, 3)
    reach = np.asarray(reach, np.float64).reshape(-1)
    out = np.zeros(3)
    if not len(gaps):
        return out
    dy = gaps[:, 1]
    if not horizontal_only:
        room = UPRIGHT * reach
        up = np.where(dy > room, dy - room, 0.0)
        down = np.where(dy < -room, dy + room, 0.0)
        out[1] = up.max() + down.min()  # a target too high and one too low can't both be met; meet both halves
    left = dy - out[1]
    radius = np.sqrt(np.maximum(reach ** 2 - left ** 2, 0.0))
    centres = gaps[:, [0, 2]]
    o = np.zeros(2)
    for _ in range(60):  # averaged projections onto the discs |centre - o| <= radius
        v = centres - o
        dist = np.linalg.norm(v, axis=1)
        excess = np.where(dist > radius, 1.0 - radius / np.maximum(dist, 1e-12), 0.0)
        if not excess.any():
            break
        o = o + (v * excess[:, None]).sum(axis=0) / max(int((excess > 0).sum()), 1)
    out[[0, 2]] = o
    return out


def key_body_offsets(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint,
                     horizontal_only: bool = False) -> np.ndarray:
    """(K, 3) body offsets that bring keyed hands and feet within their limbs' reach (zero where the pelvis is
    keyed or every keyed end is within reach)."""
    out = np.zeros((len(keys.frames), 3))
    for k, (f, target, m) in enumerate(zip(keys.frames, keys.joints, keys.mask, strict=True)):
        if m[0]:
            continue
        pose = joints[f]
        gaps, reach = [], []
        for root, mid, end, _ in limbs(skeleton):
            if m[end] and not m[root] and not m[mid]:
                gaps.append(target[end] - pose[root])
                reach.append(REACH * _limb_length(pose, root, mid, end))
        if gaps:
            out[k] = reach_offset(np.array(gaps), np.array(reach), horizontal_only)
    return out


def key_displacements(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint, body: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(displacements (K, J, 3), constrained (K, J) bool): keyed joints to their targets, unkeyed joints below a
    keyed one carried with their nearest keyed ancestor; with body offsets (K, 3) the other joints get the key's
    offset, except the feet of unkeyed legs, which stay (displacement 0)."""
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
    if body is not None:
        moves = np.linalg.norm(body, axis=1) > 1e-9
        if moves.any():
            stay = np.zeros(nj, bool)
            for _, _, end, sign in limbs(skeleton):
                if sign > 0:  # legs: the ankle and what hangs from it
                    stay[end] = True
                    stay |= np.isin(np.arange(nj), [c for c in range(nj) if skeleton.parents[c] == end])
            for i in np.flatnonzero(moves):
                free = ~held[i]
                d[i, free & ~stay] = body[i]
                held[i] |= free
    return d, held


def key_windows(frames: int, keys: KeyframeConstraint, window: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(K, T) half-cosine weights of each key held in `held` (K,) bool (0 for the others): `window` (K,) frames
    each side, never past the neighbouring held keys."""
    out = np.zeros((len(keys.frames), frames))
    t = np.arange(frames)
    ks = np.flatnonzero(held)
    for i, k in enumerate(ks):
        f = int(keys.frames[k])
        left = min(window[k], f - int(keys.frames[ks[i - 1]])) if i > 0 else window[k]
        right = min(window[k], int(keys.frames[ks[i + 1]]) - f) if i + 1 < len(ks) else window[k]
        x = np.where(t < f, (t - f) / max(left, 1), (t - f) / max(right, 1))
        out[k] = np.where(np.abs(x) < 1, 0.5 * (1 + np.cos(np.pi * np.clip(x, -1, 1))), 0.0)
    return out


def key_window_sizes(size: np.ndarray) -> np.ndarray:
    """Frames each side of a key (K,) from the largest displacement (m) it asks for."""
    return np.clip(np.ceil(WINDOW_PER_METRE * np.asarray(size)), MIN_WINDOW, MAX_WINDOW).astype(int)


def _joint_windows(frames: int, keys: KeyframeConstraint, window: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(J, K, T) `key_windows` of each joint's column of `held` (K, J); joints with the same keys share one."""
    cache: dict[bytes, np.ndarray] = {}
    out = np.empty((held.shape[1], len(keys.frames), frames))
    for j in range(held.shape[1]):
        pattern = held[:, j].tobytes()
        if pattern not in cache:
            cache[pattern] = key_windows(frames, keys, window, held[:, j])
        out[j] = cache[pattern]
    return out


def offset_tracks(frames: int, keys: KeyframeConstraint, d: np.ndarray, held: np.ndarray,
                  window: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (T, J, 3), weights (T, J)): the displacements faded in and out around their keyframes."""
    if window is None:
        window = key_window_sizes(np.linalg.norm(d, axis=-1).max(axis=1))
    w = _joint_windows(frames, keys, window, held)                  # (J, K, T)
    return np.einsum("jkt,kjc->tjc", w, d), w.max(axis=1).T


def blend_bones(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint, lengths: np.ndarray
                ) -> np.ndarray:
    """Joints (T, J, 3) on the bone lengths whose bones keyed at both ends turn towards the keyed bone directions
    (the rotation from the motion's bone to the key's, scaled by the key's half-cosine weight) and whose root
    moves to keyed pelvis positions; other bones keep the motion's directions. A blend of positions would
    shrink a forearm that swings from hanging to raised through zero length and flip it."""
    from .rotations import axis_angle_to_quat, qbetween, qrot, quat_to_axis_angle

    frames, nj = joints.shape[:2]
    parents = np.asarray(skeleton.parents)
    size = np.zeros(len(keys.frames))
    for k, (f, m) in enumerate(zip(keys.frames, keys.mask, strict=True)):
        size[k] = np.linalg.norm(keys.joints[k][m] - joints[f][m], axis=-1).max()
    window = key_window_sizes(size)
    pj = np.maximum(parents, 0)
    both = keys.mask & keys.mask[:, pj]
    both[:, 0] = keys.mask[:, 0]                                     # the root: its keyed position
    w = _joint_windows(frames, keys, window, both)                   # (J, K, T)
    d0 = np.where(keys.mask[:, :1], keys.joints[:, 0] - joints[keys.frames, 0], 0.0)
    root = joints[:, 0] + np.einsum("kt,kc->tc", w[0], d0)
    bone = joints - joints[:, pj]                                    # (T, J, 3)
    keyed_bone = keys.joints - keys.joints[:, pj]
    for k in np.flatnonzero(both[:, 1:].any(axis=1)):
        sel = np.flatnonzero(both[k, 1:]) + 1
        angle = quat_to_axis_angle(qbetween(bone[keys.frames[k], sel], keyed_bone[k, sel]))   # (S, 3)
        wk = w[sel, k].T                                                                      # (T, S)
        on = (wk > 0).any(axis=1)
        bone[np.ix_(on, sel)] = qrot(axis_angle_to_quat(wk[on, :, None] * angle[None]), bone[np.ix_(on, sel)])
    bone = bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-12) * lengths[None, :, None]
    out = np.empty_like(joints)
    out[:, 0] = root
    for j in range(1, nj):
        out[:, j] = out[:, parents[j]] + bone[:, j]
    return out


def root_offset_track(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint) -> np.ndarray | None:
    """(T, 2) ground offsets of the pelvis that bring it to its keyed positions (and within reach of keyed hands
    and feet that are out of reach, `key_body_offsets` without the vertical part), smooth over the whole motion
    and held before the first and after the last such key; None when no key asks the body to move."""
    from scipy.interpolate import PchipInterpolator

    body = key_body_offsets(skeleton, joints, keys, horizontal_only=True)
    frames, offsets = [], []
    for k, (f, target, m) in enumerate(zip(keys.frames, keys.joints, keys.mask, strict=True)):
        if m[0]:
            frames.append(int(f))
            offsets.append((target[0] - joints[f, 0])[[0, 2]])
        elif np.linalg.norm(body[k]) > 1e-9:
            frames.append(int(f))
            offsets.append(body[k][[0, 2]])
    if not frames:
        return None
    t = np.arange(len(joints))
    if len(frames) == 1:
        return np.tile(offsets[0], (len(joints), 1))
    curve = PchipInterpolator(frames, np.array(offsets), axis=0)
    return curve(np.clip(t, frames[0], frames[-1]))


def facing_yaw(skeleton: Skeleton, poses: np.ndarray) -> np.ndarray:
    """Yaw (rad) the bodies (..., J, 3) face: forward = left x up, left from the hips (0 facing +Z, +pi/2 +X)."""
    name = skeleton.joint_names.index
    left = poses[..., name("l_hip"), :] - poses[..., name("r_hip"), :]
    return np.arctan2(-left[..., 2], left[..., 0])


def body_forward(skeleton: Skeleton, joints: np.ndarray) -> np.ndarray:
    """(T, 3) unit ground directions the bodies face (left x up, left from hips and shoulders, as HumanML3D's
    root rotation): the knee and elbow poles of the leg and arm IK."""
    name = skeleton.joint_names.index
    left = (joints[:, name("l_hip")] - joints[:, name("r_hip")]
            + joints[:, name("l_shoulder")] - joints[:, name("r_shoulder")])
    fwd = np.stack([-left[:, 2], np.zeros(len(left)), left[:, 0]], axis=1)
    return fwd / np.maximum(np.linalg.norm(fwd, axis=1, keepdims=True), 1e-9)


def _reach_excess(pose: np.ndarray, target: np.ndarray, ends: list[tuple[int, int, int]], yaw: float) -> float:
    """How far (m) the worst keyed end stays out of reach after the pose turns by `yaw` about its pelvis and moves
    by the best `reach_offset`."""
    c, s = np.cos(yaw), np.sin(yaw)
    rel = pose - pose[0]
    turned = pose[0] + np.stack([rel[:, 0] * c + rel[:, 2] * s, rel[:, 1], rel[:, 2] * c - rel[:, 0] * s], axis=1)
    gaps = np.array([target[end] - turned[root] for root, _, end in ends])
    reach = np.array([REACH * _limb_length(pose, root, mid, end) for root, mid, end in ends])
    o = reach_offset(gaps, reach)
    return float(np.max(np.linalg.norm(gaps - o, axis=1) - reach))


def reach_turn(skeleton: Skeleton, pose: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """The smallest yaw (rad, about the pelvis; 5 degree steps) under which the body can move so that every keyed
    hand and foot of one key is within reach (two hands keyed on either side of a body facing elsewhere need a
    turn, not a move); the yaw with the least shortfall when none can."""
    ends = [(root, mid, end) for root, mid, end, _ in limbs(skeleton) if mask[end] and not mask[root]
            and not mask[mid]]
    if len(ends) < 2:
        return 0.0
    best, best_excess = 0.0, _reach_excess(pose, target, ends, 0.0)
    if best_excess <= 1e-3:
        return 0.0
    for step in range(1, 37):
        for yaw in (np.radians(5.0 * step), -np.radians(5.0 * step)):
            excess = _reach_excess(pose, target, ends, yaw)
            if excess <= 1e-3:
                return float(yaw)
            if excess < best_excess - 1e-3:
                best, best_excess = float(yaw), excess
    return best


def key_turn_track(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint) -> np.ndarray | None:
    """(T,) turns (rad, about the pelvis) that give the motion the facing of keys that hold both hips (and, for
    keys without the pelvis or hips, the smallest turn that lets the keyed hands and feet be reached,
    `reach_turn`), interpolated between keys and held before the first and after the last; None when no key
    asks for a turn.

    Turning the whole body first leaves the blend only the pose to change: blending positions between a pose and
    the same pose turned half round swings hands and feet through the body."""
    name = skeleton.joint_names.index
    hips = keys.mask[:, [name("l_hip"), name("r_hip")]].all(axis=1)
    delta = np.zeros(len(keys.frames))
    delta[hips] = facing_yaw(skeleton, keys.joints[hips]) - facing_yaw(skeleton, joints[keys.frames[hips]])
    for k in np.flatnonzero(~hips & ~keys.mask[:, 0]):
        delta[k] = reach_turn(skeleton, joints[keys.frames[k]], keys.joints[k], keys.mask[k])
    if not hips.any() and not np.any(np.abs(delta) > 1e-9):
        return None
    use = hips | ~keys.mask[:, 0]
    delta = np.unwrap((delta[use] + np.pi) % (2 * np.pi) - np.pi)
    return np.interp(np.arange(len(joints)), keys.frames[use], delta)


def fit_keyframes(skeleton: Skeleton, joints: np.ndarray, keys: KeyframeConstraint, forward: np.ndarray,
                  lengths: np.ndarray | None = None) -> np.ndarray:
    """Joints (T, J, 3) that meet the keyframes, blended into the given motion (see the module doc).

    `lengths` (J,) are the bone lengths to keep (default: the motion's own mean lengths)."""
    from .cleanup import rigid_fit

    joints = np.asarray(joints, np.float64)
    if lengths is None:
        parents = np.maximum(np.asarray(skeleton.parents), 0)
        lengths = np.linalg.norm(joints - joints[:, parents], axis=-1).mean(axis=0)
    base = blend_bones(skeleton, joints, keys, lengths)
    changed = np.abs(base - joints).max(axis=(1, 2)) > 0
    body = key_body_offsets(skeleton, base, keys)
    d, held = key_displacements(skeleton, base, keys, body)
    offsets, weights = offset_tracks(len(base), keys, d, held)
    _, own = offset_tracks(len(base), keys, d, keys.mask)  # where a joint's own key holds it
    out = base + offsets
    for root, mid, end, sign in limbs(skeleton):
        active = ((weights[:, end] > 0) | (weights[:, root] > 0)) & (own[:, mid] <= 0)
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
    touched = (weights > 0).any(axis=1) | changed
    out[touched] = fitted[touched]
    return out


def keyframe_errors(joints: np.ndarray, keys: KeyframeConstraint) -> np.ndarray:
    """Distances (m) of the constrained joints to their targets, one per (keyframe, joint) in the mask."""
    return np.linalg.norm(joints[keys.frames] - keys.joints, axis=-1)[keys.mask]
