"""Foot contacts: detection on source motions, pinning planted feet on the rig, leaving the rest alone."""

import numpy as np
import pytest

from backend.motion.retarget import RetargetOptions, armature_from_dict, pose_armature, retarget
from backend.motion.retarget.contacts import (
    BLEND_FRAMES,
    detect_foot_contacts,
    ease_offsets,
    knee_bend_hint,
    plant_targets,
    planted_drift,
    two_bone_ik,
)
from backend.motion.skeleton import SMPL22
from tests.fixtures.rigs import generated_motion, humanoid_points, long_legs_short_arms_rig, rigify_metarig_like

ANKLE = {"left": SMPL22.index("l_ankle"), "right": SMPL22.index("r_ankle")}


@pytest.fixture(scope="module")
def walk():
    # the model's own joints: the clean-up locks feet from the model's contact channels, which call the
    # shipped model's shuffling walk planted most of the time; the detector is tested on the raw motion
    return generated_motion("a person walks forward", 4.0, 0, raw=True)


def test_a_walk_plants_each_foot_for_a_while_and_a_still_pose_is_planted(walk):
    contacts = detect_foot_contacts(walk, 20.0)
    assert contacts.shape == (len(walk), 2)
    for side in (0, 1):
        assert 3 <= contacts[:, side].sum() < 0.8 * len(walk)
        # a plant is a low, slow stretch of the source ankle
        ankle = walk[:, list(ANKLE.values())[side]]
        height = ankle[:, 1] - np.percentile(ankle[:, 1], 5)
        assert height[contacts[:, side]].max() < 0.05 + 1e-9
        assert height[~contacts[:, side]].mean() > height[contacts[:, side]].mean()
    points = humanoid_points()
    still = np.stack([points[n] for n in SMPL22.joint_names])[None].repeat(30, axis=0)
    assert detect_foot_contacts(still, 20.0).all()
    assert not detect_foot_contacts(still[:2], 20.0).any()  # too short to tell


def test_feet_in_the_air_are_not_planted():
    points = humanoid_points()
    pose = np.stack([points[n] for n in SMPL22.joint_names])
    t = np.arange(60) / 20.0
    height = np.clip(np.sin(np.pi * (t - 1.0)), 0, None) * 0.4 * (t > 1.0) * (t < 2.0)  # one jump, 1 s to 2 s
    jump = pose[None] + height[:, None, None] * np.array([0, 1.0, 0])
    contacts = detect_foot_contacts(jump, 20.0)
    airborne = height > 0.06
    assert airborne.any() and not contacts[airborne].any()
    assert contacts[:15].all() and contacts[-15:].all()


def test_two_bone_ik_reaches_reachable_targets_and_keeps_lengths():
    rng = np.random.default_rng(0)
    hip = rng.normal(size=(50, 3))
    direction = rng.normal(size=(50, 3))
    target = hip + direction / np.linalg.norm(direction, axis=-1, keepdims=True) * rng.uniform(0.2, 0.8, (50, 1))
    knee = hip + rng.normal(size=(50, 3)) * 0.3
    pole = rng.normal(size=(50, 3))
    new_knee, ankle = two_bone_ik(hip, knee, target, 0.45, 0.42, pole)
    assert np.allclose(ankle, target, atol=1e-9)
    assert np.allclose(np.linalg.norm(new_knee - hip, axis=-1), 0.45)
    assert np.allclose(np.linalg.norm(ankle - new_knee, axis=-1), 0.42)
    # the knee stays in the plane of hip, target and the old knee (bent towards the old knee)
    normal = np.cross(target - hip, knee + 0.1 * 0.45 * pole / np.linalg.norm(pole, axis=-1, keepdims=True) - hip)
    assert np.abs(np.sum(normal * (new_knee - hip), axis=-1)).max() < 1e-9
    far = hip + np.array([0, 0, 5.0])
    straight_knee, reached = two_bone_ik(hip, knee, far, 0.45, 0.42, pole)
    assert np.allclose(reached, hip + [0, 0, 0.87], atol=1e-6)
    assert np.allclose(straight_knee, hip + [0, 0, 0.45], atol=1e-3)


