"""Animation-ready joints from generated features: rigid skeleton, planted feet, no floor penetration, less jitter.

What a generator's position channels give is close to a human body but not one: bone lengths drift from
frame to frame, planted feet slide, feet dip under the floor and standing poses shake. `clean_motion` turns
HumanML3D features (T, D) into joints (T, J, 3) an animator can key:

1. **Jitter filter.** A zero-phase Butterworth low-pass along time, adaptive per joint: `slow_cutoff` Hz where
   the joint's activity (its top speed within ACTIVITY_WINDOW) is low, `fast_cutoff` Hz where it is high. Both
   pass the 1-3 Hz band of steps, punches and kicks nearly untouched and remove the frame-to-frame shake
   (5-10 Hz); a Gaussian strong enough to calm a standing pose took 10-25% off jump and kick peaks.
2. **Rigid skeleton.** The root path is scaled by the ratio of the target leg length to the clip's mean leg
   length (the model's bodies are a few percent small; scaling the root as HumanML3D's rescaling does keeps the
   strides and the floor contact consistent with the longer legs), then every bone gets the skeleton's target
   length (`Skeleton.target_lengths`, the body the features are computed on), pointing from the fitted parent
   towards the (filtered) predicted child. This fit was chosen over forward kinematics of the rot6d channels:
   on 40 generated motions FK drifts 64 mm from the predicted joints on average (up to 1.2 m: its errors add
   up along the chains), the fit 24 mm (mostly the model's too-short arms and legs). Elbows and knees fold
   at most `HINGE_LIMITS_DEG`.
3. **Planted feet.** The predicted contact channels (ankle and toe per foot), confirmed by the joint being near
   its resting height and slow, say when a foot is planted. Each plant is one placement of a rigid foot in
   world space (toe at its mean position, ankle at the foot's length from it), ankle and toe eased in and out
   together over `blend_frames` as offsets from the source; a two-bone IK (hip, knee, ankle, lengths kept)
   bends the leg to reach it, a toe-only contact turns the foot about the locked toe, and the body is lowered
   where a pinned foot would be out of reach.
4. **Floor.** Whatever still reaches below the floor (y = 0) lifts the whole body by a smooth per-frame offset.

Every step keeps the bone lengths, so the result is rigid to float precision. Numpy + scipy; 2-5 ms for 196
frames on one CPU core (`python -m backend.generate.cleanup_bench`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ..errors import MotionInputError
from .features import FeatureLayout, features_to_joints, recover_root
from .quality import CONTACT_SPEED, feet_on_the_floor, foot_joint_ids
from .retarget.contacts import ease_offsets, knee_bend_hint, two_bone_ik
from .rotations import normalize, qinv, qrot
from .skeleton import Skeleton, skeleton_for_feature_dim

PLANT_HEIGHT = 0.05   # m above the joint's resting level
PLANT_SPEED = 1.0     # m/s
MAX_REST = 0.12       # m: a joint whose lowest level is higher than this over the floor is not resting
ACTIVITY_WINDOW = 0.5  # s
REACH = 0.995         # share of the leg's length a pinned ankle may be from the hip


@dataclass(frozen=True)
class CleanupOptions:
    slow_cutoff: float = 2.5       # Hz: low-pass cutoff of the jitter filter for slow joints
    fast_cutoff: float = 5.0       # Hz: ... for fast ones (>= fps / 2: the raw track)
    slow_speed: float = 0.3        # m/s: activity at most this gets `slow_cutoff`
    fast_speed: float = 1.5        # m/s: activity at least this gets `fast_cutoff`
    contact_threshold: float = 0.5  # predicted contact channel value that counts as planted
    blend_frames: int = 3          # frames to ease into and out of a plant
    floor: float = 0.0             # floor height (m)
    scale_root: bool = True        # scale the root path by the target / predicted leg length


@dataclass(frozen=True)
class CleanupResult:
    joints: np.ndarray             # (T, J, 3) cleaned world positions
    raw: np.ndarray                # (T, J, 3) the features' own joints (ric positions)
    contacts: np.ndarray           # (T, 4) bool: planted left ankle, left toe, right ankle, right toe
    root_scale: float              # factor applied to the root path

    def stats(self) -> dict[str, float]:
        err = np.linalg.norm(self.joints - self.raw, axis=-1)
        return {"mean_offset_mm": round(float(err.mean() * 1000), 2), "root_scale": round(self.root_scale, 4),
                "planted_fraction": round(float(self.contacts.mean()), 3)}


# ---------------------------------------------------------------------------------------------- steps

def low_pass(joints: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 4th-order Butterworth low-pass along time; flat below the cutoff, so actions keep their peaks."""
    if cutoff_hz <= 0 or cutoff_hz >= fps / 2 or len(joints) < 4:
        return joints.copy()
    sos = signal.butter(2, cutoff_hz, fs=fps, output="sos")  # run forwards and backwards: 4th order, no lag
    return signal.sosfiltfilt(sos, joints, axis=0, padlen=min(len(joints) - 1, 15))


