"""LAVIMO's video encoder: a timm image backbone on each sampled frame, then a temporal transformer.

Input: F sampled frames (B, F, R, R, 3) float32 in [0, 1] (channels last, as videos are decoded). The module
normalises with the backbone's own mean/std (ImageNet, or CLIP's for CLIP backbones), so an exported graph
takes plain [0, 1] frames. Each frame goes through the backbone (pooled features), learned frame positions
are added, a small transformer mixes the F frames, and the caller average-pools its outputs (the paper's
video embedding) or attends to them (the fusion module).

The default backbone, `mobilenetv3_small_050`, trains from scratch at 64x64 on a CPU (~1.2 s for the
fwd+bwd of 256 frames on one core, against ~7 s for resnet10t and ~12 s for a ViT-Tiny with 8-pixel
patches). Pretrained weights (e.g. a CLIP ViT-B/32 for the paper's configuration) load from a local file;
timm resamples a ViT's position embeddings when the resolution differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from backend.errors import MotionInputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class VideoEncoderConfig:
    backbone: str = "mobilenetv3_small_050"   # any timm image model name
    backbone_args: dict = field(default_factory=dict)   # extra timm.create_model arguments (img_size, patch_size...)
    pretrained: str = ""      # local weights file for the backbone ("": train from scratch; no hub access)
    frames: int = 8           # sampled frames per video (the paper's 8)
    resolution: int = 64      # square frame side R the encoder takes
    width: int = 256          # temporal transformer width
    layers: int = 1
    heads: int = 4
    dropout: float = 0.1


def check_video_config(cfg: VideoEncoderConfig) -> None:
    """Fail early (before any training) on a backbone timm does not know or a weights file that is not there."""
    import timm

    if not timm.is_model(cfg.backbone):
        raise MotionInputError(f"cannot build video backbone {cfg.backbone!r}: timm has no such model")
    if cfg.pretrained and not Path(cfg.pretrained).is_file():
        raise MotionInputError("video backbone weights file not found (give a local .safetensors/.pth file)",
                               cfg.pretrained)
    if cfg.frames < 1 or cfg.resolution < 8:
        raise MotionInputError(f"[model.video] needs frames >= 1 and resolution >= 8, got {cfg.frames}, "
                               f"{cfg.resolution}")


def create_backbone(cfg: VideoEncoderConfig) -> nn.Module:
    """The timm image model without its classifier (pooled features), weights from `cfg.pretrained` if set."""
    import timm

    check_video_config(cfg)
    args = dict(cfg.backbone_args)
    if cfg.pretrained:
        args.update(pretrained=True, pretrained_cfg_overlay={"file": str(cfg.pretrained)})
    try:
        return timm.create_model(cfg.backbone, num_classes=0, **args)
    except RuntimeError as err:  # unknown model names and unusable weight files both land here
        raise MotionInputError(f"cannot build video backbone {cfg.backbone!r}: {err}") from None


class VideoEncoder(nn.Module):
    """(B, F, R, R, 3) frames in [0, 1] -> (B, F, width) frame tokens after the temporal transformer."""

    def __init__(self, cfg: VideoEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = create_backbone(cfg)
        pcfg = getattr(self.backbone, "pretrained_cfg", {}) or {}
        mean, std = pcfg.get("mean", IMAGENET_MEAN), pcfg.get("std", IMAGENET_STD)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        # pooled output size: some models (MobileNetV3) put a wider conv head after the last stage
        self.feature_dim = int(getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features)
        self.proj = nn.Linear(self.feature_dim, cfg.width)
        self.pos = nn.Parameter(torch.zeros(1, cfg.frames, cfg.width))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, 4 * cfg.width, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.temporal = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        self.width = cfg.width

    def check_frames(self, frames: torch.Tensor) -> None:
        f, r = self.cfg.frames, self.cfg.resolution
        if frames.ndim != 5 or tuple(frames.shape[1:]) != (f, r, r, 3):
            raise MotionInputError(f"video frames must be (B, {f}, {r}, {r}, 3) floats in [0, 1], "
                                   f"got shape {tuple(frames.shape)}")

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        self.check_frames(frames)
        f, r = self.cfg.frames, self.cfg.resolution
        x = frames.reshape(-1, r, r, 3).permute(0, 3, 1, 2)
        x = (x - self.mean) / self.std
        feats = self.backbone(x).reshape(-1, f, self.feature_dim)
        tokens = self.proj(feats) + self.pos
        return self.norm(self.temporal(tokens))