def test_the_knee_hint_bends_the_ik_leg_the_way_the_source_knee_bends():
    """A step moves the ankle target 40 cm ahead of the source's ankle. The source knee's own position, projected
    on the new hip-target line, lies behind it (the IK knee would point backwards); its bend direction does not."""
    hip = np.array([[0.0, 0.9, 0.0]])
    ankle = np.array([[0.0, 0.1, -0.1]])           # the source leg, bent with the knee forward (+z)
    knee = np.array([[0.0, 0.5, 0.05]])
    target = np.array([[0.0, 0.15, 0.45]])         # where the step lands
    forward = np.array([[0.0, 0.0, 1.0]])
    hint = knee_bend_hint(hip, knee, ankle, forward, 0.45)
    assert np.linalg.norm(hint - hip) == pytest.approx(0.45)
    bent_ik, _ = two_bone_ik(hip, hint, target, 0.45, 0.42, forward)
    naive_ik, _ = two_bone_ik(hip, knee, target, 0.45, 0.42, forward)
    axis = (target - hip) / np.linalg.norm(target - hip)
    side = lambda k: ((k - hip) - np.sum((k - hip) * axis) * axis)[0]  # noqa: E731
    assert side(bent_ik) @ [0, 0, 1] > 0 > side(naive_ik) @ [0, 0, 1]  # forward, as the source bends; not behind
    # a straight source leg says nothing: the hint points forward
    straight = knee_bend_hint(hip, (hip + ankle) / 2, ankle, forward, 0.45)
    assert (straight - hip)[0] @ [0, 0, 1] == pytest.approx(0.45)


def test_ease_offsets_keep_the_source_path_between_close_plants():
    t = np.arange(20)
    source = np.stack([0.02 * t, 0.05 * np.sin(np.pi * np.clip((t - 8) / 4, 0, 1)), 0 * t], -1).astype(float)
    contact = (t <= 7) | (t >= 13)
    held = np.where(contact[:, None], source + [0.1, 0.0, 0.0], source)  # both plants locked 10 cm further on
    target, weight = ease_offsets(source, held, contact, blend=3)
    np.testing.assert_allclose(target[contact], held[contact])
    # between them the source's own path (its lift) plus the plants' common offset, eased by the weight
    np.testing.assert_allclose(target[8:13], source[8:13] + weight[8:13, None] * [0.1, 0.0, 0.0], atol=1e-12)
    assert (weight[8:13] > 0).all() and weight[10] < weight[8]
    # easing positions instead (plant_targets) pulls the lift towards the locks' line: 69% of it is left here
    lines, _ = plant_targets(source, contact, blend=3)
    assert np.abs(lines[8:13, 1]).max() < 0.8 * source[8:13, 1].max()


def test_plant_targets_pin_each_plant_and_ease_in_and_out():
    t = np.arange(40)
    positions = np.stack([0.05 * t, 0 * t, 0 * t], axis=-1).astype(float)  # sliding foot
    contact = (t >= 10) & (t < 20)
    target, weight = plant_targets(positions, contact)
    assert np.allclose(target[10:20], positions[10:20].mean(axis=0))
    assert np.all(weight[10:20] == 1.0)
    assert np.all(weight[:10 - BLEND_FRAMES - 1] == 0) and np.all(weight[20 + BLEND_FRAMES + 1:] == 0)
    assert np.allclose(target[weight == 0], positions[weight == 0])
    assert np.abs(np.diff(target, axis=0)).max() < 3 * 0.05  # eases in: no jump much beyond the foot's own step
    # two plants closer than two blends share the frames between them without a jump
    close = ((t >= 10) & (t < 15)) | ((t >= 18) & (t < 25))
    target, weight = plant_targets(positions, close)
    assert np.abs(np.diff(target, axis=0)).max() < 3 * 0.05
    assert np.all(weight[15:18] <= 1.0)


