"""VQ token maps of a dataset, computed once per VQ and kept on disk, for the transformer trainers.

The transformers learn on a frozen VQ's tokens. Encoding every batch with the VQ costs as much as a
good part of the transformer step, and gives the same tokens again and again. Here every dataset entry
(a clip, or a captioned window of one) is encoded once, whole; training items are crops of that token
map in whole token steps (4 frames), as T2M-GPT trains on pre-tokenised motions. A crop's tokens can
differ from those of the same frames encoded alone near the crop's borders (the encoder's receptive
field); the validation batches are still encoded by the VQ, so the reported accuracy is on real tokens.

The cache file is keyed by the VQ checkpoint's sha256 and by the dataset's entries (ids, windows,
lengths) and normaliser, so a retrained VQ or a changed corpus can never be served stale tokens.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .sampling import crop_length
from .text_motion import TextMotionDataset


def default_cache_dir() -> Path:
    return Path(os.environ.get("MOGENTS_CACHE", Path.home() / ".cache" / "mogents"))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dataset_key(dataset: TextMotionDataset) -> str:
    h = hashlib.sha256()
    h.update(str(Path(dataset.root).resolve()).encode())
    for e in dataset.entries:
        h.update(f"{e.clip_id}:{e.start}:{e.end}\n".encode())
    h.update(np.ascontiguousarray(dataset.normalizer.mean, np.float32).tobytes())
    h.update(np.ascontiguousarray(dataset.normalizer.std, np.float32).tobytes())
    return h.hexdigest()[:20]


@torch.no_grad()
def encode_entries(vq: torch.nn.Module, dataset: TextMotionDataset, unit: int, batch: int = 64,
                   progress: bool = False) -> list[torch.Tensor]:
    """Token ids (F, J, Q) int16 of each entry's whole motion (its length cut to a multiple of `unit`)."""
    from tqdm import tqdm

    vq.eval()
    out: list[torch.Tensor | None] = [None] * len(dataset.entries)
    # encode entries of equal token length together: no padding, so no border effects from pads
    by_len: dict[int, list[int]] = {}
    for i, e in enumerate(dataset.entries):
        by_len.setdefault(e.length // unit, []).append(i)
    bar = tqdm(total=len(out), desc="tokenise", unit="clip", disable=not progress)
    for frames, idx in sorted(by_len.items()):
        for s in range(0, len(idx), batch):
            chunk = idx[s:s + batch]
            x = np.stack([dataset.normalizer.normalize(dataset.entries[i].motion[:frames * unit]) for i in chunk])
            ids = vq.encode(torch.from_numpy(x.astype(np.float32)))
            if ids.dim() == 3:  # body1d: (B, F, Q) -> one column
                ids = ids[:, :, None]
            for i, t in zip(chunk, ids.to(torch.int16), strict=True):
                out[i] = t.clone()
            bar.update(len(chunk))
    bar.close()
    return out  # type: ignore[return-value]


def load_or_build(vq: torch.nn.Module, vq_path: str | Path, dataset: TextMotionDataset, unit: int,
                  cache_dir: str | Path | None = None, progress: bool = False) -> tuple[list[torch.Tensor], Path]:
    """The entries' token maps from the cache, building (and atomically writing) them when missing."""
    folder = Path(cache_dir or default_cache_dir()) / "tokens" / file_sha256(vq_path)[:20]
    path = folder / f"{_dataset_key(dataset)}.pt"
    if path.is_file():
        try:
            maps = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(maps, list) and len(maps) == len(dataset.entries):
                return maps, path
        except (RuntimeError, OSError, EOFError, ValueError):
            pass  # unreadable (a crash mid-write on another machine): rebuild it
    maps = encode_entries(vq, dataset, unit, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    torch.save(maps, tmp)
    os.replace(tmp, path)
    return maps, path


class TokenCropDataset(Dataset):
    """Items (ids (max_tokens, J, Q) int64 padded with -1, length in frames, text) cropped from cached
    token maps with the loader's own rules: a random caption, the crop-length coin, a random offset."""

    def __init__(self, dataset: TextMotionDataset, maps: list[torch.Tensor], unit: int):
        self.base, self.maps, self.unit = dataset, maps, unit
        self.max_tokens = dataset.config.max_motion_length // unit

    def __len__(self) -> int:
        return len(self.base)

    def set_epoch(self, epoch: int) -> None:
        self.base.set_epoch(epoch)

    def lengths(self) -> list[int]:
        return self.base.lengths()

    def __getitem__(self, index: int) -> dict:
        entry = self.base.entries[index]
        rng = self.base._random.generator(index)
        caption = entry.captions[int(rng.integers(len(entry.captions)))]
        cfg = self.base.config
        length = crop_length(entry.length, self.unit, cfg.max_motion_length, rng if self.base.random_crop else None)
        tokens = self.maps[index]
        n = length // self.unit
        offset = int(rng.integers(len(tokens) - n + 1)) if self.base.random_crop else 0
        ids = torch.full((self.max_tokens, *tokens.shape[1:]), -1, dtype=torch.long)
        ids[:n] = tokens[offset:offset + n].long()
        return {"ids": ids, "length": n * self.unit, "text": caption.text}
