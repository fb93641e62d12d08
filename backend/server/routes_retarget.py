"""Retargeting onto the user's rig and bone maps.

- POST /v1/retarget {armature, motion, bone_map? | preset?, root_motion, scale, foot_cleanup, fps?} ->
  {"frames", "fps", "rotation_mode", "root_bone", "root_location": T x 3, "rotations": {bone: T x 4 wxyz},
  "bone_map", "scale", "warnings", "stats", "contacts"?}: per-bone local rotations (Blender pose-bone
  quaternions) and the root bone's location per frame.
- GET /v1/bone-maps -> {"presets": [...]}; POST /v1/bone-maps/detect {armature, preset} -> the detected map
  {"preset", "mapping", "confidence", "unmapped_bones", "missing_joints", "notes"}.

Inputs that pass the schema but describe no pose are refused (400) before the solver runs: a rig whose bones
all start at one point, a motion frame with every joint at one point (all-zero joints); a solve that still
comes out non-finite is refused rather than answered.

- POST /v1/retarget/to-motion {armature, bone_map? | preset?, scale?, path?: {times, points (armature space)},
  pose?: {frames, matrices: {bone: K x 4x4 pose matrices}}} -> {"scale", "origin": [0, 0], "path"?: {"points":
  [[t, x, z], ...]}, "keyframes"?: {"frames", "joints", "mask"}, "bone_map", "warnings"}: the rig's curve and
  poses in the motion frame (`motion/retarget/inverse.py`), ready for /v1/generate's `path` and `keyframes`;
  retarget the result with the answer's `scale` and `origin` and the root lands back on the curve and poses.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import MotionInputError
from ..motion.retarget import (
    PRESET_NAMES,
    RetargetOptions,
    bone_map_from_dict,
    detect_bone_map,
    retarget,
)
from ..motion.retarget.input_checks import checked_armature, checked_pose_joints
from ..motion.retarget.inverse import to_motion
from .motion_io import motion_joints
from .responses import run_compute, services_of, small_json
from .schemas import DetectRequest, RetargetRequest, ToMotionRequest

router = APIRouter(prefix="/v1")


def _finite_result(payload: dict) -> dict:
    rotations = payload["rotations"]
    numbers = [payload["root_location"], *rotations.values()] if rotations else [payload["root_location"]]
    if not all(np.all(np.isfinite(np.asarray(v, np.float64))) for v in numbers) or not np.isfinite(payload["scale"]):
        raise MotionInputError("retargeting this motion onto this armature gives no finite rotations: the rig's "
                               "rest pose is degenerate (bones at one point or along one line?)")
    return payload


def retarget_payload(req: RetargetRequest) -> dict:
    """The retarget result for a validated request (runs on a compute thread)."""
    if req.bone_map is not None and req.preset is not None:
        raise MotionInputError("give either bone_map or preset, not both")
    arm = checked_armature(req.armature)
    joints = checked_pose_joints(motion_joints(req.motion))
    bone_map = (bone_map_from_dict(req.bone_map, arm) if req.bone_map is not None
                else detect_bone_map(arm, req.preset or "auto"))
    options = RetargetOptions(root_motion=req.root_motion, scale=req.scale, foot_cleanup=req.foot_cleanup,
                              fps=req.fps or req.motion.fps,
                              origin=None if req.origin is None else (req.origin[0], req.origin[1]))
    with np.errstate(divide="ignore", invalid="ignore"):  # a degenerate solve is reported, not warned about
        try:
            result = retarget(joints, arm, bone_map, options)
        except (ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError) as err:
            raise MotionInputError(f"cannot retarget this motion onto this armature ({err}): the rig's rest pose "
                                   "or the motion is degenerate") from None
    return _finite_result(result.to_dict())


def to_motion_payload(req: ToMotionRequest) -> dict:
    """A curve and poses of the rig in the motion frame, checked as /v1/generate would check them."""
    return to_motion(req.armature, req.bone_map, req.preset, req.scale,
                     None if req.path is None else req.path.model_dump(),
                     None if req.pose is None else req.pose.model_dump())


def detect_payload(req: DetectRequest) -> dict:
    return detect_bone_map(checked_armature(req.armature), req.preset).to_dict()


@router.post("/retarget", summary="SMPL-22 motion -> per-bone rotations and root motion for an armature")
async def retarget_route(body: RetargetRequest, request: Request) -> Response:
    services = services_of(request)
    return small_json(await run_compute(services, retarget_payload, body))


@router.post("/retarget/to-motion", summary="A rig's curve and posed bones -> control path and keyframes")
async def to_motion_route(body: ToMotionRequest, request: Request) -> Response:
    services = services_of(request)
    return small_json(await run_compute(services, to_motion_payload, body))


@router.get("/bone-maps", summary="Bone-map presets")
async def bone_maps() -> Response:
    return small_json({"presets": ["auto", *PRESET_NAMES]})


@router.post("/bone-maps/detect", summary="Detect which bone stands for each SMPL joint")
async def detect(body: DetectRequest, request: Request) -> Response:
    services = services_of(request)
    return small_json(await run_compute(services, detect_payload, body))
