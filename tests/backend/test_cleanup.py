"""The animation clean-up (backend/motion/cleanup.py) on synthetic features with the generator's defects added,
and on the shipped generator's own output."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.cleanup import CleanupOptions, clean_motion, jitter_filter
from backend.motion.features import FeatureLayout, features_to_joints, joints_to_features
from backend.motion.quality import foot_skating, jerk_stats
from backend.motion.skeleton import SMPL22
from tests.fixtures.synthetic_motion import walking_joints

LAY = FeatureLayout(22)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(joints[:, j] - joints[:, p], axis=-1)
                     for j, p in enumerate(SMPL22.parents) if p >= 0], axis=1)


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    return joints_to_features(walking_joints(SMPL22, 121))[0]


def damaged(features: np.ndarray, seed: int = 0, noise: float = 0.01, sink: float = 0.04) -> np.ndarray:
    """The walk as a generator might give it: shaky, stretching joints (ric noise), sliding feet, sunk body."""
    rng = np.random.default_rng(seed)
    out = features.copy()
    out[:, LAY.ric] += rng.normal(0, noise, out[:, LAY.ric].shape)
    out[:, 1:3] *= 0.8  # the root covers less ground than the legs' strides: planted feet slide back
    out[:, 3] -= sink
    return out


def test_bones_are_rigid_at_the_target_lengths(walk):
    result = clean_motion(damaged(walk))
    lengths = bone_lengths(result.joints)
    assert lengths.std(axis=0).max() < 1e-6
    np.testing.assert_allclose(lengths[0], SMPL22.target_lengths[1:], atol=1e-6)
    assert bone_lengths(result.raw).std(axis=0).max() > 5e-3  # the damage was there


def test_nothing_goes_under_the_floor(walk):
    bad = damaged(walk)
    raw, result = features_to_joints(bad), clean_motion(bad)
    assert raw[..., 1].min() < -0.01 and result.joints[..., 1].min() >= -1e-9


def standing(frames: int = 80) -> np.ndarray:
    """Features of a person standing still, feet planted (the contact channels say so)."""
    rest = SMPL22.rest_joints()
    return joints_to_features(np.repeat(rest[None], frames + 1, axis=0))[0]


def test_planted_feet_stay_put():
    still = standing()
    assert (still[:, LAY.contacts] == 1).all()
    bad = still.copy()
    rng = np.random.default_rng(2)
    bad[:, LAY.ric] += rng.normal(0, 0.006, bad[:, LAY.ric].shape)
    drift = np.linspace(0, 0.15, len(bad))[:, None]  # both feet slide 15 cm forward over 4 s
    for joint in (7, 8, 10, 11):
        bad[:, 4 + (joint - 1) * 3 + 2] += drift[:, 0]
    raw, result = features_to_joints(bad), clean_motion(bad)
    assert result.contacts.mean() > 0.9
    for c, joint in enumerate((7, 10, 8, 11)):
        on = result.contacts[1:, c] & result.contacts[:-1, c]
        slide = np.linalg.norm(np.diff(result.joints[:, joint, [0, 2]], axis=0), axis=-1)[on]
        assert slide.max() < 1e-3, f"joint {joint} slides {slide.max() * 1000:.1f} mm in one planted frame"
    before, after = foot_skating(raw)["skate_speed_cm_s"], foot_skating(result.joints)["skate_speed_cm_s"]
    assert after < 0.1 * before
    assert jerk_stats(result.joints)["jerk_mean"] < 0.3 * jerk_stats(raw)["jerk_mean"]


def test_feet_on_the_floor_are_planted_where_the_channels_miss_them():
    bad = standing()
    drift = np.linspace(0, 0.15, len(bad))  # both feet slide 15 cm forward over 4 s
    for joint in (7, 8, 10, 11):
        bad[:, 4 + (joint - 1) * 3 + 2] += drift
    bad[:, LAY.contacts] = 0.0               # and the channels never say planted
    raw, result = features_to_joints(bad), clean_motion(bad)
    assert foot_skating(raw)["skate_speed_cm_s"] > 3.0
    assert result.contacts.mean() > 0.9      # the stay on the floor is found in the joints
    assert foot_skating(result.joints)["skate_speed_cm_s"] < 0.1
    assert bone_lengths(result.joints).std(axis=0).max() < 1e-6


def test_predicted_contacts_on_a_foot_in_the_air_are_ignored(walk):
    bad = walk.copy()
    bad[:, LAY.contacts] = 1.0  # the channels call both feet planted all along
    result = clean_motion(bad)
    raw = features_to_joints(bad)
    swing = raw[:, 10, 1] > np.percentile(raw[:, 10, 1], 5) + 0.08  # the left toe well off the floor
    assert swing.any() and not result.contacts[swing, 1].any()


def test_the_jitter_filter_calms_a_standing_pose_and_keeps_a_punch():
    fps, t = 20.0, np.arange(80) / 20.0
    rng = np.random.default_rng(1)
    still = np.zeros((80, 1, 3)) + rng.normal(0, 0.004, (80, 1, 3))
    calmed = jitter_filter(still, fps, 2.5, 5.0, 0.3, 1.5)
    assert jerk_stats(calmed, fps)["jerk_mean"] < 0.3 * jerk_stats(still, fps)["jerk_mean"]
    # a punch: the wrist goes 0.5 m out and back in 0.4 s (peak speed ~4 m/s), with the same shake on top
    punch = np.zeros((80, 1, 3))
    punch[:, 0, 2] = 0.5 * np.exp(-((t - 2.0) / 0.12) ** 2)
    shaky = punch + rng.normal(0, 0.004, punch.shape)
    kept = jitter_filter(shaky, fps, 2.5, 5.0, 0.3, 1.5)
    reach = kept[:, 0, 2].max() / punch[:, 0, 2].max()
    speed = lambda x: np.abs(np.diff(x[:, 0, 2])).max()  # noqa: E731
    assert reach > 0.95 and speed(kept) > 0.9 * speed(punch)


def test_root_scale_can_be_fixed(walk):
    free = clean_motion(walk)
    fixed = clean_motion(walk, root_scale=1.1)
    assert fixed.root_scale == 1.1 and free.root_scale != 1.1
    assert fixed.joints[-1, 0, 2] > free.joints[-1, 0, 2]


def test_options_can_switch_steps_off(walk):
    result = clean_motion(walk, options=CleanupOptions(slow_cutoff=0.0, fast_cutoff=0.0, contact_threshold=2.0,
                                                       scale_root=False))
    assert not result.contacts.any() and result.root_scale == 1.0
    assert np.abs(result.joints - result.raw).max() < 0.02  # only the rigid fit of an already rigid walk


@pytest.mark.parametrize("bad", ["nan", "shape", "dim"])
def test_bad_input_is_a_clear_error(walk, bad):
    features = walk.copy()
    if bad == "nan":
        features[5, 7] = np.nan
    elif bad == "shape":
        features = features[None]
    else:
        features = features[:, :100]
    with pytest.raises(MotionInputError):
        clean_motion(features)


def test_the_shipped_generator_delivers_clean_joints_unless_raw():
    from backend.generate.loader import load_generator

    gen = load_generator(None, "cpu")
    clean = gen.generate("a person walks forward", 4.0, seed=3)[0]
    raw = gen.generate("a person walks forward", 4.0, seed=3, raw=True)[0]
    assert np.array_equal(clean.features, raw.features)
    np.testing.assert_allclose(raw.joints, features_to_joints(raw.features), atol=1e-5)
    assert bone_lengths(clean.joints.astype(np.float64)).std(axis=0).max() < 1e-5
    assert bone_lengths(raw.joints.astype(np.float64)).std(axis=0).max() > 1e-3
    assert clean.meta["raw"] is False and clean.meta["cleanup"]["root_scale"] > 0 and raw.meta["raw"] is True
    assert clean.joints[..., 1].min() >= -1e-6


def test_a_short_bone_keeps_its_direction_when_the_fit_moves_its_parent():
    """A model pose with a short spine1 (the fit lengthens it, moving spine2 up by 6 cm) must not turn the
    5.7 cm spine2 -> spine3 bone: aimed at spine3 from the moved spine2 it would point down."""
    from backend.motion.cleanup import rigid_fit

    pose = SMPL22.rest_joints()[None].repeat(3, axis=0)
    j = {n: i for i, n in enumerate(SMPL22.joint_names)}
    above = [j[n] for n in ("spine2", "spine3", "neck", "head", "l_collar", "r_collar", "l_shoulder", "r_shoulder",
                            "l_elbow", "r_elbow", "l_wrist", "r_wrist")]
    pose[:, above, 1] -= 0.06  # everything from spine2 up sits 6 cm lower: spine1 is 6 cm short
    fit = rigid_fit(SMPL22, pose)
    raw_dir = pose[:, j["spine3"]] - pose[:, j["spine2"]]
    fit_dir = fit[:, j["spine3"]] - fit[:, j["spine2"]]
    cos = np.sum(raw_dir * fit_dir, -1) / (np.linalg.norm(raw_dir, axis=-1) * np.linalg.norm(fit_dir, axis=-1))
    assert (cos > 0.999).all()
    lengths = np.linalg.norm(fit[:, 1:] - fit[:, list(SMPL22.parents)[1:]], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(SMPL22.target_lengths[1:], lengths.shape), atol=1e-9)
    # the hands still end near where the model put them (limbs aim at their child)
    assert np.linalg.norm(fit[:, j["l_wrist"]] - pose[:, j["l_wrist"]], axis=-1).max() < 0.1


def _bend_deg(joints: np.ndarray, top: int, mid: int, end: int) -> np.ndarray:
    up, low = joints[:, mid] - joints[:, top], joints[:, end] - joints[:, mid]
    cos = np.sum(up * low, -1) / (np.linalg.norm(up, axis=-1) * np.linalg.norm(low, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_an_elbow_folded_past_its_limit_turns_back_in_its_own_plane():
    from backend.motion.cleanup import HINGE_LIMITS_DEG, limit_hinges

    j = {n: i for i, n in enumerate(SMPL22.joint_names)}
    pose = SMPL22.rest_joints()[None].repeat(4, axis=0)
    shoulder, elbow, wrist = j["l_shoulder"], j["l_elbow"], j["l_wrist"]
    upper = pose[0, elbow] - pose[0, shoulder]
    forearm = np.linalg.norm(pose[0, wrist] - pose[0, elbow])
    u = upper / np.linalg.norm(upper)
    side = np.cross(u, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    for f, bend in enumerate((30.0, 149.0, 170.0, 179.0)):  # the wrist folds back towards the shoulder
        b = np.radians(bend)
        pose[f, wrist] = pose[f, elbow] + forearm * (np.cos(b) * u + np.sin(b) * side)
    out = limit_hinges(SMPL22, pose)
    bends = _bend_deg(out, shoulder, elbow, wrist)
    np.testing.assert_allclose(bends, [30.0, 149.0, HINGE_LIMITS_DEG["elbow"], HINGE_LIMITS_DEG["elbow"]], atol=1e-6)
    np.testing.assert_allclose(out[:2], pose[:2])  # within the limit nothing moves
    np.testing.assert_allclose(np.linalg.norm(out[:, wrist] - out[:, elbow], axis=-1), forearm, atol=1e-9)
    # the forearm stays in the plane of the bend it had
    normal = np.cross(u, side)
    assert np.abs((out[:, wrist] - out[:, elbow]) @ normal).max() < 1e-9
    untouched = [k for k in range(22) if k != wrist]
    np.testing.assert_allclose(out[:, untouched], pose[:, untouched])


def test_a_folded_knee_moves_the_whole_lower_leg_rigidly():
    from backend.motion.cleanup import HINGE_LIMITS_DEG, limit_hinges

    j = {n: i for i, n in enumerate(SMPL22.joint_names)}
    pose = SMPL22.rest_joints()[None].copy()
    hip, knee, ankle, foot = j["r_hip"], j["r_knee"], j["r_ankle"], j["r_foot"]
    # fold the shin (and the foot with it) 175 degrees about the sideways axis through the knee
    a = np.radians(175.0)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    for k in (ankle, foot):
        pose[0, k] = pose[0, knee] + rot @ (pose[0, k] - pose[0, knee])
    out = limit_hinges(SMPL22, pose)
    assert _bend_deg(out, hip, knee, ankle)[0] == pytest.approx(HINGE_LIMITS_DEG["knee"], abs=1e-6)
    before = np.linalg.norm(pose[0, foot] - pose[0, ankle])
    assert np.linalg.norm(out[0, foot] - out[0, ankle]) == pytest.approx(before, abs=1e-9)
    normal = np.cross(pose[0, knee] - pose[0, hip], pose[0, ankle] - pose[0, knee])  # the bend plane is kept
    for k in (ankle, foot):
        assert normal @ (out[0, k] - pose[0, k]) == pytest.approx(0.0, abs=1e-9)


def test_a_short_step_between_close_plants_keeps_the_foot_rigid_and_the_source_lift():
    """Heel-off before toe-off and heel-strike before the toe lands, with only four free frames between the
    plants: the ankle and the toe ease together, so the foot stays rigid, turns no faster than the source's and
    lifts as the source lifts (easing each joint from lock to lock on its own frames flicked a generated walk's
    foot 65 degrees in a frame)."""
    from backend.motion.cleanup import foot_targets

    frames, length = 24, SMPL22.target_lengths[j_toe := SMPL22.feet_left[1]]
    ankle_i = SMPL22.feet_left[0]
    t = np.arange(frames)
    joints = np.zeros((frames, 22, 3))
    # a generated shuffle: the step is short and low, and the foot glides on during the next plant, so that
    # plant's lock lies well ahead of where the foot lands
    ankle = np.stack([np.zeros(frames), np.full(frames, 0.08),
                      0.3 * np.clip((t - 8) / 8, 0, 1) + 0.03 * np.clip(t - 16, 0, None)], 1)
    ankle[9:15, 1] += 0.06 * np.sin(np.pi * (t[9:15] - 8) / 7)  # a lift mid-step
    pitch = np.radians(-20 + 15 * np.sin(np.pi * np.clip((t - 6) / 12, 0, 1)))
    joints[:, ankle_i] = ankle
    joints[:, j_toe] = ankle + length * np.stack([np.zeros(frames), np.sin(pitch), np.cos(pitch)], 1)
    ankle_on = (t <= 8) | (t >= 15)
    toe_on = (t <= 10) | (t >= 16)
    tg = foot_targets(SMPL22, joints, ankle_on, toe_on, 0, blend=3, floor=0.0)
    foot = tg.toe - tg.ankle
    # the targets are a rigid foot (easing each joint between its own locks shrank it to 68% mid-step)
    np.testing.assert_allclose(np.linalg.norm(foot, axis=-1), length, rtol=0.03)
    foot /= np.linalg.norm(foot, axis=-1, keepdims=True)
    turn = np.degrees(np.arccos(np.clip(np.sum(foot[1:] * foot[:-1], -1), -1, 1)))
    src = joints[:, j_toe] - joints[:, ankle_i]
    src /= np.linalg.norm(src, axis=-1, keepdims=True)
    src_turn = np.degrees(np.arccos(np.clip(np.sum(src[1:] * src[:-1], -1), -1, 1)))
    assert turn.max() < src_turn.max() + 10.0
    assert (foot[:, 2] > 0.5).all()  # the toe never ends up behind the heel
    free = ~(ankle_on | toe_on)
    assert tg.ankle[free, 1].max() > 0.1  # the source's lift is kept


def test_a_shuffle_between_close_plants_lifts_the_foot_off_the_floor():
    """A generated shuffle slides a foot 40 cm between two close plants with the toe on the floor; the eased
    foot steps over an arc instead (up to a quarter of its travel, at most 6 cm), and only in that gap."""
    from backend.motion.cleanup import STEP_CLEARANCE, foot_targets

    frames, (ankle_i, toe_i) = 30, SMPL22.feet_left
    length = SMPL22.target_lengths[toe_i]
    t = np.arange(frames)
    joints = np.zeros((frames, 22, 3))
    z = 0.4 * np.clip((t - 12) / 4, 0, 1)  # the whole foot glides 40 cm over frames 12-16, never lifting
    joints[:, ankle_i] = np.stack([np.zeros(frames), np.full(frames, 0.05), z], 1)
    joints[:, toe_i] = joints[:, ankle_i] + [0.0, -0.05, np.sqrt(length ** 2 - 0.05 ** 2)]
    on = (t <= 12) | (t >= 16)
    tg = foot_targets(SMPL22, joints, on, on, 0, blend=3, floor=0.0)
    gap = ~on
    assert tg.toe[on, 1].max() < 1e-9  # planted toes stay on the floor
    assert tg.toe[gap, 1].max() == pytest.approx(min(STEP_CLEARANCE[0] * 0.4, STEP_CLEARANCE[1]), rel=0.2)
    # the foot stays rigid as it lifts: ankle and toe rise together
    np.testing.assert_allclose(np.linalg.norm(tg.toe - tg.ankle, axis=-1), length, rtol=0.03)
