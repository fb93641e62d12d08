"""Motion Patches preprocessing: chains, resampling, the 3 x 224 x 80 image and per-point z-normalisation."""

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.bvh import BVHData, format_bvh, parse_bvh_text
from backend.motion.bvh_names import split_side
from backend.motion.patches import (
    PatchStats,
    body_part_chains,
    chains_from_parents,
    fit_patch_stats,
    motion_to_patch_image,
    normalize_patch_image,
    normalized_patch_image,
    resample_chain,
)
from backend.motion.skeleton import KIT21, SMPL22
from tests.fixtures.rigs import ALL_RIGS
from tests.fixtures.synthetic_motion import walking_joints

# ------------------------------------------------------------------ resampling


def test_straight_chain_resamples_to_evenly_spaced_points():
    chain = np.array([[[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]])
    out = resample_chain(chain, 16)
    assert out.shape == (1, 16, 3)
    assert np.allclose(out[0, :, 0], np.linspace(0.0, 2.0, 16))
    assert np.allclose(out[0, :, 1:], 0.0)


def test_resampling_is_over_joint_index_not_arc_length():
    # bones of length 1 and 2: half of the samples on each bone, so the spacing doubles on the second
    out = resample_chain(np.array([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]]), 16)[0, :, 0]
    u = np.linspace(0, 2, 16)
    assert np.allclose(out, np.where(u <= 1, u, 1 + 2 * (u - 1)))
    assert out[8] == pytest.approx(1 + 2 / 15)


def test_bent_chain_samples_lie_on_its_two_bones():
    out = resample_chain(np.array([[[0.0, 0, 0], [1, 0, 0], [1, 1, 0]]]), 16)[0]
    assert np.allclose(out[5], [2 / 3, 0, 0])      # index 10/15 along the first bone
    assert np.allclose(out[10], [1, 1 / 3, 0])     # index 20/15: a third up the second bone
    assert np.allclose(out[[0, 15]], [[0, 0, 0], [1, 1, 0]])
    on_first = np.isclose(out[:, 1], 0) & (out[:, 0] <= 1)
    on_second = np.isclose(out[:, 0], 1) & (out[:, 1] >= 0)
    assert np.all(on_first | on_second)


def test_single_joint_chain_and_one_sample():
    pts = np.random.default_rng(0).normal(size=(4, 1, 3))
    assert np.allclose(resample_chain(pts, 16), np.repeat(pts, 16, axis=1))
    pts3 = np.random.default_rng(1).normal(size=(4, 3, 3))
    assert np.allclose(resample_chain(pts3, 1)[:, 0], pts3[:, 0])
    with pytest.raises(MotionInputError, match="shape"):
        resample_chain(np.zeros((4, 0, 3)))


# ------------------------------------------------------------------ chains


def test_known_skeletons_give_five_chains_legs_first():
    smpl = body_part_chains(SMPL22)
    assert smpl == [(0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21),
                    (9, 13, 16, 18, 20)]
    kit = body_part_chains(KIT21)
    assert len(kit) == 5 and set().union(*map(set, kit)) == set(range(21))
    for sk, chains in ((SMPL22, smpl), (KIT21, kit)):
        names = [[sk.joint_names[j] for j in c[1:]] for c in chains]
        assert all(n.startswith("r_") for n in names[0] + names[3])
        assert all(n.startswith("l_") for n in names[1] + names[4])
        assert not any(n.startswith(("l_", "r_")) for n in names[2])


@pytest.mark.parametrize("sk", [SMPL22, KIT21], ids=lambda s: s.name)
def test_chains_from_parents_reproduce_the_known_chains(sk):
    expected = body_part_chains(sk)
    assert chains_from_parents(sk.parents, sk.joint_names, sk.rest_joints()) == expected
    assert chains_from_parents(sk.parents, sk.joint_names) == expected
    assert chains_from_parents(sk.parents, rest_positions=sk.rest_joints()) == expected
    assert chains_from_parents(sk.parents) == expected  # no hints: lower index is the left limb


