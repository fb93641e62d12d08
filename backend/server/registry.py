"""Model registry: the shipped generator, user folders (`data_home()/models/*`, `--model`), each sha256-checked.

The served generator is verified when it is loaded (a mismatch stops the server with a clear error); the
other folders are verified when the registry is built, and any failure is listed with its reason in
/v1/models and /v1/health instead of stopping the server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import MotionInputError
from ..generate.loader import DEFAULT_MODEL
from ..paths import data_home
from ..runtime.model_folder import META_FILE, load_generator_folder


@dataclass
class ModelEntry:
    name: str
    path: Path
    source: str                  # "shipped", "user" (data_home()/models) or "option" (--model)
    sha256: str = ""             # short digest of generator.json, which records every file's digest
    ok: bool = True
    error: str | None = None
    loaded: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "source": self.source, "sha256": self.sha256,
                "ok": self.ok, "error": self.error, "loaded": self.loaded, "kind": "generator"}


def short_digest(folder: Path, meta_name: str = META_FILE) -> str:
    """12 hex digits of the sha256 of a model folder's description file (which lists every file's digest)."""
    meta = Path(folder) / meta_name
    return hashlib.sha256(meta.read_bytes()).hexdigest()[:12] if meta.is_file() else ""


def user_model_folders() -> list[Path]:
    root = data_home() / "models"
    return sorted(p for p in root.iterdir() if (p / META_FILE).is_file()) if root.is_dir() else []


def build_registry(served: Path, extra: list[Path] | None = None) -> list[ModelEntry]:
    """Entries for the served folder (marked loaded, not re-verified here) and every other known folder."""
    candidates = [(DEFAULT_MODEL, "shipped")] + [(p, "user") for p in user_model_folders()]
    candidates += [(Path(p), "option") for p in extra or ()]
    entries: list[ModelEntry] = []
    seen: set[Path] = set()
    served = served.resolve()
    for folder, source in [(served, "option" if served != DEFAULT_MODEL.resolve() else "shipped"), *candidates]:
        folder = folder.resolve()
        if folder in seen:
            continue
        seen.add(folder)
        entry = ModelEntry(name=folder.name, path=folder, source=source, loaded=folder == served)
        try:
            if entry.loaded:
                info, _, _ = load_generator_folder(folder, verify=False)  # verified by the loader already
            else:
                info, _, _ = load_generator_folder(folder, verify=True)
            entry.name = info.name
            entry.sha256 = short_digest(folder)
        except MotionInputError as err:
            entry.ok, entry.error = False, str(err)
        entries.append(entry)
    return entries
