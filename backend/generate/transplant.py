"""Body-part edits by transplant: the selected joints of a whole-body motion generated for the prompt, carried
onto the input's body.

Token inpainting regenerates the selected joints' tokens with the rest of the body known. On this project's
models the known body wins: the arms of a walk keep swinging whatever the prompt says (issue 16: a right-arm
"waves" edit over a walk never raised the hand, while a whole-body generation of the same prompt does). A
transplant instead generates the prompt for the region's duration as a whole-body motion (which follows the
text) and takes from it only the selected joints, the way body-part composition methods combine motions:

- positions (the ric block, already in each frame's own heading frame) are re-hung from the input: a selected
  joint keeps its offset from its nearest unselected ancestor in the generated motion, and that ancestor is
  the input's, so a waving arm stays on a walking torso;
- the selected joints' local rotations and velocities, and the foot contacts when a foot is selected, are the
  generated ones;
- when the selection is one side of the body and the generated motion acts with the other side (the model's
  side preference, see `on_the_selected_side`), its mirror image is the donor.

The result goes through the same `paste` ramps and delivered-joint merge as an inpainting edit, so the frames
outside the region and the unselected joints stay exactly the input's. Edits that include the root keep token
inpainting: the root path is the whole body's.
"""

from __future__ import annotations

import numpy as np

from ..motion.features import FeatureLayout
from ..motion.mirror import mirror_features
from ..motion.skeleton import Skeleton

METHODS = ("auto", "inpaint", "transplant")


def resolve_method(method: str, joints: list[int], num_joints: int) -> str:
    """The method an edit of `joints` uses: 'auto' transplants a body-part edit and inpaints one that moves the
    root (joint 0) or the whole body; a transplant of the root is refused."""
    if method not in METHODS:
        raise ValueError(f"unknown edit method {method!r}; choose one of {', '.join(METHODS)}")
    partial = 0 not in joints and len(joints) < num_joints
    if method == "auto":
        return "transplant" if partial else "inpaint"
    if method == "transplant" and not partial:
        raise ValueError("a transplant edit carries body parts onto the input: leave the pelvis (root) out of "
                         "the selection, or use the inpaint method")
    return method


def _attachments(skeleton: Skeleton, selected: set[int]) -> dict[int, int]:
    """Each selected joint's nearest ancestor that is not selected (the root is never selected here)."""
    out = {}
    for j in selected:
        p = skeleton.parents[j]
        while p in selected:
            p = skeleton.parents[p]
        out[j] = p
    return out


def _positions(features: np.ndarray, lay: FeatureLayout) -> np.ndarray:
    """(T, J, 3) body-frame positions: the root at (0, height, 0), the others from the ric block."""
    t = len(features)
    pos = np.zeros((t, lay.num_joints, 3))
    pos[:, 0, 1] = features[:, 3]
    pos[:, 1:] = features[:, lay.ric].reshape(t, lay.num_joints - 1, 3)
    return pos


SIDE_RATIO = 1.5  # the mirror side must move this much more than the selected side before the donor is mirrored


def on_the_selected_side(donor: np.ndarray, joints: list[int], skeleton: Skeleton) -> tuple[np.ndarray, bool]:
    """(donor features, mirrored?): the donor mirrored left-right when the selection is one side of the body
    and the donor performs its action with the other side.

    The generator does not follow "left" and "right" reliably (each action has a side it prefers: the v2 default
    waves and raises with the left hand whichever hand is asked), while the animator's selection says where the
    action goes. The corpus is mirror-symmetric (every clip has its mirrored copy), so the mirror image of the
    donor is as likely a motion for the mirrored prompt. Activity is the path length of the joints in the body
    frame over the region."""
    selected = set(joints)
    mirror = {int(skeleton.mirror_index[j]) for j in selected}
    if not selected or mirror == selected or selected & mirror:
        return donor, False
    pos = _positions(np.asarray(donor, np.float64), FeatureLayout(skeleton.num_joints))
    path = np.linalg.norm(np.diff(pos, axis=0), axis=-1).sum(axis=0) if len(pos) > 1 else np.zeros(len(pos[0]))
    own, other = float(path[sorted(selected)].sum()), float(path[sorted(mirror)].sum())
    if other > SIDE_RATIO * max(own, 1e-6):
        return mirror_features(np.asarray(donor), skeleton), True
    return donor, False


def transplant_features(original: np.ndarray, donor: np.ndarray, frames: tuple[int, int], joints: list[int],
                        skeleton: Skeleton) -> np.ndarray:
    """Full-length features: `original` with the selected joints over [a, b) taken from `donor` (features of a
    whole-body motion at least b - a frames long, its frame 0 aligned with frame a)."""
    a, b = frames
    n = b - a
    if len(donor) < n:
        raise ValueError(f"the donor motion has {len(donor)} frames; the region needs {n}")
    nj = skeleton.num_joints
    lay = FeatureLayout(nj)
    selected = set(joints)
    if 0 in selected:
        raise ValueError("the root cannot be transplanted")
    out = np.array(original, dtype=np.float64, copy=True)
    src = np.asarray(donor[:n], dtype=np.float64)
    pos_in, pos_donor = _positions(out[a:b], lay), _positions(src, lay)
    ric = out[a:b, lay.ric].reshape(n, nj - 1, 3)
    rot = out[a:b, lay.rot].reshape(n, nj - 1, 6)
    vel = out[a:b, lay.vel].reshape(n, nj, 3)
    src_rot = src[:, lay.rot].reshape(n, nj - 1, 6)
    src_vel = src[:, lay.vel].reshape(n, nj, 3)
    for j, p in _attachments(skeleton, selected).items():
        ric[:, j - 1] = pos_donor[:, j] - pos_donor[:, p] + pos_in[:, p]
        rot[:, j - 1] = src_rot[:, j - 1]
        vel[:, j] = src_vel[:, j]
    out[a:b, lay.ric] = ric.reshape(n, -1)
    out[a:b, lay.rot] = rot.reshape(n, -1)
    out[a:b, lay.vel] = vel.reshape(n, -1)
    if selected & set(skeleton.feet_left + skeleton.feet_right):
        out[a:b, lay.contacts] = src[:, lay.contacts]
    return out.astype(np.asarray(original).dtype)
