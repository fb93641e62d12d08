"""Turning work results into HTTP: JSON bodies encoded off the event loop, NDJSON progress streams.

A request's work is cancelled when its client goes: a stream when it stops reading, a plain request when
the connection closes while it waits (`_wait_or_cancel` watches the connection), so a departed client
never holds the generator. When the server stops, open streams end with an error event (503) and waiting
requests answer 503 at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..errors import MotionInputError
from .encoding import to_json
from .jobs import Cancelled, Job
from .services import SHUTTING_DOWN, Services

NDJSON = "application/x-ndjson"


def services_of(request: Request) -> Services:
    return request.app.state.services


async def json_response(services: Services, payload: Any, status: int = 200) -> Response:
    """JSON of a payload that may hold motions and arrays, encoded on the compute threads (big bodies)."""
    loop = asyncio.get_running_loop()
    text = await loop.run_in_executor(services.compute, to_json, payload)
    return Response(text, status_code=status, media_type="application/json")


async def run_compute(services: Services, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` on the compute threads, so the event loop keeps answering."""
    return await asyncio.get_running_loop().run_in_executor(services.compute, fn, *args)


def small_json(payload: Any, status: int = 200) -> Response:
    return Response(to_json(payload), status_code=status, media_type="application/json")


def _line(event: dict) -> bytes:
    return (json.dumps(event) + "\n").encode()


SHUTDOWN_EVENT = {"event": "error", "error": SHUTTING_DOWN, "status": 503}


def _outcome_event(future: Future, shutting_down: bool = False) -> dict[str, Any]:
    """The last event of a stream: the result, or what went wrong (never raises)."""
    if not future.done() or ((future.cancelled() or isinstance(future.exception(), Cancelled)) and shutting_down):
        return SHUTDOWN_EVENT
    if future.cancelled():
        return {"event": "error", "error": "the job was cancelled", "status": 409}
    err = future.exception()
    if err is None:
        return {"event": "result", **future.result()}
    if isinstance(err, Cancelled):
        return {"event": "error", "error": "the job was cancelled", "status": 409}
    if isinstance(err, MotionInputError):
        return {"event": "error", "error": str(err), "status": 400}
    return {"event": "error", "error": f"internal error: {type(err).__name__}", "status": 500}


class EventChannel:
    """Progress of one job as NDJSON lines; attach `progress` to the job before its work starts."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict | None] = asyncio.Queue()
        self.interrupted = False

    def _push(self, item: dict | None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def progress(self, stage: str, step: int, total: int) -> None:
        self._push({"event": "progress", "stage": stage, "step": step, "total": total})

    def interrupt(self) -> None:
        """The server is stopping: end the stream now with an error event (event-loop thread)."""
        self.interrupted = True
        self.queue.put_nowait(None)

    async def events(self, services: Services, job: Job, future: Future) -> AsyncIterator[bytes]:
        future.add_done_callback(lambda _: self._push(None))
        services.streams.add(self)
        try:
            yield _line({"event": "job", "id": job.id, "kind": job.kind})
            if services.shutting_down:
                self.interrupted = True
            while not self.interrupted and (item := await self.queue.get()) is not None:
                yield _line(item)
            outcome = _outcome_event(future, self.interrupted or services.shutting_down)
            if outcome is SHUTDOWN_EVENT:
                yield _line(outcome)
            else:
                text = await self.loop.run_in_executor(services.compute, to_json, outcome)
                yield (text + "\n").encode()
        finally:
            services.streams.discard(self)
            if self.progress in job.listeners:
                job.listeners.remove(self.progress)
            if not future.done():  # the client left mid-stream (or the server stops): stop the work
                job.cancel_event.set()


DISCONNECT_POLL_S = 0.1


async def _watch_disconnect(request: Request) -> None:
    """Returns once the client has closed the connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _wait_or_cancel(services: Services, request: Request, job: Job, future: Future) -> Any:
    """The work's payload; cancels the job when the client leaves or the server stops first."""
    waiting = asyncio.wrap_future(future)
    watcher = asyncio.ensure_future(_watch_disconnect(request))
    try:
        while True:
            done, _ = await asyncio.wait({waiting, watcher}, timeout=DISCONNECT_POLL_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            if waiting in done:
                return waiting.result()
            if watcher in done or services.shutting_down:
                job.cancel_event.set()  # the batch drops it, or stops when nobody is left to receive
                raise Cancelled()
    finally:
        watcher.cancel()
        if not waiting.done():
            waiting.cancel()


async def run_request(services: Services, kind: str, body: BaseModel, request: Request) -> Response:
    """Start `kind` work for a validated body; answer with its JSON result, or stream it when asked to."""
    if not getattr(body, "stream", False):
        job, future = services.start(kind, body)
        payload = await _wait_or_cancel(services, request, job, future)
        return await json_response(services, payload)
    channel = EventChannel()
    job, future = services.start(kind, body, listener=channel.progress)
    # Events: job (its id), progress ... (stage, step, total), then result or error
    return StreamingResponse(channel.events(services, job, future), media_type=NDJSON,
                             headers={"cache-control": "no-store", "x-job-id": job.id})
