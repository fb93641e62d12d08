"""A rig's rest pose as Blender describes it: bone names, parents and rest matrices in armature space.

`armature_from_dict` accepts what the Blender add-on sends: per bone either (head, tail, roll) as in
edit mode, or `matrix` (Blender's `bone.matrix_local`, 4x4 row-major) plus `length`. Rest matrices are
rigid: the columns of the 3x3 part are the bone's X, Y, Z axes, Y points from head to tail, the
translation is the head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ...errors import MotionInputError
from ..rotations import matrix_to_quat

MAX_BONES = 1000
UP_AXES = {"X": (1.0, 0, 0), "Y": (0, 1.0, 0), "Z": (0, 0, 1.0),
           "-X": (-1.0, 0, 0), "-Y": (0, -1.0, 0), "-Z": (0, 0, -1.0)}
_ORTHONORMAL_TOL = 1e-3
# Blender's thresholds for bones pointing (almost) along -Y (armature.cc, vec_roll_to_mat3_normalized)
_SAFE_THETA = 6.1e-3
_CRITICAL_XZ = 2.5e-4


@dataclass(frozen=True, eq=False)  # holds numpy arrays: compare by identity
class Armature:
    """Bones in topological order (every parent before its children)."""

    names: tuple[str, ...]
    parents: np.ndarray          # (N,) int, -1 for root bones
    rest: np.ndarray             # (N, 4, 4) float64 rest matrices in armature space
    lengths: np.ndarray          # (N,) bone lengths (armature units)
    up: str = "Z"                # declared up axis of armature space
    connected: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (N,) Blender use_connect
    index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.index.update({n: i for i, n in enumerate(self.names)})
        if len(self.connected) != len(self.names):
            object.__setattr__(self, "connected", np.zeros(len(self.names), bool))

    @property
    def num_bones(self) -> int:
        return len(self.names)

    @property
    def heads(self) -> np.ndarray:
        return self.rest[:, :3, 3]

    @property
    def tails(self) -> np.ndarray:
        return self.heads + self.rest[:, :3, 1] * self.lengths[:, None]

    @cached_property
    def rest_quats(self) -> np.ndarray:
        """(N, 4) wxyz rotations of the rest matrices."""
        return matrix_to_quat(self.rest[:, :3, :3])

    @property
    def up_vector(self) -> np.ndarray:
        return np.array(UP_AXES[self.up])

    def ancestors(self, bone: int) -> list[int]:
        """Parent, grandparent, ... of a bone (nearest first)."""
        out = []
        p = int(self.parents[bone])
        while p >= 0:
            out.append(p)
            p = int(self.parents[p])
        return out

    @cached_property
    def _ancestor_sets(self) -> list[frozenset[int]]:
        sets: list[frozenset[int]] = []
        for p in self.parents:  # topological order: a parent's set is ready before its children's
            sets.append(frozenset() if p < 0 else sets[p] | {int(p)})
        return sets

    def is_ancestor(self, ancestor: int, bone: int) -> bool:
        return ancestor in self._ancestor_sets[bone]

    @cached_property
    def extent(self) -> float:
        """Size of the rig: the largest distance between two bone end points along any axis."""
        points = np.concatenate([self.heads, self.tails])
        return float(np.max(points.max(axis=0) - points.min(axis=0)))


def bone_matrix(head: np.ndarray, tail: np.ndarray, roll: float) -> np.ndarray:
    """Rest matrix (4, 4) of an edit bone, as Blender builds it from head, tail and roll.

    Blender first takes the rotation that turns +Y onto the bone direction about the axis
    perpendicular to both (for a direction close to -Y it uses a half turn about Z instead, which is
    what the limit of that formula gives), then rolls about the bone's own axis.
    """
    head = np.asarray(head, np.float64)
    direction = np.asarray(tail, np.float64) - head
    x, y, z = direction / np.linalg.norm(direction)
    theta = 1.0 + y
    theta_alt = x * x + z * z
    if theta > _SAFE_THETA or theta_alt > _CRITICAL_XZ**2:
        if theta <= _SAFE_THETA:  # near -Y: 1 + y loses precision, use the Taylor series of the angle in x, z
            theta = 0.5 * theta_alt + 0.125 * theta_alt * theta_alt
        align = np.array([[1 - x * x / theta, x, -x * z / theta],
                          [-x, y, -z],
                          [-x * z / theta, z, 1 - z * z / theta]])
    else:
        align = np.diag([-1.0, -1.0, 1.0])
    # roll about the bone direction itself (which is align's Y axis except in the -Y fallback)
    axis = np.array([x, y, z])
    cross = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    roll_about_bone = math.cos(roll) * np.eye(3) + math.sin(roll) * cross + (1 - math.cos(roll)) * np.outer(axis, axis)
    out = np.eye(4)
    out[:3, :3] = roll_about_bone @ align
    out[:3, 3] = head
    return out


def _number_list(value: object, size: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionInputError(f"{what} must be a list of {size} numbers") from None
    if arr.shape != (size,):
        raise MotionInputError(f"{what} must be a list of {size} numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise MotionInputError(f"{what} contains NaN or inf")
    return arr


def _rigid_matrix(value: object, what: str) -> np.ndarray:
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionInputError(f"{what} must be a 4x4 list of numbers") from None
    if m.shape != (4, 4):
        raise MotionInputError(f"{what} must be 4x4, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise MotionInputError(f"{what} contains NaN or inf")
    rot = m[:3, :3]
    if (np.abs(rot.T @ rot - np.eye(3)).max() > _ORTHONORMAL_TOL or np.linalg.det(rot) <= 0
            or np.abs(m[3] - [0, 0, 0, 1]).max() > _ORTHONORMAL_TOL):
        raise MotionInputError(f"{what} is not a rigid transform (rotation + translation, no scale)")
    u, _, vt = np.linalg.svd(rot)  # remove rounding from the sender: nearest rotation
    out = np.eye(4)
    out[:3, :3] = u @ vt
    out[:3, 3] = m[:3, 3]
    return out


def _topological_order(names: list[str], parents: list[str | None]) -> list[int]:
    index = {n: i for i, n in enumerate(names)}
    state = [0] * len(names)  # 0 new, 1 on the current path, 2 done
    order: list[int] = []
    for start in range(len(names)):
        path = []
        i: int | None = start
        while i is not None and state[i] == 0:
            state[i] = 1
            path.append(i)
            p = parents[i]
            i = index[p] if p is not None else None
            if i is not None and state[i] == 1:
                raise MotionInputError(f"bone {names[i]!r} is its own ancestor (parent cycle)")
        for j in reversed(path):
            state[j] = 2
            order.append(j)
    return order


def _bone_entry(entry: object, k: int) -> tuple[str, str | None, np.ndarray, float, bool]:
    if not isinstance(entry, dict):
        raise MotionInputError(f"bones[{k}] must be an object")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise MotionInputError(f"bones[{k}] needs a non-empty 'name'")
    parent = entry.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise MotionInputError(f"bone {name!r}: 'parent' must be a bone name or null")
    connected = bool(entry.get("connected", False))
    if "matrix" in entry:
        rest = _rigid_matrix(entry["matrix"], f"bone {name!r}: matrix")
        length = _number_list([entry.get("length", float("nan"))], 1, f"bone {name!r}: length")[0]
    elif "head" in entry and "tail" in entry:
        head = _number_list(entry["head"], 3, f"bone {name!r}: head")
        tail = _number_list(entry["tail"], 3, f"bone {name!r}: tail")
        roll = _number_list([entry.get("roll", 0.0)], 1, f"bone {name!r}: roll")[0]
        length = float(np.linalg.norm(tail - head))
        rest = bone_matrix(head, tail, roll) if length > 0 else np.eye(4)
    else:
        raise MotionInputError(f"bone {name!r} needs 'head' and 'tail' (and 'roll'), or 'matrix' and 'length'")
    return name, parent, rest, float(length), connected


def armature_from_dict(d: dict) -> Armature:
    """Validate and convert the add-on's armature description; every problem raises MotionInputError."""
    if not isinstance(d, dict):
        raise MotionInputError("the armature must be a JSON object with a 'bones' list")
    bones = d.get("bones")
    if not isinstance(bones, list) or not bones:
        raise MotionInputError("the armature has no bones ('bones' must be a non-empty list)")
    if len(bones) > MAX_BONES:
        raise MotionInputError(f"the armature has {len(bones)} bones; at most {MAX_BONES} are supported")
    up = str(d.get("up", "Z")).upper().replace("+", "")
    if up not in UP_AXES:
        raise MotionInputError(f"unknown up axis {d.get('up')!r}; use one of {', '.join(UP_AXES)}")
    entries = [_bone_entry(b, k) for k, b in enumerate(bones)]
    names = [e[0] for e in entries]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise MotionInputError(f"duplicate bone name {n!r}")
        seen.add(n)
    parents = [e[1] for e in entries]
    for n, p in zip(names, parents, strict=True):
        if p is not None and p not in seen:
            raise MotionInputError(f"bone {n!r}: parent {p!r} is not a bone of the armature")
    lengths = np.array([e[3] for e in entries])
    heads = np.array([e[2][:3, 3] for e in entries])
    size = float(np.max(heads.max(axis=0) - heads.min(axis=0), initial=0.0)) + float(lengths.max(initial=0.0))
    for n, length in zip(names, lengths, strict=True):
        if not length > 1e-6 * max(size, 1e-9):
            raise MotionInputError(f"bone {n!r} has zero length")
    order = _topological_order(names, parents)
    position = {names[i]: k for k, i in enumerate(order)}
    return Armature(
        names=tuple(names[i] for i in order),
        parents=np.array([position[parents[i]] if parents[i] is not None else -1 for i in order], dtype=np.int64),
        rest=np.stack([entries[i][2] for i in order]),
        lengths=lengths[order],
        up=up,
        connected=np.array([entries[i][4] for i in order], dtype=bool),
    )
