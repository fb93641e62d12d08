"""Walking variants built on the gait cycle (arm swing coupled to the feet in every one): stairs up and
down and a box step (footprints at floor heights, the pelvis rises and falls with them), marching,
tiptoeing, limping, stumbling and recovering, zombie and drunk walks, hands in pockets, pushing and
pulling something heavy, opening a door and walking through.
"""

from __future__ import annotations

import numpy as np

from .base import Ctx
from .body import SIDE_SIGN
from .curves import keys, window
from .fam_locomotion import _straight_keys
from .famkit import base, chain, count, dur, pick_side, side_of
from .feet import heel_raise
from .gait import Gait, locomotion, plan_steps
from .prims import Pose, perform
from .spec import Built, Spec

S = SIDE_SIGN


def _walk(ctx: Ctx, n: int, step: float, gait: Gait, heading: float = 0.0, first: int | None = None,
          heights=None, keys_=None, step_times=None):
    rng = ctx.rng
    kb = keys_ or _straight_keys(n, step, heading, 0.0, ramp=1)
    f = int(rng.integers(2)) if first is None else first
    plan = plan_steps(ctx, kb, f, gait, lead_in=float(rng.uniform(0.15, 0.35)), settle=float(rng.uniform(0.35, 0.6)),
                      heights=heights, step_times=step_times)
    c = locomotion(ctx, plan, gait)
    return c, plan, kb[-1][0].copy(), float(kb[-1][1])


def _stairs(ctx: Ctx, p: dict):
    rng = ctx.rng
    n = p["count"] + 1
    rise = p["rise"] * (1 if p["direction"] == "up" else -1)
    tread = float(rng.uniform(0.28, 0.34))
    gait = Gait(step_time=dur(ctx, 0.55, 0.7), lift=0.12 + abs(rise) * 0.6, lean=0.08 if rise > 0 else 0.02,
                arm_gain=0.7, bob=0.008)
    heights = [min(k + 1, p["count"]) * rise for k in range(n)]
    c, plan, end, _ = _walk(ctx, n, tread, gait, heights=heights)
    if rise < 0:  # going down ends on the floor (y = 0): start at the top
        c.root[:, 1] -= heights[-1]
        c.ankle[..., 1] -= heights[-1]
    return Built(c, end)


def _box(ctx: Ctx, p: dict):
    h = p["rise"]
    gait = Gait(step_time=dur(ctx, 0.6, 0.75), lift=0.1 + 0.6 * h, lean=0.06, arm_gain=0.5, bob=0.006)
    f = side_of(p["side"])
    kb = [(np.zeros(2), 0.0), (np.array([0, 0.32]), 0.0), (np.array([0, 0.32]), 0.0)]
    up, plan_up, _, _ = _walk(ctx, 2, 0.0, gait, first=f, heights=[h, h], keys_=kb)
    down_keys = [(np.zeros(2), 0.0), (np.array([0, -0.32]), 0.0), (np.array([0, -0.32]), 0.0)]
    # stepping back down: the same foot goes first, heights relative to the box top
    dn, _, _, _ = _walk(ctx, 2, 0.0, gait, first=f, heights=[-h, -h], keys_=down_keys)
    c, end, yaw = chain([(up, np.array([0, 0.32]), 0.0), (dn, np.array([0, -0.32]), 0.0)])
    c.root[up.frames:, 1] += h  # the stepping-down part (chain drops its first frame) starts on the box top
    c.ankle[up.frames:, :, 1] += h
    return Built(c, end, yaw)


def _march(ctx: Ctx, p: dict):
    rng = ctx.rng
    gait = Gait(step_time=dur(ctx, 0.5, 0.6), lift=float(rng.uniform(0.22, 0.3)), peak=0.5, lean=-0.04,
                arm_gain=1.8, roll_in=0.1, bob=0.012)
    c, _, end, _ = _walk(ctx, p["count"], float(rng.uniform(0.5, 0.62)), gait)
    return Built(c, end)


def _tiptoe(ctx: Ctx, p: dict):
    rng, body = ctx.rng, ctx.body
    gait = Gait(step_time=dur(ctx, 0.5, 0.65), lift=0.06, roll_in=0.0, roll_out=0.0, lean=0.05, arm_gain=0.4,
                arm_bend=0.5, drop=-0.03, bob=0.01)
    c, _, end, _ = _walk(ctx, p["count"], float(rng.uniform(0.3, 0.42)), gait)
    t = ctx.times(c.frames)
    on = window(t, 0.05, t[-1] - 0.05, 0.3) * float(rng.uniform(0.55, 0.75))
    for s in (0, 1):
        for i in range(c.frames):
            c.ankle[i, s] = heel_raise(body, s, c.ankle[i, s], float(c.foot_yaw[i, s]), np.array([on[i]]))[0]
        c.foot_pitch[:, s] += on
    c.root[:, 1] += 0.06 * on
    return Built(c, end)


