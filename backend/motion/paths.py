"""Root path warping: put a motion's pelvis ground track on a requested curve and keep the body's own motion.

Each frame is moved by one rigid transform about the vertical axis through the pelvis: a translation of the
pelvis' ground point onto the requested position and a turn by the change of travel direction (the path's
tangent minus the motion's own direction of travel), so a walk turns to follow a curve, a side-step stays a
side-step and a backwards walk stays backwards. Where the motion stands still but the path moves, the body turns
to face along the path; where the path stands still, the last turn is held (interpolated between moving spans).
Outside the path's time span the motion continues from the path's ends with its own steps, turned alike.

A warp (and a keyframe blend) moves planted feet with the body; `plant_feet`, the last step of control, pins
grounded feet where they touch down and steps them when the body has carried them away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .constraints import PathConstraint

MOVING = 0.25          # m/s: slower than this a track counts as standing
TURN_SMOOTH = 2.0      # frames: Gaussian sigma of the turn track


@dataclass(frozen=True)
class PathWarp:
    turn: np.ndarray        # (T,) yaw change (rad) applied about the pelvis
    source: np.ndarray      # (T, 2) the motion's own pelvis ground track
    target: np.ndarray      # (T, 2) where the pelvis goes


def yaw_of(vectors: np.ndarray) -> np.ndarray:
    """Yaw (rad) of direction vectors (..., 3) or ground (x, z) (..., 2): 0 facing +Z, +pi/2 facing +X."""
    v = np.asarray(vectors)
    x, z = (v[..., 0], v[..., 2]) if v.shape[-1] == 3 else (v[..., 0], v[..., 1])
    return np.arctan2(x, z)


def turn_y(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points (T, ..., 3) turned about +Y by `angle` (T,) (a direction of yaw a gets yaw a + angle)."""
    c, s = np.cos(angle), np.sin(angle)
    shape = (len(angle),) + (1,) * (points.ndim - 2)
    c, s = c.reshape(shape), s.reshape(shape)
    out = points.copy()
    out[..., 0] = points[..., 0] * c + points[..., 2] * s
    out[..., 2] = points[..., 2] * c - points[..., 0] * s
    return out


def turn_xz(ground: np.ndarray, angle: float) -> np.ndarray:
    """Ground vectors (N, 2) as (x, z) turned about +Y by one angle."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([ground[:, 0] * c + ground[:, 1] * s, ground[:, 1] * c - ground[:, 0] * s], axis=1)


def _speed_and_yaw(track: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    vel = np.gradient(track, axis=0) * fps if len(track) > 1 else np.zeros_like(track)
    return np.linalg.norm(vel, axis=1), np.arctan2(vel[:, 0], vel[:, 1])


def _fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unwrapped angles where `known`, linearly interpolated (held at the ends) elsewhere; 0 if none known."""
    if not known.any():
        return np.zeros(len(values))
    idx = np.flatnonzero(known)
    return np.interp(np.arange(len(values)), idx, np.unwrap(values[idx]))


def plan_warp(source: np.ndarray, heading: np.ndarray, path: PathConstraint, fps: float) -> PathWarp:
    """The warp of a motion whose pelvis ground track is `source` (T, 2) and body yaw `heading` (T,)."""
    frames = len(source)
    inside, wanted = path.sample(frames, fps)
    target = source.copy()
    target[inside] = wanted
    sp, yaw_p = _speed_and_yaw(target[inside], fps) if len(inside) else (np.zeros(0), np.zeros(0))
    sg, yaw_g = _speed_and_yaw(source, fps)
    turn = np.zeros(frames)
    known = np.zeros(frames, bool)
    if len(inside):
        moving = sp > MOVING
        walking = moving & (sg[inside] > MOVING)
        delta = np.where(walking, yaw_p - yaw_g[inside], yaw_p - heading[inside])
        turn[inside] = delta
        known[inside] = moving
    turn = _fill(turn, known)
    if len(inside) and TURN_SMOOTH > 0:
        turn = ndimage.gaussian_filter1d(turn, TURN_SMOOTH, mode="nearest")
    if len(inside):  # outside the span: the motion's own steps, turned, from the path's ends
        first, last = inside[0], inside[-1]
        before, after = np.arange(first), np.arange(last + 1, frames)
        if len(before):
            target[before] = target[first] + turn_xz(source[before] - source[first], turn[first])
        if len(after):
            target[after] = target[last] + turn_xz(source[after] - source[last], turn[last])
    return PathWarp(turn, source.copy(), target)


