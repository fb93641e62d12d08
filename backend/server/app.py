"""The FastAPI application: routes under /v1, the request guard, JSON errors everywhere.

Every route needs the bearer token except `GET /healthz` (liveness, no data). The OpenAPI schema is served
at `/openapi.json` behind the token like the API itself (it lists the routes; nothing there is public);
the interactive /docs pages are off because a browser cannot send the token.
Errors are always `{"error": "..."}`: 400 bad input, 401 token, 403 host or a library path outside the
allowed roots, 404 unknown id or route, 409 a
cancelled request, 413 too large, 422 schema validation, 429 too many jobs, 503 the server is shutting
down; 500 only for genuine bugs, whose traceback goes to the log.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ..errors import MotionInputError
from . import routes_export, routes_generate, routes_jobs, routes_retarget, routes_retrieve, routes_system
from .auth import RequestGuard
from .config import ServerSettings, bound_host_names, package_version
from .jobs import Cancelled, TooManyJobs
from .schemas import RetrieveRequest
from .services import SHUTTING_DOWN, ForbiddenPath, Services

log = logging.getLogger("mogents.server")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(err: RequestValidationError) -> str:
    """'body.prompt: Field required; body.steps: Input should be ...' without echoing the (maybe huge) input."""
    parts = []
    if any(item.get("type") == "json_invalid" for item in err.errors()):
        return "the body is not valid JSON"
    for item in err.errors()[:8]:
        where = ".".join(str(x) for x in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg", "invalid")))
    more = len(err.errors()) - 8
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "") or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, err: RequestValidationError) -> JSONResponse:
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type and any(tuple(e.get("loc", ())) == ("body",) for e in err.errors()):
            return _error(422, f"send the body as JSON with Content-Type: application/json (got {content_type!r})")
        return _error(422, _validation_message(err))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, str(err.detail))

    @app.exception_handler(MotionInputError)
    async def bad_input(_: Request, err: MotionInputError) -> JSONResponse:
        return _error(400, str(err))

    @app.exception_handler(Cancelled)
    async def cancelled(request: Request, __: Cancelled) -> JSONResponse:
        if request.app.state.services.shutting_down:
            return _error(503, SHUTTING_DOWN)
        return _error(409, "the job was cancelled")

    @app.exception_handler(ForbiddenPath)
    async def forbidden(_: Request, err: ForbiddenPath) -> JSONResponse:
        return _error(403, str(err))

    @app.exception_handler(TooManyJobs)
    async def too_many(_: Request, err: TooManyJobs) -> JSONResponse:
        return _error(429, str(err))

    @app.exception_handler(Exception)
    async def bug(request: Request, err: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=err)
        return _error(500, f"internal error: {type(err).__name__}")


def _document_manual_bodies(app: FastAPI) -> None:
    """Add the schemas of bodies parsed by hand (JSON or multipart, /v1/retrieve) to the OpenAPI document."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra = RetrieveRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(extra.pop("$defs", {}))
            components["RetrieveRequest"] = extra
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(services: Services, settings: ServerSettings, token: str) -> FastAPI:
    """The ASGI app over ready services (generator loaded); closing it closes the services."""

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        services.close()  # bounded: see Services.close

    app = FastAPI(title="MoGenTS Studio backend", version=package_version(), docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.services = services
    _install_error_handlers(app)
    for module in (routes_system, routes_generate, routes_jobs, routes_export, routes_retrieve, routes_retarget):
        app.include_router(module.router)
    _document_manual_bodies(app)
    allowed = bound_host_names(settings.host) if settings.allow_remote else set()
    app.add_middleware(RequestGuard, token=token, allowed_hosts=allowed, max_body_bytes=settings.max_body_bytes)
    return app
