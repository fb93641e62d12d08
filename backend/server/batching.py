"""Concurrent generate requests decoded together.

One thread owns generation. It takes the first waiting request, waits a few milliseconds (`window_s`) for
more, prepares each (checks, text embedding, lengths: per request, exactly as an unbatched call does) and
decodes the requests that share decode options and padded length in one batch. Each request keeps its own
random generator (`RowGroupRandom`), so its motions are identical to what it would get alone.

Cancellation: a cancelled request still waiting is dropped; inside a running batch it only loses its
result, unless every member is cancelled, in which case the batch stops at its next decoding step.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass

from ..generate.decoding import DecodeOptions
from ..generate.generator import Generator, PreparedGeneration
from ..generate.motion import GeneratedMotion
from .jobs import Cancelled, Job


@dataclass(frozen=True)
class GenerateParams:
    prompt: str
    seconds: float | None
    seed: int
    samples: int
    options: DecodeOptions
    raw: bool = False


@dataclass
class _Pending:
    params: GenerateParams
    job: Job
    future: Future


class GenerateBatcher:
    def __init__(self, generator: Generator, window_s: float = 0.005, max_rows: int = 32):
        self.generator = generator
        self.window_s = window_s
        self.max_rows = max_rows
        self.batches = 0                 # decoding calls made
        self.largest_batch = 0           # most requests decoded in one call
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="mogents-generate", daemon=True)
        self._thread.start()

    def submit(self, params: GenerateParams, job: Job) -> Future[list[GeneratedMotion]]:
        future: Future[list[GeneratedMotion]] = Future()
        if self._closing:
            future.set_exception(Cancelled())
        else:
            self._queue.put(_Pending(params, job, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Stop after the current batch (cancelled members stop it at its next step); waits at most `timeout` s."""
        self._closing = True
        self._queue.put(None)
        self._thread.join(timeout)

    # ------------------------------------------------------------------------------------------ worker

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            pending, stop = self._collect(first)
            self._run(pending)
            if stop:
                break
        while True:  # closing: whatever is still queued will not run
            try:
                left = self._queue.get_nowait()
            except queue.Empty:
                break
            if left is not None:
                left.future.set_exception(Cancelled())

    def _collect(self, first: _Pending) -> tuple[list[_Pending], bool]:
        pending, rows = [first], first.params.samples
        deadline = time.monotonic() + self.window_s
        while rows < self.max_rows:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return pending, True
            pending.append(item)
            rows += item.params.samples
        return pending, False

    def _run(self, pending: list[_Pending]) -> None:
        groups: dict[tuple, list[tuple[_Pending, PreparedGeneration]]] = defaultdict(list)
        for item in pending:
            if item.job.cancel_requested or not item.future.set_running_or_notify_cancel():
                if not item.future.done():
                    item.future.set_exception(Cancelled())
                continue
            item.job.mark_running()
            p = item.params
            try:
                prepared = self.generator.prepare_generation(p.prompt, p.seconds, p.seed, p.samples, p.options,
                                                             progress=item.job.note, raw=p.raw)
            except Exception as err:  # handed to the request's future, which reports it
                item.future.set_exception(err)
                continue
            groups[prepared.batch_key].append((item, prepared))
        for members in groups.values():
            for chunk in _chunks(members, self.max_rows):
                self._decode(chunk)

    def _decode(self, members: list[tuple[_Pending, PreparedGeneration]]) -> None:
        def progress(stage: str, step: int, total: int) -> None:
            for item, _ in members:
                item.job.note(stage, step, total)
            if all(item.job.cancel_requested for item, _ in members):
                raise Cancelled()

        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(members))
        try:
            results = self.generator.generate_prepared([p for _, p in members], progress)
        except Exception as err:  # handed to every member's future
            for item, _ in members:
                item.future.set_exception(err)
            return
        for (item, _), motions in zip(members, results, strict=True):
            if item.job.cancel_requested:
                item.future.set_exception(Cancelled())
            else:
                item.future.set_result(motions)


def _chunks(members: list, max_rows: int) -> list[list]:
    """Split a group so that no chunk decodes more than `max_rows` samples (a single big request stays whole)."""
    chunks, current, rows = [], [], 0
    for item, prepared in members:
        n = len(prepared.rows)
        if current and rows + n > max_rows:
            chunks.append(current)
            current, rows = [], 0
        current.append((item, prepared))
        rows += n
    if current:
        chunks.append(current)
    return chunks