def apply_warp(joints: np.ndarray, warp: PathWarp) -> np.ndarray:
    """Joints (T, J, 3) moved by the warp (each frame turned about its pelvis and put on the target)."""
    ground = np.zeros((len(joints), 1, 3))
    ground[:, 0, [0, 2]] = warp.source
    out = turn_y(joints - ground, warp.turn)
    out[..., 0] += warp.target[:, None, 0]
    out[..., 2] += warp.target[:, None, 1]
    return out


STRIDE_LIMIT = 1.5     # the most a warp's speed-up lengthens (or its slow-down shortens) the strides
STRIDE_SMOOTH = 5.0    # frames: Gaussian sigma of the speed tracks the stride factor comes from


def stride_factor(warp: PathWarp, fps: float) -> np.ndarray:
    """(T,) how much faster the warp moves the pelvis than the motion's own gait (1 where either stands)."""
    def speed(track):
        smooth = ndimage.gaussian_filter1d(track, STRIDE_SMOOTH, axis=0, mode="nearest")
        return _speed_and_yaw(smooth, fps)[0]
    own, asked = speed(warp.source), speed(warp.target)
    walking = (own > MOVING) & (asked > MOVING)
    ratio = np.where(walking, asked / np.maximum(own, 1e-9), 1.0)
    return np.clip(ndimage.gaussian_filter1d(ratio, STRIDE_SMOOTH, mode="nearest"), 1 / STRIDE_LIMIT, STRIDE_LIMIT)


def scale_strides(skeleton, joints: np.ndarray, warp: PathWarp, forward: np.ndarray, fps: float) -> np.ndarray:
    """Warped joints (T, J, 3) whose legs take strides as long as the new pace needs.

    A warp that carries a walk faster than it steps leaves the planted foot sliding at the difference (the v2
    model walks about 0.8 m/s; a path asking 1.3 m/s slid the stance feet at 0.5 m/s). The feet's offsets from the
    pelvis along the direction of travel are scaled by `stride_factor`, so a stance foot moves back under the body
    at the new pace and stays put on the ground; the knees are re-solved by two-bone IK (hips, pelvis and upper
    body untouched; a foot beyond reach gets a straight leg towards it)."""
    from .retarget.contacts import knee_bend_hint, two_bone_ik

    factor = stride_factor(warp, fps)
    if np.abs(factor - 1.0).max() < 1e-3:
        return joints.copy()
    out = np.asarray(joints, np.float64).copy()
    vel = np.gradient(ndimage.gaussian_filter1d(warp.target, STRIDE_SMOOTH, axis=0, mode="nearest"), axis=0)
    travel = np.zeros((len(out), 3))
    travel[:, [0, 2]] = vel / np.maximum(np.linalg.norm(vel, axis=1, keepdims=True), 1e-9)
    for ankle, toe in (skeleton.feet_left, skeleton.feet_right):
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        upper = float(np.linalg.norm(out[:, knee] - out[:, hip], axis=-1).mean())
        lower = float(np.linalg.norm(out[:, ankle] - out[:, knee], axis=-1).mean())
        along = np.einsum("ti,ti->t", out[:, ankle] - out[:, 0], travel)
        shift = ((factor - 1.0) * along)[:, None] * travel
        toe_vec = out[:, toe] - out[:, ankle]
        hint = knee_bend_hint(out[:, hip], out[:, knee], out[:, ankle], forward, upper)
        new_knee, new_ankle = two_bone_ik(out[:, hip], hint, out[:, ankle] + shift, upper, lower, forward)
        out[:, knee], out[:, ankle] = new_knee, new_ankle
        out[:, toe] = new_ankle + toe_vec
    return out


def path_errors(joints: np.ndarray, path: PathConstraint, fps: float) -> np.ndarray:
    """Pelvis ground distance (m) to the path at each frame inside its span."""
    inside, wanted = path.sample(len(joints), fps)
    return np.linalg.norm(joints[inside, 0][:, [0, 2]] - wanted, axis=1)


# ------------------------------------------------------------------------------------------ planted feet

