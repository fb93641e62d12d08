"""Named body parts and joint selections for editing, and the part-grouped token order of the VQ-VAE.

A selection is a set of joint indices of one skeleton. Users name joints (`r_wrist`, `l_knee`) or parts
(`right_arm`, `lower_body`); unknown names are an input error that lists what is valid.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.errors import MotionInputError

from .skeleton import Skeleton

_SMPL_PARTS = {
    "torso": (0, 3, 6, 9),
    "head": (12, 15),
    "spine": (0, 3, 6, 9, 12, 15),
    "left_leg": (1, 4, 7, 10),
    "right_leg": (2, 5, 8, 11),
    "left_arm": (13, 16, 18, 20),
    "right_arm": (14, 17, 19, 21),
}
_KIT_PARTS = {
    "torso": (0, 1, 2),
    "head": (3, 4),
    "spine": (0, 1, 2, 3, 4),
    "left_arm": (5, 6, 7),
    "right_arm": (8, 9, 10),
    "left_leg": (11, 12, 13, 14, 15),
    "right_leg": (16, 17, 18, 19, 20),
}


def body_parts(skeleton: Skeleton) -> dict[str, tuple[int, ...]]:
    """Part name -> joint indices, including the unions arms, legs, upper_body, lower_body."""
    base = dict(_SMPL_PARTS if skeleton.num_joints == 22 else _KIT_PARTS)
    base["arms"] = base["left_arm"] + base["right_arm"]
    base["legs"] = base["left_leg"] + base["right_leg"]
    base["upper_body"] = tuple(sorted(set(base["spine"][1:] + base["arms"])))
    base["lower_body"] = tuple(sorted(set((base["spine"][0],) + base["legs"])))
    base["whole_body"] = tuple(range(skeleton.num_joints))
    return base


def resolve_selection(skeleton: Skeleton, joints: Iterable[str] | None = None,
                      parts: Iterable[str] | None = None) -> list[int]:
    """Sorted joint indices named by joint names and/or part names (case-insensitive)."""
    names = {n.lower(): i for i, n in enumerate(skeleton.joint_names)}
    table = body_parts(skeleton)
    chosen: set[int] = set()
    for name in joints or ():
        key = name.strip().lower()
        if key not in names:
            raise MotionInputError(f"unknown joint {name!r}; valid joints: {', '.join(skeleton.joint_names)}")
        chosen.add(names[key])
    for name in parts or ():
        key = name.strip().lower().replace("-", "_")
        if key not in table:
            raise MotionInputError(f"unknown body part {name!r}; valid parts: {', '.join(sorted(table))}")
        chosen.update(table[key])
    if not chosen and (joints or parts):
        raise MotionInputError("the joint selection is empty")
    return sorted(chosen)


def token_joint_order(num_joints: int, joint_down: int, joint_order: str = "parts") -> list[int]:
    """Joint order along the VQ-VAE's joint axis (-1 = padding) for `joint_down` stride-2 groupings."""
    if joint_down == 0:
        return list(range(num_joints))
    if joint_order == "parts":
        return part_token_order(num_joints)
    return list(range(num_joints)) + [-1] * ((-num_joints) % (2 ** joint_down))


def part_token_order(num_joints: int) -> list[int]:
    """Joint order (with -1 for padding) so that stride-2 x2 grouping makes one token per body part.

    SMPL-22 -> 6 groups of 4: torso, head (+2 pads), left leg, right leg, left arm, right arm; editing a
    limb then touches exactly one token column. Other skeletons keep their order, padded to a multiple of 4.
    """
    if num_joints == 22:
        p = _SMPL_PARTS
        return [*p["torso"], *p["head"], -1, -1, *p["left_leg"], *p["right_leg"], *p["left_arm"], *p["right_arm"]]
    return list(range(num_joints)) + [-1] * ((-num_joints) % 4)
