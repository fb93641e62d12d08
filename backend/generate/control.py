"""Text plus control: generation (and editing) that follows a root path and meets keyframes, on the shipped model.

The transformers were not trained with constraints, so control works at inference time and ends with an exact
correction:

1. **Sample.** The text is generated at the constrained length (the path's end or the last keyframe, unless
   `seconds` is given) as CANDIDATES drafts per requested sample in one batch (first quantiser only, DRAFT_STEPS
   of the steps); the one that needs the least correction is kept (rejection sampling: for a path, the smallest
   gap between its own speed and the path's; for keyframes, the smallest joint error at the keyed frames after
   the path warp).
2. **Correct and regenerate.** The kept draft is warped onto the path (`motion.paths`; where the path is faster
   or slower than the draft's gait its strides are lengthened or shortened, `scale_strides`), or for keyframes turned
   to the keys' facing (`keyframe_fit.key_turn_track`: keyed hips, or the turn that lets keyed hands be reached)
   and moved to the keyed pelvis positions and within reach of keyed hands and feet; then blended onto the keyed
   poses (`motion.keyframe_fit`: bones keyed at both ends turn towards the key, lone hands and feet by two-bone
   IK). Its features are recomputed and encoded to tokens, and the tokens that carry the constraints are kept
   (the root/torso column along the path; the columns of the keyed joints at the keyed token rows) while every
   other token is generated again from the text, as an edit does.
3. **Exact finish.** The regenerated motion is corrected again (a small correction now), cleaned
   (`motion.cleanup`: rigid skeleton, floor; it pins only feet the correction leaves still, `corrected_plants`)
   and the last residuals are removed: the pelvis put back on the path and the keyed joints back on their
   targets with a short half-cosine falloff. Last, `paths.plant_feet` plants every grounded foot (slow, or
   carried along by the pelvis) where it touches down and steps it (lifted, landing ahead by its own lead) when the
   body has carried it away or the leg runs out of reach, landing keyed feet on their keys; it moves only knees,
   ankles and toes, so the path and the keys stay exact.

The delivered features are those of the delivered joints (canonical: starting at the origin facing +Z), so an
edit of the result edits the controlled motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import MotionInputError
from ..motion.cleanup import CleanupOptions, clean_joints, cleanup_inputs, planted, root_scale_for
from ..motion.constraints import Constraints
from ..motion.features import FeatureLayout, features_to_joints, joints_to_features, recover_root
from ..motion.keyframe_fit import body_forward, fit_keyframes, key_turn_track, keyframe_errors, root_offset_track
from ..motion.paths import PathWarp, apply_warp, path_errors, plan_warp, plant_feet, scale_strides, turn_y, yaw_of
from ..motion.rotations import qinv, qrot
from ..motion.skeleton import Skeleton
from .decoding import DecodeOptions, decode_base, decode_features, decode_motion_features, decode_residual
from .motion import GeneratedMotion
from .regions import joint_columns

CANDIDATES = 2    # motions drawn per requested sample; the one needing the least correction is kept
REFINE = True     # regenerate the unconstrained tokens around the corrected motion (step 2)
REFINE_STEPS = 0.6  # share of the decoding steps the regeneration uses (most of the map is context by then)
# Candidates are drafts: the regeneration re-encodes the corrected draft (all quantisers) for the kept tokens and
# generates every other token again, so a draft is decoded from the first quantiser only, with DRAFT_STEPS of the
# steps (2 of 5): drawing two costs less than one full motion. Prompt checks (67 runs) with 3 and 2 draft steps:
# path 30 % / 31 %, keyframes 36 % / 34 %, unconstrained 34 %.
DRAFT_STEPS = 0.4


@dataclass(frozen=True)
class ControlReport:
    pelvis_mean_mm: float = 0.0     # pelvis ground distance to the path (frames inside its span)
    pelvis_max_mm: float = 0.0
    key_mean_mm: float = 0.0        # keyed joints to their targets at the keyed frames
    key_max_mm: float = 0.0
    max_step_mm: float = 0.0        # the largest per-frame displacement of any joint
    candidates: int = 1
    refined: bool = False

    def to_dict(self) -> dict:
        return {k: (round(float(v), 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _scale_root(joints: np.ndarray, scale: float, floor: float = 0.0) -> np.ndarray:
    """The root path scaled as the clean-up scales it (xz and height over the floor), the body kept."""
    if scale == 1.0:
        return joints.copy()
    rel = joints - joints[:, :1]
    root = joints[:, 0].copy()
    root[:, [0, 2]] *= scale
    root[:, 1] = floor + (root[:, 1] - floor) * scale
    return root[:, None] + rel


def _forward(features: np.ndarray) -> np.ndarray:
    r_rot, _ = recover_root(np.asarray(features, np.float64))
    return qrot(qinv(r_rot), np.broadcast_to([0.0, 0.0, 1.0], (len(features), 3)))


def corrected(skeleton: Skeleton, joints: np.ndarray, forward: np.ndarray, constraints: Constraints, fps: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(joints, forward, pelvis ground target (T, 2) or None): warped onto the path, blended onto the keys."""
    target = None
    path = constraints.path
    if path is None and constraints.keyframes is not None:  # the keys' facing, then their pelvis positions
        keys = constraints.keyframes
        turn = key_turn_track(skeleton, joints, keys)
        if turn is not None:
            ground = joints[:, 0][:, [0, 2]]
            joints = apply_warp(joints, PathWarp(turn, ground, ground))
            forward = turn_y(forward, turn)
        shift = root_offset_track(skeleton, joints, keys)
        if shift is not None:  # moved, not turned: the keyed poses say where the body faces
            ground = joints[:, 0][:, [0, 2]]
            joints = apply_warp(joints, PathWarp(np.zeros(len(joints)), ground, ground + shift))
    if path is not None:
        warp = plan_warp(joints[:, 0][:, [0, 2]], yaw_of(forward), path, fps)
        joints = apply_warp(joints, warp)
        forward = turn_y(forward, warp.turn)
        joints = scale_strides(skeleton, joints, warp, forward, fps)
        target = warp.target
    if constraints.keyframes is not None:
        joints = fit_keyframes(skeleton, joints, constraints.keyframes, forward)
        forward = body_forward(skeleton, joints)  # the blend turns the body near keys; the IK poles follow it
    return joints, forward, target


