"""Motion VQ-VAEs: the MoGenTS joint tokeniser (2D conv over time x joints) and a MoMask-style
whole-body 1D baseline, both with a residual VQ bottleneck.

Both map normalised features (B, T, D) to tokens and back. Time is downsampled by 2**down_t (4 by
default). The joint model keeps one token per joint (joint_down=0, as the paper) or groups joints
by stride-2 convolutions (joint_down=2: 22 joints padded to 24 -> 6 groups, as the public code). With
`joint_order="parts"` the joints are first reordered so that each group is one body part (torso, head,
legs, arms), which makes spatial editing of a limb touch exactly one token column.

The root trajectory and foot contacts ride in the root joint's token (`root_stream="token"`, the
paper) or in an auxiliary whole-body 1D stream (`root_stream="aux"`, the public code): a 1D conv
encoder over all features whose latents, quantised by the same residual VQ, form one extra token
column; a linear layer fuses the 2D and 1D decoders' outputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from backend.motion.parts import token_joint_order

from .joint_map import CHANNELS, features_to_joint_map, joint_map_to_features
from .rvq import ResidualVQ


@dataclass
class VQVAEConfig:
    kind: str = "joint2d"        # "joint2d" (MoGenTS) or "body1d" (MoMask-style baseline)
    feature_dim: int = 263
    width: int = 128
    code_dim: int = 128
    num_codes: int = 256
    num_quantizers: int = 6
    down_t: int = 2
    joint_down: int = 0
    joint_order: str = "parts"   # "parts" or "skeleton" (only matters when joint_down > 0)
    root_stream: str = "token"   # "token" (root joint token) or "aux" (extra whole-body column)
    depth: int = 2               # residual blocks per level
    quantize_dropout: float = 0.2
    ema_decay: float = 0.99

    def to_dict(self) -> dict:
        return asdict(self)


class _Res(nn.Module):
    def __init__(self, conv: type[nn.Module], width: int, dilation: int):
        super().__init__()
        pad = (dilation, 1) if conv is nn.Conv2d else dilation
        kernel = 3
        dil = (dilation, 1) if conv is nn.Conv2d else dilation
        self.body = nn.Sequential(nn.ReLU(), conv(width, width, kernel, padding=pad, dilation=dil), nn.ReLU(),
                                  conv(width, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _levels(conv, cfg: VQVAEConfig, down: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    is2d = conv is nn.Conv2d
    jd = is2d and cfg.joint_down > 0
    for level in range(cfg.down_t):
        group = is2d and level < cfg.joint_down
        res = [_Res(conv, cfg.width, 3 ** d) for d in range(cfg.depth)]
        if down:
            kernel = (4, 4 if group else 3) if is2d else 4
            stride = (2, 2 if group else 1) if is2d else 2
            layers += [conv(cfg.width, cfg.width, kernel, stride=stride, padding=1), *res]
        else:
            scale = (2.0, 2.0 if (jd and cfg.down_t - 1 - level < cfg.joint_down) else 1.0) if is2d else 2.0
            layers += [*res[::-1], nn.Upsample(scale_factor=scale, mode="nearest"),
                       conv(cfg.width, cfg.width, 3, padding=1)]
    return layers


class MotionVQVAE(nn.Module):
    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        self.cfg = cfg
        conv = nn.Conv2d if cfg.kind == "joint2d" else nn.Conv1d
        if cfg.kind not in ("joint2d", "body1d"):
            raise ValueError(f"unknown VQ-VAE kind {cfg.kind!r}")
        if cfg.root_stream not in ("token", "aux") or cfg.joint_order not in ("parts", "skeleton"):
            raise ValueError(f"bad root_stream {cfg.root_stream!r} or joint_order {cfg.joint_order!r}")
        in_ch = CHANNELS if cfg.kind == "joint2d" else cfg.feature_dim
        self.encoder = nn.Sequential(conv(in_ch, cfg.width, 3, padding=1), nn.ReLU(), *_levels(conv, cfg, True),
                                     conv(cfg.width, cfg.code_dim, 3, padding=1))
        self.decoder = nn.Sequential(conv(cfg.code_dim, cfg.width, 3, padding=1), nn.ReLU(),
                                     *_levels(conv, cfg, False), conv(cfg.width, cfg.width, 3, padding=1), nn.ReLU(),
                                     conv(cfg.width, in_ch, 3, padding=1))
        self.quantizer = ResidualVQ(cfg.num_quantizers, cfg.num_codes, cfg.code_dim, cfg.ema_decay,
                                    cfg.quantize_dropout)
        self.num_joints = 22 if cfg.feature_dim == 263 else 21
        order = self._order()
        self.register_buffer("order", torch.tensor(order), persistent=False)
        self.register_buffer("inverse", torch.tensor([order.index(j) for j in range(self.num_joints)]),
                             persistent=False)
        self.aux = cfg.kind == "joint2d" and cfg.root_stream == "aux"
        if self.aux:
            body = VQVAEConfig(**{**cfg.to_dict(), "kind": "body1d", "root_stream": "token"})
            c1 = nn.Conv1d
            self.aux_encoder = nn.Sequential(c1(cfg.feature_dim, cfg.width, 3, padding=1), nn.ReLU(),
                                             *_levels(c1, body, True), c1(cfg.width, cfg.code_dim, 3, padding=1))
            self.aux_decoder = nn.Sequential(c1(cfg.code_dim, cfg.width, 3, padding=1), nn.ReLU(),
                                             *_levels(c1, body, False), c1(cfg.width, cfg.feature_dim, 3, padding=1))
            self.fuse = nn.Linear(2 * cfg.feature_dim, cfg.feature_dim)
            with torch.no_grad():  # start as the mean of both decoders
                eye = torch.eye(cfg.feature_dim)
                self.fuse.weight.copy_(torch.cat([eye, eye], dim=1) * 0.5)
                self.fuse.bias.zero_()

    def _order(self) -> list[int]:
        joint_down = self.cfg.joint_down if self.cfg.kind == "joint2d" else 0
        return token_joint_order(self.num_joints, joint_down, self.cfg.joint_order)

    @property
    def token_columns(self) -> int:
        """Token-map width: joints (or joint groups), plus one for the auxiliary stream; 1 for body1d."""
        if self.cfg.kind == "body1d":
            return 1
        cols = len(self._order()) // (2 ** self.cfg.joint_down)
        return cols + int(self.aux)

    @property
    def time_factor(self) -> int:
        return 2 ** self.cfg.down_t

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """Features (B, T, D), T a multiple of time_factor -> latents (B, T', [J',] C)."""
        if self.cfg.kind == "joint2d":
            m = features_to_joint_map(x).permute(0, 3, 1, 2)  # (B, 12, T, J)
            m = F.pad(m, (0, 1))[..., self.order]  # index -1 picks the zero column: padding slots
            z = self.encoder(m).permute(0, 2, 3, 1)
            if self.aux:
                za = self.aux_encoder(x.transpose(1, 2)).transpose(1, 2)
                z = torch.cat([z, za[:, :, None]], dim=2)
            return z
        return self.encoder(x.transpose(1, 2)).transpose(1, 2)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        if self.cfg.kind == "joint2d":
            z2 = z[:, :, :-1] if self.aux else z
            m = self.decoder(z2.permute(0, 3, 1, 2))[..., self.inverse]
            out = joint_map_to_features(m.permute(0, 2, 3, 1))
            if self.aux:
                body = self.aux_decoder(z[:, :, -1].transpose(1, 2)).transpose(1, 2)
                out = self.fuse(torch.cat([out, body], dim=-1))
            return out
        return self.decoder(z.transpose(1, 2)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (reconstruction (B, T, D), token indices (B, T', [J',] Q), commitment loss)."""
        z = self.encode_latent(x)
        zq, indices, commit = self.quantizer(z)
        return self.decode_latent(zq), indices, commit

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantizer.encode(self.encode_latent(x))

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        return self.decode_latent(self.quantizer.decode(indices))
