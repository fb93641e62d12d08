"""What the routes work with: the generator and its batcher, the job table, the model registry, the
retrieval model and the motion library.

`Services.start(kind, request)` is the one way model work begins, whether from a plain request, a stream
or POST /v1/jobs: it creates the job, hands the work to the batcher (generate) or the job threads (the
rest) and returns the job with a future of the response payload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import MotionInputError
from ..generate.generator import Generator
from ..generate.regions import check_frames
from ..motion.parts import resolve_selection
from .batching import GenerateBatcher, GenerateParams
from .config import ServerSettings, library_add_roots
from .jobs import Cancelled, Job, JobManager
from .motion_io import features_motion
from .registry import ModelEntry, short_digest
from .schemas import ComposeRequest, EditRequest, GenerateRequest, LibraryAddRequest
from .workers import DaemonExecutor

if TYPE_CHECKING:
    from ..retrieve.runtime import RetrievalRuntime

Progress = Callable[[str, int, int], None]
log = logging.getLogger("mogents.server")
SHUTDOWN_TIMEOUT_S = 2.0   # how long closing waits for work that does not stop when cancelled
SHUTTING_DOWN = "the server is shutting down; the job was cancelled"


class ForbiddenPath(Exception):
    """A path the server may not read for this client (HTTP 403)."""


def map_future(source: Future, fn: Callable[[Any], Any]) -> Future:
    """A future of fn(result) that fails or is cancelled like `source`."""
    out: Future = Future()

    def relay(f: Future) -> None:
        if f.cancelled():
            out.cancel()
        elif f.exception() is not None:
            out.set_exception(f.exception())
        else:
            try:
                out.set_result(fn(f.result()))
            except Exception as err:  # relayed to whoever waits on `out`
                out.set_exception(err)

    source.add_done_callback(relay)
    return out


class Services:
    def __init__(self, settings: ServerSettings, generator: Generator, models: list[ModelEntry]):
        from ..retrieve.library import MotionLibrary

        self.settings = settings
        self.generator = generator
        self.models = models
        self.started = time.time()
        self.jobs = JobManager(settings.job_workers, settings.max_active_jobs, settings.job_ttl_s,
                               settings.max_finished_jobs)
        self.batcher = GenerateBatcher(generator, settings.batch_window_s, settings.max_batch_rows)
        self.library = MotionLibrary(settings.library)
        self.library_roots = library_add_roots(settings)  # None: any path (loopback without --library-root)
        self.retrieval: RetrievalRuntime | None = None
        self.retrieval_problem: str | None = "retrieval is switched off" if not settings.retrieval else None
        self.retrieval_digest = ""
        # small CPU work kept off the event loop: JSON encoding of motions, BVH export, retargeting, search
        self.compute = DaemonExecutor(2, "mogents-cpu")
        self.shutting_down = False
        self.streams: set[Any] = set()  # open progress streams (`responses.EventChannel`), event-loop side

    # ------------------------------------------------------------------------------------ model work

    def start(self, kind: str, request: BaseModel, listener: Progress | None = None) -> tuple[Job, Future]:
        """Begin `kind` work for a validated request; input problems found here raise before any job exists.

        `listener` gets the job's progress from the first step on (streams attach theirs here)."""
        if kind == "generate" and request.constraints() is not None:  # controlled: a job of its own
            work = self._controlled_work(request)
        elif kind == "generate":
            assert isinstance(request, GenerateRequest)
            params = GenerateParams(request.prompt, request.seconds, request.seed, request.samples,
                                    request.decode_options(), request.raw)
            job = self._new_job(kind, listener)
            future = map_future(self.batcher.submit(params, job), lambda motions: {"motions": motions})
            future.add_done_callback(job.settle)
            return job, future
        elif kind == "edit":
            assert isinstance(request, EditRequest)
            work = self._edit_work(request)
        elif kind == "compose":
            assert isinstance(request, ComposeRequest)
            work = self._compose_work(request)
        elif kind == "library_add":
            assert isinstance(request, LibraryAddRequest)
            work = self._library_add_work(request)
        else:
            raise MotionInputError(f"unknown job kind {kind!r}")
        job = self._new_job(kind, listener)
        return job, self.jobs.run(job, work)

    def _new_job(self, kind: str, listener: Progress | None) -> Job:
        job = self.jobs.create(kind)
        if listener is not None:
            job.listeners.append(listener)
        return job

    def _controlled_work(self, req: GenerateRequest) -> Callable[[Job], dict]:
        from ..generate.control import constrained_rows

        gen = self.generator
        constraints = req.constraints()
        rows = constrained_rows(gen, constraints, req.seconds)  # bad constraints fail here, before the job
        constraints.checked(rows * gen.info.time_factor, gen.info.fps)
        options = req.decode_options()

        def work(job: Job) -> dict:
            return {"motions": gen.generate(req.prompt, req.seconds, req.seed, req.samples, options, job.progress,
                                            raw=req.raw, constraints=constraints)}
        return work

    def _edit_work(self, req: EditRequest) -> Callable[[Job], dict]:
        gen = self.generator
        motion = features_motion(req.motion, gen)
        total = len(motion.features)
        frames = tuple(req.frames) if req.frames is not None else (0, total)
        check_frames(frames[0], frames[1], total)
        parts = [req.part] if isinstance(req.part, str) else req.part
        selection = resolve_selection(gen.skeleton, req.joints, parts) if (req.joints or parts) else None
        options = req.decode_options()
        constraints = req.constraints()
        if constraints is not None:
            constraints.checked(total, gen.info.fps)

        def work(job: Job) -> dict:
            edited, report = gen.edit(motion, req.prompt, frames, selection, req.seed, options,
                                      progress=job.progress, raw=req.raw, constraints=constraints,
                                      method=req.method)
            return {"motion": edited, "report": report.to_dict()}
        return work

    def _compose_work(self, req: ComposeRequest) -> Callable[[Job], dict]:
        if req.seconds is not None and len(req.seconds) != len(req.prompts):
            raise MotionInputError(f"{len(req.prompts)} prompts but {len(req.seconds)} durations")
        options = req.decode_options()
        start = features_motion(req.motion, self.generator) if req.motion is not None else None

        def work(job: Job) -> dict:
            return {"motion": self.generator.compose(req.prompts, req.seconds, req.seed, options, job.progress,
                                                     start=start, raw=req.raw)}
        return work

    def check_library_path(self, folder: str) -> None:
        """Raise ForbiddenPath unless `folder` (links resolved) lies under the allowed library roots."""
        roots = self.library_roots
        if roots is None:
            return
        if not roots:
            raise ForbiddenPath("adding folders to the library is off on a server reachable from other machines "
                                "(--allow-remote); start it with --library-root DIR to allow the folders under DIR")
        try:
            resolved = Path(folder).resolve()
        except (OSError, ValueError, RuntimeError):
            raise ForbiddenPath(f"{folder}: cannot resolve the path") from None
        if not any(resolved == root or root in resolved.parents for root in roots):
            raise ForbiddenPath(f"{folder}: outside the library roots this server may read "
                                f"({', '.join(str(r) for r in roots)}; --library-root)")

    def _library_add_work(self, req: LibraryAddRequest) -> Callable[[Job], dict]:
        self.check_library_path(req.folder)
        runtime = self.require_retrieval()
        try:  # a wrong path fails now; the folder is searched in the job (it may be big)
            found = Path(req.folder).exists()
        except (OSError, ValueError):
            found = False
        if not found:
            raise MotionInputError("no such file or folder", req.folder)

        def work(job: Job) -> dict:
            report = self.library.add_folder(req.folder, runtime, progress=lambda i, n: job.note("add", i, n),
                                             cancel=job.cancel_event.is_set, split=req.split,
                                             roots=self.library_roots)
            if report.cancelled:  # what was added before the cancel stays in the library
                raise Cancelled()
            return {"added": [e.to_json() for e in report.added], "skipped": report.skipped,
                    "failed": [{"source": s, "reason": r} for s, r in report.failed], "entries": len(self.library)}
        return work

    # ------------------------------------------------------------------------------------- retrieval

    def load_retrieval(self) -> None:
        """Load the retrieval model, sha256-verified; a failure is reported in health, not fatal."""
        if not self.settings.retrieval:
            return
        from ..retrieve.loader import load_retrieval

        try:
            self.retrieval = load_retrieval(self.settings.retrieval_model, self.settings.device,
                                            self.settings.threads)
            self.retrieval_digest = short_digest(getattr(self.retrieval, "folder", Path()), "retrieval.json")
        except MotionInputError as err:
            self.retrieval_problem = str(err)
            log.warning("retrieval model not loaded: %s", err)

    def require_retrieval(self) -> RetrievalRuntime:
        if self.retrieval is None:
            raise MotionInputError(f"no retrieval model is loaded ({self.retrieval_problem})")
        return self.retrieval

    def extra_model_health(self) -> list[dict]:
        """Health entries of models other than the generator: the retrieval model when loaded."""
        if self.retrieval is None:
            return []
        info = self.retrieval.info
        return [{"name": info.name, "sha256": self.retrieval_digest,
                 "kind": "retrieval", "provider": "CUDA" if self.retrieval.provider.startswith("CUDA") else "CPU",
                 "modalities": sorted(info.modalities), "embed_dim": info.embed_dim}]

    def model_problems(self) -> list[dict]:
        problems = [{"name": m.name, "path": str(m.path), "error": m.error} for m in self.models if not m.ok]
        if self.settings.retrieval and self.retrieval is None:
            problems.append({"name": "retrieval", "path": str(self.settings.retrieval_model or "default"),
                             "error": self.retrieval_problem})
        return problems

    # ------------------------------------------------------------------------------------- lifecycle

    def begin_shutdown(self) -> None:
        """The server starts to stop (SIGTERM, Ctrl+C, `stop()`); called on the event loop. Every job is
        cancelled and every open stream ends with an error event now, so no client waits for the deadline."""
        self.shutting_down = True
        self.jobs.cancel_all()
        for stream in list(self.streams):
            stream.interrupt()

    def close(self, timeout: float = SHUTDOWN_TIMEOUT_S) -> None:
        """Stop the job, generation and compute threads, waiting at most `timeout` s in all for work that does
        not stop (its daemon thread is left behind and ends with the process)."""
        self.shutting_down = True
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        self.jobs.shutdown(timeout=left())
        self.batcher.close(timeout=left())
        self.compute.shutdown(cancel_futures=True, timeout=left())
