"""Guo et al.'s generation-quality protocol (REFERENCE.md §2) with the project's evaluator.

Per repeat (20 by default): the split is drawn afresh (a random caption and crop per clip), shuffled and
cut into batches of 32 (last partial batch dropped). Each batch gives text embeddings, real-motion
embeddings and, through `generate_fn`, generated-motion embeddings. Then:
- FID: generated vs real embeddings of the same draw; for the real row, the real embeddings vs those of
  a second, independent draw (other captions and crops), which is the noise floor (~0).
- R-precision top-1/2/3 within each batch of 32, MM-Dist, Diversity over `diversity_pairs` pairs.
- MultiModality (generated only): `mm_texts` captions of the draw, `mm_samples` generations each.
Mean and 95% interval (1.96·std/√repeats) over the repeats.

Seeding: the draws, the shuffles, the pair choices and the global torch / numpy RNGs (for a stochastic
generator) derive from `seed` and the repeat index, so the same seed gives the same numbers, and any repeat
can be recomputed on its own.

Long runs: with `partial=FILE` each finished repeat's rows are saved there, and a rerun with the same FILE
and settings continues after the last saved repeat (20 repeats take hours on a CPU).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from backend.motion.features import features_to_joints
from training.data.collate import collate, trim_to_longest
from training.data.normalize import Normalizer
from training.data.text_motion import TextMotionDataset

from .evaluator import Evaluator
from .metrics import (
    diversity,
    fid_from_embeddings,
    matching_score,
    mean_and_interval,
    mpjpe,
    multimodality,
    r_precision,
)

GenerateFn = Callable[[list[str], np.ndarray], tuple[np.ndarray, np.ndarray]]
EncodeDecodeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

METRICS = ("fid", "top1", "top2", "top3", "mm_dist", "diversity", "multimodality")
# (key, title, format): FID on unit-norm embeddings spans orders of magnitude, so 3 significant digits
_COLUMNS = (("fid", "FID ↓", ".3g"), ("top1", "Top1 ↑", ".3f"), ("top2", "Top2 ↑", ".3f"), ("top3", "Top3 ↑", ".3f"),
            ("mm_dist", "MM-Dist ↓", ".3f"), ("diversity", "Diversity →", ".3f"),
            ("multimodality", "MModality ↑", ".3f"))
# separate random streams per purpose, so adding generated-motion work never changes the real row
# (real and generated rows share the diversity pairs: a paired comparison, less noisy)
_ORDER, _DIV, _MM_PICK, _MM_PAIRS, _TORCH = range(5)


def pad_features(feats: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Variable-length (T_i, D) motions -> zero-padded (B, max T, D) float32 and their lengths."""
    lengths = np.array([len(f) for f in feats])
    padded = np.zeros((len(feats), int(lengths.max()), feats[0].shape[-1]), np.float32)
    for i, f in enumerate(feats):
        padded[i, :len(f)] = f
    return padded, lengths


def generator_fn(generator, options) -> GenerateFn:
    """The protocol's GenerateFn for a `backend.generate.Generator` with resolved decoding options. The
    generation seed is drawn from torch, which the protocol seeds per repeat, so each repeat's motions can be
    recomputed on their own (`--partial`)."""

    def generate(texts: list[str], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seed = int(torch.randint(0, 2**31 - 1, ()))
        return pad_features(generator.generate_batch(texts, lengths, seed=seed, options=options))

    return generate


def _rng(seed: int, repeat: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, repeat, purpose])


def open_split(dataset_root: str | Path, split: str, evaluator: Evaluator, seed: int,
               random_crop: bool = True) -> TextMotionDataset:
    """The split normalised with the evaluator's own Mean/Std (what it was trained with)."""
    norm = Normalizer(evaluator.motion_mean.cpu().numpy(), evaluator.motion_std.cpu().numpy())
    ds = TextMotionDataset(dataset_root, split, normalizer=norm, seed=seed, random_crop=random_crop)
    if ds.config.feature_dim != evaluator.cfg.feature_dim:
        raise ValueError(f"the evaluator reads {evaluator.cfg.feature_dim}-d features, {dataset_root} has "
                         f"{ds.config.feature_dim}-d")
    return ds