def jitter_filter(joints: np.ndarray, fps: float, slow_cutoff: float, fast_cutoff: float, slow: float,
                  fast: float) -> np.ndarray:
    """Speed-adaptive low-pass: cutoff `slow_cutoff` Hz where a joint's activity (its top speed within
    ACTIVITY_WINDOW s) is at most `slow` m/s, `fast_cutoff` Hz from `fast` m/s on, blended in between."""
    if len(joints) < 4:
        return joints.copy()
    calm, brisk = low_pass(joints, fps, slow_cutoff), low_pass(joints, fps, fast_cutoff)
    speed = np.linalg.norm(np.gradient(calm, axis=0), axis=-1) * fps  # (T, J)
    # the apex of a jump or the turn of a kick is slow for a moment but part of a fast action
    half = max(1, int(round(ACTIVITY_WINDOW * fps / 2)))
    speed = ndimage.maximum_filter1d(speed, 2 * half + 1, axis=0, mode="nearest")
    w = np.clip((speed - slow) / max(fast - slow, 1e-6), 0.0, 1.0)[..., None]
    w = w * w * (3.0 - 2.0 * w)
    return calm + w * (brisk - calm)


def leg_length(skeleton: Skeleton, joints: np.ndarray) -> float:
    """Mean over the clip and both legs of hip->knee->ankle length."""
    total = 0.0
    for ankle in (skeleton.feet_left[0], skeleton.feet_right[0]):
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        total += float(np.mean(np.linalg.norm(joints[:, knee] - joints[:, hip], axis=-1)
                               + np.linalg.norm(joints[:, ankle] - joints[:, knee], axis=-1)))
    return total / 2.0


def target_leg_length(skeleton: Skeleton) -> float:
    lengths = skeleton.target_lengths
    total = 0.0
    for ankle in (skeleton.feet_left[0], skeleton.feet_right[0]):
        total += lengths[ankle] + lengths[skeleton.parents[ankle]]
    return total / 2.0


AIM_MIN_LENGTH = 0.2  # m: bones at least this long aim at their given child; shorter ones keep their direction


