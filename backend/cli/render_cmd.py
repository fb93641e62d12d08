"""`mogents render videos`: avatar videos of a dataset's motions, rendered headless with Blender."""

from __future__ import annotations

import argparse
from pathlib import Path


def _avatar(value: str) -> int | None:
    if value == "random":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'random', got {value!r}") from None


def run_videos(args: argparse.Namespace) -> int:
    from ..render.videos import RenderRequest, format_summary, render_videos

    request = RenderRequest(dataset=Path(args.dataset), out=Path(args.out) if args.out else None,
                            resolution=args.resolution, engine=args.engine, shard=args.shard,
                            frames_dir=args.frames_dir, avatar=args.avatar, fps=args.fps, limit=args.limit,
                            blender=args.blender, seed=args.seed, camera=args.camera, samples=args.samples,
                            sample_frames=args.sample_frames)
    summary = render_videos(request, show_progress=not args.quiet)
    print(format_summary(summary, request))
    return 1 if summary.failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("render", help="render avatar videos of motions with Blender")
    render_sub = group.add_subparsers(dest="render_command", required=True, metavar="WHAT")
    p = render_sub.add_parser(
        "videos", help="one video per motion of a dataset (resumable, shardable)",
        description="Animate a procedural avatar (one of several, picked per clip from its name and --seed) with "
                    "each motion and render it headless with Blender. DATASET is a HumanML3D-layout folder "
                    "(new_joints/ or new_joint_vecs/) or a folder of .npy joints / .npz motions. Finished clips "
                    "are skipped, so an interrupted run resumes; exit status 1 when any clip failed.")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--out", metavar="DIR", help="output folder (default: DATASET/videos)")
    p.add_argument("--resolution", type=int, default=512, metavar="R", help="square frame size (default 512)")
    p.add_argument("--engine", choices=("workbench", "eevee", "cycles"), default="workbench")
    p.add_argument("--shard", metavar="i/n", help="render shard i of n (0 <= i < n) of the sorted clips")
    p.add_argument("--frames-dir", action="store_true", help="write PNG frames in DIR/CLIP/ instead of DIR/CLIP.mp4")
    p.add_argument("--sample-frames", type=int, metavar="N",
                   help="render only N frames per clip, the centres of N equal segments (frame "
                        "floor((i + 1/2) * T / N), i = 0..N-1), into DIR/CLIP.npy, uint8 (N, R, R, 3) RGB: training "
                        "data for the video encoder (LAVIMO: 8); the camera still frames the whole clip")
    p.add_argument("--avatar", type=_avatar, default=None, metavar="N|random",
                   help="one avatar for every clip (default: random per clip)")
    p.add_argument("--fps", type=float, default=20.0, help="video frame rate (motions are 20 fps; default 20)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N clips of the shard")
    p.add_argument("--blender", metavar="PATH",
                   help="a blender binary or a Python with bpy (default: $MOGENTS_BLENDER, .venv-blender, blender)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-clip avatar choice")
    p.add_argument("--camera", choices=("auto", "fit", "follow"), default="auto",
                   help="fit: still camera framing the whole motion; follow: moves with the body; auto (default): "
                        "still unless the motion travels so far that following keeps the avatar much larger")
    p.add_argument("--samples", type=int, default=16, help="samples per pixel for eevee and cycles")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_videos)

