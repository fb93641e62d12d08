"""Programmatic checks of what a prompt asks for, measured on SMPL-22 joints (T, 22, 3).

The joints are in the motion's own frame (Y up, metres, the character starts facing +Z with +X its
left), as `features_to_joints` returns them. Each check returns a `CheckResult`: whether it passed,
the measured value and a short phrase saying what was measured, so a failing prompt can be read.
Directions follow the corpus's conventions: a left turn is counterclockwise seen from above and a
positive heading change. Thresholds are lenient on purpose: they ask "did it do the thing at all",
the way an animator would judge at a glance, not "did it do it well".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.motion.kinematics import heading_yaw
from backend.motion.skeleton import SMPL22

J = {name: i for i, name in enumerate(SMPL22.joint_names)}
FEET = [J["l_ankle"], J["l_foot"], J["r_ankle"], J["r_foot"]]
FPS = 20.0


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    value: float
    what: str


Check = Callable[[np.ndarray], CheckResult]


def _facing0(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit forward and left vectors (xz) of the first frames' heading."""
    yaw = float(np.median(heading_yaw(SMPL22, joints[: min(5, len(joints))])))
    fwd = np.array([np.sin(yaw), np.cos(yaw)])
    return fwd, np.array([fwd[1], -fwd[0]])  # left (+X when facing +Z): the heading turned 90 deg left


def _yaw(joints: np.ndarray) -> np.ndarray:
    return np.degrees(heading_yaw(SMPL22, joints, smooth_sigma=2.0))


def _side_joints(side: str, part: str) -> list[int]:
    sides = {"left": ["l"], "right": ["r"], "both": ["l", "r"], "either": ["l", "r"]}[side]
    return [J[f"{s}_{part}"] for s in sides]


# ---------------------------------------------------------------------------------------- locomotion

def travel(direction: str = "any", min_m: float = 0.0, max_m: float | None = None) -> Check:
    """Root displacement from the first to the last frame: forward/backward/left/right in the starting
    heading, 'any' (its length) or 'none' (stays within max_m)."""
    def check(joints: np.ndarray) -> CheckResult:
        d = joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]
        fwd, left = _facing0(joints)
        value = {"forward": d @ fwd, "backward": -(d @ fwd), "left": d @ left, "right": -(d @ left),
                 "any": float(np.linalg.norm(d)), "none": float(np.linalg.norm(d))}[direction]
        ok = value <= (max_m if max_m is not None else np.inf) if direction == "none" else value >= min_m
        if direction != "none" and max_m is not None:
            ok = ok and value <= max_m
        return CheckResult(bool(ok), float(value), f"travel {direction} (m)")
    return check


def speed(min_ms: float = 0.0, max_ms: float = np.inf) -> Check:
    """Cruising speed: the fastest mean horizontal root speed over any 1 s window (the whole clip when
    shorter), so that starting from and ending in a standing pose does not count against a run."""
    def check(joints: np.ndarray) -> CheckResult:
        xz = joints[:, 0, [0, 2]]
        w = min(int(FPS), len(xz) - 1)
        if w < 1:
            return CheckResult(min_ms <= 0.0 <= max_ms, 0.0, "cruising speed (m/s)")
        step = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xz, axis=0), axis=-1))])
        value = float(np.max(step[w:] - step[:-w]) * FPS / w)
        return CheckResult(min_ms <= value <= max_ms, value, "cruising speed (m/s)")
    return check


def turn(side: str, min_deg: float, max_deg: float = np.inf) -> Check:
    """Heading change from start to end (left = counterclockwise = positive)."""
    def check(joints: np.ndarray) -> CheckResult:
        yaw = _yaw(joints)
        change = float(np.median(yaw[-5:]) - np.median(yaw[:5]))
        value = {"left": change, "right": -change, "any": abs(change)}[side]
        return CheckResult(min_deg <= value <= max_deg, value, f"turn {side} (deg)")
    return check


def circle(side: str, min_deg: float = 270.0) -> Check:
    """Cumulative turn of the walking direction: a circle turns about 360 degrees one way."""
    def check(joints: np.ndarray) -> CheckResult:
        xz = joints[:, 0, [0, 2]]
        step = np.diff(xz, axis=0)
        moving = np.linalg.norm(step, axis=-1) > 0.2 / FPS
        ang = np.unwrap(np.arctan2(step[moving, 0], step[moving, 1])) if moving.sum() > 3 else np.zeros(2)
        total = float(np.degrees(ang[-1] - ang[0]))
        value = total if side in ("left", "counterclockwise") else -total
        return CheckResult(value >= min_deg, value, f"path turns {side} (deg)")
    return check


