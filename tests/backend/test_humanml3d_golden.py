"""Golden test: our features of a released HumanML3D clip equal the released features, block by block.

The clip is 012314 from the public HumanML3D release (`../shared/data/humanml3d-sample/`); the test
skips when that folder is absent (a user's clone has no shared/).

`new_joints` holds frames 0..T-1 recovered from the released features, but the released features were
computed from T+1 raw frames: their last row's local velocities reach into frame T. The sigma-20
heading smoothing near the end depends on that frame, so the test rebuilds it from the released last
row (local velocity rotated back by the released root rotation) exactly as the released pipeline saw
it, and then compares every row. Without that frame, the first ~100 rows still agree to 2e-5.
"""

from pathlib import Path

import numpy as np
import pytest

from backend.motion.features import FeatureLayout, features_to_joints, joints_to_features, recover_root
from backend.motion.rotations import qinv, qrot
from backend.motion.skeleton import SMPL22

SAMPLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "humanml3d-sample"
pytestmark = pytest.mark.skipif(not (SAMPLE / "new_joints_012314.npy").exists(),
                                reason="../shared/data/humanml3d-sample is absent")

LAY = FeatureLayout(22)
BLOCKS = {  # name: (slice, tolerance)
    "root angular velocity": (slice(0, 1), 1e-4),
    "root linear velocity": (slice(1, 3), 1e-4),
    "root height": (slice(3, 4), 1e-4),
    "ric": (LAY.ric, 1e-4),
    "rot6d": (LAY.rot, 1e-3),
    "local velocity": (LAY.vel, 1e-4),
}


def _released() -> tuple[np.ndarray, np.ndarray]:
    joints = np.load(SAMPLE / "new_joints_012314.npy").astype(np.float64)
    vecs = np.load(SAMPLE / "new_joint_vecs_012314.npy").astype(np.float64)
    return joints, vecs


def _raw_input(joints: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """new_joints plus the final raw frame the released pipeline had (see the module docstring)."""
    r_rot, _ = recover_root(vecs)
    last = joints[-1] + qrot(qinv(r_rot[-1])[None], vecs[-1, LAY.vel].reshape(22, 3))
    return np.concatenate([joints, last[None]])


def test_released_clip_has_the_target_skeleton_lengths():
    joints, _ = _released()
    parents = np.array(SMPL22.parents)
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, parents[1:]], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(SMPL22.target_lengths[1:], lengths.shape), atol=2e-6)


def test_decoding_released_features_gives_released_joints():
    joints, vecs = _released()
    assert np.abs(features_to_joints(vecs) - joints).max() < 1e-6


@pytest.mark.parametrize("block", list(BLOCKS))
def test_every_block_matches_the_release(block):
    joints, vecs = _released()
    feats, _ = joints_to_features(_raw_input(joints, vecs))
    assert feats.shape == vecs.shape
    sl, tol = BLOCKS[block]
    err = np.abs(feats[:, sl] - vecs[:, sl]).max()
    print(f"{block}: max abs difference {err:.2e} (tolerance {tol:g})")
    assert err < tol


def test_contacts_are_identical():
    joints, vecs = _released()
    feats, _ = joints_to_features(_raw_input(joints, vecs))
    assert np.array_equal(feats[:, LAY.contacts], vecs[:, LAY.contacts])


def test_new_joints_alone_match_away_from_the_clip_end():
    joints, vecs = _released()
    feats, canon = joints_to_features(joints)  # 170 frames in, 169 rows out
    assert np.abs(canon - joints).max() < 1e-5  # already canonical: rescale, floor, origin, facing are no-ops
    err = np.abs(feats[:100] - vecs[:100]).max()
    assert err < 1e-4
    assert np.array_equal(feats[:, LAY.contacts], vecs[:len(feats), LAY.contacts])


def test_the_hip_order_quirk_matters(monkeypatch):
    """With the canonical hip order in the IK heading, the release is not reproduced: the quirk is real."""
    from backend.motion import features

    joints, vecs = _released()
    monkeypatch.setattr(features, "released_ik_face_joints", lambda skeleton: skeleton.face_joints)
    feats, _ = joints_to_features(_raw_input(joints, vecs))
    assert np.abs(feats[:, LAY.ric] - vecs[:, LAY.ric]).max() > 1e-2