def _limp(ctx: Ctx, p: dict):
    rng = ctx.rng
    bad = side_of(p["side"])
    n = p["count"]
    gait = Gait(step_time=dur(ctx, 0.55, 0.7), lift=0.06, lean=0.06, arm_gain=0.6, bob=0.02, sway=0.05)
    first = int(rng.integers(2))
    sides = [first if k % 2 == 0 else 1 - first for k in range(n)]
    # the good foot's step comes quickly after the bad one lands (short stance on the bad leg)
    times = np.array([gait.step_time * (0.7 if sides[k - 1] == bad else 1.25) if k else gait.step_time
                      for k in range(n)])
    c, _, end, _ = _walk(ctx, n, float(rng.uniform(0.35, 0.48)), gait, first=first, step_times=times)
    loaded = np.clip(1 - np.abs(c.root[:, 0] - c.ankle[:, bad, 0]) / 0.15, 0, 1)
    c.pelvis[:, 1] += S[bad] * 0.07 * loaded
    c.spine[:, 1] -= S[bad] * 0.12 * loaded
    return Built(c, end)


def _stumble(ctx: Ctx, p: dict):
    rng = ctx.rng
    n = p["count"] + 2
    gait = Gait(step_time=dur(ctx, 0.5, 0.6), lift=0.08, lean=0.03, arm_gain=1.0)
    k_trip = p["count"] - 1
    times = np.full(n, gait.step_time)
    times[k_trip + 1] *= 0.55
    kb = _straight_keys(n, float(rng.uniform(0.5, 0.62)), 0.0, 0.0, ramp=1)
    c, plan, end, _ = _walk(ctx, n, 0.0, gait, keys_=kb, step_times=times)
    t = ctx.times(c.frames)
    a = float(plan.land[k_trip])
    trip = keys(t, [0, a - 0.1, a + 0.15, a + 0.5, a + 1.2, t[-1]], [0, 0, 1, 0.7, 0, 0])
    c.spine[:, 0] += 0.45 * trip
    c.head[:, 0] -= 0.2 * trip
    c.root[:, 1] -= 0.06 * trip
    for s in (0, 1):
        flail = np.array([S[s] * 0.3, 0.1, 0.35])
        c.wrist[:, s] = c.wrist[:, s] * (1 - trip[:, None]) + flail * trip[:, None]
    return Built(c, end)


def _zombie(ctx: Ctx, p: dict):
    rng = ctx.rng
    gait = Gait(step_time=dur(ctx, 0.7, 0.85), lift=0.07, roll_in=0.05, roll_out=0.15, lean=0.12, arm_gain=0.0,
                sway=0.05, bob=0.006, head_pitch=0.15)
    c, _, end, _ = _walk(ctx, p["count"], float(rng.uniform(0.3, 0.42)), gait)
    t = ctx.times(c.frames)
    on = window(t, 0.05, t[-1] - 0.05, 0.5)
    for s in (0, 1):
        arm = np.array([S[s] * 0.17, 0.12, 0.48])
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + arm * on[:, None]
    c.head[:, 1] += 0.25 * on * np.sin(t * 1.3)
    c.spine[:, 1] += 0.06 * on * np.sin(t * 2.1)
    return Built(c, end)


def _drunk(ctx: Ctx, p: dict):
    rng = ctx.rng
    n = p["count"]
    step = float(rng.uniform(0.4, 0.55))
    phase = float(rng.uniform(0, 2 * np.pi))
    x = 0.0
    kb = [(np.zeros(2), 0.0)]
    for k in range(1, n):
        x = 0.22 * np.sin(phase + 1.7 * k) * min(k, n - 1 - k, 2) / 2
        kb.append((np.array([x, k * step]), 0.15 * np.cos(phase + 1.7 * k)))
    kb.append(kb[-1])
    kb[-1] = (kb[-1][0], kb[-2][1])
    gait = Gait(step_time=dur(ctx, 0.6, 0.8), lift=0.06, lean=0.05, arm_gain=0.6, sway=0.06, bob=0.015,
                width=ctx.style.stance_width + 0.06)
    c, _, end, yaw = _walk(ctx, n, step, gait, keys_=kb)
    t = ctx.times(c.frames)
    c.spine[:, 1] += 0.1 * np.sin(1.9 * t + phase)
    c.head[:, 0] += 0.1 * np.sin(1.3 * t)
    for s in (0, 1):
        c.wrist[:, s, 0] += S[s] * 0.1
    return Built(c, end, yaw)


