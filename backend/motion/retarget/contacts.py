"""Foot contacts: find planted feet in the source motion and keep them planted on the target rig.

A retargeted foot slides when the rig's proportions differ from the source's (the root path is scaled
by leg length, but hip width, thigh/shin ratio and foot placement are not). While the source ankle is
planted (slow and near its lowest height) the target ankle is pinned to the mean position it had over
that plant, with a short blend before and after, and an analytic two-bone IK (hip -> knee -> ankle,
keeping the current knee plane) bends the leg to reach it. Nothing else changes.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .rotmath import smoothstep, unit

CONTACT_SPEED = 0.3        # m/s: an ankle slower than this may be planted
CONTACT_HEIGHT = 0.05      # m above the lowest height that ankle reaches in the clip
BLEND_FRAMES = 4           # frames to ease into and out of a plant
ANKLES = (7, 8)            # SMPL l_ankle, r_ankle


def detect_foot_contacts(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2) bool: left and right ankle planted, from source joints (T, 22, 3) in metres, Y up."""
    ankles = np.asarray(joints, np.float64)[:, ANKLES]
    if len(ankles) < 3:
        return np.zeros((len(ankles), 2), dtype=bool)
    speed = np.linalg.norm(np.gradient(ankles, axis=0), axis=-1) * fps
    height = ankles[..., 1]
    floor = np.percentile(height, 5, axis=0)
    contact = (speed < CONTACT_SPEED) & (height < floor + CONTACT_HEIGHT)
    one_frame = np.ones((3, 1), dtype=bool)
    contact = ndimage.binary_closing(contact, structure=one_frame, border_value=0) | contact  # fill 1-frame gaps
    return ndimage.binary_opening(contact, structure=one_frame)  # drop plants shorter than 3 frames


