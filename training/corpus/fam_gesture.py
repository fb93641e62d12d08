"""Head, hand and arm gestures (layerable over walking): nod, shake head, shrug, look around, scratch
head, beckon, stop sign, face-palm, check a watch, phone call, texting, drink, eat, carry.

Chest-frame coordinates relative to spine3 (x toward the body's left, y up, z forward): the mouth is
near (0, 0.27, 0.12), an ear near (+-0.09, 0.31, 0), the top of the head near (0, 0.42, 0).
"""

from __future__ import annotations

import numpy as np

from .base import Ctx
from .body import SIDE_SIGN
from .famkit import base, count, dur, osc, pick_side, side_of
from .prims import Pose, perform
from .spec import Spec

S = SIDE_SIGN


def _v(side: int, x: float, y: float, z: float) -> np.ndarray:
    return np.array([S[side] * x, y, z])


def _pole_out(side: int) -> np.ndarray:
    return np.array([S[side] * 0.8, -0.5, -0.2])


def _nod(ctx: Ctx, p: dict):
    per = dur(ctx, 0.45, 0.7)
    total = 0.4 + p["count"] * per + 0.4
    c = base(ctx, total)
    t = ctx.times(c.frames)
    c.head[:, 0] += ctx.amp * p["depth"] * osc(t, 0.4, p["count"], per)
    return c


def _shake(ctx: Ctx, p: dict):
    per = dur(ctx, 0.45, 0.65)
    total = 0.4 + p["count"] * per + 0.4
    c = base(ctx, total)
    t = ctx.times(c.frames)
    u = np.clip((t - 0.4) / per, 0, p["count"])
    env = np.clip(np.minimum(u, p["count"] - u) * 3, 0, 1)
    c.head[:, 1] += ctx.amp * 0.45 * np.sin(2 * np.pi * u) * env
    return c


def _shrug(ctx: Ctx, p: dict):
    up, hold = dur(ctx, 0.3, 0.45), dur(ctx, 0.3, 0.8)
    tl: list = [(0.0, Pose())]
    t0 = 0.3
    for _ in range(p["count"]):
        pose = Pose(wrist={s: _v(s, 0.33, -0.2, 0.26) for s in (0, 1)}, pole={s: _pole_out(s) for s in (0, 1)},
                    head=(0.05, 0.0), spine=(-0.03, 0.0, 0.0))
        tl += [(t0, Pose()), (t0 + up, pose), (t0 + up + hold, pose)]
        t0 += 2 * up + hold
    tl += [(t0, Pose()), (t0 + 0.3, Pose())]
    return perform(ctx, base(ctx, t0 + 0.3), tl)


def _look(ctx: Ctx, p: dict):
    first = 1.0 if p["first"] == "left" else -1.0
    a = dur(ctx, 0.5, 0.8)
    hold = dur(ctx, 0.4, 0.9)
    turn = p["turn"]
    left = Pose(head=(0.0, 0.7 * first), spine=(0, 0, 0.3 * first), yaw=turn * first)
    right = Pose(head=(0.0, -0.7 * first), spine=(0, 0, -0.3 * first), yaw=-turn * first)
    k = [0.3, 0.3 + a, 0.3 + a + hold, 0.3 + 2.6 * a + hold, 0.3 + 2.6 * a + 2 * hold, 0.3 + 3.6 * a + 2 * hold]
    tl = [(0.0, Pose()), (k[0], Pose()), (k[1], left), (k[2], left), (k[3], right), (k[4], right),
          (k[5], Pose()), (k[5] + 0.3, Pose())]
    return perform(ctx, base(ctx, k[5] + 0.3), tl)


def _hand_to(ctx: Ctx, p: dict, target: np.ndarray, wiggle: np.ndarray | None = None, head=(0.0, 0.0),
             spine=(0.0, 0.0, 0.0), hold_range=(0.8, 1.8), both: bool = False, pole=None):
    """One (or both) hands to a chest-frame point, held (optionally wiggling), and back."""
    sides = (0, 1) if both else (side_of(p["side"]),)
    rise, hold = dur(ctx, 0.45, 0.7), dur(ctx, *hold_range)
    total = 0.25 + rise + hold + rise + 0.25
    c = base(ctx, total)
    pose = Pose(wrist={s: target * (S[s], 1, 1) if both else target for s in sides},
                pole={s: (pole if pole is not None else _pole_out(s)) for s in sides}, head=head, spine=spine)
    tl = [(0.0, Pose()), (0.25, Pose()), (0.25 + rise, pose), (0.25 + rise + hold, pose),
          (total - 0.25, Pose()), (total, Pose())]
    perform(ctx, c, tl)
    if wiggle is not None:
        t = ctx.times(c.frames)
        w = osc(t, 0.25 + rise, max(int(hold / 0.3), 1), hold / max(int(hold / 0.3), 1))
        for s in sides:
            c.wrist[:, s] += w[:, None] * wiggle
    return c


