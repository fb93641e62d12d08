"""Declarative family specs: parameter sampling, the primitives that build the motion, caption phrases.

A spec's `sample` draws the parameters; `build` turns them into controls with the primitives
(prims.py, gait.py); `phrases` are caption templates (language.py syntax) whose slots are made from
the same parameters by `slots`, so what a caption says is what the clip does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .base import Action, Ctx
from .captions import num, times_word
from .controls import Controls
from .lexicon import EXTRA, object_forms


@dataclass
class Built:
    controls: Controls
    end_pos: np.ndarray | None = None
    end_yaw: float = 0.0


@dataclass(frozen=True)
class Spec:
    name: str
    group: str  # locomotion, jump, arms, legs, body, idle, object, sport, dance, ground, gesture
    weight: float
    sample: Callable[[Ctx], dict]
    build: Callable[[Ctx, dict], Controls | Built]
    phrases: Callable[[dict], list[str]]
    upper: bool = False  # an upper-body action that can be layered over locomotion
    base: bool = False  # a locomotion that can carry an upper-body layer


def side_slots(side: str) -> dict:
    if side == "both":
        return {
            "side": "both",
            "hand": ["both hands", "both arms", "{pos} hands", "two hands", "both of {pos} hands"],
            "arm": ["both arms", "{pos} arms", "both of {pos} arms"],
            "fist": ["both fists", "{pos} fists", "both hands"],
            "leg": ["both legs", "{pos} legs"],
            "foot": ["both feet", "{pos} feet"],
        }
    return {
        "side": side,
        "hand": [f"the {side} hand", f"{{pos}} {side} hand", f"the {side} arm", f"{{pos}} {side} arm"],
        "arm": [f"the {side} arm", f"{{pos}} {side} arm"],
        "fist": [f"the {side} fist", f"{{pos}} {side} fist", f"the {side} hand"],
        "palm": [f"the {side} palm", f"{{pos}} {side} palm", f"the {side} hand"],
        "leg": [f"the {side} leg", f"{{pos}} {side} leg"],
        "foot": [f"the {side} foot", f"{{pos}} {side} foot"],
        "other": "right" if side == "left" else "left",
    }


def slots(params: dict) -> dict:
    """Caption slot values from an action's parameters."""
    out: dict = {}
    if params.get("side") in ("left", "right", "both"):
        out.update(side_slots(params["side"]))
    if isinstance(params.get("count"), (int, np.integer)):
        n = int(params["count"])
        out["n"] = num(n)
        out["times"] = [times_word(n), times_word(n), f"{num(n)} times in a row" if n > 1 else "once",
                        f"{num(n)} consecutive times" if n > 2 else times_word(n),
                        f"for {num(n)} repetitions" if n > 2 else times_word(n)]
    if "object" in params:
        obj = params["object"]
        out["obj"] = obj
        out["the_obj"] = object_forms(obj)
    if params.get("first") in ("left", "right"):
        out["first"] = params["first"]
        out["other_first"] = "right" if params["first"] == "left" else "left"
    for key in ("where", "surface", "direction", "speed_word", "style_word", "pose", "stroke"):
        if key in params:
            out[key] = params[key]
    return out


def with_extra(a: Action) -> Action:
    """The action with the lexicon's extra phrases for its family (those whose slots it has)."""
    extra = EXTRA.get(a.family)
    if not extra:
        return a
    if not a.slots:
        a.slots = slots(a.params)
    have = set(a.slots) | {"pos", "refl", "pron"}
    single = a.params.get("count") == 1  # "{n} squats" would say "one squats"
    a.phrases = list(a.phrases) + [t for t in extra if set(_SLOT.findall(t)) <= have
                                   and not (single and "{n}" in t)]
    return a


_SLOT = re.compile(r"\{([a-z_0-9]+)\}")


def realize(spec: Spec, ctx: Ctx) -> Action:
    params = spec.sample(ctx)
    out = spec.build(ctx, params)
    built = out if isinstance(out, Built) else Built(out)
    end_pos = np.zeros(2) if built.end_pos is None else np.asarray(built.end_pos, float)
    return with_extra(Action(spec.name, built.controls, spec.phrases(params), params, end_pos=end_pos,
                             end_yaw=float(built.end_yaw), slots=slots(params)))
