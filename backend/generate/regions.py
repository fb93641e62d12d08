"""Editing regions: frame ranges and joint selections mapped onto the token map, and feature pasting.

The token map has one row per `time_factor` frames and one column per joint, per body-part group, or
(1D models) a single column; an auxiliary whole-body column, when the model has one, belongs to every
edit. `joint_columns` says which column each joint lives in.
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionInputError
from ..motion.features import FeatureLayout
from ..motion.parts import token_joint_order
from ..runtime.base import GeneratorInfo


def joint_columns(info: GeneratorInfo, num_joints: int) -> tuple[np.ndarray, bool]:
    """(column of each joint (J,), whether the map has an auxiliary whole-body column)."""
    vq = info.extra.get("vq", {})
    aux = vq.get("root_stream") == "aux" and vq.get("kind", "joint2d") == "joint2d"
    if vq.get("kind") == "body1d" or info.columns == 1:
        return np.zeros(num_joints, int), False
    joint_down = int(vq.get("joint_down", 0))
    if joint_down == 0:
        return np.arange(num_joints), aux
    order = token_joint_order(num_joints, joint_down, vq.get("joint_order", "parts"))
    group = 2 ** joint_down
    cols = np.zeros(num_joints, int)
    for pos, j in enumerate(order):
        if j >= 0:
            cols[j] = pos // group
    return cols, aux


def parse_frames(spec: str | None, total: int) -> tuple[int, int]:
    """'A:B' (either side may be empty) -> [a, b) inside [0, total); None -> the whole motion."""
    if spec is None or spec.strip() in ("", ":"):
        return 0, total
    a_str, sep, b_str = spec.partition(":")
    if not sep:
        raise MotionInputError(f"frame range {spec!r} is not A:B")
    try:
        a = int(a_str) if a_str.strip() else 0
        b = int(b_str) if b_str.strip() else total
    except ValueError:
        raise MotionInputError(f"frame range {spec!r} is not A:B with integers") from None
    check_frames(a, b, total)
    return a, b


def check_frames(a: int, b: int, total: int) -> None:
    if not 0 <= a < b <= total:
        raise MotionInputError(f"frame range {a}:{b} is outside the motion's {total} frames (need 0 <= A < B <= T)")


def token_region(info: GeneratorInfo, frames: tuple[int, int], joints: list[int], num_joints: int,
                 rows: int) -> np.ndarray:
    """Editable token positions (rows, columns): rows touching the frame range x columns of the joints."""
    a, b = frames
    tf = info.time_factor
    editable = np.zeros((rows, info.columns), bool)
    cols, aux = joint_columns(info, num_joints)
    sel_cols = sorted({int(cols[j]) for j in joints})
    if aux:
        sel_cols.append(info.columns - 1)
    r0, r1 = a // tf, min(-(-b // tf), rows)
    editable[r0:r1, sel_cols] = True
    return editable


def feature_mask(num_joints: int, joints: list[int]) -> np.ndarray:
    """(D,) bool: the feature dims that belong to the selected joints (root trajectory with joint 0, the
    foot contacts with the feet)."""
    lay = FeatureLayout(num_joints)
    dim = lay.dim
    mask = np.zeros(dim, bool)
    sel = set(joints)
    if 0 in sel:
        mask[lay.root] = True
        mask[np.arange(dim)[lay.vel][0:3]] = True
    for j in sel - {0}:
        mask[np.arange(dim)[lay.ric][(j - 1) * 3:(j - 1) * 3 + 3]] = True
        mask[np.arange(dim)[lay.rot][(j - 1) * 6:(j - 1) * 6 + 6]] = True
        mask[np.arange(dim)[lay.vel][j * 3:j * 3 + 3]] = True
    if _touches_feet(num_joints, sel):
        mask[lay.contacts] = True
    return mask


def _touches_feet(num_joints: int, sel: set[int]) -> bool:
    from ..motion.skeleton import skeleton_for_feature_dim

    sk = skeleton_for_feature_dim(FeatureLayout(num_joints).dim)
    return bool(sel & set(sk.feet_left + sk.feet_right))


def paste(original: np.ndarray, generated: np.ndarray, frames: tuple[int, int], dims: np.ndarray,
          blend: int = 4) -> np.ndarray:
    """Original features everywhere except the edited dims inside [a, b), where the generated ones go.

    At each border the generated values are shifted by the gap to the original, and the shift fades over
    `blend` frames into the region, so the edit starts and ends where the untouched motion is.
    """
    a, b = frames
    out = original.copy()
    region = generated[a:b].copy()
    n = b - a
    ramp = np.clip(1.0 - np.arange(n) / max(blend, 1), 0.0, 1.0)[:, None]
    if a > 0:
        region += ramp * (original[a] - generated[a])[None]
    if b < len(original):
        region += ramp[::-1] * (original[b - 1] - generated[b - 1])[None]
    out[a:b, dims] = region[:, dims]
    return out
