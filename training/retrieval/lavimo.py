"""LAVIMO (language-video-motion alignment): text, motion and video encoders in one embedding space.

- Text: the shared `TokenTextEncoder` (frozen base + trainable transformer, CLS) -> Linear to the latent.
- Motion: normalised features -> Linear, a CLS token, learned positions, a transformer encoder; CLS -> latent.
- Video (3-modal): `training.retrieval.video.VideoEncoder` (per-frame backbone + temporal transformer),
  average pooled -> latent.
- Alignment: the sum over the modality pairs of the bidirectional KL between softmax(cos / tau) and soft
  targets from the frozen sentence model (caption cosine kept where >= eps).
- Fusion + decoder (a training aid, never exported): the motion embedding is the query of one cross-attention
  per modality; the three outputs are summed and condition a transformer decoder that rebuilds the
  normalised motion from learned time queries (MSE on real frames).

Why the fusion attends to token sequences: in the paper each modality is one vector, and attention over a
single key is just a projection of its value. Attending to each encoder's outputs (motion frames, caption
tokens, video frames) keeps the paper's structure (query = motion embedding, one attention per modality,
summed) while letting the weights choose what to take from each modality.

All exported outputs are L2-normalised float32 (B, E) (see the uniform interface in `text_graph`,
`motion_graph`, `video_graph`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from backend.errors import MotionInputError
from training.train.config import config_section

from .losses import LearnableTemperature, kl_alignment, soft_targets
from .text import TextEncoderConfig, TextGraph, TokenTextEncoder
from .video import VideoEncoder, VideoEncoderConfig

KIND = "lavimo"
TWO_MODAL = ("text", "motion")
THREE_MODAL = ("text", "motion", "video")


@dataclass
class MotionEncoderConfig:
    width: int = 256
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1
    frames_per_token: int = 1     # >1: k consecutive frames per token, k times fewer tokens (CPU defaults)


@dataclass
class DecoderConfig:
    layers: int = 1
    heads: int = 4
    dropout: float = 0.1


@dataclass
class LavimoConfig:
    modalities: tuple[str, ...] = THREE_MODAL
    latent: int = 256             # joint embedding size E (paper: 512)
    feature_dim: int = 263        # from the data
    max_frames: int = 196         # longest motion window (learned positions up to this)
    temperature: float = 0.07     # initial tau
    learn_temperature: bool = True
    eps: float = 0.8              # soft-target threshold on caption cosine
    recon_weight: float = 0.1
    fusion_heads: int = 4
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    motion: MotionEncoderConfig = field(default_factory=MotionEncoderConfig)
    video: VideoEncoderConfig = field(default_factory=VideoEncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)

    def __post_init__(self):
        self.modalities = tuple(self.modalities)
        if self.modalities not in (TWO_MODAL, THREE_MODAL):
            raise MotionInputError(f"[model] modalities must be {list(TWO_MODAL)} or {list(THREE_MODAL)}, "
                                   f"got {list(self.modalities)}")
        if self.motion.frames_per_token < 1:
            raise MotionInputError(f"[model.motion] frames_per_token must be >= 1, got {self.motion.frames_per_token}")
        if not 0.0 < self.eps <= 1.0:
            raise MotionInputError(f"[model] eps must be in (0, 1], got {self.eps}")

    @property
    def has_video(self) -> bool:
        return "video" in self.modalities

    @classmethod
    def from_dict(cls, model: dict, text: dict | None = None) -> LavimoConfig:
        """From a [model] section (with optional [model.motion], [model.video], [model.decoder]) and the
        [text] section (`TextEncoderConfig`, shared with the other retrieval kinds)."""
        d = dict(model)
        subs = {"motion": MotionEncoderConfig, "video": VideoEncoderConfig, "decoder": DecoderConfig}
        parts = {k: config_section(c, d.pop(k, None), f"[model.{k}]") for k, c in subs.items()}
        known = {f.name for f in fields(cls)} - set(subs) - {"text"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise MotionInputError(f"unknown [model] keys: {unknown} (known: {sorted(known | set(subs))})")
        return cls(**d, **parts, text=config_section(TextEncoderConfig, text, "[text]"))

    def to_dict(self) -> dict:
        """The [model] part (the text config goes into its own [text] / meta['text'])."""
        out = asdict(self)
        out.pop("text")
        out["modalities"] = list(self.modalities)
        return out


def _encoder(width: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, activation="gelu", batch_first=True,
                                       norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, frames) True on real frames."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


def tokens_of(lengths: torch.Tensor, frames_per_token: int) -> torch.Tensor:
    """Tokens holding at least one real frame."""
    return torch.div(lengths + frames_per_token - 1, frames_per_token, rounding_mode="floor")


class MotionEncoder(nn.Module):
    """Normalised features (B, T, D) + lengths -> outputs (B, 1 + N, width) with the CLS first, and their mask;
    N = ceil(T / frames_per_token) tokens of `frames_per_token` consecutive frames each."""

    def __init__(self, feature_dim: int, max_frames: int, cfg: MotionEncoderConfig):
        super().__init__()
        self.k = cfg.frames_per_token
        self.proj = nn.Linear(self.k * feature_dim, cfg.width)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos = nn.Parameter(torch.zeros(1, -(-max_frames // self.k) + 1, cfg.width))
        nn.init.normal_(self.cls, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        self.encoder = _encoder(cfg.width, cfg.heads, cfg.layers, cfg.dropout)
        self.norm = nn.LayerNorm(cfg.width)
        self.width = cfg.width
        self.max_frames = max_frames

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not torch.compiler.is_exporting() and motion.shape[1] > self.max_frames:
            raise MotionInputError(f"motion of {motion.shape[1]} frames is longer than the encoder's "
                                   f"{self.max_frames}: crop it first")
        if self.k > 1:  # zero-pad to whole tokens (padding frames are zeros, as in a padded batch)
            motion = F.pad(motion, (0, 0, 0, (-motion.shape[1]) % self.k))
            motion = motion.reshape(motion.shape[0], -1, self.k * motion.shape[2])
        x = self.proj(motion)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos[:, :x.shape[1]]
        keep = frame_mask(tokens_of(lengths, self.k) + 1, x.shape[1])
        return self.norm(self.encoder(x, src_key_padding_mask=~keep)), keep


class Fusion(nn.Module):
    """The motion embedding as query, one cross-attention per modality over its tokens, outputs summed."""

    def __init__(self, latent: int, widths: dict[str, int], heads: int):
        super().__init__()
        self.query_norm = nn.LayerNorm(latent)
        self.attend = nn.ModuleDict({name: nn.MultiheadAttention(latent, heads, kdim=w, vdim=w, batch_first=True)
                                     for name, w in widths.items()})

    def forward(self, query: torch.Tensor, sources: dict[str, tuple[torch.Tensor, torch.Tensor | None]]
                ) -> torch.Tensor:
        q = self.query_norm(query)[:, None]
        fused = 0
        for name, (tokens, keep) in sources.items():
            out, _ = self.attend[name](q, tokens, tokens, key_padding_mask=None if keep is None else ~keep,
                                       need_weights=False)
            fused = fused + out[:, 0]
        return fused


class MotionDecoder(nn.Module):
    """Fused vector (B, E) + lengths -> normalised motion (B, T, D) from learned time queries (one query per
    `frames_per_token` frames, like the encoder's tokens)."""

    def __init__(self, latent: int, feature_dim: int, max_frames: int, frames_per_token: int, cfg: DecoderConfig):
        super().__init__()
        self.k = frames_per_token
        self.queries = nn.Parameter(torch.zeros(1, -(-max_frames // self.k), latent))
        nn.init.normal_(self.queries, std=0.02)
        layer = nn.TransformerDecoderLayer(latent, cfg.heads, 4 * latent, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, cfg.layers)
        self.norm = nn.LayerNorm(latent)
        self.out = nn.Linear(latent, self.k * feature_dim)

    def forward(self, fused: torch.Tensor, lengths: torch.Tensor, frames: int) -> torch.Tensor:
        n = -(-frames // self.k)
        q = self.queries[:, :n].expand(fused.shape[0], -1, -1) + fused[:, None]
        h = self.decoder(q, fused[:, None], tgt_key_padding_mask=~frame_mask(tokens_of(lengths, self.k), n))
        out = self.out(self.norm(h))
        return out.reshape(out.shape[0], n * self.k, -1)[:, :frames]


class LavimoModel(nn.Module):
    kind = KIND
    motion_input = "features"

    def __init__(self, cfg: LavimoConfig):
        super().__init__()
        self.cfg = cfg
        self.text = TokenTextEncoder(cfg.text)
        self.text_proj = nn.Linear(self.text.width, cfg.latent)
        self.motion = MotionEncoder(cfg.feature_dim, cfg.max_frames, cfg.motion)
        self.motion_proj = nn.Linear(self.motion.width, cfg.latent)
        widths = {"motion": self.motion.width, "text": self.text.width}
        self.video: VideoEncoder | None = None
        if cfg.has_video:
            self.video = VideoEncoder(cfg.video)
            self.video_proj = nn.Linear(self.video.width, cfg.latent)
            widths["video"] = self.video.width
        self.temperature = LearnableTemperature(cfg.temperature, cfg.learn_temperature)
        self.fusion = Fusion(cfg.latent, widths, cfg.fusion_heads)
        self.decoder = MotionDecoder(cfg.latent, cfg.feature_dim, cfg.max_frames, cfg.motion.frames_per_token,
                                    cfg.decoder)

    # --- encoders: (raw latent, tokens, keep mask) -------------------------------------------------------
    def _text(self, texts: list[str]):
        states, mask = self.text.base.states(list(texts), self.text_proj.weight.device)
        tokens, keep = self.text.head.forward_sequence(states, mask)
        return self.text_proj(tokens[:, 0]), tokens, keep

    def _motion(self, motion: torch.Tensor, lengths: torch.Tensor):
        tokens, keep = self.motion(motion, lengths)
        return self.motion_proj(tokens[:, 0]), tokens, keep

    def _video(self, frames: torch.Tensor):
        if self.video is None:
            raise MotionInputError("this LAVIMO model is 2-modal (text-motion): it has no video encoder")
        tokens = self.video(frames)
        return self.video_proj(tokens.mean(dim=1)), tokens, None

    # --- normalised embeddings (training, evaluation) ----------------------------------------------------
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        return F.normalize(self._text(texts)[0], dim=-1)

    def embed_motion(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self._motion(motion, lengths)[0], dim=-1)

    def embed_video(self, frames: torch.Tensor) -> torch.Tensor:
        return F.normalize(self._video(frames)[0], dim=-1)

    # --- training objective ------------------------------------------------------------------------------
    def losses(self, texts: list[str], motion: torch.Tensor, lengths: torch.Tensor,
               video: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Loss terms of one batch: kl_tm (+ kl_tv, kl_vm when 3-modal), recon, and their weighted 'loss'."""
        if self.cfg.has_video and video is None:
            raise MotionInputError("3-modal LAVIMO needs the batch's video frames")
        t_lat, t_tok, t_keep = self._text(texts)
        m_lat, m_tok, m_keep = self._motion(motion, lengths)
        target = soft_targets(self.text.base.sentence_embeddings(list(texts), m_lat.device), self.cfg.eps)
        tau = self.temperature()
        terms = {"kl_tm": kl_alignment(t_lat, m_lat, target, tau)}
        sources = {"motion": (m_tok, m_keep), "text": (t_tok, t_keep)}
        if self.cfg.has_video:
            v_lat, v_tok, _ = self._video(video)
            terms["kl_tv"] = kl_alignment(t_lat, v_lat, target, tau)
            terms["kl_vm"] = kl_alignment(v_lat, m_lat, target, tau)
            sources["video"] = (v_tok, None)
        fused = self.fusion(m_lat, sources)
        recon = self.decoder(fused, lengths, motion.shape[1])
        real = frame_mask(lengths, motion.shape[1])
        terms["recon"] = F.mse_loss(recon[real], motion[real])
        align = sum(v for k, v in terms.items() if k.startswith("kl_"))
        terms["loss"] = align + self.cfg.recon_weight * terms["recon"]
        terms["temperature"] = tau.detach()
        return terms

    def forward(self, texts: list[str], motion: torch.Tensor, lengths: torch.Tensor,
                video: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The loss terms (`losses`): training calls the module itself so that DDP can synchronise gradients."""
        return self.losses(texts, motion, lengths, video)

    # --- uniform interface: export-ready graphs (no fusion, no decoder) ----------------------------------
    def text_graph(self) -> nn.Module:
        return TextGraph(self.text, self.text_proj)

    def motion_graph(self) -> nn.Module:
        return MotionGraph(self.motion, self.motion_proj)

    def video_graph(self) -> nn.Module | None:
        return None if self.video is None else VideoGraph(self.video, self.video_proj)


class MotionGraph(nn.Module):
    """(motion float32 (B, T, D) normalised features, lengths int64 (B,)) -> (B, E) normalised."""

    def __init__(self, motion: MotionEncoder, proj: nn.Linear):
        super().__init__()
        self.motion, self.proj = motion, proj

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.motion(motion, lengths)[0][:, 0]), dim=-1)


class VideoGraph(nn.Module):
    """(frames float32 (B, F, R, R, 3) in [0, 1]) -> (B, E) normalised."""

    def __init__(self, video: VideoEncoder, proj: nn.Linear):
        super().__init__()
        self.video, self.proj = video, proj

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.video(frames).mean(dim=1)), dim=-1)


def build_lavimo(meta: dict[str, Any]) -> LavimoModel:
    """A LavimoModel (untrained weights) from a checkpoint's meta (`LavimoTask.meta()`)."""
    if meta.get("kind", KIND) != KIND:
        raise MotionInputError(f"not a LAVIMO checkpoint (kind {meta.get('kind')!r})")
    return LavimoModel(LavimoConfig.from_dict(meta["model"], meta.get("text")))
