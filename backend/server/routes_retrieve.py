"""Search the motion library and manage it.

- POST /v1/retrieve: exactly one of text, motion (features) or video, and k -> {"query", "model", "hits":
  [{"rank", "id", "name", "score", "captions"}]}. JSON, or multipart/form-data with a `video` file part
  (and optional `text`, `k` parts). A video answers 422 while the retrieval model has no video encoder.
- GET /v1/library -> {"entries": [...], "info": {...}}; GET /v1/library/{id} -> {"entry", "motion"} where
  the motion has the shape /v1/generate returns, so it can be applied like a generation.
- POST /v1/library/add {folder, split?} -> a job (202; progress stage "add", cancellable); 403 for a folder
  outside the `--library-root` folders (under --allow-remote: any folder when none was given);
  DELETE /v1/library/{id} -> {"removed": [entry]}.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from ..errors import MotionInputError
from ..generate.motion import GeneratedMotion
from .motion_io import features_array
from .multipart import parse_form
from .responses import json_response, run_compute, services_of, small_json
from .routes_jobs import register_job_kind
from .schemas import LibraryAddRequest, RetrieveRequest
from .services import Services

router = APIRouter(prefix="/v1")
register_job_kind("library_add", LibraryAddRequest)

RETRIEVE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/RetrieveRequest"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "video": {"type": "string", "format": "binary"}, "text": {"type": "string"}, "k": {"type": "integer"}}}}}}}


def _validation_error(err: ValidationError, prefix: tuple = ("body",)) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": (*prefix, *e["loc"])} for e in err.errors()])


def _form_request(content_type: str, body: bytes) -> RetrieveRequest:
    fields = parse_form(content_type, body)
    unknown = set(fields) - {"video", "text", "k"}
    if unknown:
        raise MotionInputError(f"unknown form fields: {', '.join(sorted(unknown))} (use video, text, k)")
    data: dict = {}
    if "text" in fields:
        data["text"] = fields["text"][0].decode("utf-8", errors="replace")
    if "k" in fields:
        data["k"] = fields["k"][0].decode("ascii", errors="replace").strip()
    if "video" in fields:
        content, filename = fields["video"]
        data["video"] = {"data": base64.b64encode(content).decode(), "filename": filename}
    try:
        return RetrieveRequest.model_validate(data)
    except ValidationError as err:
        raise _validation_error(err) from None


async def _retrieve_request(request: Request) -> RetrieveRequest:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return _form_request(content_type, body)
    try:
        return RetrieveRequest.model_validate_json(body)
    except ValidationError as err:
        raise _validation_error(err) from None


def _video_clip(data: str, filename: str | None, runtime=None):
    """The uploaded video (any format `backend.retrieve.video_input` reads) as the encoder's query frames."""
    from ..retrieve.video_input import load_query_video, query_frame_count

    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MotionInputError("video.data is not valid base64") from None
    return load_query_video(raw, filename=filename, n=query_frame_count(runtime))


def _search(services: Services, req: RetrieveRequest) -> dict:
    runtime = services.require_retrieval()
    library = services.library
    if req.text is not None:
        query, hits = {"kind": "text", "text": req.text}, library.search_text(runtime, req.text, req.k)
    elif req.motion is not None:
        features = features_array(req.motion, runtime.info.feature_dim)
        query, hits = {"kind": "motion", "frames": len(features)}, library.search_motion(runtime, features, req.k)
    else:
        assert req.video is not None
        clip = _video_clip(req.video.data, req.video.filename, runtime)
        query = {"kind": "video", "frames": clip.source_frames, "sampled": len(clip.frames), "notes": list(clip.notes)}
        hits = library.search_video(runtime, clip.frames, req.k)
    return {"query": query, "model": runtime.info.name, "hits": [h.to_json() for h in hits]}


@router.post("/retrieve", summary="Search the motion library by text, a motion or a video", openapi_extra=RETRIEVE_BODY)
async def retrieve(request: Request) -> Response:
    req = await _retrieve_request(request)
    given = [name for name in ("text", "motion", "video") if getattr(req, name) is not None]
    if len(given) != 1:
        raise HTTPException(422, f"give exactly one query: text, motion or video (got {', '.join(given) or 'none'})")
    services = services_of(request)
    if req.video is not None:
        runtime = services.require_retrieval()
        if not runtime.info.has("video"):
            raise HTTPException(422, f"no video encoder: the retrieval model {runtime.info.name!r} searches by "
                                     f"text and motion only")
    return small_json(await run_compute(services, _search, services, req))


@router.get("/library", summary="The library's motions and its size")
async def library_list(request: Request) -> Response:
    library = services_of(request).library
    return small_json({"entries": [e.to_json() for e in library.entries()], "info": library.info()})


def _known_id(services: Services, entry_id: str) -> None:
    if not any(e.id == entry_id for e in services.library.entries()):
        raise HTTPException(404, f"no motion with id {entry_id!r} in the library")


@router.get("/library/{entry_id}", summary="A library motion, shaped like a generated one")
async def library_get(entry_id: str, request: Request) -> Response:
    services = services_of(request)
    _known_id(services, entry_id)
    item = services.library.get(entry_id)
    prompt = item.captions[0] if item.captions else item.entry.name
    motion = GeneratedMotion(item.features, item.joints, item.fps, prompt, 0,
                             {"library_id": item.entry.id, "name": item.entry.name, "captions": list(item.captions)})
    return await json_response(services, {"entry": item.entry.to_json(), "motion": motion})


@router.post("/library/add", status_code=202, summary="Add a folder of motions (a job: follow /v1/jobs/{id})")
async def library_add(body: LibraryAddRequest, request: Request) -> Response:
    job, _ = services_of(request).start("library_add", body)
    return small_json(job.summary(), status=202)


@router.delete("/library/{entry_id}", summary="Remove a motion from the library")
async def library_remove(entry_id: str, request: Request) -> Response:
    services = services_of(request)
    _known_id(services, entry_id)
    removed = await run_compute(services, services.library.remove, [entry_id])
    return small_json({"removed": [e.to_json() for e in removed], "entries": len(services.library)})
