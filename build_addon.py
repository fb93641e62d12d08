"""Build the installable add-on zip: `python build_addon.py [--out dist]` -> dist/mogents-VERSION.zip.

The zip holds the extension at its root (blender_manifest.toml beside __init__.py), as Blender 4.2+
expects for `Install from Disk`. Caches and tests are left out.

Code the add-on shares with the backend is kept once, in `backend/`, and copied in here (DESIGN.md, "Code the
add-on and the backend both need"): `backend/avatar` becomes the zip's `avatar/`, in place of the checkout's
`blender_addon/avatar/__init__.py`, which only points a source import at `backend/avatar`.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "blender_addon"
SHARED = {"avatar": ROOT / "backend" / "avatar"}  # folder in the zip -> its one source in backend/
REQUIRED_KEYS = ("schema_version", "id", "version", "name", "tagline", "maintainer", "type",
                 "blender_version_min", "license")


def read_manifest(path: Path) -> dict[str, str]:
    """The top-level `key = value` pairs of the manifest (enough to check and name the build)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            break
        m = re.match(r'^\s*([a-z_]+)\s*=\s*(.+?)\s*$', line)
        if m:
            values[m.group(1)] = m.group(2).strip('"')
    missing = [k for k in REQUIRED_KEYS if k not in values]
    if missing:
        raise ValueError(f"{path}: manifest lacks {', '.join(missing)}")
    if len(values["tagline"]) > 64:
        raise ValueError(f"{path}: tagline is longer than 64 characters")
    return values


def build(out_dir: Path) -> Path:
    manifest = read_manifest(SOURCE / "blender_manifest.toml")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in zip_entries():
            zf.write(path, name)
    return target


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".blend1"))


def zip_entries() -> list[tuple[Path, str]]:
    """(source file, name in the zip) for every file of the add-on, the shared folders included."""
    entries = [(p, p.relative_to(SOURCE).as_posix()) for p in _files(SOURCE)
               if p.relative_to(SOURCE).parts[0] not in SHARED]
    for folder, source in SHARED.items():
        entries += [(p, f"{folder}/{p.relative_to(source).as_posix()}") for p in _files(source)]
    return sorted(entries, key=lambda entry: entry[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    print(build(Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