def test_sides_come_from_rest_positions_when_indices_say_otherwise():
    # swap every left joint's index with its right partner: the index fallback would now be wrong
    perm = SMPL22.mirror_index  # new index k holds old joint perm[k]
    old_to_new = np.argsort(perm)
    parents = [int(old_to_new[SMPL22.parents[perm[k]]]) if SMPL22.parents[perm[k]] >= 0 else -1 for k in range(22)]
    rest = SMPL22.rest_joints()[perm]
    chains = chains_from_parents(parents, rest_positions=rest)
    assert [tuple(int(perm[j]) for j in c) for c in chains] == body_part_chains(SMPL22)


def _rig_arrays(rig: dict) -> tuple[list[str], list[int], np.ndarray]:
    """Names, parents and Y-up bone heads of a fixture armature (Blender space, Z up)."""
    names = [b["name"] for b in rig["bones"]]
    idx = {n: i for i, n in enumerate(names)}
    parents = [idx[b["parent"]] if b["parent"] else -1 for b in rig["bones"]]
    heads = np.array([b["head"] if "head" in b else np.array(b["matrix"])[:3, 3] for b in rig["bones"]])
    return names, parents, np.stack([heads[:, 0], heads[:, 2], -heads[:, 1]], axis=-1)


@pytest.mark.parametrize("rig", sorted(ALL_RIGS))
@pytest.mark.parametrize("hints", ["names+rest", "rest", "names"])
def test_chains_of_real_rig_layouts(rig, hints):
    """Mixamo (fingers, end bones), Rigify (face, palms, heels, breasts), UE (twist and IK bones), CMU."""
    names, parents, rest = _rig_arrays(ALL_RIGS[rig]())
    chains = chains_from_parents(parents, names if "names" in hints else None,
                                 rest if "rest" in hints else None)
    sides = [{split_side(names[j])[0] for j in c[1:]} - {None} for c in chains]
    assert sides == [{"r"}, {"l"}, set(), {"r"}, {"l"}]
    ends = [names[c[-1]].lower() for c in chains]
    wanted = [("toe", "ball", "foot"), ("toe", "ball", "foot"), ("head", "face", "spine.006"), ("hand", "wrist"),
              ("hand", "wrist")]
    assert all(any(w in e for w in words) for e, words in zip(ends, wanted, strict=True)), ends
    for c in chains[3:]:  # arms stop at the hand: no finger joint in the chain
        assert not any(w in names[j].lower() for j in c for w in ("thumb", "index", "middle", "pinky", "palm"))
    assert "heel" not in ends[0] and "twist" not in " ".join(names[j] for c in chains for j in c)


def _humanoid_with_fingers(finger_count: int = 5, finger_len: int = 3):
    """Parent array of a BVH-like humanoid: hips, 2 legs with toes, 3 spine joints, neck, head with two
    eyes and a top end, arms with `finger_count` fingers of `finger_len` joints each."""
    names, parents, pos = [], [], []

    def add(name, parent, offset):
        names.append(name)
        parents.append(parent)
        pos.append((pos[parent] if parent >= 0 else np.zeros(3)) + np.asarray(offset, float))
        return len(names) - 1

    hips = add("Hips", -1, [0, 0.95, 0])
    for side, x in (("Left", 1), ("Right", -1)):
        j = add(f"{side}UpLeg", hips, [0.09 * x, -0.05, 0])
        j = add(f"{side}Leg", j, [0, -0.42, 0])
        j = add(f"{side}Foot", j, [0, -0.40, 0])
        add(f"{side}ToeBase", j, [0, -0.06, 0.12])
    j = add("Spine", hips, [0, 0.1, 0])
    j = add("Spine1", j, [0, 0.15, 0])
    chest = add("Spine2", j, [0, 0.15, 0])
    neck = add("Neck", chest, [0, 0.15, 0])
    head = add("Head", neck, [0, 0.1, 0])
    for eye, x in (("LeftEye", 1), ("RightEye", -1)):
        add(eye, head, [0.03 * x, 0.05, 0.08])
    add("HeadTop_End", head, [0, 0.18, 0])
    hands = {}
    for side, x in (("Left", 1), ("Right", -1)):
        j = add(f"{side}Shoulder", chest, [0.05 * x, 0.1, 0])
        j = add(f"{side}Arm", j, [0.12 * x, 0, 0])
        j = add(f"{side}ForeArm", j, [0.27 * x, 0, 0])
        hands[side] = j = add(f"{side}Hand", j, [0.25 * x, 0, 0])
        for f in range(finger_count):
            k = j
            for seg in range(finger_len):
                k = add(f"{side}Finger{f}_{seg}", k, [(0.08 if seg == 0 else 0.03) * x, 0, 0.02 * (f - 2)])
    return names, parents, np.array(pos), hands