def _pockets(ctx: Ctx, p: dict):
    rng = ctx.rng
    gait = Gait(step_time=dur(ctx, 0.5, 0.62), lift=0.08, lean=0.05, arm_gain=0.0, head_pitch=0.06)
    c, _, end, _ = _walk(ctx, p["count"], float(rng.uniform(0.5, 0.65)), gait)
    t = ctx.times(c.frames)
    on = window(t, 0.02, t[-1] - 0.02, 0.5)
    for s in (0, 1):
        pocket = np.array([S[s] * 0.17, -0.36, 0.06])
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + pocket * on[:, None]
        c.pole[:, s] = c.pole[:, s] * (1 - on[:, None]) + np.array([S[s] * 0.9, -0.2, -0.4]) * on[:, None]
    return Built(c, end)


def _push_pull(ctx: Ctx, p: dict):
    rng = ctx.rng
    push = p["mode"] == "push"
    gait = Gait(step_time=dur(ctx, 0.7, 0.9), lift=0.05, lean=0.35 if push else -0.05, arm_gain=0.0,
                drop=0.06, roll_out=0.5 if push else 0.1, roll_in=0.1)
    heading = 0.0 if push else np.pi
    c, _, end, _ = _walk(ctx, p["count"], float(rng.uniform(0.28, 0.38)), gait, heading=heading)
    t = ctx.times(c.frames)
    on = window(t, 0.0, t[-1], 0.45)
    for s in (0, 1):
        hands = np.array([S[s] * 0.17, 0.02, 0.46]) if push else np.array([S[s] * 0.1, -0.12, 0.42])
        c.wrist[:, s] = c.wrist[:, s] * (1 - on[:, None]) + hands * on[:, None]
    if not push:
        c.pelvis[:, 0] -= 0.15 * on
    return Built(c, end)


def _door(ctx: Ctx, p: dict):
    s = side_of(p["side"])
    reach, turn, pull, through = dur(ctx, 0.5, 0.7), dur(ctx, 0.25, 0.4), dur(ctx, 0.7, 1.0), dur(ctx, 0.3, 0.5)
    k = np.cumsum([0.0, 0.25, reach, turn, pull, through])
    handle = np.array([S[s] * 0.1, -0.12, 0.5])
    opened = np.array([S[s] * 0.45, -0.12, 0.2]) if p["mode"] == "pull" else np.array([S[s] * 0.05, -0.12, 0.58])
    h = Pose(wrist={s: handle}, spine=(0.1, 0, 0), pole={s: np.array([S[s] * 0.6, -0.8, 0])})
    o = Pose(wrist={s: opened}, spine=(0.05 if p["mode"] == "pull" else 0.2, 0, S[s] * 0.25), yaw=S[s] * 0.15)
    tl = [(k[0], Pose()), (k[1], Pose()), (k[2], h), (k[3], h), (k[4], o), (k[5] + 0.2, Pose())]
    opening = perform(ctx, base(ctx, float(k[5] + 0.2)), tl)
    rng = ctx.rng
    walk, _, end, _ = _walk(ctx, p["count"], float(rng.uniform(0.5, 0.62)), Gait(step_time=dur(ctx, 0.5, 0.6)))
    c, pos, yaw = chain([(opening, np.zeros(2), 0.0), (walk, end, 0.0)])
    return Built(c, pos, yaw)


def _steps(lo: int, hi: int):
    return lambda c: {"count": count(c, lo, hi)}


