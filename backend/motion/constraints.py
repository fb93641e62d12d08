"""Control constraints (a root path, keyframes) read and checked in one place for the CLI, HTTP and the add-on.

Everything is in the motion's own frame: Y up, metres, the character starts at the origin facing +Z, +X is its
left, frames at the model's 20 fps.

- **Path**: the pelvis passes over ground position (x, z) at time t. Given as points `[[t, x, z], ...]` (seconds,
  metres; a smooth monotone cubic between them, so a held point is a stop, not an overshoot) or dense, one (x, z)
  per frame from t = 0 (`.npy` of shape (T, 2)).
- **Keyframes**: `frames` (K,) ints, `joints` (K, J, 3) poses, optional `mask` (K, J) bool: which joints of each
  keyframe are constrained (default all; e.g. only the right wrist for an end-effector target).

`Constraints.checked(frames)` validates against a motion length; `needed_frames()` gives the shortest motion the
constraints fit in. Every problem raises `MotionInputError` with a message that names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..errors import MotionInputError

FPS = 20.0
MAX_SPEED = 10.0        # m/s: faster than a sprint
MAX_POINTS = 10_000
MAX_KEYFRAMES = 200
NUM_JOINTS = 22


@dataclass(frozen=True, eq=False)
class PathConstraint:
    times: np.ndarray   # (N,) seconds, strictly increasing, >= 0
    xz: np.ndarray      # (N, 2) metres

    @property
    def end_time(self) -> float:
        return float(self.times[-1])

    def sample(self, frames: int, fps: float = FPS) -> tuple[np.ndarray, np.ndarray]:
        """(frame indices inside the path's time span (F,), ground positions there (F, 2))."""
        t = np.arange(frames) / fps
        inside = np.flatnonzero((t >= self.times[0] - 1e-9) & (t <= self.times[-1] + 1e-9))
        if len(self.times) == 2:
            w = ((t[inside] - self.times[0]) / (self.times[1] - self.times[0]))[:, None]
            return inside, self.xz[0] + w * (self.xz[1] - self.xz[0])
        curve = PchipInterpolator(self.times, self.xz, axis=0)
        return inside, curve(np.clip(t[inside], self.times[0], self.times[-1]))

    def max_speed(self) -> float:
        """Top speed (m/s) of the curve, sampled at 100 Hz and at the given points."""
        span = self.times[-1] - self.times[0]
        n = int(min(max(span * 100, 2), 100_000))
        t = np.linspace(self.times[0], self.times[-1], n + 1)
        if len(self.times) == 2:
            xz = self.xz[0] + ((t - self.times[0]) / span)[:, None] * (self.xz[1] - self.xz[0])
        else:
            xz = PchipInterpolator(self.times, self.xz, axis=0)(t)
        dense = np.linalg.norm(np.diff(xz, axis=0), axis=1) / np.diff(t)
        chords = np.linalg.norm(np.diff(self.xz, axis=0), axis=1) / np.diff(self.times)
        return float(max(dense.max(initial=0.0), chords.max(initial=0.0)))

    def to_json(self) -> dict[str, Any]:
        return {"points": [[float(t), float(x), float(z)] for t, (x, z) in zip(self.times, self.xz, strict=True)]}


@dataclass(frozen=True, eq=False)
class KeyframeConstraint:
    frames: np.ndarray  # (K,) int, strictly increasing
    joints: np.ndarray  # (K, J, 3)
    mask: np.ndarray    # (K, J) bool

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames.tolist(), "joints": self.joints.tolist(), "mask": self.mask.tolist()}


