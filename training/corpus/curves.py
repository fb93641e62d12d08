"""Time curves for the procedural corpus: easing, keyframe splines, smooth noise, ballistic heights.

Everything is sampled on a frame grid `t = arange(n) / fps`. Keyframe splines are monotone cubic (PCHIP)
so they never overshoot their keys; Hermite splines take explicit slopes where continuity of velocity
matters (take-off and landing of jumps).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicHermiteSpline

FPS = 20.0
GRAVITY = 9.81


def frame_times(n: int, fps: float = FPS) -> np.ndarray:
    return np.arange(n) / fps


def smoothstep(u: np.ndarray | float) -> np.ndarray:
    """C1 ease-in-out on [0, 1] (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def minjerk(u: np.ndarray | float) -> np.ndarray:
    """Minimum-jerk ease on [0, 1]: zero velocity and acceleration at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u * u)


def window(t: np.ndarray, start: float, end: float, ramp: float) -> np.ndarray:
    """0 -> 1 over [start, start+ramp], 1 until end-ramp, -> 0 at end (smooth)."""
    ramp = max(min(ramp, 0.5 * (end - start)), 1e-3)
    return smoothstep((t - start) / ramp) * smoothstep((end - t) / ramp)


def keys(t: np.ndarray, times: list[float] | np.ndarray, values: list | np.ndarray) -> np.ndarray:
    """Monotone cubic interpolation through (times, values); values (K,) or (K, ...). Held outside."""
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.concatenate([[True], np.diff(times) > 1e-6])
    times, values = times[keep], values[keep]
    if len(times) == 1:
        return np.broadcast_to(values[0], (len(t), *values.shape[1:])).copy()
    tc = np.clip(t, times[0], times[-1])
    return _pchip(times, values, tc)


def _pchip_edge(h0, h1, m0, m1):
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    mask = np.sign(d) != np.sign(m0)
    mmm = ~mask & (np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3.0 * np.abs(m0))
    d[mask] = 0.0
    d[mmm] = 3.0 * m0[mmm]
    return d


def _pchip(x: np.ndarray, y: np.ndarray, tc: np.ndarray) -> np.ndarray:
    """scipy's PchipInterpolator (same slopes: Fritsch-Carlson weighted harmonic means, Moler's one-sided
    ends) evaluated directly: the scipy object's set-up cost dominated thousands of short calls."""
    shape = y.shape[1:]
    y = y.reshape(len(x), -1)
    h = np.diff(x)[:, None]
    m = np.diff(y, axis=0) / h
    if len(x) == 2:
        d = np.concatenate([m, m], axis=0)
    else:
        sm = np.sign(m)
        cond = (sm[1:] != sm[:-1]) | (m[1:] == 0) | (m[:-1] == 0)
        w1 = 2 * h[1:] + h[:-1]
        w2 = h[1:] + 2 * h[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            whmean = (w1 / m[:-1] + w2 / m[1:]) / (w1 + w2)
            inner = np.where(cond, 0.0, 1.0 / whmean)
        d = np.empty_like(y)
        d[1:-1] = inner
        d[0] = _pchip_edge(h[0], h[1], m[0], m[1])
        d[-1] = _pchip_edge(h[-1], h[-2], m[-1], m[-2])
    i = np.clip(np.searchsorted(x, tc, side="right") - 1, 0, len(x) - 2)
    hi = h[i]
    u = ((tc - x[i])[:, None]) / hi
    u2, u3 = u * u, u * u * u
    out = ((2 * u3 - 3 * u2 + 1) * y[i] + (u3 - 2 * u2 + u) * hi * d[i]
           + (-2 * u3 + 3 * u2) * y[i + 1] + (u3 - u2) * hi * d[i + 1])
    return out.reshape(len(tc), *shape)


def hermite(t: np.ndarray, times: list[float], values: list[float], slopes: list[float]) -> np.ndarray:
    """Cubic Hermite spline through (times, values) with the given slopes, held outside."""
    tc = np.clip(t, times[0], times[-1])
    return CubicHermiteSpline(np.asarray(times, float), np.asarray(values, float), np.asarray(slopes, float))(
        tc
    )


def smooth_noise(
    rng: np.random.Generator,
    n: int,
    dims: int = 1,
    fmin: float = 0.1,
    fmax: float = 0.8,
    terms: int = 4,
    fps: float = FPS,
) -> np.ndarray:
    """(n, dims) smooth zero-mean noise of unit-ish amplitude: a sum of random low-frequency sinusoids."""
    t = frame_times(n, fps)[:, None, None]
    freq = rng.uniform(fmin, fmax, size=(1, dims, terms))
    phase = rng.uniform(0, 2 * np.pi, size=(1, dims, terms))
    amp = rng.uniform(0.5, 1.0, size=(1, dims, terms))
    out = np.sum(amp * np.sin(2 * np.pi * freq * t + phase), axis=-1)
    return out / np.sqrt(0.5 * np.sum(amp**2, axis=-1))


def ballistic_flight(
    t: np.ndarray, t0: float, t1: float, y0: float, y1: float
) -> tuple[np.ndarray, float, float]:
    """Height of a projectile leaving y0 at t0 and landing at y1 at t1; returns (y(t), v_takeoff, v_land)."""
    dur = t1 - t0
    v0 = (y1 - y0) / dur + 0.5 * GRAVITY * dur
    tau = t - t0
    return y0 + v0 * tau - 0.5 * GRAVITY * tau**2, v0, v0 - GRAVITY * dur


def ballistic_height(
    t: np.ndarray, knots: list[tuple[float, float]], flights: list[tuple[float, float]]
) -> np.ndarray:
    """Pelvis height with exact parabolas in flight and smooth Hermite arcs on the ground.

    knots: (time, height) keys on the ground (take-off and landing heights included); flights: (t_takeoff,
    t_landing) intervals whose ends are knots. Ground arcs take the flight's velocity at its ends and zero
    slope at the other keys, so velocity is continuous through take-off and landing.
    """
    knots = sorted(knots, key=lambda k: k[0])
    times = [k[0] for k in knots]
    vals = [k[1] for k in knots]
    slopes = [0.0] * len(knots)
    index = {round(k[0], 6): i for i, k in enumerate(knots)}
    flight_curves = []
    for t0, t1 in flights:
        i0, i1 = index[round(t0, 6)], index[round(t1, 6)]
        y, v0, v1 = ballistic_flight(t, t0, t1, vals[i0], vals[i1])
        slopes[i0], slopes[i1] = v0, v1
        flight_curves.append((t0, t1, y))
    out = hermite(t, times, vals, slopes)
    for t0, t1, y in flight_curves:
        inside = (t > t0) & (t < t1)
        out[inside] = y[inside]
    return out


def unwrap_lerp(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """Interpolate angles along the shortest arc."""
    d = (b - a + np.pi) % (2 * np.pi) - np.pi
    return a + d * u