def test_arm_chain_of_a_bvh_with_finger_joints_ends_at_the_hand():
    names, parents, rest, hands = _humanoid_with_fingers()
    for kw in ({"names": names, "rest_positions": rest}, {"names": names}, {"rest_positions": rest}, {}):
        chains = chains_from_parents(parents, **kw)
        assert chains[3][-1] == hands["Right"] and chains[4][-1] == hands["Left"]
        assert [names[j] for j in chains[4]] == ["Spine2", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand"]
        assert [names[j] for j in chains[2]] == ["Hips", "Spine", "Spine1", "Spine2", "Neck", "Head"]
        assert names[chains[0][-1]] == "RightToeBase"


def test_chains_of_a_parsed_bvh_file_with_fingers():
    names, parents, rest, hands = _humanoid_with_fingers()
    offsets = np.array([rest[j] - (rest[p] if p >= 0 else 0) for j, p in enumerate(parents)]) * 100  # cm
    channels = [["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]] + \
        [["Zrotation", "Xrotation", "Yrotation"]] * (len(names) - 1)
    data = BVHData(names, parents, offsets, channels, np.zeros((2, 3 + 3 * len(names))), 1 / 30)
    parsed = parse_bvh_text(format_bvh(data))
    chains = chains_from_parents(parsed.parents, parsed.names, parsed.rest_positions())
    assert [parsed.names[c[-1]] for c in chains] == ["RightToeBase", "LeftToeBase", "Head", "RightHand", "LeftHand"]


def test_a_hand_with_two_fingers_follows_the_longer_one_to_its_tip():
    names, parents, rest, hands = _humanoid_with_fingers(finger_count=1, finger_len=3)
    # add a one-joint thumb beside the 3-joint finger: the chain runs down the finger, not the thumb
    for side in ("Left", "Right"):
        parents.append(hands[side])
        names.append(f"{side}Thumb")
        rest = np.vstack([rest, rest[hands[side]] + [0, 0, 0.05]])
    chains = chains_from_parents(parents, names, rest)
    assert [names[j] for j in chains[4][-4:]] == ["LeftHand", "LeftFinger0_0", "LeftFinger0_1", "LeftFinger0_2"]
    assert names[chains[3][-1]] == "RightFinger0_2"


def _quadruped(tail: bool, spine_rise: float = 0.0, front_leg: float = 0.3):
    """Hind legs and a tail at the hips, a spine (horizontal unless it rises), front legs reaching the
    floor and a neck at the shoulders."""
    parents, pos = [-1], [np.array([0, 0.6, 0.0])]

    def chain(parent, offsets):
        for off in offsets:
            parents.append(parent)
            pos.append(pos[parent] + np.asarray(off, float))
            parent = len(parents) - 1
        return parent

    for x in (0.1, -0.1):
        chain(0, [[x, 0, 0], [0, -0.3, 0], [0, -0.28, 0]])
    if tail:
        chain(0, [[0, 0, -0.1], [0, 0, -0.1], [0, 0, -0.1]])
    chest = chain(0, [[0, spine_rise / 3, 0.2]] * 3)
    for x in (0.1, -0.1):
        chain(chest, [[x, 0, 0], [0, -front_leg, 0], [0, -0.58 - spine_rise + front_leg, 0]])
    chain(chest, [[0, 0.1, 0.1], [0, 0.05, 0.1]])
    return parents, np.array(pos)


def test_bad_topologies_raise_clear_errors():
    with pytest.raises(MotionInputError, match="two legs and a spine"):
        chains_from_parents([-1, 0, 1])  # a 3-joint chain
    with pytest.raises(MotionInputError, match="two legs and a spine"):
        chains_from_parents([-1, 0, 0, 0, 0, 0])  # a star of single joints
    parents, rest = _quadruped(tail=True)
    with pytest.raises(MotionInputError, match="tail or a quadruped"):
        chains_from_parents(parents)
    with pytest.raises(MotionInputError, match="quadruped"):
        chains_from_parents(parents, rest_positions=rest)
    parents, rest = _quadruped(tail=False)
    with pytest.raises(MotionInputError, match="quadruped"):
        chains_from_parents(parents, rest_positions=rest)
    parents, rest = _quadruped(tail=False, spine_rise=0.3, front_leg=0.45)
    with pytest.raises(MotionInputError, match="arm chains reach down to the feet"):  # a giraffe
        chains_from_parents(parents, rest_positions=rest)
    with pytest.raises(MotionInputError, match="exactly one root"):
        chains_from_parents([-1, -1, 0])
    with pytest.raises(MotionInputError, match="cycle"):
        chains_from_parents([-1, 2, 1])
    with pytest.raises(MotionInputError, match="invalid parent"):
        chains_from_parents([-1, 5])
    with pytest.raises(MotionInputError, match="names"):
        chains_from_parents(SMPL22.parents, names=["a", "b"])
    with pytest.raises(MotionInputError, match="rest positions"):
        chains_from_parents(SMPL22.parents, rest_positions=np.zeros((3, 3)))


# ------------------------------------------------------------------ the image


def _motion(frames: int = 60, seed: int = 0, speed: float = 1.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = walking_joints(SMPL22, frames, speed=speed)
    return base + rng.normal(scale=0.01, size=base.shape)


def test_patch_image_layout_and_zero_padding():
    joints = _motion(60)
    chains = body_part_chains(SMPL22)
    img, length = motion_to_patch_image(joints, chains)
    assert img.shape == (3, 224, 80) and img.dtype == np.float32 and length == 60
    assert np.all(img[:, 60:] == 0)
    for k, chain in enumerate(chains):  # column block k is chain k, channels are x, y, z, rows are frames
        expected = resample_chain(joints[:, chain], 16).transpose(2, 0, 1)
        assert np.allclose(img[:, :60, 16 * k:16 * (k + 1)], expected, atol=1e-6)
    # the pelvis (first joint of the legs and the torso) keeps its global trajectory
    assert np.allclose(img[:, :60, 0], joints[:, 0].T, atol=1e-6)
    assert np.allclose(img[:, :60, 32], joints[:, 0].T, atol=1e-6)


def test_long_clips_need_a_crop_mode():
    joints = _motion(250)
    chains = body_part_chains(SMPL22)
    with pytest.raises(MotionInputError, match="250 frames"):
        motion_to_patch_image(joints, chains)
    start, _ = motion_to_patch_image(joints, chains, crop="start")
    centre, n = motion_to_patch_image(joints, chains, crop="center")
    assert n == 224
    assert np.allclose(start, motion_to_patch_image(joints[:224], chains)[0])
    assert np.allclose(centre, motion_to_patch_image(joints[13:237], chains)[0])
    a = motion_to_patch_image(joints, chains, crop="random", rng=np.random.default_rng(3))[0]
    b = motion_to_patch_image(joints, chains, crop="random", rng=np.random.default_rng(3))[0]
    assert np.array_equal(a, b)
    with pytest.raises(MotionInputError, match="unknown crop"):
        motion_to_patch_image(joints, chains, crop="middle")


@pytest.mark.parametrize("bad, match", [
    (np.zeros((0, 22, 3)), "no frames"),
    (np.zeros((10, 22)), "shape"),
    (np.zeros((10, 22, 2)), "shape"),
])
def test_bad_motions_raise(bad, match):
    with pytest.raises(MotionInputError, match=match):
        motion_to_patch_image(bad, body_part_chains(SMPL22))


def test_non_finite_joints_and_bad_chains_raise():
    joints = _motion(20)
    joints[7, 3, 1] = np.nan
    with pytest.raises(MotionInputError, match="frame 7, joint 3"):
        motion_to_patch_image(joints, body_part_chains(SMPL22))
    with pytest.raises(MotionInputError, match="outside"):
        motion_to_patch_image(_motion(20), body_part_chains(KIT21) + [(0, 30)])
    with pytest.raises(MotionInputError, match="empty"):
        motion_to_patch_image(_motion(20), [(0, 1), ()])


# ------------------------------------------------------------------ statistics


def test_stats_normalise_real_frames_and_keep_padding_zero(tmp_path):
    chains = body_part_chains(SMPL22)
    motions = [_motion(40 + 20 * i, seed=i, speed=0.5 + 0.3 * i) for i in range(4)]
    stats = fit_patch_stats(motions, chains)
    assert stats.mean.shape == stats.std.shape == (3, 80) and np.all(stats.std > 0)
    images = [motion_to_patch_image(m, chains) for m in motions]
    normed = [normalize_patch_image(img, n, stats) for img, n in images]
    for (img, n), out in zip(images, normed, strict=True):
        assert out.shape == img.shape and np.all(out[:, n:] == 0)
    real = np.concatenate([out[:, :n] for (_, n), out in zip(images, normed, strict=True)], axis=1)
    assert np.allclose(real.mean(axis=1), 0.0, atol=1e-4)
    assert np.allclose(real.std(axis=1), 1.0, atol=1e-3)

    path = stats.save(tmp_path / "patch_stats.npz")
    loaded = PatchStats.load(path)
    assert np.array_equal(loaded.mean, stats.mean) and np.array_equal(loaded.std, stats.std)
    img, n = normalized_patch_image(motions[0], chains, loaded)
    assert np.allclose(img, normed[0])


def test_stats_errors(tmp_path):
    chains = body_part_chains(SMPL22)
    with pytest.raises(MotionInputError, match="no motions"):
        fit_patch_stats([], chains)
    with pytest.raises(MotionInputError, match="motion 1"):
        fit_patch_stats([_motion(20), np.full((5, 22, 3), np.inf)], chains)
    stats = fit_patch_stats([_motion(20)], chains)
    img, n = motion_to_patch_image(_motion(20), chains)
    with pytest.raises(MotionInputError, match="shape"):
        normalize_patch_image(img[:, :, :64], n, stats)
    with pytest.raises(MotionInputError, match="valid length"):
        normalize_patch_image(img, 300, stats)
    with pytest.raises(MotionInputError, match="positive std"):
        PatchStats(np.zeros((3, 80)), np.zeros((3, 80)))
    bad = tmp_path / "bad.npz"
    np.savez(bad, average=np.zeros((3, 80)))
    with pytest.raises(MotionInputError, match="cannot read"):
        PatchStats.load(bad)
    with pytest.raises(MotionInputError, match="not found"):
        PatchStats.load(tmp_path / "missing.npz")