# ------------------------------------------------------------------------------------------- arms

def wrist_above_head(side: str, margin: float = 0.03) -> Check:
    """Some frame where the wrist(s) are above the head ('both' and 'either' as the words say)."""
    def check(joints: np.ndarray) -> CheckResult:
        head = joints[:, J["head"], 1]
        above = np.stack([joints[:, w, 1] - head for w in _side_joints(side, "wrist")], axis=-1)
        per_frame = above.min(-1) if side == "both" else above.max(-1)
        value = float(per_frame.max())
        return CheckResult(value > margin, value, f"{side} wrist above head (m)")
    return check


def wave(side: str) -> Check:
    """The hand raised above the shoulder and swung side to side (at least two reversals) while raised."""
    def check(joints: np.ndarray) -> CheckResult:
        best = 0
        for w, s in zip(_side_joints(side, "wrist"), _side_joints(side, "shoulder"), strict=True):
            raised = joints[:, w, 1] > joints[:, s, 1] + 0.05
            if raised.sum() < 6:
                continue
            fwd, left = _facing0(joints)
            lateral = (joints[:, w, [0, 2]] - joints[:, s, [0, 2]]) @ left
            v = np.diff(lateral)[raised[1:]]
            v = v[np.abs(v) > 0.004]
            best = max(best, int(np.sum(np.diff(np.sign(v)) != 0)))
        return CheckResult(best >= 2, float(best), f"{side} hand waves (direction reversals while raised)")
    return check


def punch(side: str, reach: float = 0.4) -> Check:
    """The wrist thrown out in front of the shoulder at about shoulder height."""
    def check(joints: np.ndarray) -> CheckResult:
        best = 0.0
        for w, s in zip(_side_joints(side, "wrist"), _side_joints(side, "shoulder"), strict=True):
            yaw = np.radians(_yaw(joints))
            fwd = np.stack([np.sin(yaw), np.cos(yaw)], -1)
            ahead = np.sum((joints[:, w, [0, 2]] - joints[:, s, [0, 2]]) * fwd, -1)
            level = np.abs(joints[:, w, 1] - joints[:, s, 1]) < 0.3
            if level.any():
                best = max(best, float(ahead[level].max()))
        return CheckResult(best >= reach, float(best), f"{side} wrist reach in front of the shoulder (m)")
    return check


def hand_low(max_height: float = 0.45) -> Check:
    """A wrist comes down near the floor (picking something up, touching the toes)."""
    def check(joints: np.ndarray) -> CheckResult:
        value = float(joints[:, [J["l_wrist"], J["r_wrist"]], 1].min())
        return CheckResult(value <= max_height, value, "lowest wrist height (m)")
    return check


def hands_at_mouth(max_dist: float = 0.2) -> Check:
    """A wrist brought near the head (drinking, eating, a phone at the ear)."""
    def check(joints: np.ndarray) -> CheckResult:
        d = np.linalg.norm(joints[:, [J["l_wrist"], J["r_wrist"]]] - joints[:, None, J["head"]], axis=-1)
        value = float(d.min())
        return CheckResult(value <= max_dist, value, "closest wrist to head (m)")
    return check


# ------------------------------------------------------------------------------------------- legs

def _floor(joints: np.ndarray) -> float:
    return float(np.percentile(joints[:, FEET, 1].min(-1), 5))