SPECS = [
    Spec("stairs_up", "locomotion", 1.1, lambda c: {"count": count(c, 3, 6), "direction": "up",
                                                    "rise": float(c.rng.uniform(0.14, 0.19))}, _stairs, lambda p: [
        "walks up (the|a flight of|some) stairs", "climbs up {n} steps", "goes up the stairs",
        "ascends a staircase", "walks upstairs", "climbs {n} stairs"]),
    Spec("stairs_down", "locomotion", 1.0, lambda c: {"count": count(c, 3, 6), "direction": "down",
                                                      "rise": float(c.rng.uniform(0.14, 0.19))}, _stairs, lambda p: [
        "walks down (the|a flight of|some) stairs", "goes down {n} steps", "descends the staircase",
        "walks downstairs", "steps down {n} stairs"]),
    Spec("step_box", "locomotion", 0.8, lambda c: {"side": pick_side(c), "object": "box",
                                                  "rise": float(c.rng.uniform(0.2, 0.35))},
         _box, lambda p: [
             "steps up onto a box and back down", "steps onto a (box|platform|step|bench) with the {side} foot first "
             "and steps back down", "climbs onto a box, then steps off backward",
             "does a step up with {foot} leading", "steps up onto a raised platform and down again"]),
    Spec("march", "locomotion", 0.8, _steps(5, 10), _march, lambda p: [
        "marches forward", "marches ahead (like a soldier|in a military style|)", "marches {n} steps forward",
        "walks forward with high knees, marching", "parades forward swinging {pos} arms"], base=True),
    Spec("tiptoe", "locomotion", 0.8, _steps(4, 9), _tiptoe, lambda p: [
        "tiptoes forward", "walks forward on {pos} toes", "(sneaks|creeps) forward on tiptoe",
        "takes {n} steps on the tips of {pos} toes", "walks quietly on tiptoes"], base=True),
    Spec("limp", "locomotion", 0.8, lambda c: {"side": pick_side(c), "count": count(c, 4, 9)}, _limp, lambda p: [
        "limps forward", "walks with a limp on the {side} leg", "limps, favoring {pos} {side} leg",
        "hobbles forward on an injured {side} leg", "walks forward limping on {foot}"], base=True),
    Spec("stumble", "locomotion", 0.8, lambda c: {"count": count(c, 2, 4)}, _stumble, lambda p: [
        "walks, stumbles, and (recovers|catches {pos} balance)", "trips while walking and regains balance",
        "stumbles forward and then steadies {refl}", "walks forward, trips over something, and recovers",
        "loses {pos} footing for a moment, then keeps walking"]),
    Spec("zombie_walk", "locomotion", 0.8, _steps(4, 8), _zombie, lambda p: [
        "walks like a zombie", "shuffles forward like a zombie with arms out in front",
        "does a zombie walk", "staggers slowly forward with both arms stretched out", "moves like the undead"]),
    Spec("drunk_walk", "locomotion", 0.8, _steps(5, 9), _drunk, lambda p: [
        "walks like a drunk person", "staggers forward unsteadily", "stumbles along as if drunk",
        "weaves from side to side while walking", "wobbles forward (drunkenly|tipsily)"]),
    Spec("pocket_walk", "locomotion", 0.8, _steps(4, 9), _pockets, lambda p: [
        "walks with {pos} hands in {pos} pockets", "strolls forward, hands in pockets",
        "walks forward with both hands tucked in {pos} pockets", "casually walks with hands in {pos} pockets"]),
    Spec("push", "object", 1.0, lambda c: {"mode": "push", "count": count(c, 4, 8), "object": str(c.choice(
        ("heavy box", "cart", "shopping cart", "car", "crate", "table", "wall", "wheelbarrow",
         "stroller", "trolley", "sofa", "couch", "refrigerator", "wardrobe", "piano", "cabinet", "desk",
         "lawn mower", "heavy door", "bookshelf")))}, _push_pull, lambda p: [
        "pushes {the_obj} forward", "leans in and pushes {the_obj}", "pushes something heavy forward",
        "shoves {the_obj} ahead with both hands", "pushes {the_obj}, walking slowly forward"]),
    Spec("pull", "object", 0.9, lambda c: {"mode": "pull", "count": count(c, 3, 7), "object": str(c.choice(
        ("rope", "heavy box", "cart", "sled", "wagon", "suitcase", "trolley", "garden hose", "heavy bag",
         "fishing net", "rolling suitcase", "cable", "tug-of-war rope", "kayak")))}, _push_pull, lambda p: [
        "pulls {the_obj} backward", "walks backward pulling {the_obj}", "pulls something heavy toward {refl}",
        "drags {the_obj} while stepping back", "leans back and pulls {the_obj}"]),
    Spec("open_door", "object", 1.0, lambda c: {"side": pick_side(c, 0.6), "mode": str(c.choice(("pull", "push"))),
                                               "count": count(c, 2, 4)}, _door, lambda p: [
        "opens a door and walks through", ("pulls a door open with {hand} and steps through" if p["mode"] == "pull"
                                           else "pushes a door open with {hand} and walks through"),
        "grabs the (door handle|doorknob) with {hand}, opens the door and walks in",
        "opens the door and goes through it", "reaches for the handle, opens the door, then walks forward"]),
]
