"""Motion Patches (Yu et al., 2024): a motion as a 3 x frames x (5 * points) image for a ViT encoder.

The joints are split into five body-part chains, legs first: right leg, left leg, torso-to-head, right
arm, left arm (the order of HumanML3D's SMPL kinematic chain; slot k holds the same body part for every
skeleton). Each chain starts at the joint it hangs from (pelvis for legs and torso, the upper spine
for arms) and runs outwards. Per frame, every chain is resampled to `points` positions by linear
interpolation over the joint index, the xyz coordinates become the 3 image channels, time runs down
the image and the chains sit side by side, so 16-point chains over 224 frames give 14 x 5 patches of
16 x 16 pixels. Clips shorter than `frames` are zero padded after their last frame.

Global trajectory: the paper feeds the joint positions as the dataset stores them (HumanML3D
`new_joints`: first frame's root at the origin, facing +Z, the root path kept), not root-relative ones,
and so do we: captions such as "walks forward, then turns left" are about that path. Callers with
other sources (an imported BVH) should put the clip into the same canonical frame first.

Normalisation is a z-score per image column and channel (`PatchStats`, mean and std of each of the
3 x 80 points over all real frames of a training set); padded frames stay exactly zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import MotionInputError
from .bvh_names import split_side
from .skeleton import KIT21, SMPL22, Skeleton

PART_NAMES = ("right_leg", "left_leg", "torso", "right_arm", "left_arm")
NUM_PARTS = len(PART_NAMES)
POINTS_PER_PART = 16
MAX_FRAMES = 224
CROP_MODES = ("start", "center", "random")

# KIT-21 by the MMM joint names of skeleton.py (11 = left hip, 5 = left shoulder). The public
# kit_kinematic_chain list starts with the MMM *left* leg; ordering by name instead keeps slot 0 the
# right leg for both skeletons, which cross-skeleton retrieval relies on.
_KIT_CHAINS = ((0, 16, 17, 18, 19, 20), (0, 11, 12, 13, 14, 15), (0, 1, 2, 3, 4), (3, 8, 9, 10), (3, 5, 6, 7))

# a branch needs this many joints (itself included) to count as a leg or an arm
_MIN_LIMB_JOINTS = 3
# bones that ride along a limb without being part of it (matched as whole words of the name)
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_AUX_WORDS = ("twist", "heel", "ik", "pole", "target", "roll", "helper", "corrective", "prop", "weapon",
              "socket", "attach")


def body_part_chains(skeleton: Skeleton) -> list[tuple[int, ...]]:
    """The five chains (right leg, left leg, torso, right arm, left arm) of a skeleton."""
    if skeleton.name == SMPL22.name:
        return [tuple(c) for c in SMPL22.kinematic_chain]
    if skeleton.name == KIT21.name:
        return list(_KIT_CHAINS)
    return chains_from_parents(skeleton.parents, skeleton.joint_names, skeleton.rest_joints())


# ----------------------------------------------------------------------------------------------
# finding the five limbs of any humanoid tree


class _Tree:
    """Parent array with children, subtree depth (longest path in joints) and size, checked to be a tree."""

    def __init__(self, parents: Sequence[int], names: Sequence[str] | None, rest: np.ndarray | None):
        try:
            par = [int(p) for p in parents]
        except (TypeError, ValueError):
            raise MotionInputError("parents must be a sequence of integer joint indices") from None
        n = len(par)
        if n == 0:
            raise MotionInputError("the skeleton has no joints")
        bad = [j for j, p in enumerate(par) if p < -1 or p >= n or p == j]
        if bad:
            raise MotionInputError(f"joint {bad[0]} has an invalid parent index {par[bad[0]]} ({n} joints)")
        roots = [j for j, p in enumerate(par) if p == -1]
        if len(roots) != 1:
            raise MotionInputError(f"the skeleton needs exactly one root (parent -1), found {len(roots)}")
        if names is not None and len(names) != n:
            raise MotionInputError(f"got {len(names)} joint names for {n} joints")
        if rest is not None:
            rest = np.asarray(rest, dtype=np.float64)
            if rest.shape != (n, 3):
                raise MotionInputError(f"rest positions must have shape ({n}, 3), got {rest.shape}")
            if not np.all(np.isfinite(rest)):
                raise MotionInputError("rest positions contain NaN or inf")
        self.parents, self.root, self.n = par, roots[0], n
        self.names = [str(s) for s in names] if names is not None else None
        self.rest = rest
        self.children: list[list[int]] = [[] for _ in range(n)]
        for j, p in enumerate(par):
            if p >= 0:
                self.children[p].append(j)
        order = self._preorder()
        if len(order) != n:
            raise MotionInputError("the parent array has a cycle: some joints do not reach the root")
        self.depth = np.ones(n, dtype=int)
        self.size = np.ones(n, dtype=int)
        for j in reversed(order):
            for c in self.children[j]:
                self.depth[j] = max(self.depth[j], self.depth[c] + 1)
                self.size[j] += self.size[c]

    def _preorder(self) -> list[int]:
        order, stack = [], [self.root]
        while stack and len(order) <= self.n:
            j = stack.pop()
            order.append(j)
            stack.extend(reversed(self.children[j]))
        return order

    def label(self, j: int) -> str:
        return f"'{self.names[j]}' ({j})" if self.names else f"joint {j}"

    def subtree(self, j: int) -> list[int]:
        out, stack = [], [j]
        while stack:
            k = stack.pop()
            out.append(k)
            stack.extend(self.children[k])
        return out

    def is_aux(self, j: int) -> bool:
        if not self.names:
            return False
        return any(w.lower() in _AUX_WORDS for w in _WORD_RE.findall(self.names[j]))

    def follow(self, j: int) -> tuple[int, ...]:
        """The main path down from j: through the one substantial child, stopping at a fan of three or
        more branches (fingers on a hand, a face rig on a head) so the chain ends at the hand / head."""
        path = [j]
        while self.children[j]:
            kids = self.children[j]
            deep = [c for c in kids if self.depth[c] >= 2]
            cands = deep or kids
            if len(cands) >= 3:
                break
            j = min(cands, key=lambda c, here=j, sib=cands: self._continue_key(c, here, sib))
            path.append(j)
        return tuple(path)

    def _continue_key(self, c: int, here: int, siblings: list[int]) -> tuple:
        # longest path first, then real bones over helpers, then the branch reaching farthest from the
        # branching joint (a toe beats a heel bone), then the middle sibling (the middle finger)
        reach = 0.0
        if self.rest is not None:
            reach = -float(np.max(np.linalg.norm(self.rest[self.subtree(c)] - self.rest[here], axis=-1)))
        middle = abs(siblings.index(c) - (len(siblings) - 1) / 2)
        return (-self.depth[c], self.is_aux(c), reach, middle, c)

    def tip_height(self, j: int, highest: bool = True) -> float:
        ys = self.rest[self.subtree(j), 1]
        return float(ys.max() if highest else ys.min())


def _similar(tree: _Tree, a: int, b: int) -> bool:
    sa, sb = tree.size[a], tree.size[b]
    return abs(tree.depth[a] - tree.depth[b]) <= 2 and min(sa, sb) >= 0.5 * max(sa, sb)


def _most_similar_pair(tree: _Tree, cands: list[int]) -> tuple[int, int] | None:
    best, best_score = None, np.inf
    for i, a in enumerate(cands):
        for b in cands[i + 1:]:
            if not _similar(tree, a, b):
                continue
            score = abs(tree.depth[a] - tree.depth[b]) + abs(tree.size[a] - tree.size[b]) / max(tree.size[a],
                                                                                                   tree.size[b])
            if score < best_score:
                best, best_score = (a, b), score
    return best


def _find_hips(tree: _Tree) -> tuple[int, list[int], int]:
    """(pelvis, the two leg branches, the spine branch): the first joint, breadth first from the root,
    with three or more limb-long branches; the biggest is the spine, the two others the legs."""
    queue = [tree.root]
    while queue:
        j = queue.pop(0)
        long = [c for c in tree.children[j] if tree.depth[c] >= _MIN_LIMB_JOINTS and not tree.is_aux(c)]
        if len(long) >= 3:
            spine = max(long, key=lambda c: (tree.size[c], -c))
            others = [c for c in long if c != spine]
            if len(others) > 2:
                if tree.rest is None:
                    raise MotionInputError(
                        f"{tree.label(j)} has {len(long)} limb-like branches, expected two legs and a spine "
                        "(a tail or a quadruped?); pass rest positions to tell the legs apart")
                others = sorted(others, key=lambda c: (tree.tip_height(c, highest=False), c))[:2]
            return j, others, spine
        queue.extend(tree.children[j])
    raise MotionInputError("could not find two legs and a spine hanging from one hip joint "
                           f"(each branch at least {_MIN_LIMB_JOINTS} joints long); not a humanoid skeleton?")


def _find_chest(tree: _Tree, spine: int) -> tuple[list[int], int, list[int], int | None]:
    """Walk up the spine to the joint the arms leave from. Returns (spine path up to and including that
    joint, the chest joint, the two arm branches, the neck/head branch or None for a headless rig)."""
    path, j = [], spine
    while True:
        path.append(j)
        kids = tree.children[j]
        if not kids:
            raise MotionInputError(f"the spine ends at {tree.label(j)} without two arms branching off it")
        long = [c for c in kids if tree.depth[c] >= _MIN_LIMB_JOINTS and not tree.is_aux(c)]
        head_guess = None
        if tree.rest is not None and len(long) >= 3:  # the branch reaching highest is the head
            head_guess = max(long, key=lambda c: (tree.tip_height(c), -c))
        pair = _most_similar_pair(tree, [c for c in long if c != head_guess])
        if pair is not None:
            rest = [c for c in kids if c not in pair]
            head = None
            if rest:
                head = head_guess if head_guess in rest else min(rest, key=lambda c: (
                    -tree.depth[c], tree.is_aux(c), -tree.tip_height(c) if tree.rest is not None else 0.0, c))
            return path, j, list(pair), head
        j = max(kids, key=lambda c: (tree.size[c], -c))


def _left_direction(tree: _Tree, legs: list[tuple[int, ...]]) -> np.ndarray:
    """Body-left unit vector of the rest pose (Y up): up x forward, forward read from the feet (last
    leg bone, when it points forward rather than down), +Z when the legs end at the ankles."""
    forward = np.zeros(3)
    for chain in legs:
        bone = tree.rest[chain[-1]] - tree.rest[chain[-2]]
        flat = np.array([bone[0], 0.0, bone[2]])
        if np.linalg.norm(flat) > 0.3 * np.linalg.norm(bone):
            forward += flat / np.linalg.norm(flat)
    if np.linalg.norm(forward) < 1e-6:
        forward = np.array([0.0, 0.0, 1.0])
    left = np.cross([0.0, 1.0, 0.0], forward)
    return left / np.linalg.norm(left)


def _right_then_left(tree: _Tree, a: tuple[int, ...], b: tuple[int, ...], left: np.ndarray | None
                     ) -> list[tuple[int, ...]]:
    """Order two mirrored chains right first: by side words in the names, else by rest positions
    (+left side), else by index (SMPL, KIT, CMU and Mixamo all list the left limb first)."""
    if tree.names:
        sides = []
        for chain in (a, b):
            found = [split_side(tree.names[j])[0] for j in chain[1:]]
            sides.append(next((s for s in found if s), None))
        if set(sides) == {"l", "r"}:
            return [a, b] if sides[0] == "r" else [b, a]
    if left is not None:
        da = float(np.mean(tree.rest[list(a[1:])] @ left))
        db = float(np.mean(tree.rest[list(b[1:])] @ left))
        if abs(da - db) > 1e-9:
            return [a, b] if da < db else [b, a]
    return [a, b] if a[1] > b[1] else [b, a]


def _check_humanoid_rest(tree: _Tree, chains: list[tuple[int, ...]]) -> None:
    """With rest positions (Y up): legs go down from the pelvis, the head is above it, and the arms end
    well above the feet (a quadruped's front legs reach the floor)."""
    rest = tree.rest
    pelvis_y = rest[chains[0][0], 1]

    def length(chain: tuple[int, ...]) -> float:
        return float(np.sum(np.linalg.norm(np.diff(rest[list(chain)], axis=0), axis=-1)))

    leg_len = max(length(chains[0]), length(chains[1]), 1e-9)
    foot_y = min(rest[list(chains[k]), 1].min() for k in (0, 1))
    if pelvis_y - foot_y < 0.25 * leg_len:
        raise MotionInputError("the legs found do not point down from the hips in the rest pose: not a humanoid, "
                               "or the rest positions are not Y up")
    if rest[list(chains[2]), 1].max() - pelvis_y < 0.25 * length(chains[2]):
        raise MotionInputError("the spine found does not rise above the hips in the rest pose: a quadruped? "
                               "(rest positions must be Y up)")
    for k in (3, 4):
        if rest[chains[k][-1], 1] - foot_y < 0.35 * leg_len:
            raise MotionInputError("the arm chains reach down to the feet in the rest pose: the skeleton looks "
                                   "like a quadruped, not a humanoid")


def chains_from_parents(parents: Sequence[int], names: Sequence[str] | None = None,
                        rest_positions: np.ndarray | None = None) -> list[tuple[int, ...]]:
    """The five body-part chains of any humanoid tree given by its parent array (-1 for the root).

    Legs: the two limb-long branches of the first joint with three or more of them (the biggest being
    the spine). Arms: the first pair of look-alike branches up the spine; what else leaves that joint is
    the neck and head. Each chain follows the longest path and stops at a fan of three or more branches,
    so fingers and face bones are left out and an arm ends at the hand. Left and right come from side
    words in `names` (Left/L/_l/.L ...), else from `rest_positions` ((J, 3), Y up; body left = up x
    forward, forward from the toes, +Z otherwise), else the lower index is taken as the left limb.
    Rest positions also resolve extra long branches at the hips and reject non-humanoid poses.
    """
    tree = _Tree(parents, names, rest_positions)
    pelvis, leg_roots, spine = _find_hips(tree)
    spine_path, chest, arm_roots, head = _find_chest(tree, spine)
    legs = [(pelvis, *tree.follow(c)) for c in leg_roots]
    arms = [(chest, *tree.follow(c)) for c in arm_roots]
    torso = (pelvis, *spine_path, *(tree.follow(head) if head is not None else ()))
    left = _left_direction(tree, legs) if tree.rest is not None else None
    chains = [*_right_then_left(tree, *legs, left), torso, *_right_then_left(tree, *arms, left)]
    if tree.rest is not None:
        _check_humanoid_rest(tree, chains)
    return chains


# ----------------------------------------------------------------------------------------------
# the patch image


def _check_motion(joints: np.ndarray, name: str = "joints") -> np.ndarray:
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise MotionInputError(f"{name} must have shape (T, J, 3), got {joints.shape}")
    if joints.shape[0] == 0:
        raise MotionInputError(f"{name}: the motion has no frames")
    if not np.issubdtype(joints.dtype, np.number):
        raise MotionInputError(f"{name} must be numeric, got dtype {joints.dtype}")
    joints = joints.astype(np.float64)
    if not np.all(np.isfinite(joints)):
        bad = np.argwhere(~np.isfinite(joints))[0]
        raise MotionInputError(f"{name}: non-finite value (NaN or inf) at frame {bad[0]}, joint {bad[1]}")
    return joints


def _check_chains(chains: Sequence[Sequence[int]], num_joints: int) -> list[list[int]]:
    if len(chains) == 0:
        raise MotionInputError("no body-part chains given")
    out = []
    for k, chain in enumerate(chains):
        chain = [int(j) for j in chain]
        if not chain:
            raise MotionInputError(f"body-part chain {k} is empty")
        if min(chain) < 0 or max(chain) >= num_joints:
            raise MotionInputError(f"body-part chain {k} {tuple(chain)} names a joint outside 0..{num_joints - 1}")
        out.append(chain)
    return out


def resample_chain(points: np.ndarray, k: int = POINTS_PER_PART) -> np.ndarray:
    """(T, n, 3) chain positions -> (T, k, 3): k evenly spaced samples over the joint index 0..n-1,
    linearly interpolated between neighbouring joints (sample i sits at index i (n-1)/(k-1))."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] == 0:
        raise MotionInputError(f"chain positions must have shape (T, n >= 1, 3), got {points.shape}")
    if k < 1:
        raise MotionInputError(f"need at least one sample point per chain, got {k}")
    n = points.shape[1]
    if n == 1:
        return np.repeat(points, k, axis=1)
    u = np.linspace(0.0, n - 1, k)
    lo = np.minimum(np.floor(u).astype(int), n - 2)
    w = (u - lo)[None, :, None]
    return (1.0 - w) * points[:, lo] + w * points[:, lo + 1]


def chains_to_points(joints: np.ndarray, chains: Sequence[Sequence[int]], points: int = POINTS_PER_PART
                     ) -> np.ndarray:
    """(T, J, 3) joints -> (T, len(chains) * points, 3): every chain resampled, side by side."""
    joints = _check_motion(joints)
    chains = _check_chains(chains, joints.shape[1])
    return np.concatenate([resample_chain(joints[:, c], points) for c in chains], axis=1)


class PatchImage(NamedTuple):
    image: np.ndarray  # (3, frames, parts * points) float32, zero after `length` frames
    length: int        # real (unpadded) frames


def crop_window(num_frames: int, frames: int, crop: str | None, rng: np.random.Generator | None = None) -> int:
    """First frame of a `frames`-long window of a clip with `num_frames` frames."""
    if num_frames <= frames:
        return 0
    if crop is None:
        raise MotionInputError(f"the motion has {num_frames} frames, more than the {frames} a patch image holds; "
                               f"crop it first or pass crop={'|'.join(CROP_MODES)}")
    if crop == "start":
        return 0
    if crop == "center":
        return (num_frames - frames) // 2
    if crop == "random":
        return int((rng or np.random.default_rng()).integers(0, num_frames - frames + 1))
    raise MotionInputError(f"unknown crop mode {crop!r}; choose one of {', '.join(CROP_MODES)}")


def motion_to_patch_image(joints: np.ndarray, chains: Sequence[Sequence[int]], frames: int = MAX_FRAMES,
                          points: int = POINTS_PER_PART, crop: str | None = None,
                          rng: np.random.Generator | None = None) -> PatchImage:
    """(T, J, 3) joint positions -> PatchImage(image (3, frames, len(chains) * points), length).

    Longer clips raise unless `crop` picks a window ("start", "center", or "random" drawn from `rng`).
    """
    if frames < 1 or points < 1:
        raise MotionInputError(f"frames and points must be positive, got {frames} and {points}")
    joints = _check_motion(joints)
    start = crop_window(len(joints), frames, crop, rng)
    pts = chains_to_points(joints[start:start + frames], chains, points)  # (T, W, 3)
    length = len(pts)
    image = np.zeros((3, frames, pts.shape[1]), dtype=np.float32)
    image[:, :length] = pts.transpose(2, 0, 1)
    return PatchImage(image, length)


# ----------------------------------------------------------------------------------------------
# per-point z-normalisation


@dataclass(frozen=True)
class PatchStats:
    """Mean and std (3, W) of every image column and channel over the real frames of a training set."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean, std = np.asarray(self.mean, np.float64), np.asarray(self.std, np.float64)
        if mean.ndim != 2 or mean.shape[0] != 3 or mean.shape != std.shape:
            raise MotionInputError(f"patch stats need mean and std of shape (3, W), got {mean.shape} and {std.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise MotionInputError("patch stats must be finite with a positive std")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def width(self) -> int:
        return self.mean.shape[1]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez(path, mean=self.mean, std=self.std)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> PatchStats:
        path = Path(path)
        if not path.is_file():
            raise MotionInputError("patch statistics file not found", str(path))
        try:
            with np.load(path) as data:
                return cls(data["mean"], data["std"])
        except (OSError, ValueError, KeyError) as err:
            raise MotionInputError(f"cannot read patch statistics (expected an .npz with mean and std): {err}",
                                   str(path)) from None


def fit_patch_stats(motions: Iterable[np.ndarray], chains: Sequence[Sequence[int]], points: int = POINTS_PER_PART,
                    min_std: float = 1e-4) -> PatchStats:
    """Per-point mean and std over every frame of every motion ((T, J, 3) arrays, uncropped).
    `min_std` (metres) keeps points that never move from dividing by zero."""
    total = total_sq = None
    count = 0
    for i, joints in enumerate(motions):
        try:
            pts = chains_to_points(joints, chains, points)
        except MotionInputError as err:
            raise MotionInputError(f"motion {i}: {err}") from None
        if total is None:
            total, total_sq = np.zeros(pts.shape[1:]), np.zeros(pts.shape[1:])
        elif pts.shape[1:] != total.shape:
            raise MotionInputError(f"motion {i} gives {pts.shape[1]} points, earlier motions {total.shape[0]}")
        total += pts.sum(axis=0)
        total_sq += np.square(pts).sum(axis=0)
        count += len(pts)
    if not count:
        raise MotionInputError("no motions to fit patch statistics on")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return PatchStats(mean.T, np.maximum(std, min_std).T)


def normalize_patch_image(image: np.ndarray, length: int, stats: PatchStats) -> np.ndarray:
    """z-score the first `length` frames of a (3, frames, W) patch image; padding stays 0."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] != 3 or image.shape[2] != stats.width:
        raise MotionInputError(f"expected a patch image of shape (3, frames, {stats.width}), got {image.shape}")
    if not 0 <= int(length) <= image.shape[1]:
        raise MotionInputError(f"valid length {length} outside 0..{image.shape[1]}")
    length = int(length)
    out = np.zeros(image.shape, dtype=np.float32)
    out[:, :length] = (image[:, :length] - stats.mean[:, None, :]) / stats.std[:, None, :]
    return out


def normalized_patch_image(joints: np.ndarray, chains: Sequence[Sequence[int]], stats: PatchStats,
                           frames: int = MAX_FRAMES, crop: str | None = None,
                           rng: np.random.Generator | None = None) -> PatchImage:
    """`motion_to_patch_image` then `normalize_patch_image`: the ViT's input for one clip."""
    num_chains = len(chains)
    if num_chains == 0 or stats.width % num_chains:
        raise MotionInputError(f"patch stats of width {stats.width} do not fit {num_chains} chains")
    img, length = motion_to_patch_image(joints, chains, frames, stats.width // num_chains, crop, rng)
    return PatchImage(normalize_patch_image(img, length, stats), length)
