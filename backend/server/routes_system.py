"""Liveness, health and the model registry."""

from __future__ import annotations

import platform
import time

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response

from .config import package_version
from .responses import services_of, small_json

router = APIRouter()


def _provider_label(provider: str) -> str:
    return "CUDA" if provider.startswith("CUDA") else "CPU" if provider.startswith("CPU") else provider


@router.get("/healthz", summary="Liveness (no token, no data)")
async def healthz() -> Response:
    return small_json({"ok": True})


@router.get("/v1/health", summary="Status, loaded models, execution provider, versions, uptime, job counts")
async def health(request: Request) -> Response:
    import onnxruntime

    services = services_of(request)
    runtime = services.generator.runtime
    models = [{"name": m.name, "sha256": m.sha256, "kind": "generator",
               "provider": _provider_label(getattr(runtime, "provider", "?"))}
              for m in services.models if m.loaded]
    models += services.extra_model_health()
    return small_json({
        "status": "ok",
        "models": models,
        "model_problems": services.model_problems(),
        "provider": _provider_label(getattr(runtime, "provider", "?")),
        "versions": {"mogents": package_version(), "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "uptime_s": round(time.time() - services.started, 3),
        "jobs": services.jobs.counts(),
        "batching": {"window_ms": services.settings.batch_window_s * 1000, "batches": services.batcher.batches,
                     "largest_batch": services.batcher.largest_batch},
    })


@router.get("/v1/models", summary="Generator folders known to the server, with checksum status")
async def models(request: Request) -> Response:
    services = services_of(request)
    return small_json({"models": [m.to_dict() for m in services.models],
                       "retrieval": services.extra_model_health(), "problems": services.model_problems()})
