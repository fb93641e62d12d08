"""BVH (Biovision hierarchy) reading, forward kinematics and writing.

Conventions used here (they match Blender's BVH importer):
- OFFSETs are in the parent's frame; a joint with position channels uses those values *instead of*
  its OFFSET as its translation (for the root this is its position in the world).
- Rotation channels are applied in the order they are listed, as intrinsic rotations:
  "Zrotation Xrotation Yrotation" means R = Rz @ Rx @ Ry. Angles are in degrees.
- A joint may carry any number of channels (0..6) in any order, including position channels on
  non-root joints. `End Site` blocks become `end_offsets` of their joint, not joints of their own.

Every problem in a file raises `MotionInputError` naming the file and, where it applies, the line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionInputError

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_VALID_CHANNELS = {c.lower(): c for c in POSITION_CHANNELS + ROTATION_CHANNELS}


@dataclass
class BVHData:
    """A parsed BVH file. Joint arrays are indexed in file order (parents come before children)."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray                         # (J, 3) rest offsets from the parent, file units
    channels: list[list[str]]                   # per joint, e.g. ["Zrotation", "Xrotation", "Yrotation"]
    motion: np.ndarray                          # (T, C) all channel values per frame
    frame_time: float                           # seconds per frame
    end_offsets: dict[int, np.ndarray] = field(default_factory=dict)  # joint -> End Site offset

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        """Frame rate, snapped to a whole number when the file's Frame Time was rounded
        (CMU's 0.0083333 s is 120 fps, 0.033333 s is 30 fps)."""
        fps = 1.0 / self.frame_time
        nearest = round(fps)
        return float(nearest) if nearest > 0 and abs(fps - nearest) < 1e-4 * fps else fps

    @property
    def channel_starts(self) -> list[int]:
        """Column of each joint's first channel in `motion`."""
        starts, col = [], 0
        for ch in self.channels:
            starts.append(col)
            col += len(ch)
        return starts

    def children(self, joint: int) -> list[int]:
        return [j for j, p in enumerate(self.parents) if p == joint]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local rotation matrices (T, J, 3, 3) and translations (T, J, 3)."""
        t = self.num_frames
        rots = np.broadcast_to(np.eye(3), (t, self.num_joints, 3, 3)).copy()
        trans = np.broadcast_to(self.offsets, (t, self.num_joints, 3)).copy()
        for j, (start, chans) in enumerate(zip(self.channel_starts, self.channels, strict=True)):
            has_pos = any(c in POSITION_CHANNELS for c in chans)
            if has_pos:
                trans[:, j] = 0.0
            for k, c in enumerate(chans):
                values = self.motion[:, start + k]
                if c in POSITION_CHANNELS:
                    trans[:, j, POSITION_CHANNELS.index(c)] = values
                else:
                    rots[:, j] = rots[:, j] @ axis_rotation(c[0], values)
        return rots, trans

    def world_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Global rotation matrices (T, J, 3, 3) and world positions (T, J, 3) by forward kinematics."""
        rots, trans = self.local_transforms()
        g_rot = np.empty_like(rots)
        g_pos = np.empty_like(trans)
        for j, p in enumerate(self.parents):
            if p < 0:
                g_rot[:, j] = rots[:, j]
                g_pos[:, j] = trans[:, j]
            else:
                g_rot[:, j] = g_rot[:, p] @ rots[:, j]
                g_pos[:, j] = g_pos[:, p] + np.einsum("tab,tb->ta", g_rot[:, p], trans[:, j])
        return g_rot, g_pos

    def world_positions(self) -> np.ndarray:
        """World joint positions (T, J, 3) in file units and axes."""
        return self.world_transforms()[1]

    def rest_positions(self) -> np.ndarray:
        """Joint positions (J, 3) of the rest pose (all rotations zero, root at its OFFSET)."""
        pos = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] + (pos[p] if p >= 0 else 0.0)
        return pos


