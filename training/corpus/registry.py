"""All action families with their sampling weights, groups and layering roles.

The first 34 are hand-written functions (v1); the rest are declarative specs (spec.py) built from the
primitives. `upper` families can be layered over `base` (locomotion) ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import (
    fam_arms,
    fam_body,
    fam_body2,
    fam_dance2,
    fam_gesture,
    fam_ground,
    fam_jumps,
    fam_legs,
    fam_locomotion,
    fam_sport,
    fam_walk2,
)
from .base import Action, Ctx
from .spec import Spec, realize, with_extra


@dataclass(frozen=True)
class Family:
    name: str
    make: Callable[[Ctx], Action]
    weight: float
    group: str  # locomotion, jump, arms, legs, body, idle, object, sport, dance, gesture
    upper: bool = False
    base: bool = False


_UPPER = {"wave", "clap", "point", "punch", "salute", "raise_arms", "throw"}
_BASE = {"walk", "jog", "walk_backward", "side_step", "turn_in_place", "walk_arc", "sneak"}


def _from_spec(spec: Spec) -> Family:
    return Family(spec.name, lambda ctx: realize(spec, ctx), spec.weight, spec.group, spec.upper, spec.base)


def _extra(make: Callable[[Ctx], Action]) -> Callable[[Ctx], Action]:
    return lambda ctx: with_extra(make(ctx))


_LEGACY = {
    f.name: Family(f.name, _extra(f.make), f.weight, f.group, f.name in _UPPER, f.name in _BASE)
    for f in (
        Family("walk", fam_locomotion.walk, 1.6, "locomotion"),
        Family("jog", fam_locomotion.jog, 0.9, "locomotion"),
        Family("run", fam_locomotion.run, 0.6, "locomotion"),
        Family("sneak", fam_locomotion.sneak, 0.8, "locomotion"),
        Family("walk_backward", fam_locomotion.walk_backward, 1.0, "locomotion"),
        Family("side_step", fam_locomotion.side_step, 1.0, "locomotion"),
        Family("turn_in_place", fam_locomotion.turn_in_place, 2.2, "locomotion"),
        Family("walk_arc", fam_locomotion.walk_arc, 2.0, "locomotion"),
        Family("spin", fam_locomotion.spin, 0.9, "body"),
        Family("hop", fam_jumps.hop, 0.9, "jump"),
        Family("skip", fam_jumps.skip, 0.8, "jump"),
        Family("jump_forward", fam_jumps.jump_forward, 1.0, "jump"),
        Family("jump_up", fam_jumps.jump_up, 1.0, "jump"),
        Family("jumping_jacks", fam_jumps.jumping_jacks, 0.8, "body"),
        Family("wave", fam_arms.wave, 1.3, "arms"),
        Family("raise_arms", fam_arms.raise_arms, 1.1, "arms"),
        Family("point", fam_arms.point, 0.9, "arms"),
        Family("clap", fam_arms.clap, 0.9, "arms"),
        Family("punch", fam_arms.punch, 1.0, "arms"),
        Family("throw", fam_arms.throw, 0.9, "arms"),
        Family("reach", fam_arms.reach, 0.9, "arms"),
        Family("salute", fam_arms.salute, 0.6, "arms"),
        Family("kick", fam_legs.kick, 1.0, "legs"),
        Family("squat", fam_legs.squat, 0.9, "legs"),
        Family("lunge", fam_legs.lunge, 0.8, "legs"),
        Family("knee_raise", fam_legs.knee_raise, 0.8, "legs"),
        Family("stomp", fam_legs.stomp, 0.6, "legs"),
        Family("balance", fam_legs.balance, 0.7, "legs"),
        Family("bow", fam_body.bow, 0.8, "body"),
        Family("stretch", fam_body.stretch, 0.9, "body"),
        Family("crouch", fam_body.crouch, 0.8, "body"),
        Family("sit_floor", fam_body.sit_floor, 0.7, "body"),
        Family("dance", fam_body.dance, 0.9, "body"),
        Family("idle", fam_body.idle, 0.8, "idle"),
    )
}
SPECS: list[Spec] = [*fam_gesture.SPECS, *fam_body2.SPECS, *fam_walk2.SPECS, *fam_sport.SPECS, *fam_dance2.SPECS,
                    *fam_ground.SPECS]
# The mix: more turning and more floor-level time than the families' own weights give, which brings the
# root yaw-velocity spread, the pose spread and the contact fractions toward real HumanML3D's
# (`mogents data stats`). Stairs and cartwheels carry the most pose spread per frame (6x and 7.5x the mean
# squared ric deviation) without lowering the root height as lying and crawling do.
MIX = {
    "turn_in_place": 1.8, "walk_arc": 1.5, "spin": 1.6, "look_around": 1.5,
    "crawl": 1.6, "forward_roll": 1.3, "cartwheel": 3.5, "lie_down": 0.9, "sit_floor": 1.1, "kneel": 1.3,
    "sit_chair": 1.0, "crouch": 1.1, "jog": 1.3, "run": 1.2, "jumping_jacks": 2.0, "raise_arms": 1.3,
    "jump_up": 1.5, "hop": 1.4, "tiptoe": 1.6, "stairs_up": 4.4, "stairs_down": 4.4, "step_box": 2.0,
    "side_step": 2.0, "walk_backward": 1.6, "idle": 1.5, "walk": 0.7, "jump_rope": 2.0, "dance": 1.5,
}
GROUP_MIX = {"dance": 1.4, "gesture": 0.8, "arms": 0.9}  # feet that move in place; fewer still-standing gestures
_ALL = {**_LEGACY, **{s.name: _from_spec(s) for s in SPECS}}
FAMILIES: dict[str, Family] = {
    n: Family(f.name, f.make, f.weight * MIX.get(n, 1.0) * GROUP_MIX.get(f.group, 1.0), f.group, f.upper, f.base)
    for n, f in _ALL.items()}