def repeat_batches(dataset: TextMotionDataset, batch_size: int, seed: int, repeat: int) -> list[list[int]]:
    """The shuffled full batches of one repeat (the order `evaluate_generation` visits them in)."""
    if len(dataset) < batch_size:
        raise ValueError(f"the split has {len(dataset)} items, fewer than one batch of {batch_size}")
    order = _rng(seed, repeat, _ORDER).permutation(len(dataset))
    return [order[i:i + batch_size].tolist() for i in range(0, len(order) - batch_size + 1, batch_size)]


def iterate_repeat(dataset: TextMotionDataset, batch_size: int, seed: int, repeat: int):
    """Collated batches of one repeat's main draw, in visiting order (callers may build oracles from it)."""
    dataset.set_epoch(2 * repeat)
    for idx in repeat_batches(dataset, batch_size, seed, repeat):
        yield collate([dataset[i] for i in idx])


@torch.no_grad()
def _embed_motion(evaluator: Evaluator, motion: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
    batch = trim_to_longest({"motion": motion, "length": lengths})
    return evaluator.encode_motion(batch["motion"], batch["length"]).cpu().numpy()


@torch.no_grad()
def _embed_generated(evaluator: Evaluator, generate_fn: GenerateFn, texts: list[str],
                     lengths: np.ndarray) -> np.ndarray:
    feats, out_lengths = generate_fn(list(texts), np.asarray(lengths, dtype=np.int64))
    feats = np.asarray(feats, dtype=np.float32)
    out_lengths = np.asarray(out_lengths, dtype=np.int64).reshape(-1)
    if feats.ndim != 3 or feats.shape[0] != len(texts) or feats.shape[2] != evaluator.cfg.feature_dim:
        raise ValueError(f"generate_fn returned features of shape {feats.shape}; expected "
                         f"({len(texts)}, T, {evaluator.cfg.feature_dim})")
    if out_lengths.shape != (len(texts),) or out_lengths.min() < 1 or out_lengths.max() > feats.shape[1]:
        raise ValueError(f"generate_fn returned lengths {out_lengths.tolist()} for features of {feats.shape[1]} "
                         "frames")
    norm = evaluator.normalize(feats).astype(np.float32)
    return _embed_motion(evaluator, torch.from_numpy(norm), torch.from_numpy(out_lengths))


def _seed_globals(seed: int, repeat: int) -> None:
    value = int(_rng(seed, repeat, _TORCH).integers(2**31 - 1))
    torch.manual_seed(value)
    np.random.seed(value)  # noqa: NPY002 - generators that draw from numpy's global RNG are seeded too


def _aggregate(per_repeat: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in METRICS:
        values = [r[key] for r in per_repeat if key in r]
        if values:
            out[key], out[f"{key}_interval"] = mean_and_interval(values)
    out["repeats"] = float(len(per_repeat))
    return out


class PartialRun:
    """Per-repeat rows saved after every repeat, so an interrupted run continues where it stopped.

    The file records the settings it was made with; continuing with other settings is refused, because the
    saved repeats would then be mixed with incomparable ones.
    """

    def __init__(self, path: str | Path | None, settings: dict):
        self.path = None if path is None else Path(path)
        self.settings = json.loads(json.dumps(settings))  # the JSON form, to compare with what was saved
        self.real: list[dict[str, float]] = []
        self.generated: list[dict[str, float]] = []
        if self.path is not None and self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
                real, generated, stored = saved["real"], saved["generated"], saved["settings"]
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{self.path} is not a partial evaluation file ({err})") from None
            if stored != self.settings:
                changed = sorted(k for k in set(stored) | set(self.settings) if stored.get(k) != self.settings.get(k))
                raise ValueError(f"{self.path} was made with other settings ({', '.join(changed)} differ); "
                                 "use another file or delete it")
            self.real, self.generated = list(real), list(generated)

    @property
    def done(self) -> int:
        return len(self.real)

    def add(self, real: dict[str, float], generated: dict[str, float] | None) -> None:
        self.real.append(real)
        if generated is not None:
            self.generated.append(generated)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"settings": self.settings, "real": self.real, "generated": self.generated},
                                  indent=1))
        os.replace(tmp, self.path)  # atomic: a kill mid-write leaves the previous repeats intact


