"""Shared pytest configuration: skip `gpu` tests without CUDA, `blender` tests without bpy."""

from __future__ import annotations

import importlib.util

import pytest


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_bpy = importlib.util.find_spec("bpy") is not None
    need_cuda = any("gpu" in item.keywords for item in items)
    has_cuda = _cuda_available() if need_cuda else False
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))
        if "blender" in item.keywords and not has_bpy:
            item.add_marker(pytest.mark.skip(reason="needs bpy (run in .venv-blender)"))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Token and text-embedding caches go to a temporary folder, never the user's ~/.cache/mogents."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MOGENTS_CACHE", str(tmp_path_factory.mktemp("mogents-cache")))
    yield
    patch.undo()


# --- small datasets in the real HumanML3D / KIT-ML layout (tests/fixtures/humanml_layout.py) ---

@pytest.fixture
def humanml_dataset(tmp_path):
    """A fresh HumanML3D-layout folder (263-d, 20 fps) with the default fixture clips."""
    from tests.fixtures.humanml_layout import write_humanml_layout

    return write_humanml_layout(tmp_path / "humanml3d")


@pytest.fixture
def kit_dataset(tmp_path):
    """A fresh KIT-ML-layout folder (251-d, 12.5 fps, millimetres) with the default fixture clips."""
    from tests.fixtures.humanml_layout import write_humanml_layout

    return write_humanml_layout(tmp_path / "kit", kind="kit")