def test_planted_drift_measures_sliding():
    t = np.arange(30)
    sliding = np.stack([0.01 * t, 0 * t, 0 * t], axis=-1).astype(float)
    contact = (t >= 5) & (t < 15)
    assert planted_drift(sliding, contact) == pytest.approx(0.09)
    assert planted_drift(np.zeros((30, 3)), contact) == 0.0
    assert planted_drift(sliding, np.zeros(30, bool)) == 0.0


@pytest.mark.parametrize("rig", [long_legs_short_arms_rig, rigify_metarig_like])
def test_foot_cleanup_keeps_planted_feet_still_and_leaves_the_rest_alone(walk, rig):
    arm = armature_from_dict(rig())
    raw = retarget(walk, arm, options=RetargetOptions(foot_cleanup=False))
    clean = retarget(walk, arm)
    mapping = clean.bone_map.mapping
    before, after = pose_armature(arm, raw), pose_armature(arm, clean)
    drift_cm = {}
    for side, ankle_joint in (("left", "l_ankle"), ("right", "r_ankle")):
        contact = clean.contacts[:, 0 if side == "left" else 1]
        bone = mapping[ankle_joint]
        # the root is not moved, so a plant the stretched leg cannot reach keeps the straight leg's slide: pins
        # are held exactly where the leg reaches them (hip to pin shorter than thigh + shin)
        hip, knee = mapping[f"{ankle_joint[0]}_hip"], mapping[f"{ankle_joint[0]}_knee"]
        leg = sum(np.linalg.norm(arm.heads[arm.index[b]] - arm.heads[arm.index[a]])
                  for a, b in ((hip, knee), (knee, bone)))
        pin, _ = plant_targets(before[bone], contact)
        reachable = contact & (np.linalg.norm(pin - after[hip], axis=-1) < leg * (1 - 1e-3))
        # the shipped walk strides long: 2/3 to 3/4 of its plants reach, depending on the CPU (ONNX Runtime's
        # AVX2 and AVX-512 kernels round differently, and sampling then draws other tokens)
        assert reachable.sum() > 0.6 * contact.sum()
        drift_cm[side] = (100 * planted_drift(before[bone], contact) / clean.scale,
                          100 * planted_drift(after[bone], reachable) / clean.scale)
        assert clean.stats[f"planted_drift_{side}_after"] == pytest.approx(planted_drift(after[bone], contact),
                                                                           abs=1e-6 * clean.scale)
    print(f"{rig.__name__}: planted ankle drift cm (before, after) {drift_cm}")
    for b, a in drift_cm.values():
        assert b > 1.0 and a < 0.05
    leg_bones = {mapping[f"{s}_{p}"] for s in "lr" for p in ("hip", "knee", "ankle", "foot")}
    for name in arm.names:
        if name not in leg_bones:
            assert np.array_equal(clean.rotations[name], raw.rotations[name]), name
    assert np.array_equal(clean.root_location, raw.root_location)
    # far from any plant the legs are untouched as well
    near = np.zeros(len(walk), bool)
    for k in np.flatnonzero(clean.contacts.any(axis=1)):
        near[max(k - BLEND_FRAMES - 1, 0):k + BLEND_FRAMES + 2] = True
    for name in leg_bones:
        assert np.allclose(clean.rotations[name][~near], raw.rotations[name][~near], atol=1e-6)
    # the foot keeps its source orientation: ankle -> toe still follows the source direction
    for s in "lr":
        rig_dir = after[mapping[f"{s}_foot"]] - after[mapping[f"{s}_ankle"]]
        raw_dir = before[mapping[f"{s}_foot"]] - before[mapping[f"{s}_ankle"]]
        cos = np.sum(rig_dir * raw_dir, -1) / np.linalg.norm(rig_dir, axis=-1) / np.linalg.norm(raw_dir, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.01
