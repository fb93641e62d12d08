"""Run backend calls off Blender's main thread and hand the outcome back to it.

A `Task` runs `work(progress, cancelled)` in a daemon thread. The thread never touches bpy: it only
records progress and, at the end, the result or the error. A modal operator polls `poll()` from its
timer on the main thread and applies the result there, so the scene is edited only inside an operator
(which keeps undo safe). One task runs at a time; the panel shows its progress and a Cancel button.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[float, str], None]


@dataclass
class TaskState:
    label: str
    fraction: float = 0.0
    message: str = ""
    done: bool = False
    cancelled: bool = False
    result: object = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)


class Task:
    def __init__(self, label: str, work: Callable[[Progress, Callable[[], bool]], object]):
        self.state = TaskState(label)
        self._work = work
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"mogents-{label}", daemon=True)

    def start(self) -> Task:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self.state.fraction = max(0.0, min(1.0, float(fraction)))
            self.state.message = message

    def _run(self) -> None:
        try:
            result = self._work(self._progress, self._cancel.is_set)
            with self._lock:
                self.state.result = result
        except Exception as err:  # noqa: BLE001 - any failure becomes a report on the main thread
            with self._lock:
                self.state.error = str(err) or type(err).__name__
        finally:
            with self._lock:
                self.state.cancelled = self._cancel.is_set()
                self.state.done = True

    def snapshot(self) -> TaskState:
        with self._lock:
            return TaskState(**vars(self.state))

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


_current: Task | None = None


def current() -> Task | None:
    return _current


def start(label: str, work: Callable[[Progress, Callable[[], bool]], object]) -> Task:
    """Start a task; refuse while another one runs (the panel disables its buttons meanwhile)."""
    global _current
    if _current is not None and not _current.state.done:
        raise RuntimeError(f"'{_current.state.label}' is still running; cancel it or wait")
    _current = Task(label, work).start()
    return _current


def finish(task: Task) -> None:
    global _current
    if _current is task:
        _current = None


def cancel_current() -> bool:
    if _current is None or _current.state.done:
        return False
    _current.cancel()
    return True