def _scratch(ctx, p):
    s = side_of(p["side"])
    return _hand_to(ctx, p, _v(s, 0.06, 0.43, 0.02), wiggle=np.array([0.0, 0.02, 0.03]), head=(0.1, 0.0))


def _facepalm(ctx, p):
    s = side_of(p["side"])
    return _hand_to(ctx, p, _v(s, 0.02, 0.35, 0.15), head=(0.3, 0.0), spine=(0.08, 0, 0))


def _stop(ctx, p):
    s = side_of(p["side"])
    return _hand_to(ctx, p, _v(s, 0.12, 0.2, 0.5), pole=np.array([S[s] * 0.6, -0.8, 0.0]))


def _watch(ctx, p):
    return _hand_to(ctx, {"side": "left"}, _v(0, -0.02, 0.02, 0.3), head=(0.4, 0.1),
                    pole=np.array([0.9, -0.4, 0.0]))


def _phone_ear(ctx, p):
    s = side_of(p["side"])
    return _hand_to(ctx, p, _v(s, 0.1, 0.3, 0.03), head=(0.05, 0.0), hold_range=(1.6, 3.2),
                    pole=np.array([S[s] * 0.5, -0.9, 0.1]))


def _texting(ctx, p):
    return _hand_to(ctx, {"side": "both"}, np.array([0.06, -0.12, 0.3]), head=(0.5, 0.0),
                    hold_range=(1.6, 3.2), both=True, pole=None)


