"""Worker threads that cannot keep the server alive: an executor of daemon threads with a bounded shutdown.

`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits, so one piece of work
that never returns (a reader stuck in a system call, work that ignores cancellation) keeps a stopped
server from ever exiting. `DaemonExecutor` runs work the same way but its threads are daemons and
`shutdown(timeout)` waits at most `timeout` seconds: a server stops within its deadline, whatever its
jobs do. Everything the jobs write is written atomically, so abandoning one leaves no half-written file.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

log = logging.getLogger("mogents.server")


class DaemonExecutor(Executor):
    def __init__(self, workers: int, name: str):
        self._queue: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple, dict] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            future: Future = Future()
            self._queue.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:  # handed to whoever waits on the future
                future.set_exception(err)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False, timeout: float | None = None) -> bool:
        """Stop taking work (queued work is cancelled with `cancel_futures`) and wait up to `timeout` s (None:
        for ever, with `wait`) for the running work; True when every thread has finished."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if cancel_futures:
                    self._cancel_queued()
                for _ in self._threads:
                    self._queue.put(None)
        if not wait:
            return not any(t.is_alive() for t in self._threads)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("%d worker thread(s) did not finish within %.1f s and are left behind: %s", len(stuck),
                        timeout or 0.0, ", ".join(stuck))
        return not stuck

    def _cancel_queued(self) -> None:
        kept = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
            else:
                kept.append(item)
        for item in kept:
            self._queue.put(item)
