"""Job table: every piece of model work (a request or a submitted job) with status, progress, cancellation.

A job is queued, then running, then done / failed / cancelled. Work reports progress through
`Job.progress(stage, step, total)`, which raises `Cancelled` once someone asked to cancel, so the decoding
loop stops at its next step. Finished jobs are forgotten after a while (or when too many have finished),
so the table stays bounded however long the server runs. The job threads are daemons
(`workers.DaemonExecutor`) and shutdown waits a bounded time, so work that ignores cancellation cannot keep
a stopped server alive.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..errors import MotionInputError
from .workers import DaemonExecutor

log = logging.getLogger("mogents.server")

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = frozenset({"done", "failed", "cancelled"})


class Cancelled(Exception):
    """The job was cancelled (by DELETE /v1/jobs/{id} or a client leaving a stream)."""


class TooManyJobs(Exception):
    """The active-job limit is reached (HTTP 429)."""


@dataclass
class Job:
    kind: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    status: str = "queued"
    stage: str | None = None
    step: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    error_status: int | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    done_event: threading.Event = field(default_factory=threading.Event, repr=False)
    listeners: list[Callable[[str, int, int], None]] = field(default_factory=list, repr=False)

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_event.is_set()

    def progress(self, stage: str, step: int, total: int) -> None:
        """Progress callback for the work; raises `Cancelled` when cancellation was asked for."""
        self.note(stage, step, total)
        if self.cancel_event.is_set():
            raise Cancelled()

    def note(self, stage: str, step: int, total: int) -> None:
        """Record progress without checking for cancellation (batched work checks it itself)."""
        if self.status == "queued":
            self.mark_running()
        self.stage, self.step, self.total = stage, int(step), int(total)
        for listener in list(self.listeners):
            listener(stage, int(step), int(total))

    def mark_running(self) -> None:
        if self.status == "queued":
            self.status, self.started = "running", time.time()

    def settle(self, future: Future) -> None:
        """Finish from a future: its result, its user error, a cancellation, or a genuine bug."""
        if future.cancelled():  # e.g. the request waiting for it was cancelled at shutdown: stop the work too
            self.cancel_event.set()
            self._finish("cancelled")
            return
        err = future.exception()
        if err is None:
            self.result = future.result()
            self._finish("done")
        elif isinstance(err, Cancelled):
            self._finish("cancelled")
        elif isinstance(err, MotionInputError):
            self.error, self.error_status = str(err), 400
            self._finish("failed")
        else:
            log.error("job %s (%s) failed", self.id, self.kind, exc_info=(type(err), err, err.__traceback__))
            self.error, self.error_status = f"internal error: {type(err).__name__}", 500
            self._finish("failed")

    def _finish(self, status: str) -> None:
        self.status, self.finished = status, time.time()
        if self.started is None:
            self.started = self.finished
        self.done_event.set()

    def summary(self, with_result: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "status": self.status,
            "progress": {"stage": self.stage, "step": self.step, "total": self.total,
                         "fraction": 1.0 if self.status == "done" else
                         (round(self.step / self.total, 4) if self.total else 0.0)},
            "created": self.created, "started": self.started, "finished": self.finished}
        if self.error is not None:
            out["error"] = self.error
        if with_result and self.status == "done":
            out["result"] = self.result
        return out


class JobManager:
    def __init__(self, workers: int = 2, max_active: int = 256, ttl_s: float = 600.0, max_finished: int = 256):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = DaemonExecutor(workers, "mogents-job")
        self.max_active, self.ttl_s, self.max_finished = max_active, ttl_s, max_finished

    def create(self, kind: str) -> Job:
        with self._lock:
            self._expire()
            if sum(j.status not in FINISHED for j in self._jobs.values()) >= self.max_active:
                raise TooManyJobs(f"{self.max_active} jobs are already queued or running; try again later")
            job = Job(kind)
            self._jobs[job.id] = job
        return job

    def run(self, job: Job, work: Callable[[Job], Any]) -> Future:
        """Run `work(job)` on the job threads; the job settles from its outcome."""
        def call() -> Any:
            if job.cancel_requested:
                raise Cancelled()
            job.mark_running()
            return work(job)

        future = self._pool.submit(call)
        future.add_done_callback(job.settle)
        return future

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is not None and job.status not in FINISHED:
            job.cancel_event.set()
        return job

    def list(self) -> list[Job]:
        with self._lock:
            self._expire()
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for job in self.list():
            counts[job.status] += 1
        return counts

    def _expire(self) -> None:
        now = time.time()
        finished = sorted((j for j in self._jobs.values() if j.status in FINISHED), key=lambda j: j.finished or 0)
        for i, job in enumerate(finished):
            if now - (job.finished or now) > self.ttl_s or i < len(finished) - self.max_finished:
                del self._jobs[job.id]

    def cancel_all(self) -> None:
        """Ask every queued or running job to stop (at its next progress step)."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.status not in FINISHED]
        for job in active:
            job.cancel_event.set()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Cancel everything still active and stop the job threads, waiting at most `timeout` s for work that
        does not stop; True when all of it stopped."""
        self.cancel_all()
        return self._pool.shutdown(wait=True, cancel_futures=True, timeout=timeout)
