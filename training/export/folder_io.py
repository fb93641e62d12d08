"""Writing a model folder safely, shared by the generator and retrieval exporters: refuse foreign folders,
build the new files beside the target, then swap them in, replacing only the files of the model exported
there before (a model card or notes stay)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path


def log(progress: bool, message: str) -> None:
    if progress:
        print(message, flush=True)


def check_out(out: Path, meta_file: str, label: str) -> None:
    """Refuse a non-folder, or a non-empty folder without `meta_file` (it holds something else than a `label`)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / meta_file).is_file():
        raise ValueError(f"{out} is not empty and holds no {label}; choose a new or empty folder")


def fresh_tmp(out: Path) -> Path:
    """An empty `.NAME.export-tmp` beside `out` (a leftover of a crashed export is cleared)."""
    tmp = out.parent / f".{out.name}.export-tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def replace_folder(tmp: Path, out: Path, meta_file: str) -> None:
    """Move the new files into `out`, dropping the files listed in the old `meta_file`'s sha256 table."""
    out.mkdir(parents=True, exist_ok=True)
    old = out / meta_file
    if old.is_file():
        with contextlib.suppress(OSError, ValueError):
            for name in json.loads(old.read_text(encoding="utf-8")).get("sha256", {}):
                if Path(name).name == name:
                    (out / name).unlink(missing_ok=True)
    for path in tmp.iterdir():
        os.replace(path, out / path.name)
    tmp.rmdir()
