"""Output naming shared by the renderer, the worker and the runner (standard library only).

A render is written under a partial name and renamed when complete, so anything under the final name is
finished: `clip.mp4` is written as `clip.partial.mp4`, the frame folder `clip/` as `clip.partial/`.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def partial_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f"{output.stem}.partial{output.suffix}")


def remove_path(path: str | Path) -> None:
    """Delete a file or a folder tree if it is there."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