def _run(generate_fn: GenerateFn | None, dataset_root: str | Path, split: str, evaluator: Evaluator, *,
         repeats: int, batch_size: int, mm_samples: int, mm_texts: int, mm_pairs: int, diversity_pairs: int,
         seed: int, progress: bool, partial: str | Path | None = None,
         partial_settings: dict | None = None) -> dict[str, dict[str, float]]:
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    # paths as given (not resolved), so a run saved in one checkout continues in another
    settings = {"data": str(dataset_root), "split": split, "batch_size": batch_size,
                "mm_samples": mm_samples, "mm_texts": mm_texts, "mm_pairs": mm_pairs,
                "diversity_pairs": diversity_pairs, "seed": seed, "generated": generate_fn is not None,
                **(partial_settings or {})}
    saved = PartialRun(partial, settings)
    evaluator.eval()
    ds = open_split(dataset_root, split, evaluator, seed)
    n_batches = len(repeat_batches(ds, batch_size, seed, 0))
    do_mm = generate_fn is not None and mm_texts > 0 and mm_samples > 1
    mm_chunks = math.ceil(mm_samples / batch_size) * min(mm_texts, n_batches * batch_size) if do_mm else 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=repeats * (n_batches + mm_chunks), desc="eval generation" if generate_fn else "eval real",
                   dynamic_ncols=True, initial=min(saved.done, repeats) * (n_batches + mm_chunks))
    for r in range(saved.done, repeats):
        # reference draw first: its own epoch, so it is independent of the main draw
        ds.set_epoch(2 * r + 1)
        ref = []
        for idx in repeat_batches(ds, batch_size, seed, r):
            b = collate([ds[i] for i in idx])
            ref.append(_embed_motion(evaluator, b["motion"], b["length"]))
        texts, lengths, text_emb, real_emb, gen_emb = [], [], [], [], []
        _seed_globals(seed, r)
        for batch in iterate_repeat(ds, batch_size, seed, r):
            with torch.no_grad():
                text_emb.append(evaluator.encode_text(batch["text"], batch["tokens"]).cpu().numpy())
            real_emb.append(_embed_motion(evaluator, batch["motion"], batch["length"]))
            texts += batch["text"]
            lengths.append(batch["length"].numpy())
            if generate_fn is not None:
                gen_emb.append(_embed_generated(evaluator, generate_fn, batch["text"], batch["length"].numpy()))
            if bar is not None:
                bar.update(1)
        t, real, reference = np.concatenate(text_emb), np.concatenate(real_emb), np.concatenate(ref)
        real_row = _row(t, real, reference, batch_size, diversity_pairs, _rng(seed, r, _DIV))
        if generate_fn is None:
            saved.add(real_row, None)
            continue
        gen = np.concatenate(gen_emb)
        row = _row(t, gen, real, batch_size, diversity_pairs, _rng(seed, r, _DIV))
        if do_mm:
            all_lengths = np.concatenate(lengths)
            picks = _rng(seed, r, _MM_PICK).choice(len(texts), min(mm_texts, len(texts)), replace=False)
            per_text = []
            for i in picks:
                chunks = []
                for start in range(0, mm_samples, batch_size):
                    n = min(batch_size, mm_samples - start)
                    chunks.append(_embed_generated(evaluator, generate_fn, [texts[i]] * n,
                                                   np.full(n, all_lengths[i])))
                    if bar is not None:
                        bar.update(1)
                per_text.append(np.concatenate(chunks))
            row["multimodality"] = multimodality(np.stack(per_text), mm_pairs, _rng(seed, r, _MM_PAIRS))
        saved.add(real_row, row)
    if bar is not None:
        bar.close()
    out = {"real motion": _aggregate(saved.real[:repeats])}
    if generate_fn is not None:
        out["generated"] = _aggregate(saved.generated[:repeats])
    return out


def _row(text: np.ndarray, motion: np.ndarray, reference: np.ndarray, batch_size: int, diversity_pairs: int,
         rng: np.random.Generator) -> dict[str, float]:
    top = r_precision(text, motion, top_k=3, batch_size=batch_size)
    return {"fid": fid_from_embeddings(motion, reference), "top1": float(top[0]), "top2": float(top[1]),
            "top3": float(top[2]), "mm_dist": matching_score(text, motion),
            "diversity": diversity(motion, diversity_pairs, rng)}


