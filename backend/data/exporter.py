"""SMPL-22 joint positions or HumanML3D features -> BVH.

The BVH skeleton is the SMPL-22 tree, named after a template (smpl, mixamo, cmu, rigify, ue). Rest
offsets use the motion's own (mean) bone lengths, so the positions are reproduced. Single-child bones get the SMPL
T-pose direction at rest; the children of the two branching joints (pelvis: hips + spine, spine3:
neck + collars) get a rest configuration estimated from the motion itself (generalised Procrustes),
so one rotation of the branching joint places all its children (exactly so when their configuration
is rigid, as for any FK-generated motion).

Rotations come from the positions: a single-child joint takes the shortest rotation (in its parent's
frame) that points its bone at the child; a branching joint takes the best-fit (Kabsch) rotation of
its children. Leaf joints keep the identity. Quaternions are made sign-continuous and the Euler angles
(channels "Zrotation Yrotation Xrotation") are unwrapped to the branch nearest the previous frame.

Units: metres by default (`units="cm"` multiplies by 100), Y up, the body's left along +X. In
Blender, `bpy.ops.import_anim.bvh` with its defaults (axis_forward='-Z', axis_up='Y', global_scale=1)
gives a correctly sized Z-up armature.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..motion.bvh import BVHData, format_bvh
from ..motion.bvh_names import CMU, MIXAMO, RIGIFY, UE_MANNEQUIN
from ..motion.features import check_features, check_joints, features_to_joints
from ..motion.rotations import (
    axis_angle_to_quat,
    matrix_to_euler,
    matrix_to_quat,
    normalize,
    qbetween,
    qcontinuous,
    quat_to_matrix,
)
from ..motion.skeleton import SMPL22

EULER_ORDER = "ZYX"
TEMPLATES: dict[str, tuple[str, ...]] = {
    "smpl": SMPL22.joint_names,
    "mixamo": tuple("mixamorig:" + MIXAMO.smpl_to_name()[j] for j in SMPL22.joint_names),
    "cmu": tuple(CMU.smpl_to_name()[j] for j in SMPL22.joint_names),
    "rigify": tuple(RIGIFY.smpl_to_name()[j] for j in SMPL22.joint_names),
    "ue": tuple(UE_MANNEQUIN.smpl_to_name()[j] for j in SMPL22.joint_names),
}
UNIT_SCALE = {"m": 1.0, "cm": 100.0}
_PARENTS = SMPL22.parents
# The knees' twist follows the feet (knee -> toe base), so the ankle rotation stays small instead of
# absorbing whatever twist the thigh happened to get.
TWIST_FROM_GRANDCHILD = {4: 10, 5: 11}
_CHILDREN = [SMPL22.children(j) for j in range(22)]


def template_names(template: str) -> tuple[str, ...]:
    try:
        return TEMPLATES[template.lower()]
    except KeyError:
        raise MotionInputError(f"unknown BVH template {template!r}; choose one of {', '.join(TEMPLATES)}") from None


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotations R (..., 3, 3) minimising sum_k |R src_k - dst_k|^2; src (K, 3) or (..., K, 3)."""
    h = np.einsum("...ka,...kb->...ab", np.broadcast_to(src, dst.shape), dst)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    fix = np.ones((*d.shape, 3))
    fix[..., 2] = np.where(d == 0, 1.0, d)
    return np.swapaxes(vt, -1, -2) @ (fix[..., :, None] * np.swapaxes(u, -1, -2))


def _branch_configuration(vectors: np.ndarray, rest: np.ndarray, iterations: int = 4) -> np.ndarray:
    """Constant child offsets (K, 3) that best explain per-frame child vectors (T, K, 3) up to a
    rotation, turned to lie as close as possible to the template's rest directions `rest` (K, 3)."""
    config = vectors[0].copy()
    for _ in range(iterations):
        rots = kabsch(config, vectors)                        # (T, 3, 3): config -> frame t
        config = np.mean(np.einsum("tba,tkb->tka", rots, vectors), axis=0)
    return config @ kabsch(config, rest).T