def axis_rotation(axis: str, angles_deg: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about a coordinate axis 'X', 'Y' or 'Z'."""
    a = np.radians(np.asarray(angles_deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rows = {
        "X": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "Y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "Z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis.upper()]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


# ----------------------------------------------------------------------------------------- parsing


class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their 1-based line numbers."""

    def __init__(self, lines: list[str], path: str | None):
        self.path = path
        self.items: list[tuple[str, int]] = []
        self.pos = 0
        self.motion_line = None  # index into `lines` of the MOTION keyword
        for i, line in enumerate(lines):
            words = line.split()
            if words and words[0].upper() == "MOTION":
                self.motion_line = i
                break
            self.items.extend((w, i + 1) for w in words)
        self.last_line = self.items[-1][1] if self.items else 1

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def line(self) -> int:
        return self.items[self.pos][1] if self.pos < len(self.items) else self.last_line

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            where = "before the MOTION section" if self.motion_line is not None else "(file is truncated)"
            self.error(f"unexpected end of HIERARCHY while reading {what} {where}", self.last_line)
        tok = self.items[self.pos]
        self.pos += 1
        return tok

    def expect(self, word: str) -> int:
        tok, line = self.next(f"'{word}'")
        if tok.upper() != word.upper():
            self.error(f"expected '{word}', found '{tok}'", line)
        return line

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        return _parse_float(tok, line, what, self.path)

    def error(self, message: str, line: int) -> None:
        raise MotionInputError(f"line {line}: {message}", self.path)


def _parse_float(tok: str, line: int, what: str, path: str | None) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise MotionInputError(f"line {line}: malformed number '{tok}' in {what}", path) from None
    if not math.isfinite(value):
        raise MotionInputError(f"line {line}: non-finite value '{tok}' in {what}", path)
    return value


def _parse_joint(tk: _Tokens, parent: int, data: dict) -> None:
    """Parse `NAME { OFFSET .. CHANNELS .. (JOINT ..)* (End Site {..})? }` after ROOT/JOINT."""
    name, line = tk.next("a joint name")
    if name == "{":
        tk.error("joint without a name", line)
    if name in data["names"]:
        tk.error(f"duplicate joint name '{name}'", line)
    j = len(data["names"])
    data["names"].append(name)
    data["parents"].append(parent)
    tk.expect("{")
    tk.expect("OFFSET")
    data["offsets"].append([tk.number(f"OFFSET of '{name}'") for _ in range(3)])
    chans: list[str] = []
    if (tk.peek() or "").upper() == "CHANNELS":
        tk.next("CHANNELS")
        count_tok, cline = tk.next(f"channel count of '{name}'")
        if not count_tok.isdigit() or int(count_tok) > 6:
            tk.error(f"bad channel count '{count_tok}' for joint '{name}' (expected 0..6)", cline)
        for _ in range(int(count_tok)):
            c, ln = tk.next(f"channels of '{name}'")
            if c.lower() not in _VALID_CHANNELS:
                tk.error(f"unknown channel '{c}' for joint '{name}' (declared {count_tok} channels)", ln)
            chans.append(_VALID_CHANNELS[c.lower()])
        if len(set(chans)) != len(chans):
            tk.error(f"repeated channel in joint '{name}'", cline)
    data["channels"].append(chans)
    while True:
        tok, line = tk.next(f"the body of joint '{name}'")
        key = tok.upper()
        if key == "}":
            return
        if key == "JOINT":
            _parse_joint(tk, j, data)
        elif key == "END":
            tk.expect("Site")
            tk.expect("{")
            tk.expect("OFFSET")
            data["end_offsets"][j] = np.array([tk.number(f"End Site OFFSET of '{name}'") for _ in range(3)])
            tk.expect("}")
        elif key == "ROOT":
            tk.error("ROOT inside a joint (only one ROOT is supported)", line)
        else:
            tk.error(f"unexpected '{tok}' in joint '{name}'", line)


def parse_bvh_text(text: str, path: str | None = None) -> BVHData:
    """Parse BVH text. `path` only names the source in error messages."""
    lines = text.splitlines()
    if not any(ln.strip() for ln in lines):
        raise MotionInputError("file is empty", path)
    tk = _Tokens(lines, path)
    first, line = tk.next("'HIERARCHY'")
    if first.upper() != "HIERARCHY":
        tk.error(f"expected 'HIERARCHY' at the start of the file, found '{first}'", line)
    if (tk.peek() or "").upper() != "ROOT":
        found = tk.peek()
        tk.error("no ROOT joint in HIERARCHY" + (f" (found '{found}')" if found else ""), tk.line())
    tk.next("ROOT")
    data: dict = {"names": [], "parents": [], "offsets": [], "channels": [], "end_offsets": {}}
    _parse_joint(tk, -1, data)
    if tk.peek() is not None:
        tok = tk.peek()
        msg = "a second ROOT is not supported" if tok.upper() == "ROOT" else f"unexpected '{tok}' after the ROOT joint"
        tk.error(msg, tk.line())
    if tk.motion_line is None:
        raise MotionInputError(f"line {len(lines)}: MOTION section missing (file is truncated?)", path)
    motion, frame_time = _parse_motion(lines, tk.motion_line, sum(len(c) for c in data["channels"]), path)
    return BVHData(names=data["names"], parents=data["parents"], offsets=np.array(data["offsets"], dtype=float),
                   channels=data["channels"], motion=motion, frame_time=frame_time,
                   end_offsets=data["end_offsets"])


def _header_value(lines: list[str], i: int, key: str, path: str | None) -> tuple[str, int]:
    """Value after 'Key:' on the next non-blank line at or after i; returns (value, next line index)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise MotionInputError(f"line {len(lines)}: file ends before '{key}:' (truncated)", path)
    line = lines[i].strip()
    head, sep, value = line.partition(":")
    if not sep or " ".join(head.split()).lower() != key.lower():
        raise MotionInputError(f"line {i + 1}: expected '{key}: ...', found '{line[:40]}'", path)
    return value.strip(), i + 1


def _parse_motion(lines: list[str], motion_idx: int, num_channels: int, path: str | None
                  ) -> tuple[np.ndarray, float]:
    rest = lines[motion_idx].split()[1:]
    if rest:
        raise MotionInputError(f"line {motion_idx + 1}: unexpected text after MOTION", path)
    value, i = _header_value(lines, motion_idx + 1, "Frames", path)
    if not value.isdigit():
        raise MotionInputError(f"line {i}: malformed frame count '{value}'", path)
    n_frames = int(value)
    ft_text, i = _header_value(lines, i, "Frame Time", path)
    frame_time = _parse_float(ft_text, i, "Frame Time", path)
    if frame_time <= 0:
        raise MotionInputError(f"line {i}: Frame Time must be positive, got {ft_text}", path)
    if n_frames == 0:
        raise MotionInputError(f"line {i - 1}: the file has no frames (Frames: 0)", path)
    rows: list[tuple[int, str]] = [(k + 1, ln) for k, ln in enumerate(lines[i:], start=i) if ln.strip()]
    if len(rows) < n_frames:
        last = rows[-1][0] if rows else i
        raise MotionInputError(f"line {last}: file ends after {len(rows)} of {n_frames} frames "
                               f"declared by 'Frames:' (truncated)", path)
    if len(rows) > n_frames:
        raise MotionInputError(f"line {rows[n_frames][0]}: 'Frames: {n_frames}' but the file has "
                               f"{len(rows)} frame lines (frame count mismatch)", path)
    motion = np.empty((n_frames, num_channels))
    for f, (line_no, text) in enumerate(rows):
        words = text.split()
        if len(words) != num_channels:
            raise MotionInputError(f"line {line_no}: frame {f} has {len(words)} values, expected "
                                   f"{num_channels} (one per declared channel)", path)
        try:
            motion[f] = np.array(words, dtype=np.float64)
        except ValueError:
            bad = next(w for w in words if not _is_float(w))
            raise MotionInputError(f"line {line_no}: malformed number '{bad}' in frame {f}", path) from None
        if not np.all(np.isfinite(motion[f])):
            raise MotionInputError(f"line {line_no}: non-finite value (NaN or inf) in frame {f}", path)
    return motion, frame_time


def _is_float(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def read_bvh(path: str | Path) -> BVHData:
    """Parse a BVH file; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise MotionInputError(f"cannot read file: {err.strerror or err}", str(path)) from None
    return parse_bvh_text(text, str(path))


# ----------------------------------------------------------------------------------------- writing


def _fmt(values: np.ndarray, precision: int) -> str:
    out = []
    for v in values:
        s = f"{v:.{precision}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        out.append("0" if s in ("-0", "") else s)
    return " ".join(out)


def format_bvh(data: BVHData, precision: int = 6) -> str:
    """BVH text for `data` (tab-indented hierarchy, one frame per line)."""
    lines = ["HIERARCHY"]
    kids = [data.children(j) for j in range(data.num_joints)]
    order: list[int] = []  # joints in the order they are written (depth first)

    def emit(j: int, depth: int) -> None:
        order.append(j)
        ind = "\t" * depth
        kind = "ROOT" if data.parents[j] < 0 else "JOINT"
        lines.append(f"{ind}{kind} {data.names[j]}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}\tOFFSET {_fmt(data.offsets[j], precision)}")
        lines.append(f"{ind}\tCHANNELS {len(data.channels[j])}" + "".join(" " + c for c in data.channels[j]))
        for c in kids[j]:
            emit(c, depth + 1)
        if j in data.end_offsets:
            lines.extend([f"{ind}\tEnd Site", f"{ind}\t{{",
                          f"{ind}\t\tOFFSET {_fmt(data.end_offsets[j], precision)}", f"{ind}\t}}"])
        lines.append(f"{ind}}}")

    roots = [j for j, p in enumerate(data.parents) if p < 0]
    if len(roots) != 1:
        raise ValueError(f"a BVH needs exactly one root joint, got {len(roots)}")
    emit(roots[0], 0)
    if len(order) != data.num_joints:
        raise ValueError("joints not connected to the root cannot be written")
    # frame columns follow the written joint order, which may differ from the data's joint order
    starts = data.channel_starts
    columns = [starts[j] + k for j in order for k in range(len(data.channels[j]))]
    frame_time = f"{data.frame_time:.10f}".rstrip("0").rstrip(".")
    lines += ["MOTION", f"Frames: {data.num_frames}", f"Frame Time: {frame_time}"]
    lines += [_fmt(row, precision) for row in data.motion[:, columns]]
    return "\n".join(lines) + "\n"


def write_bvh_file(data: BVHData, path: str | Path, precision: int = 6) -> Path:
    path = Path(path)
    path.write_text(format_bvh(data, precision), encoding="utf-8")
    return path
