"""Background jobs: POST /v1/jobs {kind, params} -> job; GET to follow it; DELETE to cancel it.

`params` are the body the matching route takes (generate, edit, compose; library_add: {"folder"}).
A job is {"id", "kind", "status" (queued|running|done|failed|cancelled), "progress": {"stage", "step",
"total", "fraction"}, "created", "started", "finished", "error"?}; GET /v1/jobs/{id} adds "result" when done.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from .jobs import Job
from .responses import json_response, services_of, small_json
from .schemas import ComposeRequest, EditRequest, GenerateRequest, JobRequest

router = APIRouter(prefix="/v1")

PARAM_MODELS: dict[str, type[BaseModel]] = {"generate": GenerateRequest, "edit": EditRequest,
                                            "compose": ComposeRequest}


def register_job_kind(kind: str, model: type[BaseModel]) -> None:
    PARAM_MODELS[kind] = model


def _job_or_404(request: Request, job_id: str) -> Job:
    job = services_of(request).jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (unknown or expired)")
    return job


@router.post("/jobs", status_code=202, summary="Start a background job")
async def submit(body: JobRequest, request: Request) -> Response:
    model = PARAM_MODELS.get(body.kind)
    if model is None:
        raise HTTPException(422, f"job kind {body.kind!r} is not available on this server")
    try:
        params = model.model_validate(body.params)
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("body", "params", *e["loc"])} for e in err.errors()]) from None
    if getattr(params, "stream", False):
        raise HTTPException(422, "jobs do not stream; follow them with GET /v1/jobs/{id}")
    job, _ = services_of(request).start(body.kind, params)
    return small_json(job.summary(), status=202)


@router.get("/jobs", summary="All jobs the server remembers (without results)")
async def list_jobs(request: Request) -> Response:
    return small_json({"jobs": [j.summary() for j in services_of(request).jobs.list()]})


@router.get("/jobs/{job_id}", summary="A job's status and progress; its result when done")
async def get_job(job_id: str, request: Request) -> Response:
    job = _job_or_404(request, job_id)
    return await json_response(services_of(request), job.summary(with_result=True))


@router.delete("/jobs/{job_id}", summary="Cancel a job (the work stops at its next progress step)")
async def cancel_job(job_id: str, request: Request) -> Response:
    _job_or_404(request, job_id)
    job = services_of(request).jobs.cancel(job_id)
    return small_json(job.summary())
