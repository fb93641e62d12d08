"""Prompt tokenisation for the exported text encoder, from `tokenizer.json` alone (the `tokenizers` library).

It reproduces what training did with transformers' AutoTokenizer (`padding=True, truncation=True,
max_length=max_tokens`): pad to the longest prompt of the batch, truncate longest-first to max_tokens.
Lower-casing and accent handling live in tokenizer.json's normaliser, so nothing is done here. The
padding and truncation stored in tokenizer.json (e.g. fixed 128 for MiniLM) are replaced because the
model was trained with the settings above.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MotionInputError

_PAD_CANDIDATES = ("[PAD]", "<pad>", "<|endoftext|>")


class PromptTokenizer:
    def __init__(self, path: str | Path, max_tokens: int = 64, pad_id: int | None = None,
                 pad_token: str | None = None):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise MotionInputError("the `tokenizers` package is needed to run a generator "
                                   "(pip install tokenizers)") from None
        path = Path(path)
        try:
            self._tok = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust side raises a bare Exception for malformed files
            raise MotionInputError(f"unreadable tokenizer: {err}", str(path)) from None
        if pad_token is None or pad_id is None:
            pad_token, pad_id = self._find_pad(pad_token, pad_id)
        self.max_tokens, self.pad_id, self.pad_token = int(max_tokens), int(pad_id), str(pad_token)
        self._tok.enable_truncation(max_length=self.max_tokens)
        self._tok.enable_padding(pad_id=self.pad_id, pad_token=self.pad_token)  # no length: batch longest

    def _find_pad(self, pad_token: str | None, pad_id: int | None) -> tuple[str, int]:
        if pad_token is not None:
            found = self._tok.token_to_id(pad_token)
            return pad_token, int(found if found is not None else 0)
        if pad_id is not None:
            return self._tok.id_to_token(pad_id) or "[PAD]", pad_id
        stored = self._tok.padding
        if stored:
            return stored["pad_token"], int(stored["pad_id"])
        for token in _PAD_CANDIDATES:
            found = self._tok.token_to_id(token)
            if found is not None:
                return token, int(found)
        return "[PAD]", 0

    def __call__(self, prompts: list[str]) -> dict[str, np.ndarray]:
        """{'input_ids', 'attention_mask'}: int64 (B, L), L the longest prompt's length (at most max_tokens)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        if not prompts:
            raise MotionInputError("no prompts to tokenise")
        encodings = self._tok.encode_batch(list(prompts))
        return {"input_ids": np.asarray([e.ids for e in encodings], np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encodings], np.int64)}