def _nearest_runs(contact: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every frame: distance to the previous/next contact frame (inf if none) and that frame."""
    frames = np.arange(len(contact))
    prev = np.maximum.accumulate(np.where(contact, frames, -1))
    nxt = np.minimum.accumulate(np.where(contact, frames, len(contact))[::-1])[::-1]
    dist_prev = np.where(prev >= 0, frames - prev, np.inf)
    dist_next = np.where(nxt < len(contact), nxt - frames, np.inf)
    return dist_prev, dist_next, np.clip(prev, 0, None), np.clip(nxt, 0, len(contact) - 1)


def plant_targets(positions: np.ndarray, contact: np.ndarray,
                  blend: int = BLEND_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Pinned positions (T, 3) and pin weights (T,) in [0, 1] for one foot.

    Each plant pins the foot to its mean position over the plant; frames within `blend` of a plant ease
    towards it (weights of neighbouring plants are shared so the target never jumps).
    """
    labels, count = ndimage.label(contact)
    if count == 0:
        return positions.copy(), np.zeros(len(positions))
    sums = np.zeros((count + 1, 3))
    np.add.at(sums, labels, positions)
    locks = sums / np.maximum(np.bincount(labels, minlength=count + 1), 1)[:, None]
    w_prev, w_next, prev, nxt, weight = _ease_weights(contact, blend)
    target = (positions + w_prev[:, None] * (locks[labels[prev]] - positions)
              + w_next[:, None] * (locks[labels[nxt]] - positions))
    return target, weight


def _ease_weights(contact: np.ndarray, blend: int) -> tuple[np.ndarray, ...]:
    """Per frame: the shares (T,) of the previous and the next plant, those plants' frames (T,) (the nearest
    contact frame each way), and the pin weight (T,) in [0, 1]. Frames within `blend` of a plant ease towards it;
    between two close plants the shares are normalised so the target never jumps; inside a plant only that plant
    counts."""
    dist_prev, dist_next, prev, nxt = _nearest_runs(contact)
    w_prev = smoothstep(1.0 - dist_prev / (blend + 1), 0.0, 1.0)
    w_next = np.where(contact, 0.0, smoothstep(1.0 - dist_next / (blend + 1), 0.0, 1.0))
    total = w_prev + w_next
    over = np.maximum(total, 1.0)
    return w_prev / over, w_next / over, prev, nxt, np.minimum(total, 1.0)


def ease_offsets(positions: np.ndarray, planted: np.ndarray, contact: np.ndarray,
                 blend: int = BLEND_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Targets (T, 3) and weights (T,) that are `planted` on contact frames and elsewhere the source
    `positions` moved by the eased offsets of the neighbouring plants (planted minus source, where each plant
    meets the free frames). Unlike `plant_targets` the free frames keep the source's own path: a short lift
    between two close plants is not flattened into a slide from one lock to the next, and several joints eased
    with the same `contact` keep their relative motion."""
    if not contact.any():
        return positions.copy(), np.zeros(len(positions))
    w_prev, w_next, prev, nxt, weight = _ease_weights(contact, blend)
    offsets = planted - positions
    return positions + w_prev[:, None] * offsets[prev] + w_next[:, None] * offsets[nxt], weight


def knee_bend_hint(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, forward: np.ndarray,
               upper: float) -> np.ndarray:
    """Knee positions (T, 3) to give `two_bone_ik` for its plane: out from the hip along the way the source's own
    knee bends (its offset from the source's hip-ankle line), or `forward` where that leg is straight. The
    source knee itself is a bad hint once the target ankle is far from the source's: projected on the new
    hip-target line it can land on the other side, and a path-controlled walk's knee swung 27 cm across in one
    frame (its bend direction turned 160-170 degrees)."""
    axis = unit(ankle - hip)
    off = knee - hip
    bend = off - np.sum(off * axis, axis=-1, keepdims=True) * axis
    # a knee bent under ~6 degrees says little about its way: lean on forward there
    trust = np.clip(np.linalg.norm(bend, axis=-1, keepdims=True) / (0.1 * upper), 0.0, 1.0)
    return hip + upper * unit(trust * unit(bend) + (1.0 - trust) * unit(forward))


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, target: np.ndarray, upper: float, lower: float,
                pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New knee and ankle positions (T, 3) reaching for `target` with fixed bone lengths.

    The knee stays in the plane of hip, target and the current knee (nudged by `pole`, the direction
    the knee points, so a straight leg still has a plane). Out-of-reach targets get a straight leg
    pointing at them.
    """
    to_target = target - hip
    dist = np.linalg.norm(to_target, axis=-1)
    axis = unit(to_target)
    reach = np.clip(dist, abs(upper - lower) + 1e-9, (upper + lower) * (1.0 - 1e-9))
    side = (knee - hip) + 0.1 * upper * unit(pole)
    side = unit(side - np.sum(side * axis, axis=-1, keepdims=True) * axis)
    cos_hip = np.clip((upper ** 2 + reach ** 2 - lower ** 2) / (2.0 * upper * reach), -1.0, 1.0)
    sin_hip = np.sqrt(1.0 - cos_hip ** 2)
    new_knee = hip + upper * (cos_hip[:, None] * axis + sin_hip[:, None] * side)
    return new_knee, hip + reach[:, None] * axis


def planted_drift(positions: np.ndarray, contact: np.ndarray) -> float:
    """How far a foot slides while planted: the mean over plants of its largest distance from where the
    plant began (units of `positions`); 0 when there is no plant."""
    labels, count = ndimage.label(contact)
    if count == 0:
        return 0.0
    starts = np.full(count + 1, len(labels))
    np.minimum.at(starts, labels, np.arange(len(labels)))  # first frame of each plant
    first = positions[starts[labels[contact]]]
    dist = np.linalg.norm(positions[contact] - first, axis=-1)
    worst = np.zeros(count + 1)
    np.maximum.at(worst, labels[contact], dist)
    return float(np.mean(worst[1:]))
