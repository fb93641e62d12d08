"""Token-level text encoder shared by the retrieval models: a frozen pretrained base plus a trainable transformer.

The base is the bundled MiniLM by default (DistilBERT or another BERT-like model from a local folder, as
TMR / LAVIMO / Motion Patches use, when a user has one). Its token states are frozen, so during training
they are computed once per caption and cached; the trainable part is a small transformer with a learned
CLS token whose output is the caption's representation. The same module runs end to end (ids -> vector)
for ONNX export.

`sentence_embeddings` gives the base model's mean-pooled, normalised sentence vector of the same pass:
that is the frozen sentence model LAVIMO's soft targets and TMR's negative filtering compare captions with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from training.models.text_encoder import mean_pool, minilm_path


@dataclass
class TextEncoderConfig:
    base: str = "minilm"          # "minilm" (bundled) or a local folder of a BERT-like model (DistilBERT ...)
    max_tokens: int = 48
    width: int = 256
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1


def base_model_path(base: str) -> str:
    if base == "minilm":
        return minilm_path()
    if not Path(base).is_dir():
        raise FileNotFoundError(f"text base model folder not found: {base} (no hub access: give a local folder)")
    return base


class FrozenTextBase(nn.Module):
    """The pretrained model, frozen and always in eval mode, with a per-caption cache of its token states."""

    def __init__(self, base: str = "minilm", max_tokens: int = 48):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        path = base_model_path(base)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.max_tokens = max_tokens
        self.dim = int(self.model.config.hidden_size)
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def train(self, mode: bool = True) -> FrozenTextBase:
        return super().train(False)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    @torch.no_grad()
    def states(self, texts: list[str], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Padded token states (B, L, dim) and a bool mask (B, L) of real tokens, from the cache when possible."""
        missing = sorted({t for t in texts if t not in self._cache})
        for i in range(0, len(missing), 128):
            chunk = missing[i:i + 128]
            enc = self.tokenize(chunk)
            hidden = self(**{k: v.to(self.model.device) for k, v in enc.items()}).cpu()  # the cache lives on the CPU
            for j, t in enumerate(chunk):
                n = int(enc["attention_mask"][j].sum())
                pooled = mean_pool(hidden[j:j + 1, :n], enc["attention_mask"][j:j + 1, :n])[0]
                self._cache[t] = (hidden[j, :n].clone(), pooled)
        longest = max(self._cache[t][0].shape[0] for t in texts)
        out = torch.zeros(len(texts), longest, self.dim)
        mask = torch.zeros(len(texts), longest, dtype=torch.bool)
        for i, t in enumerate(texts):
            h = self._cache[t][0]
            out[i, :len(h)] = h
            mask[i, :len(h)] = True
        return out.to(device), mask.to(device)

    @torch.no_grad()
    def sentence_embeddings(self, texts: list[str], device: torch.device | str = "cpu") -> torch.Tensor:
        """(B, dim) normalised mean-pooled sentence vectors (the frozen 'sentence model' of the papers)."""
        self.states(texts)
        return F.normalize(torch.stack([self._cache[t][1] for t in texts]), dim=-1).to(device)


class TextTransformer(nn.Module):
    """Trainable part: token states -> CLS output of a small transformer, (B, width)."""

    def __init__(self, in_dim: int, cfg: TextEncoderConfig):
        super().__init__()
        self.proj = nn.Linear(in_dim, cfg.width)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos = nn.Parameter(torch.zeros(1, cfg.max_tokens + 1, cfg.width))
        nn.init.normal_(self.cls, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, 4 * cfg.width, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.forward_sequence(states, mask)[0][:, 0]

    def forward_sequence(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All outputs (B, 1 + L, width), CLS first, and their keep mask (B, 1 + L) (LAVIMO's fusion attends
        to the tokens)."""
        x = self.proj(states)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos[:, :x.shape[1]]
        keep = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        return self.norm(self.encoder(x, src_key_padding_mask=~keep)), keep


class TokenTextEncoder(nn.Module):
    """Captions -> (B, width) features: frozen base (cached) + trainable transformer."""

    def __init__(self, cfg: TextEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.base = FrozenTextBase(cfg.base, cfg.max_tokens)
        self.head = TextTransformer(self.base.dim, cfg)
        self.width = cfg.width
        self.register_state_dict_post_hook(self._drop_base)
        self.register_load_state_dict_pre_hook(self._fill_base)

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        device = self.head.cls.device
        states, mask = self.base.states(list(texts), device)
        return self.head(states, mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """End to end from token ids (the graph ONNX export writes)."""
        states = self.base(input_ids, attention_mask)
        return self.head(states, attention_mask.bool())


    # The frozen base (~90 MB for MiniLM) stays out of state dicts: it is rebuilt from `cfg.base` with the
    # encoder, and loading fills its entries back from that copy, so checkpoints hold only what training
    # changes while strict loading still checks every trained tensor.
    @staticmethod
    def _drop_base(module, state, prefix, local_metadata) -> None:
        for key in [k for k in state if k.startswith(prefix + "base.")]:
            del state[key]

    @staticmethod
    def _fill_base(module, state, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs) -> None:
        for key, value in module.base.state_dict().items():
            state.setdefault(prefix + "base." + key, value)


class TextGraph(nn.Module):
    """(input_ids int64 (B, L), attention_mask int64 (B, L)) -> L2-normalised (B, E): a token text encoder and
    its projection end to end, the text graph every retrieval model exports."""

    def __init__(self, text: TokenTextEncoder, proj: nn.Module):
        super().__init__()
        self.text, self.proj = text, proj

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.text(input_ids, attention_mask)), dim=-1)
