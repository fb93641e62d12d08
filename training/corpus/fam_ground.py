"""Floor-level whole-body actions: crawling on hands and knees, a forward roll, a cartwheel.

- crawl: the performer squats, puts both hands on the floor, kneels one leg at a time, crawls forward
  with the diagonal pairs (a hand and the opposite knee) moving together, then gets back up. Planted
  hands and knees hold their world points; each knee is placed a thigh's length from the hip toward its
  planted point and the ankle a shin's length behind it, so the IK puts the knee exactly there.
- forward_roll: a squat with the hands on the floor, the head tucked, the pelvis pitching through a full
  turn while the body rolls forward over its back, then up to a squat and standing. The legs are tucked in
  the pelvis frame while the body is upside down; the pelvis is lifted wherever a joint would go below the
  floor (measured by rendering), so nothing penetrates.
- cartwheel: a sideways turn in the frontal plane (the pelvis roll channel through 360 degrees) of a star
  pose, rolled like a rimless wheel over its spokes: the leading foot, the leading hand, the other hand,
  the other foot, the leading foot. The spoke on the floor is the pivot, so no contact slides.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .base import Ctx
from .body import HIP, SIDE_SIGN
from .curves import keys, minjerk, smoothstep
from .famkit import base, count, dur, pick_side
from .fastrot import qrot
from .prims import chest_frames, grab
from .rig import _ypr, render
from .spec import Built, Spec

S = SIDE_SIGN
KNEE_Y = 0.06  # knee joint height when kneeling on the floor
HAND_Y = 0.04  # wrist height with the palm on the floor


def _hips(c, body) -> np.ndarray:
    """(T, 2, 3) hip joints as the rig places them."""
    q = _ypr(c.yaw, c.pelvis[:, 0], c.pelvis[:, 1])
    return np.stack([c.root + qrot(q, np.broadcast_to(body.offsets[HIP[s]], c.root.shape)) for s in (0, 1)], 1)


def _mod_crouch(ctx: Ctx) -> float:
    return 0.0 if ctx.mod is None else ctx.mod.crouch


def _lift_clear(ctx: Ctx, c, margin: float = 0.015, carried: np.ndarray | None = None) -> None:
    """Raise the pelvis (and the carried ankle targets, weight `carried` (T,)) wherever a rendered joint would
    be below `margin` over the floor."""
    body_joints = [k for k in range(22) if k not in (7, 8, 10, 11)]
    for _ in range(5):
        j = render(c, ctx.body)
        y = j[..., 1] - _mod_crouch(ctx)
        # the body clears the floor by `margin`; the feet (which stand on it) only must not go below it
        feet_margin = 0.0 if carried is None else 0.012 * (carried > 0.01)  # feet in the air clear it too
        need = np.maximum(np.maximum(margin - y[:, body_joints].min(axis=1),
                                     feet_margin - y[:, [7, 8, 10, 11]].min(axis=1)), 0)
        if not np.any(need > 1e-4):
            return
        need = np.maximum(gaussian_filter1d(need, 2.0, mode="nearest"), need)
        c.root[:, 1] += need
        if carried is not None:
            c.ankle[..., 1] += (carried * need)[:, None]


# ------------------------------------------------------------------ crawl

def _crawl(ctx: Ctx, p: dict):
    rng, body = ctx.rng, ctx.body
    cycles = p["count"]
    period = dur(ctx, 1.0, 1.4)
    stride = float(rng.uniform(0.2, 0.3))
    t_bend, t_k1, t_k2 = 0.3 + dur(ctx, 0.8, 1.0), 0.0, 0.0
    t_k1 = t_bend + dur(ctx, 0.4, 0.55)
    t_k2 = t_k1 + dur(ctx, 0.4, 0.55)
    t_go = t_k2 + 0.15
    t_stop = t_go + cycles * period
    t_u1 = t_stop + 0.15 + dur(ctx, 0.4, 0.55)
    t_u2 = t_u1 + dur(ctx, 0.4, 0.55)
    t_up = t_u2 + dur(ctx, 0.8, 1.0)
    total = t_up + 0.3
    c = base(ctx, total)
    t = ctx.times(c.frames)
    h0 = body.stand_height()
    dist = cycles * stride
    # crawl pose: hips a thigh above the knees, torso near horizontal, arms down to the floor
    hip_y = KNEE_Y + 0.97 * body.thigh
    pitch = 1.0
    crawl_root_y = hip_y + body.hip_drop * np.cos(pitch)
    z_k0 = 0.1  # knees land a little ahead of where the feet stood
    crawl_root_z0 = z_k0 + body.hip_drop * np.sin(pitch)
    # root path: forward at a steady speed while crawling
    prog = np.clip((t - t_go) / (t_stop - t_go), 0, 1)
    z = keys(t, [0, 0.3, t_bend, t_k2, t_go], [0.02, 0.02, 0.12, crawl_root_z0, crawl_root_z0])
    z = np.where(t > t_go, crawl_root_z0 + dist * prog, z)
    z_end = crawl_root_z0 + dist
    z = np.where(t > t_stop, keys(t, [t_stop, t_u1, t_u2, t_up, total],
                                  [z_end, z_end, z_end - 0.02, z_end - 0.06, z_end - 0.06]), z)
    c.root[:, 2] = z
    # the walking bob of a crawl: one rise per half cycle
    bob = 0.012 * np.sin(2 * np.pi * 2 * (t - t_go) / period) * (prog > 0) * (prog < 1)
    squat_y = h0 - 0.42
    ground = keys(t, [0, 0.3, t_bend, t_k1, t_k2, t_stop, t_u1, t_u2, t_up, total],
                  [0, 0, 0.55, 0.85, 1, 1, 0.85, 0.55, 0, 0])
    c.root[:, 1] = keys(t, [0, 0.3, t_bend, t_k2, t_stop, t_u2, t_up, total],
                        [h0, h0, squat_y, crawl_root_y, crawl_root_y, squat_y, h0, h0]) + bob
    c.root[:, 1] += _mod_crouch(ctx) * ground  # the modifier's crouch must not push the knees into the floor
    c.pelvis[:, 0] = keys(t, [0, 0.3, t_bend, t_k2, t_stop, t_u2, t_up, total],
                          [0, 0, 0.7, pitch, pitch, 0.7, 0, 0])
    c.spine[:, 0] += keys(t, [0, 0.3, t_bend, t_k2, t_stop, t_u2, t_up, total], [0, 0, 0.5, 0.35, 0.35, 0.5, 0, 0])
    c.head[:, 0] -= 0.75 * ground
    # shoulders' height in the crawl pose decides where the hands reach: under the shoulders
    sh = _shoulders(c, body)
    # hands: planted under the shoulders, stepping forward in diagonal pairs with the opposite knee
    hands = np.zeros((c.frames, 2, 3))
    knees = np.zeros((c.frames, 2, 3))
    i_go = int(np.searchsorted(t, t_go))
    for s in (0, 1):
        first = 0.0 if s == 0 else 0.5  # left hand with the right knee, then the right hand with the left knee
        hand0 = np.array([sh[i_go, s, 0] + S[s] * 0.02, HAND_Y, sh[i_go, s, 2] + 0.04])
        knee0 = np.array([S[s] * 0.5 * ctx.style.stance_width * 0.8, KNEE_Y, z_k0])
        hands[:, s] = hand0
        knees[:, s] = knee0
        for k in range(cycles):
            for arr, phase, base0 in ((hands, first, hand0), (knees, 0.5 - first, knee0)):
                a = t_go + (k + phase) * period
                b = a + 0.45 * period
                u = np.clip((t - a) / (b - a), 0, 1)
                z0 = base0[2] + k * stride
                lift = np.sin(np.pi * u) * (0.05 if arr is hands else 0.07)
                on = (t >= a)
                arr[on, s, 2] = z0 + stride * minjerk(u[on])
                arr[on, s, 1] = base0[1] + lift[on]
        # the last half cycle's limbs end level with the other side's
    # hands: blend from hanging to the planted world points while going down, and back when getting up
    reach = keys(t, [0, 0.3 + 0.3 * (t_bend - 0.3), t_bend, t_stop + 0.15, t_u2, total], [0, 0, 1, 1, 0, 0])
    for s in (0, 1):
        grab(c, body, s, hands[:, s], reach)
    # knees: while kneeling each ankle sits a shin behind the knee, the knee a thigh from the hip toward its
    # planted point; going down / getting up, each leg in turn swings between the standing foot and there
    hip = _hips(c, body)
    foot0 = c.ankle[0].copy()
    foot_end = foot0.copy()
    foot_end[:, 2] += z_end - 0.06 - 0.02
    shin_dir = np.array([0.0, 0.3, -1.0]) / np.linalg.norm([0.0, 0.3, -1.0])
    for s in (0, 1):
        kk = knees[:, s].copy()
        kk[t < t_go] = knees[i_go, s]
        d = kk - hip[:, s]
        kpos = hip[:, s] + body.thigh * d / np.linalg.norm(d, axis=-1, keepdims=True)
        kneel_ankle = kpos + body.shin * shin_dir
        down_a, down_b = (t_bend, t_k1) if s == 0 else (t_k1, t_k2)
        up_a, up_b = (t_stop + 0.15, t_u1) if s == 1 else (t_u1, t_u2)
        w = keys(t, [0, down_a, down_b, up_a, up_b, total], [0, 0, 1, 1, 0, 0])
        lift = 0.12 * np.sin(np.pi * np.clip(w, 0, 1))
        stand = np.where((t < t_go)[:, None], foot0[s], foot_end[s])
        a = stand * (1 - w[:, None]) + kneel_ankle * w[:, None]
        a[:, 1] += lift
        c.ankle[:, s] = a
        c.foot_pitch[:, s] = 1.25 * w
    Built_end = np.array([0.0, z_end - 0.06 - 0.02])
    _lift_clear(ctx, c, 0.01)
    return Built(c, Built_end)


def _shoulders(c, body) -> np.ndarray:
    pos, q = chest_frames(c, body)
    return np.stack([pos + qrot(q, np.broadcast_to(body.shoulder_in_chest(s), pos.shape)) for s in (0, 1)], 1)


# ------------------------------------------------------------------ forward roll

def _roll(ctx: Ctx, p: dict):
    rng, body = ctx.rng, ctx.body
    h0 = body.stand_height()
    t_sq = 0.3 + dur(ctx, 0.7, 0.9)
    t_roll = t_sq + dur(ctx, 0.2, 0.3)
    t_land = t_roll + dur(ctx, 0.9, 1.2)
    t_rise = t_land + dur(ctx, 0.25, 0.4)
    t_up = t_rise + dur(ctx, 0.7, 0.9)
    total = t_up + 0.3
    c = base(ctx, total)
    t = ctx.times(c.frames)
    travel = float(rng.uniform(0.9, 1.2))
    u = smoothstep((t - t_roll) / (t_land - t_roll))
    turn = 2 * np.pi * u
    squat_y = h0 - float(rng.uniform(0.4, 0.46))
    c.pelvis[:, 0] = keys(t, [0, 0.3, t_sq, t_roll], [0, 0, 0.55, 0.7]) * (t <= t_roll) + \
        (0.7 + turn - 0.2 * np.sin(np.pi * u)) * (t > t_roll)
    c.pelvis[:, 0] = np.where(t > t_land, keys(t, [t_land, t_rise, t_up], [0.5 + 2 * np.pi, 0.45 + 2 * np.pi,
                                                                        2 * np.pi]), c.pelvis[:, 0])
    tuck = keys(t, [0, 0.3, t_sq, t_roll, t_land, t_rise, t_up, total], [0, 0, 0.7, 1, 1, 0.7, 0, 0])
    c.spine[:, 0] += 0.75 * tuck
    c.head[:, 0] += 0.6 * tuck
    c.root[:, 2] = keys(t, [0, 0.3, t_sq, t_roll, t_land, t_rise, t_up, total],
                        [0.02, 0.02, 0.0, 0.05, travel, travel + 0.02, travel + 0.02, travel + 0.02])
    c.root[:, 1] = keys(t, [0, 0.3, t_sq, t_roll, t_land, t_rise, t_up, total],
                        [h0, h0, squat_y, squat_y - 0.12, squat_y, squat_y, h0, h0])
    c.root[:, 1] += _mod_crouch(ctx) * tuck
    # hands: on the floor ahead in the squat, then hugging the shins through the roll, reaching forward to rise
    sh = _shoulders(c, body)
    i_sq = int(np.searchsorted(t, t_sq))
    for s in (0, 1):
        floor = np.array([sh[i_sq, s, 0], HAND_Y, sh[i_sq, s, 2] + 0.15])
        w = keys(t, [0, 0.3, t_sq, t_roll + 0.1, t_roll + 0.3], [0, 0, 1, 1, 0])
        grab(c, body, s, floor, w)
        hug = np.array([S[s] * 0.18, -0.3, 0.35])
        wh = keys(t, [t_roll, t_roll + 0.3, t_land, t_rise + 0.2, t_up], [0, 1, 1, 0, 0])
        c.wrist[:, s] = c.wrist[:, s] * (1 - wh[:, None]) + hug * wh[:, None]
    # legs: planted until the roll starts, tucked in the pelvis frame while rolling, planted again at the end
    q = _ypr(c.yaw, c.pelvis[:, 0], c.pelvis[:, 1])
    carried = keys(t, [0, t_roll - 0.1, t_roll + 0.15, t_land - 0.15, t_land, total], [0, 0, 1, 1, 0, 0])
    start, end = c.ankle[0].copy(), c.ankle[0].copy()
    end[:, 2] += travel
    for s in (0, 1):
        tucked = c.root + qrot(q, np.broadcast_to(np.array([S[s] * 0.09, -0.36, 0.26]), c.root.shape))
        planted = np.where((t < 0.5 * (t_roll + t_land))[:, None], start[s], end[s])
        c.ankle[:, s] = planted * (1 - carried[:, None]) + tucked * carried[:, None]
        # toes follow the shins: pitch through the turn with the pelvis
        c.foot_pitch[:, s] = carried * ((turn + 0.3 + np.pi) % (2 * np.pi) - np.pi)
        c.foot_pitch[:, s] = np.where(t > t_land, 0.0, c.foot_pitch[:, s])
    _lift_clear(ctx, c, 0.02, carried)
    return Built(c, np.array([0.0, travel]))


# ------------------------------------------------------------------ cartwheel

def _cartwheel(ctx: Ctx, p: dict):
    body = ctx.body
    lead = 0 if p["side"] == "left" else 1  # the side the cartwheel travels to (the leading hand and foot)
    sgn = S[lead]  # + rolls to the body's left
    t_prep = 0.3 + dur(ctx, 0.5, 0.7)
    t_end_roll = t_prep + dur(ctx, 1.7, 2.1)
    total = t_end_roll + dur(ctx, 0.6, 0.8) + 0.3
    c = base(ctx, total)
    t = ctx.times(c.frames)
    n = c.frames
    # arms up in a V during the prep, down again after; legs spread in the body frame during the turn
    arms = keys(t, [0, 0.3, t_prep, t_end_roll, total - 0.3, total], [0, 0, 1, 1, 0, 0])
    for s in (0, 1):
        v = body.shoulder_in_chest(s) + 0.85 * body.arm * np.array([S[s] * np.sin(0.35), np.cos(0.35), 0.06])
        c.wrist[:, s] = c.wrist[:, s] * (1 - arms[:, None]) + v * arms[:, None]
        c.pole[:, s] = np.array([S[s] * 0.8, 0.1, -0.5])
    lin = np.clip((t - t_prep) / (t_end_roll - t_prep), 0, 1)
    u = 0.7 * lin + 0.3 * minjerk(lin)  # nearly constant turning speed, easing in and out
    phi = sgn * 2 * np.pi * u
    c.pelvis[:, 1] = phi
    # the torso bends toward the floor on the way down to the hands and on the way up to the feet
    c.spine[:, 1] += sgn * 0.45 * np.sin(2 * np.pi * u) * (u > 0)
    # spokes in the pelvis frame (relative to the root): hands from the chest FK, feet from the hips
    ref = c.copy()
    ref.pelvis[:, 1] = 0.0
    pos, q = chest_frames(ref, body)
    hand = np.stack([pos + qrot(q, ref.wrist[:, s]) for s in (0, 1)], 1) - ref.root[:, None]  # (T, 2, 3)
    spread = 0.12 + 0.35 * np.sin(np.pi * u) ** 2
    legl = 0.93 * body.leg
    foot = np.zeros((n, 2, 3))
    for s in (0, 1):
        hipo = body.offsets[HIP[s]]
        foot[:, s] = hipo + legl * np.stack([S[s] * np.sin(spread), -np.cos(spread), np.zeros(n)], 1)
    stand_foot = c.ankle[0] - c.root[0]  # rest spokes at phi = 0 (narrow stance)
    grow = np.clip(np.sin(np.pi * u) * 4, 0, 1)[:, None]
    for s in (0, 1):
        foot[:, s] = stand_foot[s] * (1 - grow) + foot[:, s] * grow
    q_roll = _ypr(np.zeros(n), np.zeros(n), phi)
    # the order the spokes meet the floor: leading foot, leading hand, other hand, other foot, leading foot
    order = [("foot", lead), ("hand", lead), ("hand", 1 - lead), ("foot", 1 - lead), ("foot", lead)]
    floor_of = {"foot": body.ankle_height, "hand": HAND_Y}

    def world(kind: str, s: int, i: int, root: np.ndarray) -> np.ndarray:
        spoke = (foot if kind == "foot" else hand)[i, s]
        return root + qrot(q_roll[i], spoke)

    pivot_i = 0
    switches = []
    i0 = int(np.searchsorted(t, t_prep))
    piv = world("foot", lead, i0, c.root[i0])
    piv[1] = floor_of["foot"]
    root = c.root.copy()
    for i in range(i0, n):
        kind, s = order[pivot_i]
        r = piv - qrot(q_roll[i], (foot if kind == "foot" else hand)[i, s])
        if pivot_i + 1 < len(order):
            k2, s2 = order[pivot_i + 1]
            nxt = world(k2, s2, i, r)
            if nxt[1] <= floor_of[k2] and (i > i0 + 2):
                pivot_i += 1
                switches.append(i)
                piv = nxt.copy()
                piv[1] = floor_of[k2]
                r = piv - qrot(q_roll[i], (foot if k2 == "foot" else hand)[i, s2])
        root[i] = r
    root[:i0] = c.root[:i0]
    # A rigid star rolled over its spokes travels about twice as far as a person does (a person lunges and
    # folds at the hips to put the hands down near the lead foot): while the hands carry the body, take
    # back 45% of the travel, so the hands slide a little but the feet keep their contacts exactly.
    if len(switches) >= 3:
        a, b = switches[0], switches[2]
        back = 0.45 * (root[b, 0] - root[i0, 0])
        ramp = np.clip((np.arange(n) - a) / max(b - a, 1), 0, 1)
        root[:, 0] -= back * smoothstep(ramp)
    # after the turn: the root settles back over the feet at standing height
    end_x = root[-1, 0]
    c.root = root
    c.root[:, 1] = np.minimum(c.root[:, 1], body.stand_height() + 0.15)
    for s in (0, 1):
        c.ankle[:, s] = c.root + qrot(q_roll, foot[:, s])
        c.ankle[:i0, s] = c.ankle[0, s]
    # hold the feet where they landed
    land = c.ankle[-1].copy()
    land[:, 1] = body.ankle_height
    done = (u >= 0.999)
    c.ankle[done] = land
    c.foot_pitch[:] = 0.0
    c.root[:, 1] += _mod_crouch(ctx) * keys(t, [0, t_prep, t_prep + 0.3, t_end_roll - 0.3, t_end_roll], [0, 0, 1, 1, 0])
    _lift_clear(ctx, c, 0.01, (t > t_prep).astype(float))
    return Built(c, np.array([end_x, 0.0]))


SPECS = [
    Spec("crawl", "ground", 1.0, lambda c: {"count": count(c, 2, 5)}, _crawl, lambda p: [
        "crawls forward on (hands|all fours) and knees", "gets down on all fours, crawls forward and stands up",
        "crawls on the floor on hands and knees", "drops to {pos} hands and knees and crawls ahead",
        "kneels down, crawls forward on all fours and gets back up", "crawls like a baby"]),
    Spec("forward_roll", "ground", 0.8, lambda c: {}, _roll, lambda p: [
        "does a forward roll", "rolls forward on the floor and stands up", "tucks {pos} head and does a somersault",
        "crouches and rolls forward over {pos} back", "performs a forward roll and gets back to {pos} feet",
        "does a somersault on the ground"]),
    Spec("cartwheel", "ground", 0.8, lambda c: {"side": pick_side(c)}, _cartwheel, lambda p: [
        "does a cartwheel to the {side}", "cartwheels to the {side}", "turns a cartwheel toward the {side}",
        "raises both arms and does a cartwheel to the {side}", "performs a cartwheel, going {side}",
        "does a cartwheel, hands on the floor, to the {side}"]),
]
