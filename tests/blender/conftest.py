"""Blender-test harness: end the process cleanly under the bpy 4.x module.

bpy 4.2 to 4.5 imported as a Python module do not shut their draw manager down before the C++ static
destructors run: once a test has rendered in this process and Rigify has generated a rig, exiting segfaults
(4.2) or deadlocks in `DRWShaderCompiler::~DRWShaderCompiler` (4.3 to 4.5) after every test has passed.
The Blender application frees it in `WM_exit`, so only this harness is affected. After pytest has printed
its summary, run Python's exit handlers and leave with pytest's own status, skipping those destructors.
bpy 5.0+ exits cleanly and is left alone.
"""

from __future__ import annotations

import atexit
import os
import sys

import pytest

_session: pytest.Session | None = None


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """The built add-on installed with the in-process fake backend (addon_harness.py), one per test module."""
    from tests.blender.addon_harness import FakeBackend, install_addon, uninstall_addon, use_fake_backend

    install_addon(tmp_path_factory.mktemp("addon"))
    backend = FakeBackend()
    restore = use_fake_backend(backend)
    yield backend
    restore()
    uninstall_addon()


def _needs_hard_exit() -> bool:
    bpy = sys.modules.get("bpy")
    return bpy is not None and tuple(bpy.app.version) < (5, 0, 0)


def pytest_sessionstart(session: pytest.Session) -> None:
    global _session
    _session = session


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _session is None or not _needs_hard_exit():
        return
    status = int(_session.exitstatus)
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # Python-level cleanup still runs (pytest's temp-dir locks, bpy's own atexit)
    os._exit(status)