def rigid_fit(skeleton: Skeleton, joints: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Constant bone lengths: root as given; each long bone (the limbs) from its fitted parent towards the given
    child, so hands and feet stay where the model put them; each short bone (spine, neck, collars, hips, feet)
    along its own given direction. Aiming a short bone at its child from a parent that the fit has moved by a
    few centimetres can turn it sideways or upside down: a 5.7 cm spine segment turned 168 degrees in one frame
    of a jump, and the retargeted spine spun with it."""
    lengths = skeleton.target_lengths if lengths is None else lengths
    out = np.empty_like(joints)
    out[:, 0] = joints[:, 0]
    for chain in skeleton.kinematic_chain:
        for parent, child in zip(chain[:-1], chain[1:], strict=True):
            start = out[:, parent] if lengths[child] >= AIM_MIN_LENGTH else joints[:, parent]
            out[:, child] = out[:, parent] + normalize(joints[:, child] - start) * lengths[child]
    return out


# most an elbow or knee folds (degrees from straight). Generated motion sometimes folds a forearm back onto the
# upper arm (175 degrees in one jump), where the limb's bend plane is undefined and the retargeted upper arm
# rolled 145 degrees in a frame; a real elbow stops near 150 and a knee (kneeling, squatting) near 160.
HINGE_LIMITS_DEG = {"elbow": 150.0, "knee": 160.0}
_HINGES = {"elbow": ("shoulder", "elbow", "wrist"), "knee": ("hip", "knee", "ankle")}


def limit_hinges(skeleton: Skeleton, joints: np.ndarray, limits: dict[str, float] | None = None) -> np.ndarray:
    """Joints (T, J, 3) with every elbow and knee folded at most its limit: where a limb folds further, its lower
    part (forearm, or shin and foot) turns back in the limb's own bend plane about the middle joint, lengths
    kept."""
    limits = HINGE_LIMITS_DEG if limits is None else limits
    out = np.array(joints, dtype=np.float64, copy=True)
    names = skeleton.joint_names
    for hinge, limit in limits.items():
        for side in "lr":
            chain = [f"{side}_{n}" for n in _HINGES[hinge]]
            if not all(n in names for n in chain):
                continue
            top, mid, end = (names.index(n) for n in chain)
            up, low = out[:, mid] - out[:, top], out[:, end] - out[:, mid]
            cos = np.sum(up * low, -1) / np.maximum(np.linalg.norm(up, axis=-1) * np.linalg.norm(low, axis=-1), 1e-12)
            excess = np.arccos(np.clip(cos, -1.0, 1.0)) - np.deg2rad(limit)
            normal = np.cross(up, low)
            size = np.linalg.norm(normal, axis=-1)
            fix = (excess > 0) & (size > 1e-9)
            if not fix.any():
                continue
            axis = normal[fix] / size[fix, None]
            angle = -excess[fix]  # about up x low, a positive angle folds further: turn back
            c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
            pivot = out[fix, mid]
            for j in skeleton.subtree(end):
                v = out[fix, j] - pivot  # Rodrigues' rotation of each lower joint about the middle one
                k_dot = np.sum(axis * v, -1, keepdims=True)
                out[fix, j] = pivot + v * c + np.cross(axis, v) * s + axis * k_dot * (1.0 - c)
    return out


def planted(channel: np.ndarray, threshold: float, position: np.ndarray | None = None, fps: float = 20.0,
            floor: float = 0.0) -> np.ndarray:
    """(T,) bool plants from a predicted contact channel: one-frame gaps filled, one-frame plants dropped.

    With the joint's `position` (T, 3), a predicted plant also needs the joint near its lowest level (within
    PLANT_HEIGHT of its 5th-percentile height, itself at most MAX_REST over the floor) and slower than
    PLANT_SPEED: the channels sometimes call a foot planted in the middle of a kick.
    """
    contact = channel > threshold
    if position is not None and len(position) > 1:
        height = position[:, 1] - floor
        rest = min(float(np.percentile(height, 5)), MAX_REST)
        speed = np.linalg.norm(np.gradient(position, axis=0), axis=-1) * fps
        contact &= (height < rest + PLANT_HEIGHT) & (speed < PLANT_SPEED)
    one = np.ones(3, bool)
    contact = ndimage.binary_closing(contact, structure=one, border_value=0) | contact
    return ndimage.binary_opening(contact, structure=one)


@dataclass(frozen=True)
class FootTargets:
    ankle: np.ndarray      # (T, 3) where the ankle should go
    toe: np.ndarray        # (T, 3) where the toe should point (and be, when planted)
    weight: np.ndarray     # (T,) how much the foot is pinned (0: free)


def foot_targets(skeleton: Skeleton, joints: np.ndarray, ankle_on: np.ndarray, toe_on: np.ndarray, side: int,
                 blend: int, floor: float) -> FootTargets:
    """Lock positions of one foot. A plant is a run of frames where its ankle or its toe is planted, one
    placement of a rigid foot (`rigid_foot_locks`): an ankle-and-toe frame holds both locks, a toe-only frame
    (heel off) turns the foot about the locked toe, an ankle-only frame (heel strike) turns it about the locked
    ankle, both along the source's foot direction. Ankle and toe ease in and out of each plant together, as
    offsets from the source: easing them apart (the heel leaves and lands a frame or two before the toe) turned
    the foot up to 65 degrees a frame between two close plants, toe behind heel."""
    ankle, toe = (skeleton.feet_left, skeleton.feet_right)[side]
    length = skeleton.target_lengths[toe]
    foot_dir = normalize(joints[:, toe] - joints[:, ankle])
    ankle_at, toe_at = rigid_foot_locks(joints[:, ankle], joints[:, toe], ankle_on, toe_on, length, floor)
    toe_held = np.where(toe_on[:, None], toe_at, ankle_at + foot_dir * length)
    ankle_held = np.where(ankle_on[:, None], ankle_at, toe_at - foot_dir * length)
    toe_held[:, 1] = np.maximum(toe_held[:, 1], floor)
    ankle_held[:, 1] = np.maximum(ankle_held[:, 1], floor)
    on = ankle_on | toe_on
    toe_target, weight = ease_offsets(joints[:, toe], toe_held, on, blend)
    target, _ = ease_offsets(joints[:, ankle], ankle_held, on, blend)
    lift = step_clearance(toe_target, on, weight, floor)
    toe_target[:, 1] += lift
    target[:, 1] = np.maximum(target[:, 1] + lift, floor)
    return FootTargets(target, toe_target, weight)


STEP_CLEARANCE = (0.25, 0.06)  # a step between plants lifts its toe by this share of its travel, at most this (m)


def step_clearance(toe: np.ndarray, on: np.ndarray, weight: np.ndarray | None, floor: float) -> np.ndarray:
    """(T,) heights to add to a foot between two plants so that the step clears the floor: an arc (a half-sine
    clipped at half height, so the foot is up from the step's first frames), up to STEP_CLEARANCE of the toe's
    travel across the gap, less what the toe already lifts. Generated shuffles move a foot 30-45 cm between
    close plants with the toe under 2 cm: without it the foot skims the floor. With `weight` (the ease towards
    the plants) only gaps eased all through are lifted; longer ones are the source's own swing."""
    lift = np.zeros(len(toe))
    labels, count = ndimage.label(~on)
    for gap in range(1, count + 1):
        frames = np.flatnonzero(labels == gap)
        first, last = frames[0], frames[-1]
        if first == 0 or last == len(on) - 1 or (weight is not None and not (weight[frames] > 0).all()):
            continue
        travel = float(np.linalg.norm(toe[last + 1, [0, 2]] - toe[first - 1, [0, 2]]))
        want = min(STEP_CLEARANCE[0] * travel, STEP_CLEARANCE[1])
        have = float(toe[frames, 1].max()) - floor
        if want > have:
            arc = np.sin(np.pi * (np.arange(len(frames)) + 1) / (len(frames) + 1))
            lift[frames] = (want - have) * np.minimum(1.0, 2.0 * arc)
    return lift


def rigid_foot_locks(ankle: np.ndarray, toe: np.ndarray, ankle_on: np.ndarray, toe_on: np.ndarray, length: float,
                     floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Ankle and toe tracks (T, 3) with each plant replaced by one placement of a rigid foot.

    A plant is a run of frames where the ankle or the toe is planted; the toe's lock is its mean position over
    the plant's toe frames, the ankle's is its mean over the ankle frames moved onto the sphere of the foot's
    length around the toe's lock, so a heel that lifts and lands again inside one plant never drags the toe.
    """
    labels, count = ndimage.label(ankle_on | toe_on)
    if count == 0:
        return ankle, toe

    def plant_means(pos: np.ndarray, on: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums = np.zeros((count + 1, 3))
        np.add.at(sums, labels[on], pos[on])
        n = np.bincount(labels[on], minlength=count + 1)
        return sums / np.maximum(n, 1)[:, None], n > 0

    toe_lock, has_toe = plant_means(toe, toe_on)
    ankle_lock, has_ankle = plant_means(ankle, ankle_on)
    toe_lock[:, 1] = np.maximum(toe_lock[:, 1], floor)
    both = has_toe & has_ankle
    ankle_lock[both] = toe_lock[both] + length * normalize(ankle_lock[both] - toe_lock[both])
    ankle_lock[:, 1] = np.maximum(ankle_lock[:, 1], floor)
    return (np.where(ankle_on[:, None], ankle_lock[labels], ankle),
            np.where(toe_on[:, None], toe_lock[labels], toe))


def reach_drop(skeleton: Skeleton, joints: np.ndarray, targets: list[FootTargets]) -> np.ndarray:
    """(T,) how far to lower the body, smooth in time, so that every pinned ankle is within the leg's reach."""
    lengths = skeleton.target_lengths
    need = np.zeros(len(joints))
    for side, tg in enumerate(targets):
        ankle = (skeleton.feet_left, skeleton.feet_right)[side][0]
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        reach = REACH * (lengths[knee] + lengths[ankle])
        d = joints[:, hip] - tg.ankle
        flat2 = d[:, 0] ** 2 + d[:, 2] ** 2
        # lowest hip height over the target that is within reach (a target right under the hip needs no drop)
        allowed = np.sqrt(np.maximum(reach ** 2 - flat2, 0.0))
        need = np.maximum(need, np.where(tg.weight > 0, np.maximum(d[:, 1] - allowed, 0.0) * tg.weight, 0.0))
    if not need.any():
        return need
    smooth = ndimage.gaussian_filter1d(ndimage.maximum_filter1d(need, 5, mode="nearest"), 1.5, mode="nearest")
    return np.maximum(smooth, need)


def contacts_on_the_ground(skeleton: Skeleton, joints: np.ndarray, contacts: np.ndarray, fps: float,
                           floor: float) -> np.ndarray:
    """(T, 4) plants: `contacts` plus the frames where the locked foot joints are on the floor
    (`quality.feet_on_the_floor`) and slower than `quality.CONTACT_SPEED` for two frames or more, each plant grown
    over the stay on the floor it belongs to. The channels miss some of these, and a plant eased in and out just
    inside such a stay slid the foot there: over 40 prompts 95% of the cleaned motions' skating was in the ease
    ramps and in missed plants."""
    speed = np.linalg.norm(np.gradient(joints[:, foot_joint_ids(skeleton)], axis=0), axis=-1) * fps
    grounded = feet_on_the_floor(joints, skeleton, floor) & (speed < CONTACT_SPEED)
    out = contacts.copy()
    for f in range(grounded.shape[1]):
        stay = ndimage.binary_opening(grounded[:, f], structure=np.ones(2, bool))
        labels, _ = ndimage.label(stay | contacts[:, f])
        out[:, f] = labels > 0
    return out


def lock_feet(skeleton: Skeleton, joints: np.ndarray, contacts: np.ndarray, forward: np.ndarray,
              blend: int, floor: float) -> np.ndarray:
    """Pin planted ankles/toes with a two-bone leg IK (lengths kept); the body is lowered where a pinned foot
    would be out of reach."""
    out = joints.copy()
    lengths = skeleton.target_lengths
    targets = [foot_targets(skeleton, joints, contacts[:, 2 * side], contacts[:, 2 * side + 1], side, blend, floor)
               for side in (0, 1)]
    drop = reach_drop(skeleton, joints, targets)
    out[..., 1] -= drop[:, None]
    for side, tg in enumerate(targets):
        ankle, toe = (skeleton.feet_left, skeleton.feet_right)[side]
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        foot_dir = normalize(joints[:, toe] - joints[:, ankle])
        target = np.where((tg.weight > 0)[:, None], tg.ankle, out[:, ankle])
        target[:, 1] = np.maximum(target[:, 1], floor)
        moved = (tg.weight > 0) | (out[:, ankle, 1] < floor) | (drop > 0)
        if not moved.any():
            continue
        hint = knee_bend_hint(out[:, hip], out[:, knee], out[:, ankle], forward, lengths[knee])
        new_knee, new_ankle = two_bone_ik(out[:, hip], hint, target, lengths[knee], lengths[ankle], forward)
        out[moved, knee], out[moved, ankle] = new_knee[moved], new_ankle[moved]
        new_dir = np.where((tg.weight > 0)[:, None], normalize(tg.toe - out[:, ankle]), foot_dir)
        out[moved, toe] = (out[:, ankle] + new_dir * lengths[toe])[moved]
        out[:, toe] = toe_above_floor(out[:, ankle], out[:, toe], lengths[toe], floor)
    return out


def toe_above_floor(ankle: np.ndarray, toe: np.ndarray, length: float, floor: float) -> np.ndarray:
    """Toe positions (T, 3) turned up about the ankle where they would be under the floor (length kept)."""
    low = toe[:, 1] < floor
    if not low.any():
        return toe
    out = toe.copy()
    dy = np.clip((floor - ankle[low, 1]) / length, -1.0, 1.0)
    flat = (toe[low] - ankle[low]) * np.array([1.0, 0.0, 1.0])
    flat = normalize(np.where(np.linalg.norm(flat, axis=-1, keepdims=True) > 1e-9, flat, [0.0, 0.0, 1.0]))
    out[low] = ankle[low] + length * (flat * np.sqrt(1.0 - dy ** 2)[:, None] + np.array([0.0, 1.0, 0.0]) * dy[:, None])
    return out


def floor_lift(joints: np.ndarray, floor: float) -> np.ndarray:
    """(T,) upward offsets, smooth in time, that put every joint on or above the floor."""
    need = np.maximum(0.0, floor - joints[..., 1].min(axis=1))
    if not need.any():
        return need
    smooth = ndimage.gaussian_filter1d(ndimage.maximum_filter1d(need, 5, mode="nearest"), 1.5, mode="nearest")
    return np.maximum(smooth, need)


# ------------------------------------------------------------------------------------------ the pipeline

def check_motion_features(features: np.ndarray) -> tuple[np.ndarray, Skeleton]:
    feats = np.asarray(features, np.float64)
    if feats.ndim != 2 or len(feats) < 1:
        raise MotionInputError(f"expected features of shape (T, 263) or (T, 251), got {feats.shape}")
    try:
        skeleton = skeleton_for_feature_dim(feats.shape[-1])
    except ValueError as err:
        raise MotionInputError(str(err)) from None
    if not np.all(np.isfinite(feats)):
        raise MotionInputError("the motion contains NaN or inf values")
    return feats, skeleton


def cleanup_inputs(features: np.ndarray, fps: float = 20.0, options: CleanupOptions | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Skeleton]:
    """What the clean-up reads from features: (raw joints (T, J, 3), plants (T, 4) bool, body forward (T, 3),
    skeleton). Control (`backend.generate.control`) moves the raw joints and the forward vectors first."""
    opts = options or CleanupOptions()
    feats, skeleton = check_motion_features(features)
    raw = features_to_joints(feats, skeleton)
    lay = FeatureLayout(skeleton.num_joints)
    feet = [*skeleton.feet_left, *skeleton.feet_right]
    contacts = np.stack([planted(feats[:, lay.contacts][:, i], opts.contact_threshold, raw[:, j], fps, opts.floor)
                         for i, j in enumerate(feet)], 1)
    r_rot, _ = recover_root(feats)
    forward = qrot(qinv(r_rot), np.broadcast_to([0.0, 0.0, 1.0], (len(feats), 3)))
    return raw, contacts, forward, skeleton


def root_scale_for(skeleton: Skeleton, raw: np.ndarray, fps: float = 20.0,
                   options: CleanupOptions | None = None) -> float:
    """The factor `clean_motion` scales the root path by: target over the clip's (filtered) leg length."""
    opts = options or CleanupOptions()
    if not opts.scale_root:
        return 1.0
    smooth = jitter_filter(raw, fps, opts.slow_cutoff, opts.fast_cutoff, opts.slow_speed, opts.fast_speed)
    return float(np.clip(target_leg_length(skeleton) / max(leg_length(skeleton, smooth), 1e-6), 0.8, 1.25))


def clean_joints(skeleton: Skeleton, raw: np.ndarray, contacts: np.ndarray, forward: np.ndarray, fps: float = 20.0,
                 options: CleanupOptions | None = None, root_scale: float | None = None) -> CleanupResult:
    """Steps 1-4 of the module doc on raw joints (T, J, 3) with their plants (T, 4) and forward vectors (T, 3)."""
    opts = options or CleanupOptions()
    smooth = jitter_filter(raw, fps, opts.slow_cutoff, opts.fast_cutoff, opts.slow_speed, opts.fast_speed)
    scale = 1.0
    if root_scale is not None:
        scale = float(root_scale)
    elif opts.scale_root:
        scale = float(np.clip(target_leg_length(skeleton) / max(leg_length(skeleton, smooth), 1e-6), 0.8, 1.25))
    if scale != 1.0:
        rel = smooth - smooth[:, :1]
        root = smooth[:, 0].copy()
        root[:, [0, 2]] *= scale
        root[:, 1] = opts.floor + (root[:, 1] - opts.floor) * scale
        smooth = root[:, None] + rel
    rigid = limit_hinges(skeleton, rigid_fit(skeleton, smooth))
    joints = lock_feet(skeleton, rigid, contacts, forward, opts.blend_frames, opts.floor)
    joints[..., 1] += floor_lift(joints, opts.floor)[:, None]
    found = contacts_on_the_ground(skeleton, joints, contacts, fps, opts.floor)
    if (found & ~contacts).any():  # the channels missed some: lock again with them
        contacts = found
        joints = lock_feet(skeleton, rigid, contacts, forward, opts.blend_frames, opts.floor)
        joints[..., 1] += floor_lift(joints, opts.floor)[:, None]
    return CleanupResult(joints, raw, contacts, scale)


def clean_motion(features: np.ndarray, fps: float = 20.0, options: CleanupOptions | None = None,
                 root_scale: float | None = None) -> CleanupResult:
    """Cleaned joints of HumanML3D features (T, D); see the module doc for the steps.

    `root_scale` fixes the root path's scale (default: from the clip's own leg length); an edit passes the
    input's, so the untouched frames land where they were.
    """
    raw, contacts, forward, skeleton = cleanup_inputs(features, fps, options)
    return clean_joints(skeleton, raw, contacts, forward, fps, options, root_scale)