FOOT_DOWN = 0.04      # m over a foot joint's resting level: the foot is on the ground
STAND_SPEED = 1.5     # m/s: a grounded foot slower than this stands; faster, it is a low swing
CARRIED_SPEED = 0.5   # m/s: a grounded foot this close to the pelvis' velocity is carried along; it stands too
STRIDE = 0.2          # m: a planted foot steps once the motion has carried its place this far from it
STEP_PER_FRAME = 0.15  # m: average travel per frame of a step (its length sets its frames, 3..MAX_STEP)
MAX_STEP = 10         # frames
LIFT = 0.06           # m: the highest lift of a step (half its length for short ones, at least MIN_LIFT)
MIN_LIFT = 0.035      # m: a step is a step (off the ground), not a slide
CATCH_UP = 0.06       # m per frame a released foot gains on the motion's own (swinging) foot
LEG_REACH = 0.95      # share of the leg's length a planted ankle may be from the hip before the foot steps
OVERSTRETCH = 0.05    # m past that (or past the motion's own straight leg) a foot steps even if the other is up
LEAD_TIME = 0.15      # s: a step lands where the motion carries its foot this much later (a carried foot lands
                      # ahead, as a walker's does, instead of under the body; a still foot lands where it is)
MAX_LEAD = 0.5        # m


def _ease(u: float) -> float:
    """Step progress: between linear and smoothstep, so a step never crawls at its ends."""
    return 0.5 * (u + u * u * (3.0 - 2.0 * u))


@dataclass
class _Foot:
    mode: str = "free"            # free (as given), planted (at lock), step (lock -> landing), release (-> given)
    lock: np.ndarray | None = None  # (2, 3) ankle and toe
    start: int = 0
    end: int = 0
    origin: np.ndarray | None = None
    landing: np.ndarray | None = None


def _leads(foot: np.ndarray, fps: float) -> np.ndarray:
    """(T, 3) ground offset a step started at each frame adds to its landing: the foot's velocity over the 3
    frames before it times LEAD_TIME, at most MAX_LEAD (zero for a foot the motion keeps still, about a quarter
    stride for one the body carries at walking pace)."""
    ankle = foot[:, 0]
    back = np.maximum(np.arange(len(ankle)) - 3, 0)
    frames = np.maximum(np.arange(len(ankle)) - back, 1)[:, None]
    lead = (ankle - ankle[back]) / frames * LEAD_TIME * fps
    lead[:, 1] = 0.0
    size = np.linalg.norm(lead, axis=1, keepdims=True)
    return np.where(size > MAX_LEAD, lead * (MAX_LEAD / np.maximum(size, 1e-12)), lead)


def _reachable(lead: np.ndarray, ankle: np.ndarray, hip: np.ndarray, reach: float) -> np.ndarray:
    """The lead shortened (in quarters) until the landed ankle is within the leg's reach of the hip, so a step
    never lands where the next frame would step again."""
    for share in (1.0, 0.75, 0.5, 0.25):
        if np.linalg.norm(hip - (ankle + share * lead)) <= reach:
            return share * lead
    return np.zeros(3)


def _arrive(foot: np.ndarray, stand: np.ndarray, keyed: np.ndarray) -> np.ndarray:
    """The foot track (T, 2, 3) eased, before each stand that holds a keyed frame, onto the keyed place: the foot
    touches down where the key wants it and stays, instead of shuffling there once planted."""
    out = foot.copy()
    labels, _ = ndimage.label(stand)
    done: set[int] = set()
    for a in keyed:
        run = int(labels[a])
        if run == 0 or run in done:
            continue
        done.add(run)
        start = int(np.flatnonzero(labels == run)[0])
        shift = foot[a] - foot[start]
        wander = np.linalg.norm((foot[start:a + 1] - foot[a])[..., [0, 2]], axis=-1).max()
        if np.abs(shift).max() < 1e-9 or wander > STRIDE:  # the motion walks on meanwhile: it steps there
            continue
        n = int(np.clip(np.ceil(np.linalg.norm(shift, axis=1).max() / CATCH_UP), 1, MAX_STEP))
        first = max(start - n, int(keyed[keyed < start].max()) + 1 if (keyed < start).any() else 0)
        ramp = np.array([_ease((t - (start - n)) / n) for t in range(first, start + 1)])
        out[first:start + 1] = foot[first:start + 1] + ramp[:, None, None] * shift
        out[start:a] = foot[a]
    return out