def _beckon(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    c = _hand_to(ctx, p, _v(s, 0.12, 0.05, 0.42), hold_range=(1.0, 1.8),
                 pole=np.array([S[s] * 0.4, -0.9, 0.0]))
    t = ctx.times(c.frames)
    per = 1.4 / p["count"]
    c.wrist[:, s] += osc(t, 0.25 + 0.5, p["count"], per)[:, None] * np.array([0, 0.08, -0.15])
    return c


def _to_mouth(ctx: Ctx, p: dict, sips: int, tilt: float):
    s = side_of(p["side"])
    rise, sip = dur(ctx, 0.5, 0.7), dur(ctx, 0.6, 1.0)
    tl: list = [(0.0, Pose()), (0.25, Pose())]
    t0 = 0.25
    near = Pose(wrist={s: _v(s, 0.1, -0.02, 0.3)}, pole={s: np.array([S[s] * 0.5, -0.9, 0.0])})
    mouth = Pose(wrist={s: _v(s, 0.04, 0.25, 0.14)}, pole={s: np.array([S[s] * 0.6, -0.8, 0.0])},
                 head=(-tilt, 0.0))
    tl.append((t0 + rise, near))
    t0 += rise
    for _ in range(sips):
        tl += [(t0 + 0.35, mouth), (t0 + 0.35 + sip, mouth), (t0 + 0.7 + sip, near)]
        t0 += 0.7 + sip
    tl += [(t0 + rise, Pose()), (t0 + rise + 0.25, Pose())]
    return perform(ctx, base(ctx, t0 + rise + 0.25), tl)


def _carry(ctx: Ctx, p: dict):
    hold = dur(ctx, 2.0, 4.0)
    c = _hand_to(ctx, {"side": "both"}, np.array([0.16, -0.12, 0.3]), head=(0.08, 0.0),
                 spine=(-0.05, 0, 0), hold_range=(hold, hold), both=True)
    return c


TWO_HANDED = ("box", "crate", "basket", "laundry basket", "package", "tray", "bucket", "large box",
              "heavy box", "cardboard box", "parcel", "stack of books", "suitcase", "sack", "toolbox",
              "storage bin", "moving box", "crate of bottles", "watermelon", "pile of clothes", "tub",
              "potted plant", "chest", "stack of plates", "bundle of firewood")
CUPS = ("cup", "glass", "bottle", "mug", "can", "water bottle", "cup of coffee", "glass of water", "teacup",
        "tumbler", "flask", "thermos", "juice box", "soda can", "cup of tea", "wine glass", "coffee mug",
        "jar", "carton of milk", "smoothie", "milkshake")
FOODS = ("apple", "sandwich", "snack", "burger", "piece of bread", "banana", "cookie", "slice of pizza", "pear",
         "donut", "muffin", "carrot", "bagel", "croissant", "cracker", "chocolate bar", "ice cream cone",
         "hot dog", "taco", "granola bar", "peach", "cupcake", "pretzel")


def _side_p(ctx: Ctx, **extra) -> dict:
    return {"side": pick_side(ctx, 0.6), **extra}


SPECS = [
    Spec("nod", "gesture", 0.6, lambda c: {"count": count(c, 1, 4), "depth": float(c.rng.uniform(0.2, 0.35))},
         _nod, lambda p: [
             "nods {pos} head {times}", "(nods|nods yes) {times}", "nods in agreement",
             "gives {n} (small|quick|) nods" if p["count"] > 1 else "gives a (small|quick|) nod",
             "bobs {pos} head up and down {times}", "(agrees|says yes) by nodding {pos} head"],
         upper=True),
    Spec("shake_head", "gesture", 0.6, lambda c: {"count": count(c, 2, 4)}, _shake, lambda p: [
        "shakes {pos} head", "shakes {pos} head (no|from side to side)", "shakes {pos} head {times}",
        "(disagrees|says no) by shaking {pos} head", "turns {pos} head left and right to say no"],
        upper=True),
    Spec("shrug", "gesture", 0.6, lambda c: {"count": count(c, 1, 2)}, _shrug, lambda p: [
        "shrugs" + (" twice" if p["count"] == 2 else ""), "shrugs {pos} shoulders {times}",
        "(lifts|raises) {pos} palms and shrugs", "gives a (shrug|puzzled shrug) with both hands",
        "shrugs as if to say i do not know"], upper=True),
    Spec("look_around", "gesture", 0.9, lambda c: {"first": pick_side(c), "turn": float(c.rng.uniform(0.2, 0.55))},
         _look, lambda p: [
             "looks around", "looks to the {first} and then to the {other_first}",
             "(turns|swivels) to look {first}, then {other_first}", "looks around (curiously|attentively|)",
             "scans the surroundings, looking left and right", "glances {first} and then {other_first}"],
         upper=True),
    Spec("scratch_head", "gesture", 0.5, lambda c: _side_p(c), _scratch, lambda p: [
        "scratches {pos} head with {hand}", "(raises|lifts) {hand} and scratches {pos} head",
        "scratches the top of {pos} head (as if confused|while thinking|)", "rubs {pos} head with {hand}"],
        upper=True),
    Spec("facepalm", "gesture", 0.4, lambda c: _side_p(c), _facepalm, lambda p: [
        "covers {pos} face with {hand}", "does a facepalm with {hand}", "puts {hand} on {pos} forehead",
        "brings {palm} to {pos} face in frustration"], upper=True),
    Spec("stop_sign", "gesture", 0.4, lambda c: _side_p(c), _stop, lambda p: [
        "holds up {hand} to signal stop", "(raises|puts up) {palm} as if saying stop",
        "makes a stop gesture with {hand}", "extends {arm} with the palm facing forward"], upper=True),
    Spec("check_watch", "gesture", 0.4, lambda c: {"side": "left"}, _watch, lambda p: [
        "checks the watch on {pos} left wrist", "looks at {pos} wristwatch", "raises the left arm and checks the time",
        "glances at the watch on {pos} left (wrist|arm)"], upper=True),
    Spec("beckon", "gesture", 0.4, lambda c: _side_p(c, count=count(c, 2, 4)), _beckon, lambda p: [
        "waves someone over with {hand}", "beckons with {hand}", "(signals|gestures) someone to come closer",
        "makes a come here gesture with {hand} {times}"], upper=True),
    Spec("phone_call", "object", 0.8, lambda c: _side_p(c, object="phone"), _phone_ear, lambda p: [
        "talks on the phone", "holds a phone to {pos} {side} ear", "answers a phone call with {hand}",
        "(holds|presses) a (cell phone|phone|mobile phone) against {pos} ear",
        "makes a phone call, holding the phone in {hand}"], upper=True),
    Spec("texting", "object", 0.8, lambda c: {"side": "both", "object": "phone"}, _texting, lambda p: [
        "looks down at a phone", "(types on|texts on|uses) a phone held in both hands",
        "checks {pos} phone", "reads something on a (smartphone|phone|cell phone)",
        "holds a phone in front of {pos} chest and looks at it"], upper=True),
    Spec("drink", "object", 0.8, lambda c: _side_p(c, object=str(c.choice(CUPS)), count=count(c, 1, 2)),
         lambda ctx, p: _to_mouth(ctx, p, p["count"], 0.25), lambda p: [
             "drinks from {the_obj}", "(takes a sip|drinks) from {the_obj} held in {hand}",
             "raises {the_obj} to {pos} lips and drinks", "lifts {the_obj} with {hand} and takes a drink",
             "drinks (some water|something) from {the_obj}"], upper=True),
    Spec("eat", "object", 0.7, lambda c: _side_p(c, object=str(c.choice(FOODS)), count=count(c, 2, 3)),
         lambda ctx, p: _to_mouth(ctx, p, p["count"], 0.05), lambda p: [
             "eats {the_obj}", "takes {n} bites of {the_obj}", "eats {the_obj} held in {hand}",
             "brings {the_obj} to {pos} mouth and (eats|takes a bite) {times}",
             "(snacks on|munches) {the_obj}"], upper=True),
    Spec("carry", "object", 0.4, lambda c: {"side": "both", "object": str(c.choice(TWO_HANDED))}, _carry,
         lambda p: ["carries {the_obj}", "holds {the_obj} in front of {pos} chest",
                    "carries {the_obj} with both hands", "holds {the_obj} in both arms"], upper=True),
]

