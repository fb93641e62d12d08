"""A dataset folder that holds a subset of another: the first N original clips and their mirrored copies,
as symlinks, with every split file and the corpus metadata filtered to them.

    python -m training.corpus.subset SRC DST --originals 4000

Retrieval models train on a corpus v2 subset of v1's corpus4k size (8,000 ids), so that rendering its videos
and training fit one session; the splits stay those of the full corpus, so the generator's evaluator (trained
on the full train split) never saw the subset's test clips.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from training.data.layout_reader import read_split

SPLITS = ("train", "val", "test", "all")
FOLDERS = ("new_joint_vecs", "new_joints", "texts")


def write_subset(src: Path, dst: Path, originals: int) -> dict[str, int]:
    """Link the first `originals` original ids (in all.txt order) and their 'M' mirrors; returns split sizes."""
    if not (src / "all.txt").is_file():
        raise FileNotFoundError(f"{src} has no all.txt: not a corpus folder")
    ids = read_split(src, "all")
    first = [i for i in ids if not i.startswith("M")][:originals]
    keep = set(first) | {"M" + i for i in first}
    for sub in FOLDERS:
        if not (src / sub).is_dir():
            continue
        (dst / sub).mkdir(parents=True, exist_ok=True)
        for p in (src / sub).iterdir():
            link = dst / sub / p.name
            if p.stem in keep and not link.exists():
                os.symlink(p.resolve(), link)
    for name in ("Mean.npy", "Std.npy"):
        if (src / name).is_file() and not (dst / name).exists():
            os.symlink((src / name).resolve(), dst / name)
    sizes = {}
    for split in SPLITS:
        if (src / f"{split}.txt").is_file():
            rows = [i for i in read_split(src, split) if i in keep]
            (dst / f"{split}.txt").write_text("".join(r + "\n" for r in rows))
            sizes[split] = len(rows)
    if (src / "corpus_meta.jsonl").is_file():
        lines = (src / "corpus_meta.jsonl").read_text().splitlines(keepends=True)
        (dst / "corpus_meta.jsonl").write_text("".join(ln for ln in lines if json.loads(ln)["id"] in keep))
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--originals", type=int, default=4000)
    args = ap.parse_args(argv)
    sizes = write_subset(args.src, args.dst, args.originals)
    print(" ".join(f"{k} {v}" for k, v in sizes.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
