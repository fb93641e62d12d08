"""Matplotlib stick-figure renderings of joint trajectories: animated GIF and a PNG frame strip.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend change). World
coordinates are HumanML3D's (Y up); they are drawn as plot (X, Y, Z) = (-x, z, y), a proper rotation,
so left and right are not swapped on screen. Right-side chains are red, left-side blue, the spine grey.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..motion.features import check_joints
from ..motion.skeleton import Skeleton

SIDE_COLOURS = {1: "#d62728", -1: "#1f77b4", 0: "#444444"}
GRID_COLOUR = "#c8c8c8"
TRACE_COLOUR = "#2ca02c"
ELEV, AZIM = 15.0, 50.0


def chain_sides(skeleton: Skeleton) -> list[int]:
    """+1 (right), -1 (left) or 0 (centre) per kinematic chain, from the skeleton's face joints."""
    r_hip, l_hip, r_sh, l_sh = skeleton.face_joints
    sides = []
    for chain in skeleton.kinematic_chain:
        right = r_hip in chain or r_sh in chain
        left = l_hip in chain or l_sh in chain
        sides.append(1 if right and not left else -1 if left and not right else 0)
    return sides


def _to_plot(points: np.ndarray) -> np.ndarray:
    """World (..., 3) with Y up -> plot coordinates (-x, z, y) with Z up."""
    return np.stack([-points[..., 0], points[..., 2], points[..., 1]], axis=-1)


class _StickScene:
    """One 3D axes with artists that are updated per frame (grid, trace, bones, time label)."""

    def __init__(self, ax, joints: np.ndarray, skeleton: Skeleton, show_time: bool = True):
        self.ax, self.skeleton = ax, skeleton
        self.pts = _to_plot(joints)
        self.floor = float(joints[..., 1].min())
        height = float(np.max(joints[..., 1].max(axis=1) - joints[..., 1].min(axis=1)))
        self.radius = 0.6 * max(height, 1e-6)
        self.spacing = _nice_step(self.radius / 2.5)
        n_lines = int(np.ceil(2 * self.radius / self.spacing)) + 2
        grid = dict(color=GRID_COLOUR, linewidth=0.6)
        self.grid = [ax.plot([], [], [], **grid)[0] for _ in range(2 * n_lines)]
        self.trace = ax.plot([], [], [], color=TRACE_COLOUR, linewidth=1.2, alpha=0.8)[0]
        self.bones = [ax.plot([], [], [], color=SIDE_COLOURS[s], linewidth=2.2, marker="o", markersize=2.5)[0]
                      for s in chain_sides(skeleton)]
        self.label = ax.text2D(0.02, 0.95, "", transform=ax.transAxes, fontsize=8) if show_time else None
        ax.view_init(elev=ELEV, azim=AZIM)
        ax.set_box_aspect((1, 1, 1), zoom=1.35)
        ax.set_axis_off()

    def draw(self, t: int, fps: float) -> None:
        frame = self.pts[t]
        cx, cy = frame[0, 0], frame[0, 1]
        r, floor = self.radius, self.floor
        self.ax.set_xlim(cx - r, cx + r)
        self.ax.set_ylim(cy - r, cy + r)
        self.ax.set_zlim(floor, floor + 2 * r)
        half = len(self.grid) // 2
        xs = np.floor((cx - r) / self.spacing) * self.spacing + self.spacing * np.arange(half)
        ys = np.floor((cy - r) / self.spacing) * self.spacing + self.spacing * np.arange(half)
        for line, x in zip(self.grid[:half], xs, strict=True):
            visible = cx - r <= x <= cx + r
            line.set_data_3d([x, x], [cy - r, cy + r], [floor, floor]) if visible else line.set_data_3d([], [], [])
        for line, y in zip(self.grid[half:], ys, strict=True):
            visible = cy - r <= y <= cy + r
            line.set_data_3d([cx - r, cx + r], [y, y], [floor, floor]) if visible else line.set_data_3d([], [], [])
        path = self.pts[: t + 1, 0]
        self.trace.set_data_3d(path[:, 0], path[:, 1], np.full(len(path), floor))
        for line, chain in zip(self.bones, self.skeleton.kinematic_chain, strict=True):
            seg = frame[list(chain)]
            line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
        if self.label is not None:
            self.label.set_text(f"frame {t}  t = {t / fps:.2f} s")


def _nice_step(x: float) -> float:
    """1, 2 or 5 times a power of ten, at least x."""
    exp = 10 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if m * exp >= x:
            return float(m * exp)
    return float(10 * exp)


def _figure(width_in: float, height_in: float, dpi: int) -> tuple[Figure, FigureCanvasAgg]:
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    return fig, FigureCanvasAgg(fig)


def _title(fig: Figure, title: str | None, width: int) -> None:
    if title:
        fig.suptitle("\n".join(textwrap.wrap(title, width)[:2]), fontsize=9)


def render_stick_gif(joints: np.ndarray, skeleton: Skeleton, path: str | Path, title: str | None = None,
                     fps: float = 20, size: int = 400) -> Path:
    """Animated GIF of a (T, J, 3) joint trajectory, one GIF frame per motion frame; returns the path.

    The camera follows the root; the floor grid is fixed in the world and the root's path is traced.
    """
    joints = np.asarray(joints, dtype=np.float64)
    check_joints(joints, skeleton, str(path), min_frames=1)
    dpi = 100
    fig, canvas = _figure(size / dpi, size / dpi, dpi)
    _title(fig, title, 50)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.9 if title else 1.0), projection="3d")
    scene = _StickScene(ax, joints, skeleton)
    frames = []
    for t in range(len(joints)):
        scene.draw(t, fps)
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        frames.append(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0,
                   optimize=False, disposal=1)
    return path


def render_frame_strip(joints: np.ndarray, skeleton: Skeleton, path: str | Path, n: int = 8,
                       title: str | None = None, fps: float | None = None, panel: float = 2.0) -> Path:
    """PNG with `n` evenly spaced frames side by side (fewer if the clip is shorter); returns the path."""
    joints = np.asarray(joints, dtype=np.float64)
    check_joints(joints, skeleton, str(path), min_frames=1)
    fps = fps or skeleton.fps
    picks = np.unique(np.linspace(0, len(joints) - 1, max(1, min(n, len(joints)))).round().astype(int))
    fig, canvas = _figure(panel * len(picks), panel + (0.4 if title else 0.0), 100)
    _title(fig, title, 40 * len(picks))
    top = 1.0 - (0.4 / (panel + 0.4) if title else 0.0)
    for k, t in enumerate(picks):
        ax = fig.add_axes((k / len(picks), 0.0, 1.0 / len(picks), top), projection="3d")
        _StickScene(ax, joints, skeleton).draw(int(t), fps)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.print_png(str(path))
    return path