def jumps(count: int | None = None, min_count: int = 1, clearance: float = 0.05) -> Check:
    """Airborne phases (every foot joint above the floor by `clearance` for >= 2 frames) with the pelvis
    rising; exactly `count` of them, or at least `min_count`."""
    def check(joints: np.ndarray) -> CheckResult:
        air = joints[:, FEET, 1].min(-1) > _floor(joints) + clearance
        edges = np.diff(np.concatenate([[0], air.astype(int), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        n = int(np.sum(ends - starts >= 2))
        ok = n == count if count is not None else n >= min_count
        return CheckResult(ok, float(n), "jumps (airborne phases)")
    return check


def foot_lift(side: str, height: float = 0.25) -> Check:
    """The ankle of `side` lifted above the floor, higher than the other one."""
    def check(joints: np.ndarray) -> CheckResult:
        floor = _floor(joints)
        l = joints[:, J["l_ankle"], 1].max() - floor
        r = joints[:, J["r_ankle"], 1].max() - floor
        value = float(l if side == "left" else r)
        other = float(r if side == "left" else l)
        return CheckResult(value >= height and value > other + 0.05, value, f"{side} ankle lift (m)")
    return check


def kick(side: str, reach: float = 0.35) -> Check:
    """The foot swung out in front of the pelvis and up (a kick)."""
    def check(joints: np.ndarray) -> CheckResult:
        a = J["l_ankle" if side == "left" else "r_ankle"]
        yaw = np.radians(_yaw(joints))
        fwd = np.stack([np.sin(yaw), np.cos(yaw)], -1)
        ahead = np.sum((joints[:, a, [0, 2]] - joints[:, 0, [0, 2]]) * fwd, -1)
        up = joints[:, a, 1] - _floor(joints)
        value = float(np.max(np.minimum(ahead, up + 0.2)))
        return CheckResult(value >= reach, value, f"{side} foot in front and up (m)")
    return check


# --------------------------------------------------------------------------------------- whole body

def pelvis_drop(min_drop: float, hold_end: bool = False) -> Check:
    """The pelvis goes down by `min_drop` from its start height (and is still down at the end)."""
    def check(joints: np.ndarray) -> CheckResult:
        y = joints[:, 0, 1]
        start = float(np.median(y[:5]))
        low = float(np.median(y[-max(len(y) // 6, 3):])) if hold_end else float(y.min())
        value = start - low
        return CheckResult(value >= min_drop, value, "pelvis drop" + (" at the end" if hold_end else "") + " (m)")
    return check


def pelvis_low(max_height: float) -> Check:
    """The pelvis comes down to `max_height` (sitting on the floor, kneeling, crawling)."""
    def check(joints: np.ndarray) -> CheckResult:
        value = float(joints[:, 0, 1].min() - _floor(joints))
        return CheckResult(value <= max_height, value, "lowest pelvis height (m)")
    return check


def head_low(max_height: float, share: float = 0.0) -> Check:
    """The head comes down to `max_height` (lying down), for at least `share` of the frames if given."""
    def check(joints: np.ndarray) -> CheckResult:
        h = joints[:, J["head"], 1] - _floor(joints)
        value = float(np.mean(h <= max_height)) if share else float(h.min())
        ok = value >= share if share else value <= max_height
        return CheckResult(bool(ok), value, "share of frames with the head low" if share else "lowest head (m)")
    return check


def root_rise(min_m: float, down: bool = False) -> Check:
    """The pelvis ends higher (stairs up, onto a box) or lower (stairs down) than it started."""
    def check(joints: np.ndarray) -> CheckResult:
        y = joints[:, 0, 1]
        change = float(np.median(y[-5:]) - np.median(y[:5]))
        value = -change if down else change
        return CheckResult(value >= min_m, value, "pelvis " + ("fall" if down else "rise") + " start to end (m)")
    return check


def still(max_travel: float = 0.4) -> Check:
    """Stays in place: root displacement at most `max_travel`."""
    return travel("none", max_m=max_travel)


def all_of(*checks: Check) -> Check:
    def check(joints: np.ndarray) -> CheckResult:
        results = [c(joints) for c in checks]
        failed = [r for r in results if not r.passed]
        first = failed[0] if failed else results[0]
        return CheckResult(not failed, first.value, " and ".join(r.what for r in results))
    return check


def in_sequence(*checks: Check, overlap: float = 0.15) -> Check:
    """Each check on its share of the clip in order (equal parts, widened by `overlap` each side): what a
    'then' composition asks for."""
    def check(joints: np.ndarray) -> CheckResult:
        n, k = len(joints), len(checks)
        results = []
        for i, c in enumerate(checks):
            a = max(int((i / k - overlap / k) * n), 0)
            b = min(int(((i + 1) / k + overlap / k) * n), n)
            results.append(c(joints[a:b]))
        failed = [r for r in results if not r.passed]
        first = failed[0] if failed else results[0]
        return CheckResult(not failed, first.value, " then ".join(r.what for r in results))
    return check
