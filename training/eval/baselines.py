"""Reference rows for `mogents eval generation` that need no generator.

`random_train_clip`: for every caption, a random training clip (any caption's), cropped to the requested
length when longer. It is real motion, so its FID measures only the mismatch between a random clip and the
test distribution — the floor a generator has to reach before it beats "play any real clip" — while its
R-precision shows what ignoring the text costs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .protocol import pad_features


def random_train_clip(dataset_root: str | Path, split: str = "train"):
    """A `generate_fn(texts, lengths)` for the protocol that returns random real clips of `split`; it draws
    from the global torch RNG, which the protocol seeds per repeat."""
    root = Path(dataset_root)
    ids = (root / f"{split}.txt").read_text().split()
    if not ids:
        raise ValueError(f"{root / (split + '.txt')} lists no clips")
    cache: dict[str, np.ndarray] = {}

    def clip(i: str) -> np.ndarray:
        if i not in cache:
            cache[i] = np.load(root / "new_joint_vecs" / f"{i}.npy").astype(np.float32)
        return cache[i]

    def generate_fn(texts, lengths):
        out = []
        for n in np.asarray(lengths, int):
            f = clip(ids[int(torch.randint(0, len(ids), ()))])
            take = min(int(n), len(f))
            start = int(torch.randint(0, len(f) - take + 1, ()))
            out.append(f[start:start + take])
        return pad_features(out)

    return generate_fn
