"""JSON for responses that carry motions: fast, exact float arrays.

A 196-frame motion is ~64k numbers. `json.dumps(array.tolist())` writes each float32 with 17 digits and is
slow; '%.9g' is the shortest fixed format that round-trips every float32 exactly, so a client that reads
the numbers back as float32 gets the server's arrays bit for bit (the CLI's `--server` parity relies on it).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..generate.motion import GeneratedMotion

_FORMATS = {np.dtype(np.float32): "%.9g", np.dtype(np.float16): "%.5g"}


def array_json(arr: np.ndarray) -> str:
    arr = np.asarray(arr)
    if arr.dtype.kind != "f":
        return json.dumps(arr.tolist())
    if not np.all(np.isfinite(arr)):
        raise ValueError("non-finite values cannot be written as JSON")
    fmt = _FORMATS.get(arr.dtype, "%.17g")
    if arr.ndim == 0:
        return fmt % arr.item()
    if arr.size == 0:
        return json.dumps(arr.tolist())
    rows = arr.reshape(-1, arr.shape[-1])
    row_fmt = "[" + ",".join([fmt] * arr.shape[-1]) + "]"
    flat = [row_fmt % tuple(r) for r in rows.tolist()]
    for size in reversed(arr.shape[:-1]):  # regroup rows into the leading dimensions
        flat = ["[" + ",".join(flat[i:i + size]) + "]" for i in range(0, len(flat), size)]
    return flat[0]


def motion_dict(motion: GeneratedMotion) -> dict[str, Any]:
    return {"joints": motion.joints, "features": motion.features, "fps": float(motion.fps),
            "seconds": round(float(motion.seconds), 4), "prompt": motion.prompt, "seed": int(motion.seed),
            "meta": motion.meta}


def to_json(obj: Any) -> str:
    """JSON text of dicts/lists/scalars holding numpy arrays and `GeneratedMotion`s anywhere."""
    if isinstance(obj, GeneratedMotion):
        return to_json(motion_dict(obj))
    if isinstance(obj, np.ndarray):
        return array_json(obj)
    if isinstance(obj, dict | list | tuple):
        try:  # plain data (e.g. a retarget result's nested lists) in one C-level call
            return json.dumps(obj, allow_nan=False, separators=(",", ":"))
        except TypeError:  # holds arrays or motions: write it piece by piece
            pass
        if isinstance(obj, dict):
            return "{" + ",".join(json.dumps(str(k)) + ":" + to_json(v) for k, v in obj.items()) + "}"
        return "[" + ",".join(to_json(v) for v in obj) + "]"
    if isinstance(obj, np.generic):
        return to_json(obj.item())
    if hasattr(obj, "to_dict"):
        return to_json(obj.to_dict())
    return json.dumps(obj, allow_nan=False)