def rest_offsets_for(joints: np.ndarray) -> np.ndarray:
    """BVH rest offsets (22, 3) for a motion (T, 22, 3): its own bone lengths, T-pose directions."""
    offsets = np.zeros((22, 3))
    rest_dirs = normalize(SMPL22.rest_offsets)
    for j, p in enumerate(_PARENTS):
        if p >= 0:
            length = np.mean(np.linalg.norm(joints[:, j] - joints[:, p], axis=-1))
            offsets[j] = rest_dirs[j] * length
    for j, kids in enumerate(_CHILDREN):
        if len(kids) > 1:
            vectors = joints[:, kids] - joints[:, j:j + 1]
            offsets[kids] = _branch_configuration(vectors, offsets[kids])
    return offsets


def solve_rotations(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Global rotation matrices (T, 22, 3, 3) placing every child from its reconstructed parent."""
    t = joints.shape[0]
    glob = np.zeros((t, 22, 3, 3))
    recon = np.zeros_like(joints)
    recon[:, 0] = joints[:, 0]
    for j in range(22):
        p = _PARENTS[j]
        if p >= 0:
            recon[:, j] = recon[:, p] + glob[:, p] @ offsets[j]
        kids = _CHILDREN[j]
        if not kids:
            glob[:, j] = glob[:, p]
        elif len(kids) == 1:
            base = np.eye(3) if p < 0 else glob[:, p]
            current = base @ offsets[kids[0]]
            target = joints[:, kids[0]] - recon[:, j]
            glob[:, j] = quat_to_matrix(qbetween(current, target)) @ base
            if j in TWIST_FROM_GRANDCHILD:
                g = TWIST_FROM_GRANDCHILD[j]
                glob[:, j] = _twist_towards(glob[:, j], offsets[g], joints[:, g] - joints[:, kids[0]], target)
        else:
            glob[:, j] = kabsch(offsets[kids], joints[:, kids] - recon[:, j:j + 1])
    return glob


def _twist_towards(rot: np.ndarray, rest_next: np.ndarray, next_dir: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Turn `rot` (T, 3, 3) about the bone `axis` (T, 3) so that the next bone's rest direction
    `rest_next` lands as near `next_dir` (T, 3) as the bone allows. The turn fades out where the next
    bone is nearly parallel to this one (no bend plane to follow)."""
    a = normalize(axis)
    cur = rot @ rest_next
    cur_p = cur - np.sum(cur * a, -1, keepdims=True) * a
    want_p = next_dir - np.sum(next_dir * a, -1, keepdims=True) * a
    sin = np.sum(np.cross(cur_p, want_p) * a, -1)
    cos = np.sum(cur_p * want_p, -1)
    bend = np.linalg.norm(want_p, axis=-1) / np.maximum(np.linalg.norm(next_dir, axis=-1), 1e-12)
    weight = np.clip((bend - 0.1) / 0.2, 0.0, 1.0)  # full effect once the bend exceeds ~17 degrees
    angle = np.arctan2(sin, cos) * weight
    return quat_to_matrix(axis_angle_to_quat(a * angle[:, None])) @ rot


def _continuous_euler(euler: np.ndarray) -> np.ndarray:
    """Per joint, pick (a, b, c) or its twin (a+180, 180-b, c+180), then add whole turns, to stay
    nearest the previous frame. euler: (T, J, 3) degrees."""
    out = euler.copy()
    twin = np.stack([euler[..., 0] + 180.0, 180.0 - euler[..., 1], euler[..., 2] + 180.0], axis=-1)
    for f in range(1, len(out)):
        prev = out[f - 1]
        best, best_cost = None, None
        for cand in (euler[f], twin[f]):
            cand = cand + 360.0 * np.round((prev - cand) / 360.0)
            cost = np.sum((cand - prev) ** 2, axis=-1)
            if best is None:
                best, best_cost = cand, cost
            else:
                take = cost < best_cost
                best = np.where(take[:, None], cand, best)
                best_cost = np.minimum(cost, best_cost)
        out[f] = best
    return out


def joints_to_bvh_data(joints: np.ndarray, fps: float = 20.0, template: str = "smpl",
                       units: str = "m") -> BVHData:
    """BVHData for SMPL-22 joints (T, 22, 3) in metres, Y up."""
    names = template_names(template)
    if units not in UNIT_SCALE:
        raise MotionInputError(f"unknown units {units!r}; choose m or cm")
    check_joints(joints, SMPL22, min_frames=1)
    if fps <= 0:
        raise MotionInputError(f"fps must be positive, got {fps}")
    joints = np.asarray(joints, dtype=np.float64)
    offsets = rest_offsets_for(joints)
    glob = solve_rotations(joints, offsets)
    local = glob.copy()
    for j, p in enumerate(_PARENTS):
        if p >= 0:
            local[:, j] = np.swapaxes(glob[:, p], -1, -2) @ glob[:, j]
    quats = qcontinuous(matrix_to_quat(local), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about gimbal lock; the angles remain exact
        euler = matrix_to_euler(quat_to_matrix(quats), EULER_ORDER)
    euler = _continuous_euler(euler)
    scale = UNIT_SCALE[units]
    rot_channels = [f"{axis}rotation" for axis in EULER_ORDER]
    channels = [["Xposition", "Yposition", "Zposition", *rot_channels]] + [list(rot_channels)] * 21
    motion = np.concatenate([joints[:, 0] * scale, euler.reshape(len(joints), -1)], axis=-1)
    end_offsets = {j: 0.5 * offsets[j] * scale for j in range(22) if not _CHILDREN[j]}
    return BVHData(names=list(names), parents=list(_PARENTS), offsets=offsets * scale, channels=channels,
                   motion=motion, frame_time=1.0 / fps, end_offsets=end_offsets)


def joints_to_bvh(joints: np.ndarray, fps: float = 20.0, template: str = "smpl", units: str = "m") -> str:
    """BVH text for SMPL-22 joints (T, 22, 3) in metres, Y up."""
    return format_bvh(joints_to_bvh_data(joints, fps, template, units))


def write_bvh(path: str | Path, joints: np.ndarray, fps: float = 20.0, template: str = "smpl",
              units: str = "m") -> Path:
    path = Path(path)
    text = joints_to_bvh(joints, fps, template, units)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_motion(path: str | Path) -> tuple[np.ndarray, str]:
    """SMPL-22 joints (T, 22, 3) from features (T, 263) or joints, in .npy or .npz (key joints/features)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise MotionInputError("file not found", name)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                key = next((k for k in ("joints", "features") if k in archive.files), None)
                if key is None:
                    raise MotionInputError(f"the .npz has no 'joints' or 'features' array "
                                           f"(has: {', '.join(archive.files) or 'nothing'})", name)
                arr = np.asarray(archive[key])
        elif path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            raise MotionInputError("expected a .npy or .npz file", name)
    except (OSError, ValueError) as err:
        raise MotionInputError(f"cannot read the array: {err}", name) from None
    if arr.ndim == 2:
        skeleton = check_features(arr, name)
        if skeleton is not SMPL22:
            raise MotionInputError(f"only SMPL-22 (263-d) features can be exported, got {arr.shape[-1]}-d", name)
        return features_to_joints(arr.astype(np.float64), SMPL22), "features"
    check_joints(arr, SMPL22, name, min_frames=1)
    return arr.astype(np.float64), "joints"


def run_export(args: argparse.Namespace) -> int:
    joints, kind = load_motion(args.input)
    template = getattr(args, "template", "smpl")
    template_names(template)
    fps = float(getattr(args, "fps", 20.0) or 20.0)
    out = Path(args.out)
    if out.suffix.lower() != ".bvh":
        raise MotionInputError("the output file should end in .bvh", str(out))
    write_bvh(out, joints, fps, template)
    print(f"wrote {out}: {len(joints)} frames at {fps:g} fps from {kind}, template {template}, "
          f"metres, Y up")
    return 0