@dataclass(frozen=True, eq=False)
class Constraints:
    path: PathConstraint | None = None
    keyframes: KeyframeConstraint | None = None

    @property
    def empty(self) -> bool:
        return self.path is None and self.keyframes is None

    def needed_frames(self, fps: float = FPS) -> int:
        """The fewest frames that hold every constraint (0 when there is none)."""
        need = 0
        if self.path is not None:
            need = int(np.ceil(self.path.end_time * fps - 1e-6)) + 1
        if self.keyframes is not None:
            need = max(need, int(self.keyframes.frames.max()) + 1)
        return need

    def checked(self, frames: int, fps: float = FPS) -> Constraints:
        """Raise unless every constraint lies inside a motion of `frames` frames."""
        last = (frames - 1) / fps
        if self.path is not None and self.path.end_time > last + 1e-6:
            raise MotionInputError(f"the path runs to {self.path.end_time:g} s, beyond the motion's end at "
                                   f"{last:g} s ({frames} frames at {fps:g} fps)")
        if self.keyframes is not None:
            bad = self.keyframes.frames[self.keyframes.frames >= frames]
            if len(bad):
                raise MotionInputError(f"keyframe frame {int(bad[0])} is outside the motion's {frames} frames "
                                       f"(0..{frames - 1})")
        return self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.path is not None:
            out["path"] = self.path.to_json()
        if self.keyframes is not None:
            out["keyframes"] = self.keyframes.to_json()
        return out


# ------------------------------------------------------------------------------------------------- paths

