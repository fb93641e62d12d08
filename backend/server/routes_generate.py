"""POST /v1/generate, /v1/edit, /v1/compose: JSON result, or with "stream": true NDJSON progress events.

Responses: generate -> {"motions": [motion, ...]}; edit -> {"motion": motion, "report": {...}};
compose -> {"motion": motion}. A motion is {"joints": T x J x 3, "features": T x D, "fps", "seconds",
"prompt", "seed", "meta"}. Streams send {"event": "job", "id"}, then {"event": "progress", "stage",
"step", "total"} ..., then {"event": "result", ...the response...} or {"event": "error", "error", "status"}.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .responses import run_request, services_of
from .schemas import ComposeRequest, EditRequest, GenerateRequest

router = APIRouter(prefix="/v1")


@router.post("/generate", summary="Text to motion (batched with concurrent requests)")
async def generate(body: GenerateRequest, request: Request) -> Response:
    return await run_request(services_of(request), "generate", body, request)


@router.post("/edit", summary="Regenerate frames [a, b) and/or joints or parts of a motion from a prompt")
async def edit(body: EditRequest, request: Request) -> Response:
    return await run_request(services_of(request), "edit", body, request)


@router.post("/compose", summary="One motion doing several prompts in turn")
async def compose(body: ComposeRequest, request: Request) -> Response:
    return await run_request(services_of(request), "compose", body, request)
