"""Start the render worker in its own process and follow it (standard library only).

The add-on's operator uses this from a thread, so Blender's interface never waits on a render: progress
comes from the worker's `MOGENTS-*` lines, and cancelling kills the process and deletes the partial
output of the clip it was rendering (finished clips stay).
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .outputs import partial_path, remove_path

WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")
TAGS = ("MOGENTS-READY", "MOGENTS-PROGRESS", "MOGENTS-FRAME", "MOGENTS-ERROR")
LineCallback = Callable[[str, dict], None]


def worker_command(executable: str, jobs: str | Path) -> list[str]:
    """The command line running the worker on `jobs` with a Blender binary or a Python that has bpy."""
    name = Path(executable).name.lower()
    if name.startswith("python"):
        return [executable, str(WORKER_SCRIPT), "--jobs", str(jobs)]
    return [executable, "-b", "--factory-startup", "--python-exit-code", "3", "--python", str(WORKER_SCRIPT),
            "--", "--jobs", str(jobs)]


def parse_line(line: str) -> tuple[str, dict] | None:
    """(tag, payload) for a worker protocol line; None for anything else Blender prints."""
    tag, _, rest = line.strip().partition(" ")
    if tag not in TAGS:
        return None
    try:
        payload = json.loads(rest)
    except json.JSONDecodeError:
        return None
    return (tag, payload) if isinstance(payload, dict) else None


@dataclass
class WorkerOutcome:
    finished: list[dict] = field(default_factory=list)   # progress payloads of rendered clips
    failed: list[dict] = field(default_factory=list)     # {"clip", "error"}
    cancelled: bool = False
    returncode: int | None = None


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_worker(command: list[str], outputs: dict[str, Path], on_line: LineCallback | None = None,
               cancelled: Callable[[], bool] = lambda: False, poll_seconds: float = 0.1) -> WorkerOutcome:
    """Run the worker to the end (or until `cancelled()`); `outputs` maps clip names to their output paths.

    Raises ValueError for a jobs file the worker refused, RuntimeError when it died before every clip
    was reported (with the end of its log).
    """
    outcome = WorkerOutcome()
    tail: deque[str] = deque(maxlen=15)
    refused = None
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, errors="replace", bufsize=1)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    try:
        while True:
            if cancelled():
                outcome.cancelled = True
                break
            try:
                line = lines.get(timeout=poll_seconds)
            except queue.Empty:
                continue
            if line is None:
                break
            parsed = parse_line(line)
            if parsed is None:
                if line.strip():
                    tail.append(line.rstrip())
                continue
            tag, payload = parsed
            if tag == "MOGENTS-ERROR":
                refused = str(payload.get("error", "the worker refused the jobs file"))
            elif tag == "MOGENTS-PROGRESS":
                (outcome.failed if "error" in payload else outcome.finished).append(payload)
            if on_line is not None:
                on_line(tag, payload)
    finally:
        if proc.poll() is None and outcome.cancelled:
            proc.kill()
        outcome.returncode = proc.wait()
    if outcome.cancelled:
        reported = {p["clip"] for p in outcome.finished + outcome.failed}
        for name, output in outputs.items():
            if name not in reported:
                remove_path(partial_path(output))
        return outcome
    if refused is not None:
        raise ValueError(refused)
    reported = len(outcome.finished) + len(outcome.failed)
    if reported < len(outputs):
        log = "\n".join(tail) or "(no output)"
        raise RuntimeError(f"the render worker stopped (exit status {outcome.returncode}) after {reported} of "
                           f"{len(outputs)} clip(s); its last lines:\n{log}")
    return outcome