def _finite_array(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionInputError(f"{what} must be numbers") from None
    if arr.dtype == object:
        raise MotionInputError(f"{what} must be numbers")
    if not np.all(np.isfinite(arr)):
        raise MotionInputError(f"{what} contain NaN or inf")
    return arr


def path_from_points(points: Any) -> PathConstraint:
    """A path from [[t, x, z], ...] (seconds, metres)."""
    arr = _finite_array(points, "path points")
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise MotionInputError(f"path points must be [[t, x, z], ...] (N, 3), got shape {arr.shape}")
    if not 2 <= len(arr) <= MAX_POINTS:
        raise MotionInputError(f"a path needs 2..{MAX_POINTS} points, got {len(arr)}")
    times = arr[:, 0]
    if times[0] < 0:
        raise MotionInputError(f"path times must be >= 0 s, got {times[0]:g}")
    steps = np.diff(times)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise MotionInputError(f"path times must increase: point {i + 1} is at {times[i + 1]:g} s after "
                               f"{times[i]:g} s")
    path = PathConstraint(times.copy(), arr[:, 1:].copy())
    speed = path.max_speed()
    if speed > MAX_SPEED:
        raise MotionInputError(f"the path is too fast: {speed:.1f} m/s at its fastest, over the {MAX_SPEED:g} m/s "
                               f"of a sprint")
    return path


def path_from_dense(xz: Any, fps: float = FPS) -> PathConstraint:
    """A path from one (x, z) per frame at `fps`, starting at t = 0."""
    arr = _finite_array(xz, "path positions")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise MotionInputError(f"a dense path must be (T, 2) ground positions (x, z), got shape {arr.shape}")
    t = np.arange(len(arr)) / fps
    return path_from_points(np.concatenate([t[:, None], arr], axis=1))


def path_from_json(value: Any) -> PathConstraint:
    """{"points": [[t, x, z], ...]} or {"dense": [[x, z], ...]} (at 20 fps)."""
    if isinstance(value, dict):
        keys = set(value) - {"fps"}
        if keys == {"points"}:
            return path_from_points(value["points"])
        if keys == {"dense"}:
            fps = value.get("fps", FPS)
            if fps != FPS:
                raise MotionInputError(f"a dense path must be at {FPS:g} fps, got {fps!r}")
            return path_from_dense(value["dense"])
    raise MotionInputError('a path must be {"points": [[t, x, z], ...]} or {"dense": [[x, z], ...]}')


def load_path(file: str | Path) -> PathConstraint:
    """P.json ({"points": ...}) or a dense (T, 2) .npy at 20 fps."""
    path = Path(file)
    if not path.is_file():
        raise MotionInputError("path file not found", str(path))
    try:
        if path.suffix.lower() == ".npy":
            return path_from_dense(np.load(path, allow_pickle=False))
        if path.suffix.lower() == ".json":
            return path_from_json(json.loads(path.read_text(encoding="utf-8")))
    except MotionInputError as err:
        raise MotionInputError(str(err), str(path)) from None
    except (ValueError, OSError) as err:
        raise MotionInputError(f"cannot read the path: {err}", str(path)) from None
    raise MotionInputError("a path file must be .json or .npy", str(path))


# --------------------------------------------------------------------------------------------- keyframes

def keyframes_from_arrays(frames: Any, joints: Any, mask: Any = None) -> KeyframeConstraint:
    try:
        f = np.asarray(frames)
    except (TypeError, ValueError):
        raise MotionInputError("keyframe frames must be integers") from None
    if f.ndim != 1 or not 1 <= len(f) <= MAX_KEYFRAMES:
        raise MotionInputError(f"keyframe frames must be (K,) with 1 <= K <= {MAX_KEYFRAMES}, got shape {f.shape}")
    if f.dtype.kind not in "iu":
        fl = _finite_array(f, "keyframe frames")
        if np.any(fl != np.round(fl)):
            raise MotionInputError("keyframe frames must be whole frame numbers (20 fps)")
        f = fl
    f = f.astype(np.int64)
    if np.any(f < 0):
        raise MotionInputError(f"keyframe frame {int(f[f < 0][0])} is before the motion's start (frame 0)")
    if len(np.unique(f)) != len(f):
        raise MotionInputError("keyframe frames must not repeat")
    k = len(f)
    if mask is None:
        m = np.ones((k, NUM_JOINTS), bool)
    else:
        m = np.asarray(mask)
        if m.shape != (k, NUM_JOINTS):
            raise MotionInputError(f"keyframe mask must be (K, {NUM_JOINTS}) = ({k}, {NUM_JOINTS}), got {m.shape}")
        if m.dtype != bool:
            if not np.all(np.isin(m, (0, 1))):
                raise MotionInputError("keyframe mask must be booleans")
            m = m.astype(bool)
        if not m.any():
            raise MotionInputError("the keyframe mask selects no joint")
        empty = np.flatnonzero(~m.any(axis=1))
        if len(empty):
            raise MotionInputError(f"the keyframe mask selects no joint at keyframe {int(empty[0])} "
                                   f"(frame {int(f[empty[0]])})")
    try:
        j = np.asarray(joints, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionInputError("keyframe joints must be numbers") from None
    if j.shape != (k, NUM_JOINTS, 3):
        raise MotionInputError(f"keyframe joints must be (K, {NUM_JOINTS}, 3) = ({k}, {NUM_JOINTS}, 3), "
                               f"got {j.shape}")
    if not np.all(np.isfinite(j[m])):
        raise MotionInputError("keyframe joints contain NaN or inf")
    j = np.where(m[..., None], j, 0.0)
    order = np.argsort(f)
    return KeyframeConstraint(f[order], j[order], m[order])


def keyframes_from_json(value: Any) -> KeyframeConstraint:
    if not isinstance(value, dict) or not {"frames", "joints"} <= set(value) or set(value) - {"frames", "joints",
                                                                                            "mask"}:
        raise MotionInputError('keyframes must be {"frames": [...], "joints": [[[x, y, z] x 22] ...], "mask"?}')
    return keyframes_from_arrays(value["frames"], value["joints"], value.get("mask"))


def load_keyframes(file: str | Path) -> KeyframeConstraint:
    """K.npz with `frames` (K,), `joints` (K, 22, 3) and optionally `mask` (K, 22)."""
    path = Path(file)
    if not path.is_file():
        raise MotionInputError("keyframes file not found", str(path))
    try:
        with np.load(path, allow_pickle=False) as z:
            if "frames" not in z or "joints" not in z:
                raise MotionInputError("a keyframes .npz needs 'frames' and 'joints'")
            return keyframes_from_arrays(z["frames"], z["joints"], z["mask"] if "mask" in z else None)
    except MotionInputError as err:
        raise MotionInputError(str(err), str(path)) from None
    except (ValueError, OSError) as err:
        raise MotionInputError(f"cannot read the keyframes: {err}", str(path)) from None


def constraints_from_json(path: Any = None, keyframes: Any = None) -> Constraints:
    """The HTTP fields `path` and `keyframes` (either may be None)."""
    return Constraints(None if path is None else path_from_json(path),
                       None if keyframes is None else keyframes_from_json(keyframes))