def plant_feet(skeleton, joints: np.ndarray, forward: np.ndarray, fps: float,
               anchors: dict[int, np.ndarray] | None = None, floor: float = 0.0) -> np.ndarray:
    """Joints (T, J, 3) whose grounded feet stay where they touch down, stepping when the body carries them away.

    A warp onto a path or a keyframe blend moves every frame, so a foot the motion had planted slides with it (and a
    body carried faster than its gait glides on its feet). Here a foot that is on the ground (ankle or toe within
    FOOT_DOWN of its resting level) and slower than STAND_SPEED is pinned where it touched down; it steps (lifted,
    3..MAX_STEP frames) to where the motion puts it once that place is STRIDE away or the pinned ankle leaves the
    leg's reach, one foot at a time; when the motion lifts the foot it is eased back onto the motion's track.
    `anchors` {side (0 left, 1 right): frames} are frames where the foot must be exactly as given (keyed feet):
    a pinned foot steps onto the keyed place in time and a step never runs past one. Legs are re-solved with a
    two-bone IK (hips, so the pelvis path and the upper body, untouched)."""
    from .cleanup import step_clearance, toe_above_floor
    from .retarget.contacts import knee_bend_hint, two_bone_ik

    joints = np.asarray(joints, np.float64)
    frames = len(joints)
    if frames < 3:
        return joints.copy()
    parents = np.maximum(np.asarray(skeleton.parents), 0)
    lengths = np.linalg.norm(joints - joints[:, parents], axis=-1).mean(axis=0)
    sides = []
    for side, (ankle, toe) in enumerate((skeleton.feet_left, skeleton.feet_right)):
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        foot = joints[:, [ankle, toe]]                                     # (T, 2, 3)
        height = foot[..., 1] - floor
        rest = np.minimum(np.percentile(height, 5, axis=0), 0.12)
        down = (height < rest + FOOT_DOWN).any(axis=1)
        speed = np.linalg.norm(np.gradient(foot.mean(axis=1)[:, [0, 2]], axis=0), axis=1) * fps
        keyed = np.sort(np.asarray((anchors or {}).get(side, []), int))
        # a low foot that moves with the pelvis is carried (a gliding gait), not swung: it stands too
        carried = np.linalg.norm(np.gradient(foot.mean(axis=1)[:, [0, 2]] - joints[:, 0][:, [0, 2]], axis=0),
                                 axis=1) * fps < CARRIED_SPEED
        stand = down & ((speed < STAND_SPEED) | carried)
        arrived = _arrive(foot, stand, keyed)
        sides.append((ankle, toe, knee, hip, arrived, stand, keyed, _leads(arrived, fps)))
    state = [_Foot(), _Foot()]
    placed = [s[4].copy() for s in sides]
    pinned = [np.zeros(frames, bool), np.zeros(frames, bool)]  # frames each foot is held planted

    def next_anchor(keyed: np.ndarray, t: int) -> int | None:
        i = np.searchsorted(keyed, t, side="right")
        return int(keyed[i]) if i < len(keyed) else None

    for t in range(frames):
        for side, (ankle, toe, knee, hip, foot, stand, keyed, leads) in enumerate(sides):
            st, other = state[side], state[1 - side]
            given = foot[t]
            if st.mode in ("step", "release") and t >= st.end:
                st.mode = "planted" if st.mode == "step" else "free"
                st.lock = st.landing if st.mode == "planted" else None
            if t in keyed:  # exactly as given; a planted foot is pinned here from now on
                placed[side][t] = given
                if st.mode != "free" or stand[t]:
                    st.mode, st.lock = ("planted", given.copy()) if stand[t] else ("free", None)
                continue
            if st.mode == "free":
                if stand[t]:
                    st.mode, st.lock = "planted", given.copy()
                placed[side][t] = given
                continue
            if st.mode == "planted":
                anchor = next_anchor(keyed, t)
                gap = float(np.linalg.norm((given - st.lock)[:, [0, 2]], axis=1).max())
                if not stand[t]:  # the motion lifts (or swings) the foot: back onto its track from this frame on
                    n = int(np.clip(np.ceil(np.linalg.norm(given - st.lock, axis=1).max() / CATCH_UP), 1, MAX_STEP))
                    if anchor is not None:
                        n = min(n, anchor - t + 1)
                    st.mode, st.start, st.end = "release", t - 1, t - 1 + n
                    st.origin, st.landing = st.lock - given, None
                    if n <= 1:
                        st.mode, st.lock = "free", None
                        placed[side][t] = given
                        continue
                else:
                    own = float(np.linalg.norm(joints[t, hip] - joints[t, ankle]))  # a standing leg is straight
                    stretch = float(np.linalg.norm(joints[t, hip] - st.lock[0])
                                    - max(LEG_REACH * (lengths[knee] + lengths[ankle]), own))
                    n = int(np.clip(np.ceil(gap / STEP_PER_FRAME), 3, MAX_STEP))
                    to_anchor = (anchor is not None and stand[anchor] and anchor - t <= n
                                 and np.abs(foot[anchor] - st.lock).max() > 0.01)
                    standing_on = other.mode not in ("step", "release")  # one foot in the air at a time
                    # the motion put the foot somewhere else and keeps it there: step over; a foot the body
                    # carries along (a warp faster than the gait) stays planted until the leg runs out of reach
                    lead = leads[t]
                    moved_away = gap > STRIDE and float(np.linalg.norm(lead)) < MOVING * LEAD_TIME
                    if (to_anchor or stretch > OVERSTRETCH
                            or (standing_on and (moved_away or stretch > 0.01))):
                        if to_anchor:
                            lead = np.zeros(3)
                        else:
                            n = int(np.clip(np.ceil(np.linalg.norm((foot[min(t - 1 + n, frames - 1), 0] + lead
                                                                    - st.lock[0])[[0, 2]]) / STEP_PER_FRAME),
                                            3, MAX_STEP))
                        end = min(t - 1 + n, frames - 1)
                        if anchor is not None:
                            end = min(end, anchor)
                        if end > t:  # under way from this frame on
                            st.mode, st.start, st.end, st.origin = "step", t - 1, end, st.lock
                            reach = max(LEG_REACH * (lengths[knee] + lengths[ankle]),
                                        float(np.linalg.norm(joints[end, hip] - joints[end, ankle])))
                            st.landing = foot[end] + _reachable(lead, foot[end, 0], joints[end, hip], reach)
            if st.mode == "planted":
                placed[side][t] = st.lock
                pinned[side][t] = True
                continue
            u = (t - st.start) / max(st.end - st.start, 1)
            s = _ease(u)
            if st.mode == "release":  # the motion's foot plus the pinned offset, faded out (foot kept rigid)
                ankle_at, toe_at = given + (1.0 - s) * st.origin
                vec = toe_at - ankle_at
                placed[side][t] = np.stack([ankle_at, ankle_at + vec / max(float(np.linalg.norm(vec)), 1e-9)
                                            * lengths[toe]])
                continue
            target = st.landing
            ankle_at = st.origin[0] + s * (target[0] - st.origin[0])
            vec = (st.origin[1] - st.origin[0]) + s * ((target[1] - target[0]) - (st.origin[1] - st.origin[0]))
            vec = vec / max(float(np.linalg.norm(vec)), 1e-9) * lengths[toe]
            span = float(np.linalg.norm((target[0] - st.origin[0])[[0, 2]]))
            ankle_at = ankle_at + np.array([0.0, float(np.clip(0.5 * span, MIN_LIFT, LIFT)) * np.sin(np.pi * u), 0.0])
            placed[side][t] = np.stack([ankle_at, ankle_at + vec])
    out = joints.copy()
    for side, (ankle, toe, knee, hip, *_) in enumerate(sides):
        # a foot that swings between two plants (the motion's own low swing, sped up by a warp) clears the floor
        placed[side][..., 1] += step_clearance(placed[side][:, 1], pinned[side], None, floor)[:, None]
        moved = np.abs(placed[side] - joints[:, [ankle, toe]]).max(axis=(1, 2)) > 1e-9
        if not moved.any():
            continue
        hint = knee_bend_hint(out[moved, hip], out[moved, knee], out[moved, ankle], forward[moved], lengths[knee])
        new_knee, new_ankle = two_bone_ik(out[moved, hip], hint, placed[side][moved, 0], lengths[knee],
                                          lengths[ankle], forward[moved])
        out[moved, knee], out[moved, ankle] = new_knee, new_ankle
        out[moved, toe] = new_ankle + (placed[side][moved, 1] - placed[side][moved, 0])
        out[:, toe] = toe_above_floor(out[:, ankle], out[:, toe], lengths[toe], floor)
    return out