def evaluate_generation(generate_fn: GenerateFn, dataset_root: str | Path, split: str, evaluator: Evaluator, *,
                        repeats: int = 20, batch_size: int = 32, mm_samples: int = 30, mm_texts: int = 100,
                        mm_pairs: int = 10, diversity_pairs: int = 300, seed: int = 0,
                        progress: bool = True, partial: str | Path | None = None,
                        partial_settings: dict | None = None) -> dict[str, dict[str, float]]:
    """Rows {"real motion": ..., "generated": ...} of metric means and `<metric>_interval` half-widths.

    `generate_fn(texts, lengths)` gets captions and target lengths in frames and returns raw
    (denormalised) features (B, T, D), zero-padded, and the per-item lengths (B,) it produced. A stochastic
    generator should draw from the global torch / numpy RNGs, which are seeded per repeat.
    `mm_texts=0` skips MultiModality. `partial` saves and resumes per-repeat rows (see the module doc);
    `partial_settings` (e.g. the model and decoding options) must also match for a resume.
    """
    return _run(generate_fn, dataset_root, split, evaluator, repeats=repeats, batch_size=batch_size,
                mm_samples=mm_samples, mm_texts=mm_texts, mm_pairs=mm_pairs, diversity_pairs=diversity_pairs,
                seed=seed, progress=progress, partial=partial, partial_settings=partial_settings)


def real_motion_row(dataset_root: str | Path, split: str, evaluator: Evaluator, *, repeats: int = 20,
                    batch_size: int = 32, diversity_pairs: int = 300, seed: int = 0,
                    progress: bool = True) -> dict[str, float]:
    """The ceiling row (real motions scored like generated ones); equals evaluate_generation's real row."""
    return _run(None, dataset_root, split, evaluator, repeats=repeats, batch_size=batch_size, mm_samples=0,
                mm_texts=0, mm_pairs=0, diversity_pairs=diversity_pairs, seed=seed,
                progress=progress)["real motion"]


@torch.no_grad()
def evaluate_reconstruction(encode_decode_fn: EncodeDecodeFn, dataset_root: str | Path, split: str,
                            evaluator: Evaluator, *, batch_size: int = 32, seed: int = 0,
                            progress: bool = True) -> dict[str, float]:
    """VQ reconstruction quality over the whole split (each clip from its start, no random crop).

    `encode_decode_fn(features, lengths)` gets raw features (B, T, D), zero-padded, and returns the
    reconstructed raw features of the same shape. Returns root-aligned MPJPE in mm (joints from
    `features_to_joints`; HumanML3D features are in metres, KIT-ML's in millimetres) and the FID of the
    reconstructions' embeddings against the originals'.
    """
    evaluator.eval()
    ds = open_split(dataset_root, split, evaluator, seed, random_crop=False)
    to_mm = 1.0 if evaluator.cfg.feature_dim == 251 else 1000.0
    errors, frames, real_emb, rec_emb = [], [], [], []
    starts = range(0, len(ds), batch_size)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(starts), desc="eval reconstruction", dynamic_ncols=True)
    for start in starts:
        batch = trim_to_longest(collate([ds[i] for i in range(start, min(start + batch_size, len(ds)))]))
        lengths = batch["length"].numpy()
        raw = ds.denormalize(batch["motion"].numpy()) * batch["mask"].numpy()[..., None]
        rec = np.asarray(encode_decode_fn(raw.astype(np.float32), lengths), dtype=np.float32)
        if rec.shape != raw.shape:
            raise ValueError(f"encode_decode_fn returned shape {rec.shape}, expected {raw.shape}")
        for i, n in enumerate(lengths):
            errors.append(mpjpe(features_to_joints(rec[i, :n]), features_to_joints(raw[i, :n]), scale=to_mm) * n)
            frames.append(n)
        real_emb.append(_embed_motion(evaluator, batch["motion"], batch["length"]))
        norm = evaluator.normalize(rec).astype(np.float32)
        rec_emb.append(_embed_motion(evaluator, torch.from_numpy(norm), batch["length"]))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    real, recon = np.concatenate(real_emb), np.concatenate(rec_emb)
    return {"mpjpe_mm": float(np.sum(errors) / np.sum(frames)), "fid": fid_from_embeddings(recon, real),
            "items": float(len(real))}


def _fmt(value: float, interval: float | None, spec: str) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    text = format(value, spec)
    return text if interval is None else f"{text} ± {format(interval, spec)}"


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """A markdown table: one row per result, columns FID, Top1-3, MM-Dist, Diversity, MModality."""
    lines = ["| method | " + " | ".join(title for _, title, _ in _COLUMNS) + " |",
             "|---|" + "---|" * len(_COLUMNS)]
    for name, result in rows.items():
        cells = [_fmt(result.get(key), result.get(f"{key}_interval"), spec) if key in result else "–"
                 for key, _, spec in _COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
