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
