"""Request bodies for the backend, built from the panel's settings (plain values, no bpy objects).

Kept apart from the operators so they can be read on the main thread and sent from a worker thread.
"""

from __future__ import annotations

import math

import numpy as np


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    return value


def generate_body(settings) -> dict:
    prompt = " ".join(settings.prompt.split())
    if not prompt:
        raise ValueError("type a prompt first")
    return {"prompt": prompt, "seconds": None if settings.auto_length else _finite(settings.seconds, "seconds"),
            "seed": int(settings.seed), "samples": int(settings.variations),
            "cfg": None if settings.auto_strength else _finite(settings.cfg, "cfg"),  # None: the model's own
            "steps": int(settings.steps) or None,  # 0 ("Auto" in the panel): the model's own count
            "raw": bool(settings.raw_output)}  # the backend cleans the motion unless asked not to


def custom_map(rig) -> dict[str, str]:
    return {pair.joint: pair.bone for pair in rig.bone_map if pair.bone}


def retarget_options(settings, fps: float) -> dict:
    return {"root_motion": "full" if settings.root_motion else "in_place",
            "scale": None if settings.scale <= 0 else _finite(settings.scale, "scale"),
            "foot_cleanup": bool(settings.foot_cleanup), "fps": float(fps)}


def retarget_body(armature: dict, joints, settings_values: dict) -> dict:
    """`settings_values` = {"preset", "mapping" (custom map or None), "options"} read on the main thread."""
    options = {k: v for k, v in settings_values["options"].items() if v is not None}
    body = {"armature": armature, "motion": {"joints": np.asarray(joints, dtype=np.float32).round(5).tolist(),
                                             "fps": options.get("fps", 20.0)}, **options}
    if settings_values.get("mapping"):
        body["bone_map"] = {"mapping": settings_values["mapping"]}
    else:
        body["preset"] = settings_values.get("preset", "auto")
    return body


def retarget_values(settings, rig, fps: float) -> dict:
    """The retarget request's values: the bone map of `rig` (an armature's settings) and the scene's options."""
    preset = rig.preset
    return {"preset": preset if preset != "custom" else "auto",
            "mapping": custom_map(rig) if preset == "custom" else None,
            "options": retarget_options(settings, fps)}


def progress_fraction(event: dict) -> tuple[float, str]:
    """Map a backend progress event (stage, step, total) onto 0..0.9 of the bar (retargeting is the rest)."""
    stage, step, total = event.get("stage", ""), event.get("step", 0), max(1, int(event.get("total", 1)))
    spans = {"text": (0.0, 0.05), "length": (0.0, 0.05), "decode": (0.05, 0.65), "residual": (0.65, 0.85),
             "features": (0.85, 0.9)}
    lo, hi = spans.get(stage, (0.0, 0.9))
    return lo + (hi - lo) * min(1.0, step / total), f"{stage} {step}/{total}"
