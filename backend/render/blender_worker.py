"""Find a Blender to render with, and run the avatar worker in it, one event per protocol line.

The worker (`backend/avatar/worker.py`, installed with the package and copied into the add-on by
`build_addon.py`; see its docstring for the jobs file and the protocol) runs
under a Blender binary (`blender -b --factory-startup --python worker.py -- --jobs J`) or under a Python
that has the `bpy` module (`python worker.py --jobs J`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..avatar.runner import WORKER_SCRIPT, parse_line
from ..errors import MotionInputError

REPO_ROOT = Path(__file__).resolve().parents[2]  # a source checkout's root (site-packages when installed)


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_blender(explicit: str | None = None, environ: Mapping[str, str] | None = None,
                 repo_root: Path = REPO_ROOT) -> Path:
    """--blender PATH, else $MOGENTS_BLENDER, else REPO/.venv-blender/bin/python, else `blender` on PATH."""
    environ = os.environ if environ is None else environ
    for source, value in (("--blender", explicit), ("MOGENTS_BLENDER", environ.get("MOGENTS_BLENDER"))):
        if value:
            path = Path(value).expanduser()
            if not _runnable(path):
                raise MotionInputError(f"{source} {value}: no executable file there "
                                       "(give a blender binary or a Python with bpy)")
            return path
    venv_python = repo_root / ".venv-blender" / "bin" / "python"
    if _runnable(venv_python):
        return venv_python
    on_path = shutil.which("blender", path=environ.get("PATH", ""))
    if on_path:
        return Path(on_path)
    raise MotionInputError("no Blender found: pass --blender PATH (a blender binary or a Python with bpy 5.0), "
                           "set MOGENTS_BLENDER, or create .venv-blender with scripts/setup.sh")


def worker_command(executable: Path, jobs: Path, script: Path = WORKER_SCRIPT) -> list[str]:
    if not script.is_file():
        raise MotionInputError(f"the avatar render worker is missing ({script}); the installation is incomplete, "
                               "reinstall mogents-studio")
    if executable.name.lower().startswith("python"):
        return [str(executable), str(script), "--jobs", str(jobs)]
    return [str(executable), "-b", "--factory-startup", "--python-exit-code", "3", "--python", str(script),
            "--", "--jobs", str(jobs)]


@dataclass
class WorkerRun:
    returncode: int | None = None
    ready: bool = False
    refused: str | None = None                              # the worker's MOGENTS-ERROR message
    log_tail: deque[str] = field(default_factory=lambda: deque(maxlen=12))


def run_worker(command: list[str], on_event: Callable[[str, dict], None]) -> WorkerRun:
    """Run the worker to its end, calling `on_event(tag, payload)` for each protocol line."""
    run = WorkerRun()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          text=True, errors="replace", bufsize=1) as proc:
        try:
            for tag, payload in _events(proc.stdout, run):
                if tag == "MOGENTS-READY":
                    run.ready = True
                elif tag == "MOGENTS-ERROR":
                    run.refused = str(payload.get("error", "the worker refused the jobs file"))
                on_event(tag, payload)
        except BaseException:  # Ctrl-C or a failing callback: do not leave Blender rendering on its own
            proc.kill()
            raise
        run.returncode = proc.wait()
    return run


def _events(stream, run: WorkerRun) -> Iterator[tuple[str, dict]]:
    for line in stream:
        parsed = parse_line(line)
        if parsed is not None:
            yield parsed
        elif line.strip():
            run.log_tail.append(line.rstrip())
