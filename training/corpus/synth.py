"""`mogents data synth`: write the procedural corpus as a HumanML3D-layout dataset.

Each clip i is drawn from its own generator seeded by SeedSequence([seed, i]), so the dataset is the same
for a seed whatever the number of worker processes. Workers build joints, features and caption tokens;
the main process writes files in clip order.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from backend.data.layout import Caption, DatasetWriter, split_ids
from backend.errors import MotionInputError
from backend.motion.features import joints_to_features
from backend.motion.mirror import mirror_joints

from .captions import tokens
from .compose import make_clip


def clip_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, index]))


def clip_id(index: int) -> str:
    return f"{index:06d}"


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value


def generate(seed: int, index: int, mirror: bool = False) -> dict:
    """One clip: id, float32 features (and those of its mirrored joints), captions with tokens, metadata."""
    clip = make_clip(clip_rng(seed, index))
    features, _ = joints_to_features(clip.joints)
    mirrored = joints_to_features(mirror_joints(clip.joints))[0].astype(np.float32) if mirror else None
    captions = [(text, tokens(text), 0.0, 0.0) for text in clip.captions]
    captions += [(text, tokens(text), start, end) for text, start, end in clip.windows]
    meta = {
        "id": clip_id(index),
        "families": clip.families,
        "params": _jsonable({f"{i}:{a.family}": a.params for i, a in enumerate(clip.actions)}),
        "captions": clip.captions,
        "windows": [[text, start, end] for text, start, end in clip.windows],
        "layered": clip.layered,
        "style": clip.mod.name if clip.mod is not None else None,
        "frames": int(len(features)),
    }
    return {"id": clip_id(index), "features": features.astype(np.float32), "mirrored": mirrored,
            "captions": captions, "meta": meta}


def _work(job: tuple[int, int, bool]) -> dict:
    return generate(*job)


def write_corpus(
    out: str | Path,
    clips: int,
    seed: int,
    workers: int = 0,
    mirror: bool = True,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Generate `clips` base clips (plus mirrored copies) into `out`; returns the dataset path."""
    if clips < 1:
        raise MotionInputError(f"--clips must be at least 1, got {clips}")
    if seed < 0:
        raise MotionInputError(f"--seed must be non-negative, got {seed}")
    if workers < 0:
        raise MotionInputError(f"--workers must be 0 (all cores) or more, got {workers}")
    workers = workers or os.cpu_count() or 1
    jobs = [(seed, i, mirror) for i in range(clips)]
    with DatasetWriter(out, overwrite=overwrite) as writer:
        metas = []
        bar = tqdm(total=clips, desc="synth", unit="clip", disable=not progress)
        if workers == 1:
            results = map(_work, jobs)
            pool = None
        else:
            pool = mp.get_context("fork" if os.name == "posix" else "spawn").Pool(workers)
            results = pool.imap(_work, jobs, chunksize=8)
        try:
            for r in results:
                caps = [Caption(text, start, end, tok) for text, tok, start, end in r["captions"]]
                writer.add_features(r["id"], r["features"], caps, mirror=mirror, mirrored_features=r["mirrored"])
                metas.append(r["meta"])
                bar.update(1)
        finally:
            bar.close()
            if pool is not None:
                pool.close()
                pool.join()
        with open(writer.stage / "corpus_meta.jsonl", "w", encoding="utf-8") as fh:
            for m in metas:
                fh.write(json.dumps(m) + "\n")
        return writer.finish(split_ids([m["id"] for m in metas], seed))


def run_synth(args: argparse.Namespace) -> int:
    path = write_corpus(
        args.out,
        args.clips,
        args.seed,
        getattr(args, "workers", 0),
        mirror=not getattr(args, "no_mirror", False),
        overwrite=getattr(args, "overwrite", False),
    )
    n = args.clips * (1 if getattr(args, "no_mirror", False) else 2)
    print(f"wrote {n} clips to {path}")
    return 0
