"""Captions -> the text encoder's inputs (tokenizer ids, part-of-speech indices, lengths), numpy only.

The shipped text encoder reads word pieces of MiniLM's tokenizer plus one POS tag per word piece, as the
evaluator was trained on HumanML3D-style 'lemma/POS' tokens. Two modes, named in retrieval.json:
- "tagged": the caption is tagged and lemmatised with the backend's tagger (`backend.data.postag`, with the
  corrections the training captions were made with) and read word by word, as training did;
- "plain": the raw caption's word pieces without tags (the evaluator saw 10% of its captions this way).
Both reproduce `training.eval.evaluator.Evaluator.tokenize` exactly (checked by the export's parity test).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.postag import split_word_pos, tag_caption
from ..errors import MotionInputError

POS_MODES = ("tagged", "plain")


class CaptionTokenizer:
    def __init__(self, path: str | Path, text_meta: dict):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise MotionInputError("the `tokenizers` package is needed for text retrieval "
                                   "(pip install tokenizers)") from None
        try:
            self._tok = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust side raises a bare Exception for malformed files
            raise MotionInputError(f"unreadable tokenizer: {err}", str(path)) from None
        # tokenizer.json stores MiniLM's fixed padding/truncation; training used neither
        self._tok.no_padding()
        self._tok.no_truncation()
        try:
            self.max_wordpieces = int(text_meta["max_wordpieces"])
            self.unk_id = int(text_meta["unk_id"])
            self.pos_index = {str(k): int(v) for k, v in text_meta["pos_index"].items()}
            self.pos_none = int(text_meta["pos_none"])
            self.pos_unknown = int(text_meta["pos_unknown"])
            self.mode = str(text_meta.get("pos_mode", "tagged"))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MotionInputError(f"retrieval.json: bad 'text' section ({err!r})", str(path)) from None
        if self.mode not in POS_MODES:
            raise MotionInputError(f"retrieval.json: unknown pos_mode {self.mode!r}", str(path))
        tagger = text_meta.get("tagger") or {}
        self._extra_tags = {str(k): str(v) for k, v in (tagger.get("extra_tags") or {}).items()}
        self._lemma_fixes = {str(k): str(v) for k, v in (tagger.get("lemma_fixes") or {}).items()}

    def tag(self, text: str) -> list[str]:
        """'a man walks forward' -> ['a/DET', 'man/NOUN', 'walk/VERB', 'forward/ADV']."""
        out = []
        for token in tag_caption(text, extra=self._extra_tags or None).split():
            lemma, _, pos = token.rpartition("/")
            out.append(f"{self._lemma_fixes.get(lemma, lemma)}/{pos}")
        return out

    def _split(self, tokens: Sequence[str]) -> tuple[list[str], list[int]]:
        return split_word_pos(tokens, self.pos_index, self.pos_unknown)

    def encode_one(self, text: str, mode: str | None = None) -> tuple[list[int], list[int]]:
        """Tokenizer ids and POS indices of one caption (at most max_wordpieces, never empty)."""
        mode = mode or self.mode
        if mode not in POS_MODES:
            raise MotionInputError(f"unknown text mode {mode!r}: {', '.join(POS_MODES)}")
        words, tags = self._split(self.tag(text)) if mode == "tagged" else ([], [])
        if words:
            enc = self._tok.encode(words, is_pretokenized=True, add_special_tokens=False)
            ids, pos = list(enc.ids), [tags[w] for w in enc.word_ids]
        else:
            ids = list(self._tok.encode(text, add_special_tokens=False).ids)
            pos = [self.pos_none] * len(ids)
        cut = self.max_wordpieces
        return ids[:cut] or [self.unk_id], pos[:cut] or [self.pos_none]

    def __call__(self, texts: Sequence[str], mode: str | None = None) -> dict[str, np.ndarray]:
        """{'word_ids', 'pos'}: int64 (B, L) zero-padded, 'lengths': int64 (B,)."""
        encoded = [self.encode_one(t, mode) for t in texts]
        lengths = np.array([len(ids) for ids, _ in encoded], np.int64)
        word_ids = np.zeros((len(texts), int(lengths.max())), np.int64)
        pos = np.zeros_like(word_ids)
        for i, (ids, tags) in enumerate(encoded):
            word_ids[i, :len(ids)] = ids
            pos[i, :len(tags)] = tags
        return {"word_ids": word_ids, "pos": pos, "lengths": lengths}


# --- models whose text graph reads a pretrained tokenizer's ids (TMR-like, Motion Patches, LAVIMO) ---------

TEXT_INPUTS = ("word_pos", "token_ids")


class TokenIdsInput:
    """Captions -> {'input_ids', 'attention_mask'} int64 (B, L), as transformers' tokenizer made them in training
    (padding to the longest caption, truncation to `max_tokens`). `mode` is accepted for the runtime's common
    signature and must be None: these models read plain captions only."""

    mode = None

    def __init__(self, path: str | Path, text_meta: dict):
        from ..runtime.tokenizer import PromptTokenizer

        try:
            max_tokens = int(text_meta["max_tokens"])
            pad_id = text_meta.get("pad_id")
            pad_id = None if pad_id is None else int(pad_id)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MotionInputError(f"retrieval.json: bad 'text' section ({err!r})", str(path)) from None
        if max_tokens < 2:
            raise MotionInputError(f"retrieval.json: max_tokens must be at least 2, got {max_tokens}", str(path))
        self.max_tokens = max_tokens
        self._tok = PromptTokenizer(path, max_tokens, pad_id=pad_id)

    def __call__(self, texts: Sequence[str], mode: str | None = None) -> dict[str, np.ndarray]:
        if mode is not None:
            raise MotionInputError(f"this retrieval model reads plain captions; text mode {mode!r} does not apply")
        return self._tok(list(texts))


def make_text_input(path: str | Path, text_meta: dict) -> CaptionTokenizer | TokenIdsInput:
    """The caption reader named by retrieval.json's text 'input' ("word_pos" when absent: the evaluator kind)."""
    kind = str((text_meta or {}).get("input", "word_pos"))
    if kind not in TEXT_INPUTS:
        raise MotionInputError(f"retrieval.json: unknown text input {kind!r} ({', '.join(TEXT_INPUTS)})", str(path))
    return CaptionTokenizer(path, text_meta) if kind == "word_pos" else TokenIdsInput(path, text_meta)