STILL = 0.3  # m/s: the clean-up pins only feet the correction leaves this still (`plant_feet` plants the rest)


def corrected_plants(features: np.ndarray, joints: np.ndarray, skeleton: Skeleton, fps: float) -> np.ndarray:
    """(T, 4) plants for the clean-up of corrected joints: the model's contact channels, confirmed (low, slow) on
    where the correction put the feet, not where the model had them, and only where the corrected foot is still
    (slower than STILL). The clean-up pins a plant at its mean position: a plant the correction drags by metres
    pulls the leg (and the body) after it, and one it slides at walking pace stretches the leg towards a lock
    ahead of the hip until the knee flips as the hip passes over it. `plant_feet` plants and steps the rest."""
    opts = CleanupOptions()
    lay = FeatureLayout(skeleton.num_joints)
    channels = np.asarray(features, np.float64)[:, lay.contacts]
    feet = [*skeleton.feet_left, *skeleton.feet_right]
    out = np.stack([planted(channels[:, i], opts.contact_threshold, joints[:, j], fps, opts.floor)
                    for i, j in enumerate(feet)], 1)
    speed = np.linalg.norm(np.gradient(joints[:, feet], axis=0), axis=-1) * fps
    return out & (speed < STILL)


def control_joints(features: np.ndarray, constraints: Constraints, fps: float = 20.0, raw: bool = False
                   ) -> tuple[np.ndarray, dict]:
    """Delivered joints (T, J, 3) of features under the constraints (step 3 of the module doc), and meta."""
    raw_joints, _, forward, skeleton = cleanup_inputs(features, fps)
    scale = 1.0 if raw else root_scale_for(skeleton, raw_joints, fps)
    joints, forward, target = corrected(skeleton, _scale_root(raw_joints, scale), forward, constraints, fps)
    if raw:
        return joints, {"raw": True}
    contacts = corrected_plants(features, joints, skeleton, fps)
    result = clean_joints(skeleton, joints, contacts, forward, fps, root_scale=1.0)
    joints = result.joints
    if target is not None:  # the low-pass and the foot IK moved the pelvis a few mm off the path
        joints = joints.copy()
        joints[..., 0] += (target[:, 0] - joints[:, 0, 0])[:, None]
        joints[..., 2] += (target[:, 1] - joints[:, 0, 2])[:, None]
    if constraints.keyframes is not None:
        joints = fit_keyframes(skeleton, joints, constraints.keyframes, forward, skeleton.target_lengths)
        forward = body_forward(skeleton, joints)
    joints = plant_feet(skeleton, joints, forward, fps, keyed_feet(skeleton, constraints))
    return joints, {"raw": False, "cleanup": result.stats()}


