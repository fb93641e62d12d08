"""POST /v1/export: a motion (joints, or 263-d features) -> BVH text, {"bvh": text, "frames": T}."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..data.exporter import joints_to_bvh
from .motion_io import motion_joints
from .responses import services_of, small_json
from .schemas import ExportRequest

router = APIRouter(prefix="/v1")


@router.post("/export", summary="Motion to BVH (SMPL-22 skeleton named after a template)")
async def export(body: ExportRequest, request: Request) -> Response:
    joints = motion_joints(body.motion)
    fps = body.fps or body.motion.fps
    loop = asyncio.get_running_loop()
    text = await loop.run_in_executor(services_of(request).compute, joints_to_bvh, joints, fps, body.template,
                                      body.units)
    return small_json({"bvh": text, "frames": len(joints), "fps": fps})
