"""The per-bone rotation solve, vectorised over frames.

Each mapped bone gets a world-space "delta" D(t) (a quaternion per frame): the rotation from its rest
orientation to its posed orientation, in armature space. Bones nobody maps keep their rest pose
relative to their parent, so they share the delta of the nearest mapped ancestor. A bone's delta is
its parent's delta, then the shortest swing that turns the carried rest direction onto the source
direction, then a twist about that direction (see `plan.py` for where twists come from). Blender's
pose quaternion follows as basis = R_rest^-1 D_parent^-1 D R_rest.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import SMPL22
from .plan import BonePlan, segment_sum
from .rotmath import dot, hold_blend, qaxis_angle, qbetween, qconj, qmul, qrot, signed_angle, smoothstep, unit

# a bend (or left line) is trusted fully above the upper angle and not at all below the lower one
_TRUST_SIN = (np.sin(np.deg2rad(5.0)), np.sin(np.deg2rad(20.0)))


def source_vectors(plans: list[BonePlan], points: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Aim directions and twist references (T, 3) per SMPL joint, from joints (T, 22, 3) in armature axes."""
    by_joint = {name: points[:, i] for i, name in enumerate(SMPL22.joint_names)}
    directions: dict[str, np.ndarray] = {}
    references: dict[str, np.ndarray] = {}
    for plan in plans:
        if plan.aim is None:
            continue
        directions[plan.joint] = unit(by_joint[plan.aim[1]] - by_joint[plan.aim[0]])
        if plan.twist_refs:
            references[plan.joint] = unit(segment_sum(by_joint, plan.twist_refs))
    return directions, references


def solve_bone(plan: BonePlan, parent: np.ndarray | None, direction: np.ndarray | None,
               reference: np.ndarray | None) -> np.ndarray | None:
    """World delta (T, 4) of one bone; None means identity (a bone that only follows a root at rest)."""
    if plan.aim is None:
        return parent
    carried = np.broadcast_to(plan.rest_dir, direction.shape) if parent is None else qrot(parent, plan.rest_dir)
    if plan.hinge is not None and parent is not None:
        base = qmul(_hinge_then_swing(qrot(parent, plan.hinge), carried, direction), parent)
    else:
        base = qbetween(carried, direction)
        if parent is not None:
            base = qmul(base, parent)
    if not plan.twist_refs:
        return base
    rest_side = qrot(base, plan.rest_ref)
    measured = reference - dot(reference, direction)[:, None] * direction
    size = np.sqrt(dot(measured, measured))
    angle = signed_angle(rest_side, measured / np.maximum(size, 1e-12)[:, None], direction)
    # a bend is only trusted while the limb is bent; a straight limb keeps the last trusted twist
    twist = hold_blend(angle, smoothstep(size, *_TRUST_SIN)) if plan.bend else angle
    return qmul(qaxis_angle(direction, twist), base)


def _hinge_then_swing(axis: np.ndarray, carried: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Rotation (T, 4) taking `carried` onto `direction`: first about the hinge `axis` by the angle between
    their projections on the hinge plane, then the (small) shortest arc for whatever is out of plane."""
    def flat(v: np.ndarray) -> np.ndarray:
        return unit(v - dot(v, axis)[:, None] * axis)

    bend = qaxis_angle(axis, signed_angle(flat(carried), flat(direction), axis))
    return qmul(qbetween(qrot(bend, carried), direction), bend)


def solve_deltas(plans: list[BonePlan], directions: dict[str, np.ndarray], references: dict[str, np.ndarray],
                 deltas: list[np.ndarray | None] | None = None, only: set[int] | None = None,
                 ) -> list[np.ndarray | None]:
    """Deltas for all plans in order (parents first); with `only`, re-solve just those plan indices."""
    out: list[np.ndarray | None] = [None] * len(plans) if deltas is None else list(deltas)
    for k, plan in enumerate(plans):
        if only is not None and k not in only:
            continue
        parent = out[plan.parent] if plan.parent >= 0 else None
        out[k] = solve_bone(plan, parent, directions.get(plan.joint), references.get(plan.joint))
    return out


def basis_rotations(plans: list[BonePlan], deltas: list[np.ndarray | None], rest_quats: np.ndarray,
                    frames: int) -> np.ndarray:
    """Blender pose-bone quaternions (T, len(plans), 4): relative to rest, in each bone's own frame."""
    out = np.zeros((frames, len(plans), 4))
    out[..., 0] = 1.0
    for k, plan in enumerate(plans):
        delta = deltas[k]
        parent = deltas[plan.parent] if plan.parent >= 0 else None
        if delta is None or delta is parent:
            continue
        relative = delta if parent is None else qmul(qconj(parent), delta)
        r = rest_quats[plan.bone]
        out[:, k] = qmul(qmul(qconj(r), relative), r)
    return out
