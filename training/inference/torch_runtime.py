"""The generator runtime on torch modules (development, tests, and the reference for ONNX parity)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from backend.runtime.base import GeneratorInfo
from backend.runtime.text_condition import SENTENCE, fit, text_condition
from training.models.text_encoder import SentenceEncoder
from training.models.transformer2d import LengthEstimator, MaskTransformer2D, ResidualTransformer2D, Transformer2DConfig
from training.models.vqvae import MotionVQVAE, VQVAEConfig
from training.train.generator_tasks import load_checkpoint, normalizer_from_meta


def info_for(vq: MotionVQVAE, tcfg: Transformer2DConfig, length: LengthEstimator, text: SentenceEncoder,
             mean: np.ndarray, std: np.ndarray, name: str = "generator", condition: str = SENTENCE) -> GeneratorInfo:
    return GeneratorInfo(fps=20.0 if vq.cfg.feature_dim == 263 else 12.5, feature_dim=vq.cfg.feature_dim,
                         time_factor=vq.time_factor, max_frames=tcfg.max_frames * vq.time_factor,
                         num_codes=vq.cfg.num_codes, num_quantizers=vq.cfg.num_quantizers,
                         columns=vq.token_columns, text_dim=text.dim, length_classes=length.classes,
                         mean=np.asarray(mean, np.float32), std=np.asarray(std, np.float32), name=name,
                         extra={"vq": vq.cfg.to_dict(), "transformer": tcfg.to_dict()}, condition=condition)


class TorchGeneratorRuntime:
    def __init__(self, vq: MotionVQVAE, mask: MaskTransformer2D, residual: ResidualTransformer2D | None,
                 length: LengthEstimator, text: SentenceEncoder, info: GeneratorInfo | None = None):
        self.vq, self.mask, self.residual, self.length, self.text = (
            vq.eval(), mask.eval(), residual.eval() if residual is not None else None, length.eval(), text)
        self.info = info or info_for(vq, mask.cfg, length, text, np.zeros(vq.cfg.feature_dim, np.float32),
                                     np.ones(vq.cfg.feature_dim, np.float32))
        self.provider = "torch-cpu"

    @classmethod
    def from_checkpoints(cls, mask_path: str | Path, residual_path: str | Path | None,
                         length_path: str | Path, name: str = "generator") -> TorchGeneratorRuntime:
        ms = load_checkpoint(mask_path, "mask")
        meta = ms["meta"]
        vq_state = load_checkpoint(meta["vq_path"], "vq")
        vq = MotionVQVAE(VQVAEConfig(**vq_state["meta"]["vq"]))
        vq.load_state_dict(vq_state["model"])
        tcfg = Transformer2DConfig.from_dict(meta["transformer"])
        mask = MaskTransformer2D(tcfg)
        mask.load_state_dict(ms["model"])
        residual = None
        if residual_path is not None:
            rs = load_checkpoint(residual_path, "residual")
            if Path(rs["meta"]["vq_path"]).resolve() != Path(meta["vq_path"]).resolve():
                raise ValueError("the residual and mask transformers were trained on different VQ-VAEs")
            rcfg = Transformer2DConfig.from_dict(rs["meta"]["transformer"])
            residual = ResidualTransformer2D(rcfg, vq.cfg.num_quantizers)
            residual.load_state_dict(rs["model"])
        ls = load_checkpoint(length_path, "length")
        length = LengthEstimator(**ls["meta"]["length"])
        length.load_state_dict(ls["model"])
        text = SentenceEncoder(meta["text"]["encoder"], meta["text"]["path"])
        norm = normalizer_from_meta(meta["normalizer"])
        condition = meta["text"].get("condition", SENTENCE)
        return cls(vq, mask, residual, length, text,
                   info_for(vq, tcfg, length, text, norm.mean, norm.std, name, condition))

    @torch.no_grad()
    def encode_text(self, prompts: list[str]) -> np.ndarray:
        return text_condition(lambda t: self.text.encode(t).numpy().astype(np.float32), prompts,
                              self.info.condition)

    @staticmethod
    def _text(text: np.ndarray, dim: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(fit(text, dim), np.float32))

    @torch.no_grad()
    def mask_logits(self, ids, text, frame_valid, drop_text):
        return self.mask(torch.from_numpy(np.ascontiguousarray(ids, np.int64)),
                         self._text(text, self.mask.cfg.text_dim), torch.from_numpy(frame_valid),
                         torch.from_numpy(drop_text)).numpy()

    @property
    def has_residual(self) -> bool:
        """False for the ablations that decode from the base layer only (`--torch MASK none LENGTH`)."""
        return self.residual is not None

    @torch.no_grad()
    def residual_logits(self, ids, layer, text, frame_valid, drop_text):
        if self.residual is None:
            raise RuntimeError("this generator has no residual transformer")
        return self.residual(torch.from_numpy(np.ascontiguousarray(ids, np.int64)), torch.from_numpy(layer),
                             self._text(text, self.residual.cfg.text_dim), torch.from_numpy(frame_valid),
                             torch.from_numpy(drop_text)).numpy()

    @torch.no_grad()
    def length_logits(self, text):
        return self.length(self._text(text, self.info.text_dim)).numpy()

    @torch.no_grad()
    def encode_motion(self, features):
        ids = self.vq.encode(torch.from_numpy(np.ascontiguousarray(features, np.float32)))
        return (ids[:, :, None] if ids.dim() == 3 else ids).numpy()

    @torch.no_grad()
    def decode_motion(self, ids):
        ids_t = torch.from_numpy(np.ascontiguousarray(ids, np.int64))
        if self.vq.cfg.kind == "body1d":
            ids_t = ids_t[:, :, 0]
        return self.vq.decode(ids_t).numpy()