def keyed_feet(skeleton: Skeleton, constraints: Constraints) -> dict[int, np.ndarray]:
    """{side: frames} where a keyframe holds that foot's ankle or toe."""
    keys = constraints.keyframes
    if keys is None:
        return {}
    return {side: keys.frames[keys.mask[:, list(foot)].any(axis=1)]
            for side, foot in enumerate((skeleton.feet_left, skeleton.feet_right))}


def control_report(joints: np.ndarray, constraints: Constraints, fps: float, candidates: int,
                   refined: bool) -> ControlReport:
    p_mean = p_max = k_mean = k_max = 0.0
    if constraints.path is not None:
        err = path_errors(joints, constraints.path, fps)
        p_mean, p_max = float(err.mean() * 1000), float(err.max() * 1000)
    if constraints.keyframes is not None:
        err = keyframe_errors(joints, constraints.keyframes)
        k_mean, k_max = float(err.mean() * 1000), float(err.max() * 1000)
    step = float(np.linalg.norm(np.diff(joints, axis=0), axis=-1).max() * 1000) if len(joints) > 1 else 0.0
    return ControlReport(p_mean, p_max, k_mean, k_max, step, candidates, refined)


def correction_cost(features: np.ndarray, constraints: Constraints, fps: float) -> float:
    """How much a motion must be bent to meet the constraints (lower is better), before any clean-up."""
    joints = features_to_joints(np.asarray(features, np.float64))
    cost = 0.0
    forward = _forward(features)
    if constraints.path is not None:
        inside, wanted = constraints.path.sample(len(joints), fps)
        if len(inside) > 1:
            own = np.linalg.norm(np.gradient(joints[inside, 0][:, [0, 2]], axis=0), axis=1) * fps
            asked = np.linalg.norm(np.gradient(wanted, axis=0), axis=1) * fps
            cost += float(np.mean(np.abs(own - asked)))
    if constraints.keyframes is not None:
        keys = constraints.keyframes
        warped = joints
        if constraints.path is not None:
            warped = apply_warp(joints, plan_warp(joints[:, 0][:, [0, 2]], yaw_of(forward), constraints.path, fps))
        world = np.linalg.norm(warped[keys.frames] - keys.joints, axis=-1)[keys.mask]
        rel_now = warped[keys.frames] - warped[keys.frames, :1]
        rel_key = keys.joints - np.where(keys.mask[:, :1, None], keys.joints[:, :1], warped[keys.frames, :1])
        body = np.linalg.norm(rel_now - rel_key, axis=-1)[keys.mask]
        cost += float(world.mean() + body.mean())
    return cost


