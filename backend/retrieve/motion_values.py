"""The one check of motion arrays from outside (files, request bodies): shape, finite values, magnitude.

Every path by which a motion enters (a file added to the library from the CLI or by the server's
/v1/library/add job, a motion query, a motion in an HTTP body) goes through `check_motion_values`, so a
file of 1e30 values is refused wherever it comes from instead of being embedded (where it ranked first
for everything). Joint positions are metres and feature values metres, radians or their per-frame
differences; nothing a person does comes near MAX_ABS_VALUE.
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionInputError

MAX_ABS_VALUE = 1e6


def check_motion_values(arr: np.ndarray, name: str, tail: tuple[int, ...] | None = None,
                        where: str | None = None) -> np.ndarray:
    """`arr` unchanged when it is (T, *tail) with T >= 1 (any shape without `tail`), every value finite and
    within ±MAX_ABS_VALUE; else MotionInputError naming `name` (and the file `where`)."""
    arr = np.asarray(arr)
    if tail is not None and (arr.ndim != 1 + len(tail) or tuple(arr.shape[1:]) != tuple(tail) or len(arr) == 0):
        expected = ", ".join(["T", *(str(n) for n in tail)])
        raise MotionInputError(f"{name} must be ({expected}), got {arr.shape}", where)
    if arr.dtype.kind not in "fiub":
        raise MotionInputError(f"{name} must hold numbers, not {arr.dtype}", where)
    if arr.size and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise MotionInputError(f"{name} contains NaN or inf values", where)
        if not np.all(np.abs(arr) < MAX_ABS_VALUE):
            raise MotionInputError(f"{name} has values beyond ±{MAX_ABS_VALUE:g}: not a motion", where)
    elif arr.size and np.abs(arr.astype(np.float64)).max() >= MAX_ABS_VALUE:
        raise MotionInputError(f"{name} has values beyond ±{MAX_ABS_VALUE:g}: not a motion", where)
    return arr
