"""Build the zip and install it into real Blender (bpy 5.0.1) as a user would."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[2]


def test_zip_installs_and_registers_the_sidebar_panel(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, check=True)
    zip_path = Path(out.stdout.strip())
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names

    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    try:
        assert hasattr(bpy.types, "MOGENTS_PT_main")
        assert bpy.types.MOGENTS_PT_main.bl_category == "MoGenTS"
    finally:
        bpy.ops.extensions.package_uninstall(repo_index=_user_repo_index(), pkg_id="mogents")
    assert not hasattr(bpy.types, "MOGENTS_PT_main")


def _user_repo_index() -> int:
    repos = bpy.context.preferences.extensions.repos
    return next(i for i, r in enumerate(repos) if r.module == "user_default")
