"""Per-joint feature maps for the MoGenTS joint VQ-VAE: (B, T, D) features <-> (B, T, J, 12) maps.

Joint j >= 1 gets its own ric position (3), 6D rotation (6) and local velocity (3). The root joint's
12 channels carry the root trajectory (angular velocity, xz velocity, height), the root's local
velocity and the four foot-contact flags (plus one zero pad), so the whole motion lives in the map
and the root is generated as a joint token, as the paper intends.
"""

from __future__ import annotations

import torch

from backend.motion.features import FeatureLayout

CHANNELS = 12


def _layout(dim: int) -> FeatureLayout:
    joints = {263: 22, 251: 21}.get(dim)
    if joints is None:
        raise ValueError(f"no joint layout for {dim}-d features (263 or 251)")
    return FeatureLayout(joints)


def features_to_joint_map(x: torch.Tensor) -> torch.Tensor:
    lay = _layout(x.shape[-1])
    nj = lay.num_joints
    lead = x.shape[:-1]
    ric = x[..., lay.ric].reshape(*lead, nj - 1, 3)
    rot = x[..., lay.rot].reshape(*lead, nj - 1, 6)
    vel = x[..., lay.vel].reshape(*lead, nj, 3)
    others = torch.cat([ric, rot, vel[..., 1:, :]], dim=-1)
    root = torch.cat([x[..., lay.root], vel[..., 0, :], x[..., lay.contacts], torch.zeros_like(x[..., :1])], dim=-1)
    return torch.cat([root.unsqueeze(-2), others], dim=-2)


def joint_map_to_features(m: torch.Tensor) -> torch.Tensor:
    nj = m.shape[-2]
    lead = m.shape[:-2]
    root, others = m[..., 0, :], m[..., 1:, :]
    vel = torch.cat([root[..., 4:7].unsqueeze(-2), others[..., 9:12]], dim=-2)
    return torch.cat([
        root[..., 0:4],
        others[..., 0:3].reshape(*lead, (nj - 1) * 3),
        others[..., 3:9].reshape(*lead, (nj - 1) * 6),
        vel.reshape(*lead, nj * 3),
        root[..., 7:11],
    ], dim=-1)
