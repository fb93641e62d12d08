"""Code shared by the add-on and the backend exists once, in backend/, and the add-on zip carries an exact copy.

DESIGN.md, "Code the add-on and the backend both need": the avatar renderer lives in `backend/avatar` (so the
wheel installs the render worker that `mogents render videos` runs) and `build_addon.py` copies it into the zip.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import backend
from backend.render.blender_worker import WORKER_SCRIPT, worker_command

ROOT = Path(__file__).resolve().parents[2]
AVATAR = ROOT / "backend" / "avatar"


def _source_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _build_zip(out: Path) -> dict[str, bytes]:
    built = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--out", str(out)], capture_output=True,
                           text=True, check=True)
    with zipfile.ZipFile(built.stdout.strip()) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_zips_avatar_package_is_an_exact_copy_of_backend_avatar(tmp_path):
    entries = _build_zip(tmp_path)
    in_zip = {name.removeprefix("avatar/"): data for name, data in entries.items() if name.startswith("avatar/")}
    source = _source_files(AVATAR)
    assert "worker.py" in source and "render.py" in source
    assert sorted(in_zip) == sorted(source)
    for name, data in source.items():
        assert in_zip[name] == data, f"avatar/{name} in the zip differs from backend/avatar/{name}"


def test_the_checkout_pointer_is_not_shipped_and_every_other_addon_file_is(tmp_path):
    entries = _build_zip(tmp_path)
    pointer = ROOT / "blender_addon" / "avatar" / "__init__.py"
    assert entries["avatar/__init__.py"] != pointer.read_bytes()
    addon = {name: data for name, data in _source_files(ROOT / "blender_addon").items()
             if not name.startswith("avatar/")}
    assert addon, "the add-on has files of its own"
    for name, data in addon.items():
        assert entries[name] == data, name
    assert not [name for name in entries if name not in addon and not name.startswith("avatar/")]


def test_the_checkout_pointer_resolves_to_backend_avatar():
    namespace: dict = {"__file__": str(ROOT / "blender_addon" / "avatar" / "__init__.py")}
    exec(compile((ROOT / "blender_addon" / "avatar" / "__init__.py").read_text(), "pointer", "exec"), namespace)
    assert [Path(p) for p in namespace["__path__"]] == [AVATAR.resolve()]


def test_the_backend_runs_the_worker_from_its_own_package(tmp_path):
    package = Path(backend.__file__).resolve().parent
    assert WORKER_SCRIPT.is_file() and WORKER_SCRIPT.is_relative_to(package)
    command = worker_command(Path(sys.executable), tmp_path / "jobs.json")
    assert command[1] == str(WORKER_SCRIPT)
