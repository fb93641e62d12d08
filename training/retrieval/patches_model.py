"""Motion Patches (Yu et al., 2024): a timm ViT reads a motion as a 3 x 224 x 80 image of body-part chains.

Motion: joints -> `backend.motion.patches` image (5 chains x 16 points, xyz as RGB, 224 frames, z-normalised
per point with statistics of the training split) -> ViT with 16 x 16 patches (14 x 5 = 70 patches + CLS) ->
`ProjectionHead` to E. Text: the shared `TokenTextEncoder` -> `ProjectionHead` to E. Learnable temperature
(init 0.07), symmetric cross-entropy, optional negative filtering as in TMR.

The ViT is `timm.create_model(name, img_size=(224, 80), patch_size=16, num_classes=0)`, trained from scratch
by default. Image weights (ImageNet ViT-B/16 in the paper) are loaded from a local .pth / .safetensors file
when configured: their 14 x 14 position grid is resampled to the 14 x 5 grid of motion images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .losses import LearnableTemperature
from .text import TextEncoderConfig, TextGraph, TokenTextEncoder

KIND = "patches"
PATCH = 16
PARTS = 5


@dataclass
class PatchesConfig:
    vit: str = "vit_tiny_patch16_224"
    vit_weights: str = ""            # local .pth / .safetensors of image weights ("" = from scratch)
    vit_args: dict = field(default_factory=dict)  # extra timm arguments, e.g. {depth = 4} for CPU-sized runs
    frames: int = 224
    points: int = 16
    embed_dim: int = 256
    head_dropout: float = 0.1
    temperature: float = 0.07
    learn_temperature: bool = True
    filter_threshold: float = 0.0    # > 0: TMR's negative filtering at this caption cosine; 0 = plain CLIP loss

    def __post_init__(self) -> None:
        if self.frames % PATCH or self.points != PATCH:
            raise ValueError(f"frames must be a multiple of {PATCH} and points equal {PATCH} (16 x 16 patches), "
                             f"got frames={self.frames}, points={self.points}")
        reserved = {"img_size", "patch_size", "num_classes", "pretrained", "in_chans"} & set(self.vit_args)
        if reserved:
            raise ValueError(f"vit_args may not set {sorted(reserved)}: the motion image fixes them")


class ProjectionHead(nn.Module):
    """Linear -> GELU -> Linear -> Dropout, plus the first Linear's output as a residual, -> LayerNorm."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.1):
        super().__init__()
        self.project = nn.Linear(in_dim, out_dim)
        self.fc = nn.Linear(out_dim, out_dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        projected = self.project(x)
        return self.norm(self.dropout(self.fc(F.gelu(projected))) + projected)


def create_vit(name: str, frames: int = 224, points: int = 16, vit_args: dict | None = None) -> nn.Module:
    """A timm ViT for (3, frames, 5 * points) images, without a classifier (CLS features out)."""
    import timm

    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('_')[0]}*")[:8] if name else []
        raise ValueError(f"unknown timm model {name!r}" + (f" (similar: {', '.join(close)})" if close else ""))
    try:
        vit = timm.create_model(name, pretrained=False, img_size=(frames, PARTS * points), patch_size=PATCH,
                                num_classes=0, **(vit_args or {}))
    except TypeError as err:
        raise ValueError(f"timm model {name!r} does not take these arguments ({err}); use a ViT") from None
    if not hasattr(vit, "pos_embed") or not hasattr(vit, "patch_embed"):
        raise ValueError(f"timm model {name!r} is not a ViT with patch and position embeddings")
    return vit


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"ViT weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch / safetensors raise many types for foreign files
        raise ValueError(f"cannot read ViT weights from {path}: {err}") from None
    for key in ("model", "state_dict", "module"):  # common checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} holds no state dict of tensors")
    return state