def canonical_features(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Features (T, D) of delivered joints: HumanML3D features of T frames (the last row repeated)."""
    feats, _ = joints_to_features(joints, skeleton, rescale=False)
    return np.concatenate([feats, feats[-1:]]).astype(np.float32)


def kept_tokens(gen, constraints: Constraints, rows: int) -> np.ndarray:
    """(rows, columns) bool: the tokens that carry the constraints, kept when the rest is regenerated."""
    info = gen.info
    keep = np.zeros((rows, info.columns), bool)
    cols, aux = joint_columns(info, gen.skeleton.num_joints)
    if constraints.path is not None:
        keep[:, int(cols[0])] = True
        if aux:
            keep[:, info.columns - 1] = True
    if constraints.keyframes is not None:
        keys = constraints.keyframes
        for f, m in zip(keys.frames, keys.mask, strict=True):
            r = min(int(f) // info.time_factor, rows - 1)
            keep[r, sorted({int(cols[j]) for j in np.flatnonzero(m)})] = True
            if aux:
                keep[r, info.columns - 1] = True
    return keep


def constrained_rows(gen, constraints: Constraints, seconds: float | None) -> int:
    info = gen.info
    if seconds is not None:
        return gen.token_rows(seconds)
    need = constraints.needed_frames(info.fps)
    rows = max(-(-need // info.time_factor), math.ceil(0.5 * info.fps / info.time_factor))
    if rows > info.max_tokens:
        raise MotionInputError(f"the constraints need {need} frames ({need / info.fps:.2f} s); the longest motion "
                               f"is {info.max_frames} frames ({info.max_frames / info.fps:g} s)")
    return rows


def generate_controlled(gen, prompt: str, constraints: Constraints, seconds: float | None = None, seed: int = 0,
                        samples: int = 1, options: DecodeOptions | None = None, progress=None, raw: bool = False,
                        candidates: int = CANDIDATES, refine: bool = REFINE) -> list[GeneratedMotion]:
    """Motions for a prompt that follow `constraints` (see the module doc)."""
    from .generator import MAX_SAMPLES, clean_prompt

    text_prompt = clean_prompt(prompt)
    if not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise MotionInputError(f"samples must be 1..{MAX_SAMPLES}, got {samples!r}")
    info = gen.info
    rows = constrained_rows(gen, constraints, seconds)
    frames = rows * info.time_factor
    constraints.checked(frames, info.fps)
    opts = (options or DecodeOptions()).resolved(info).checked()
    rng = np.random.default_rng(seed)
    text = gen.runtime.encode_text([text_prompt])
    if progress is not None:
        progress("text", 1, 1)
    n = samples * candidates
    drawn = draft_features(gen, np.repeat(text, n, axis=0), rows, opts, rng, progress) if refine else \
        decode_motion_features(gen.runtime, np.repeat(text, n, axis=0), np.full(n, rows, np.int64), opts, rng,
                               progress=progress)
    chosen = []
    for i in range(samples):
        pool = drawn[i * candidates:(i + 1) * candidates]
        chosen.append(min(pool, key=lambda f: correction_cost(f, constraints, info.fps)))
    if refine:
        chosen = regenerate_around(gen, chosen, constraints, text, rows, opts, rng, progress)
    out = []
    for i, feats in enumerate(chosen):
        joints, meta = control_joints(feats, constraints, info.fps, raw)
        report = control_report(joints, constraints, info.fps, candidates, refine)
        motion = GeneratedMotion(canonical_features(joints, gen.skeleton), joints.astype(np.float32), info.fps,
                                 text_prompt, seed, {"sample": i, "options": opts.__dict__,
                                                     "control": {**constraints.to_json(), "report": report.to_dict()}})
        motion.meta.update(meta)
        out.append(motion)
    return out


def draft_features(gen, text: np.ndarray, rows: int, opts: DecodeOptions, rng: np.random.Generator,
                   progress=None) -> list[np.ndarray]:
    """Draft motions (first quantiser only, DRAFT_STEPS of the steps) for the candidates of step 1."""
    lengths = np.full(len(text), rows, np.int64)
    quick = replace(opts, steps=max(2, math.ceil(opts.steps * DRAFT_STEPS)))
    base = decode_base(gen.runtime, text, lengths, quick, rng, progress=progress)
    ids = decode_residual(gen.runtime, base, text, lengths, quick, rng, use_residual=False)
    return decode_features(gen.runtime, ids, lengths)


def regenerate_around(gen, chosen: list[np.ndarray], constraints: Constraints, text: np.ndarray, rows: int,
                      opts: DecodeOptions, rng: np.random.Generator, progress=None) -> list[np.ndarray]:
    """Step 2 of the module doc for each chosen motion, in one batch."""
    info = gen.info
    known_feats = []
    for feats in chosen:
        raw_joints, _, forward, skeleton = cleanup_inputs(feats, info.fps)
        joints, _, _ = corrected(skeleton, raw_joints, forward, constraints, info.fps)
        moved = canonical_features(joints, skeleton)
        contacts = FeatureLayout(skeleton.num_joints).contacts
        moved[:, contacts] = feats[:, contacts]  # the feet plant when the model planted them, not where they slide
        known_feats.append(info.normalize(moved))
    known = gen.runtime.encode_motion(np.stack(known_feats))
    editable = np.repeat(~kept_tokens(gen, constraints, rows)[None], len(chosen), axis=0)
    b = len(chosen)
    quick = replace(opts, steps=max(2, math.ceil(opts.steps * REFINE_STEPS)))
    return decode_motion_features(gen.runtime, np.repeat(text, b, axis=0), np.full(b, rows, np.int64), quick, rng,
                                  known, editable, progress)


def edit_controlled(gen, motion: GeneratedMotion, prompt: str, constraints: Constraints,
                    frames: tuple[int, int] | None = None, joints: list[int] | None = None, seed: int = 0,
                    options: DecodeOptions | None = None, progress=None, raw: bool = False):
    """An edit (`Generator.edit`) whose complete result then follows the constraints."""
    constraints.checked(len(motion.features), gen.info.fps)
    edited, report = gen.edit(motion, prompt, frames, joints, seed, options, progress=progress, raw=True)
    out, meta = control_joints(edited.features, constraints, gen.info.fps, raw)
    edited.joints = out.astype(np.float32)
    edited.features = canonical_features(out, gen.skeleton)
    edited.meta.update(meta)
    edited.meta["control"] = {**constraints.to_json(),
                              "report": control_report(out, constraints, gen.info.fps, 1, False).to_dict()}
    return edited, report
