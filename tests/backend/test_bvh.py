"""BVH parser, forward kinematics and writer (backend/motion/bvh.py)."""

from pathlib import Path

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.motion.bvh import BVHData, format_bvh, parse_bvh_text, read_bvh, write_bvh_file

# Root turned 90 deg about Y, a 6-channel middle joint with ZXY rotations, an End Site.
THREE_JOINTS = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  JOINT Mid
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Tip
    {
      OFFSET 1 0 0
      CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 0.5 0
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
1 2 3 90 0 0 90 0 0 1 0 0 0 0 0
1 2 3 90 0 0 90 90 0 1 0 0 0 0 0
0 0 0 0 0 0 0 0 0 0 0 2 0 0 0
"""


def test_fk_matches_hand_computed_answer():
    data = parse_bvh_text(THREE_JOINTS, "three.bvh")
    assert data.names == ["Root", "Mid", "Tip"] and data.parents == [-1, 0, 1]
    assert data.channels[1] == ["Zrotation", "Xrotation", "Yrotation"] and len(data.channels[2]) == 6
    assert data.fps == pytest.approx(25.0)
    np.testing.assert_allclose(data.end_offsets[2], [0, 0.5, 0])
    pos = data.world_positions()
    # frame 0: Ry(90) maps +X to -Z -> Mid at (1, 2, 2); Mid's Rz(90) then turns Tip's (1, 0, 0) to +Y
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 2, 2], [1, 3, 2]], atol=1e-12)
    # frame 1: Mid = Rz(90) @ Rx(90) (channel order): (1,0,0) -> Rx -> (1,0,0) -> Rz -> (0,1,0)
    # (the other order, Rx @ Rz, would give (0,0,1)); the world rotation Ry(90) leaves +Y alone
    np.testing.assert_allclose(pos[1, 2], [1, 3, 2], atol=1e-12)
    # frame 2: Tip's position channels replace its OFFSET
    np.testing.assert_allclose(pos[2], [[0, 0, 0], [1, 0, 0], [1, 0, 2]], atol=1e-12)
    np.testing.assert_allclose(data.rest_positions(), [[0, 0, 0], [1, 0, 0], [2, 0, 0]])


def test_channel_order_matters():
    a = THREE_JOINTS.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Xrotation Zrotation Yrotation")
    pos = parse_bvh_text(a).world_positions()
    # now Mid = Rx(90) @ Rz(90): (1,0,0) -> (0,1,0) -> (0,0,1), turned by Ry(90) to (1,0,0)
    np.testing.assert_allclose(pos[1, 2] - pos[1, 1], [1, 0, 0], atol=1e-12)


def test_write_parse_round_trip(tmp_path):
    data = parse_bvh_text(THREE_JOINTS)
    rng = np.random.default_rng(0)
    data.motion = rng.uniform(-180, 180, size=data.motion.shape)
    path = write_bvh_file(data, tmp_path / "rt.bvh")
    back = read_bvh(path)
    assert back.names == data.names and back.parents == data.parents and back.channels == data.channels
    np.testing.assert_allclose(back.offsets, data.offsets)
    np.testing.assert_allclose(back.motion, data.motion, atol=1e-6)
    assert back.frame_time == pytest.approx(data.frame_time)
    np.testing.assert_allclose(back.end_offsets[2], data.end_offsets[2])
    np.testing.assert_allclose(back.world_positions(), data.world_positions(), atol=1e-5)


def test_writer_orders_frame_columns_like_the_hierarchy():
    # joints stored in an order that is not depth-first: 0 root, 1 a (child of root), 2 b (child of root),
    # 3 a_child (child of 1) -> the file lists root, a, a_child, b
    data = BVHData(names=["root", "a", "b", "a_child"], parents=[-1, 0, 0, 1],
                   offsets=np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0]], float),
                   channels=[["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"],
                             ["Zrotation", "Yrotation", "Xrotation"], ["Zrotation", "Yrotation", "Xrotation"],
                             ["Zrotation", "Yrotation", "Xrotation"]],
                   motion=np.arange(15, dtype=float)[None] * 7.0, frame_time=0.05,
                   end_offsets={2: np.array([-0.5, 0, 0]), 3: np.array([0, 0.5, 0])})
    back = parse_bvh_text(format_bvh(data))
    assert back.names == ["root", "a", "a_child", "b"]
    order = [back.names.index(n) for n in data.names]
    np.testing.assert_allclose(back.world_positions()[:, order], data.world_positions(), atol=1e-6)


def test_blank_lines_and_crlf_are_fine():
    text = THREE_JOINTS.replace("\n", "\r\n").replace("MOTION", "\r\nMOTION")
    assert parse_bvh_text(text).num_frames == 3


def _cut_in_hierarchy(t: str) -> str:
    return t[: t.index("JOINT Tip")]


def _cut_frames(t: str) -> str:
    return t.rsplit("\n", 2)[0] + "\n"


MALFORMED = {
    "empty": (lambda t: "", "empty"),
    "blank": (lambda t: "\n  \n\t\n", "empty"),
    "no_root": (lambda t: t.replace("ROOT Root", "JOINT Root"), "no ROOT"),
    "truncated_hierarchy": (_cut_in_hierarchy, "unexpected end"),
    "no_motion": (lambda t: t[: t.index("MOTION")], "MOTION section missing"),
    "truncated_frames": (_cut_frames, "truncated"),
    "truncated_header": (lambda t: t[: t.index("Frame Time")], "truncated"),
    "bad_offset": (lambda t: t.replace("OFFSET 1 0 0", "OFFSET 1 x0 0", 1), "malformed number 'x0'"),
    "bad_frame_number": (lambda t: t.replace("1 2 3 90 0 0 90 90", "1 2 3 90 0 0 9o 90"), "malformed number '9o'"),
    "bad_frame_count": (lambda t: t.replace("Frames: 3", "Frames: three"), "malformed frame count"),
    "bad_frame_time": (lambda t: t.replace("Frame Time: 0.04", "Frame Time: fast"), "malformed number"),
    "zero_frame_time": (lambda t: t.replace("Frame Time: 0.04", "Frame Time: 0"), "must be positive"),
    "short_line": (lambda t: t.replace("1 2 3 90 0 0 90 90 0 1 0 0 0 0 0", "1 2 3 90 0 0 90 90 0 1 0 0 0 0"),
                   "has 14 values, expected 15"),
    "long_line": (lambda t: t.replace("0 0 0 0 0 0 0 0 0 0 0 2 0 0 0", "0 0 0 0 0 0 0 0 0 0 0 2 0 0 0 7"),
                  "has 16 values, expected 15"),
    "extra_frames": (lambda t: t + "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", "frame count mismatch"),
    "nan": (lambda t: t.replace("1 2 3 90 0 0 90 90", "1 2 nan 90 0 0 90 90"), "non-finite"),
    "inf": (lambda t: t.replace("0 0 0 0 0 0 0 0 0 0 0 2", "0 0 0 0 inf 0 0 0 0 0 0 2"), "non-finite"),
    "nan_offset": (lambda t: t.replace("OFFSET 0 0.5 0", "OFFSET 0 NaN 0"), "non-finite"),
    "bad_channel": (lambda t: t.replace("Zrotation Xrotation Yrotation\n", "Zrotation Wrotation Yrotation\n", 1),
                    "unknown channel 'Wrotation'"),
    "bad_channel_count": (lambda t: t.replace("CHANNELS 3 Z", "CHANNELS many Z"), "bad channel count"),
    "not_bvh": (lambda t: "hello world\n", "expected 'HIERARCHY'"),
    "zero_frames": (lambda t: t.replace("Frames: 3", "Frames: 0").split("Frame Time: 0.04")[0]
                    + "Frame Time: 0.04\n", "no frames"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_raise_motion_input_error(tmp_path, case):
    mutate, expected = MALFORMED[case]
    path = Path(tmp_path) / f"bad_{case}.bvh"
    path.write_text(mutate(THREE_JOINTS))
    with pytest.raises(MotionInputError) as info:
        read_bvh(path)
    message = str(info.value)
    assert str(path) in message and info.value.path == str(path)
    assert expected in message
    if case not in ("empty", "blank"):
        assert "line " in message


def test_line_numbers_point_at_the_problem(tmp_path):
    text = THREE_JOINTS.replace("1 2 3 90 0 0 90 90", "1 2 3 90 0 0 9o 90")
    with pytest.raises(MotionInputError, match="line 25:"):
        parse_bvh_text(text, "x.bvh")