def load_vit_weights(vit: nn.Module, path: str | Path) -> dict:
    """Load image weights into `vit`, resampling the position embeddings to its grid; the classifier head is
    dropped. Returns what was done (for the log and the checkpoint meta)."""
    from timm.layers import resample_abs_pos_embed

    path = Path(path)
    state = {k: v for k, v in _read_weights(path).items() if not k.startswith(("head.", "fc_norm.", "head_drop."))
             or k in vit.state_dict()}
    prefix = vit.num_prefix_tokens
    grid = vit.patch_embed.grid_size
    old_grid = None
    if "pos_embed" in state and state["pos_embed"].shape != vit.pos_embed.shape:
        pos = state["pos_embed"]
        side = int(round((pos.shape[1] - prefix) ** 0.5))
        if side * side != pos.shape[1] - prefix or pos.shape[2] != vit.pos_embed.shape[2]:
            raise ValueError(f"cannot resample position embeddings of shape {tuple(pos.shape)} to "
                             f"{tuple(vit.pos_embed.shape)} (width or square grid mismatch)")
        old_grid = (side, side)
        state["pos_embed"] = resample_abs_pos_embed(pos, new_size=list(grid), old_size=[side, side],
                                                    num_prefix_tokens=prefix)
    own = vit.state_dict()
    wrong = sorted(k for k, v in state.items() if k in own and own[k].shape != v.shape)
    if wrong:
        raise ValueError(f"ViT weights in {path} do not fit this model: shapes differ for {wrong[:5]}")
    result = vit.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise ValueError(f"ViT weights in {path} lack {len(result.missing_keys)} tensors of this model, "
                         f"e.g. {result.missing_keys[:5]} (another architecture?)")
    return {"file": str(path), "pos_grid_from": list(old_grid) if old_grid else list(grid), "pos_grid_to": list(grid),
            "ignored": sorted(result.unexpected_keys)[:20]}


class PatchMotionGraph(nn.Module):
    """(image (B, 3, frames, 80) z-normalised, lengths (B,)) -> L2-normalised (B, E). The ViT sees the zero
    padding as the paper's does, so `lengths` does not change the output (it keeps the interface uniform)."""

    def __init__(self, vit: nn.Module, head: nn.Module):
        super().__init__()
        self.vit, self.head = vit, head

    def forward(self, image: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.vit(image)), dim=-1)


class PatchesModel(nn.Module):
    kind = KIND
    motion_input = "patches"

    def __init__(self, cfg: PatchesConfig, text_cfg: TextEncoderConfig, *, load_pretrained: bool = True):
        super().__init__()
        self.cfg, self.text_cfg = cfg, text_cfg
        self.vit = create_vit(cfg.vit, cfg.frames, cfg.points, cfg.vit_args)
        self.pretrained: dict | None = None
        if cfg.vit_weights and load_pretrained:
            self.pretrained = load_vit_weights(self.vit, cfg.vit_weights)
        self.motion_head = ProjectionHead(self.vit.num_features, cfg.embed_dim, cfg.head_dropout)
        self.text = TokenTextEncoder(text_cfg)
        self.text_head = ProjectionHead(self.text.width, cfg.embed_dim, cfg.head_dropout)
        self.temperature = LearnableTemperature(cfg.temperature, cfg.learn_temperature)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        return F.normalize(self.text_head(self.text.forward_texts(texts)), dim=-1)

    def encode_images(self, image: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.motion_head(self.vit(image)), dim=-1)

    def encode_batch(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_texts(batch["text"]), self.encode_images(batch["image"])

    def forward(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(text (B, E), motion (B, E), temperature) of a training batch; called through DDP when distributed."""
        text, motion = self.encode_batch(batch)
        return text, motion, self.temperature()

    def text_graph(self) -> nn.Module:
        return TextGraph(self.text, self.text_head)

    def motion_graph(self) -> nn.Module:
        return PatchMotionGraph(self.vit, self.motion_head)

    def video_graph(self) -> None:
        return None

    def describe(self) -> dict:
        return {"model": asdict(self.cfg), "text": asdict(self.text_cfg)}


def build_patches(meta: dict) -> PatchesModel:
    """The model of a checkpoint's meta; the image weights file is not needed (the weights are in the
    checkpoint)."""
    return PatchesModel(PatchesConfig(**meta["model"]), TextEncoderConfig(**meta["text"]), load_pretrained=False)
