"""`mogents generate | edit | compose`: text to motion with the shipped (or a given) generator."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import MotionInputError
from .server_option import add_server_option, wants_server


def _options(args: argparse.Namespace):
    from ..generate.decoding import DecodeOptions

    try:
        return DecodeOptions(steps=args.steps, cfg_scale=args.cfg, temperature=args.temperature,
                             top_k=args.top_k).checked()
    except ValueError as err:
        raise MotionInputError(str(err)) from None


def _outputs(out: str, count: int) -> list[Path]:
    path = Path(out)
    if path.suffix.lower() not in (".npy", ".npz", ".bvh", ".gif"):
        raise MotionInputError(f"unknown output type {path.suffix or '(none)'!r}: use .npy, .npz, .bvh or .gif",
                               str(path))
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{i}{path.suffix}") for i in range(count)]


def _progress(quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def report(stage: str, i: int, n: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=n, desc=stage, leave=False, file=sys.stderr)
        bar.update(i - bar.n)
        if i >= n:
            bar.close()
            bars.pop(stage)

    return report


def _write(motions, paths: list[Path], quiet: bool) -> None:
    from ..generate.motion import save_motion

    for motion, path in zip(motions, paths, strict=True):
        save_motion(motion, path)
        if not quiet:
            print(f"wrote {path} ({len(motion.joints)} frames, {motion.seconds:.1f} s)")


def _generator(args: argparse.Namespace):
    """The local generator, or with --server a stand-in that asks the running server."""
    if wants_server(args):
        from .remote import RemoteGenerator, client_for, no_local_choices

        no_local_choices(args, "model")
        return RemoteGenerator(client_for(args))
    from ..generate.loader import load_generator

    return load_generator(args.model, args.device)


def _constraints(args: argparse.Namespace):
    """--path / --keyframes read and checked (backend.motion.constraints), or None."""
    from ..motion.constraints import Constraints, load_keyframes, load_path

    path = load_path(args.path) if getattr(args, "path", None) else None
    keys = load_keyframes(args.keyframes) if getattr(args, "keyframes", None) else None
    return None if path is None and keys is None else Constraints(path, keys)


def _report_control(motions, quiet: bool) -> None:
    for m in motions:
        report = m.meta.get("control", {}).get("report")
        if report and not quiet:
            print(json.dumps({"control": report}))


def run_generate(args: argparse.Namespace) -> int:
    from ..generate.generator import clean_prompt

    clean_prompt(args.prompt)
    paths = _outputs(args.out, args.samples)
    opts = _options(args)
    constraints = _constraints(args)
    gen = _generator(args)
    if constraints is not None and not wants_server(args):  # bad constraints fail before any model runs
        from ..generate.control import constrained_rows

        constraints.checked(constrained_rows(gen, constraints, args.seconds) * gen.info.time_factor, gen.info.fps)
    motions = gen.generate(args.prompt, args.seconds, args.seed, args.samples, opts, _progress(args.quiet),
                           raw=args.raw, constraints=constraints)
    _write(motions, paths, args.quiet)
    _report_control(motions, args.quiet)
    return 0


def run_edit(args: argparse.Namespace) -> int:
    from ..generate.generator import clean_prompt
    from ..generate.motion import load_motion_npz
    from ..generate.regions import parse_frames
    from ..motion.parts import resolve_selection

    clean_prompt(args.prompt)
    paths = _outputs(args.out, 1)
    motion = load_motion_npz(args.input)
    gen = _generator(args)
    frames = parse_frames(args.frames, len(motion.features))
    joints = args.joints.split(",") if args.joints else None
    parts = args.part.split(",") if args.part else None
    selection = resolve_selection(gen.skeleton, joints, parts) if (joints or parts) else None
    constraints = _constraints(args)
    if constraints is not None:
        constraints.checked(len(motion.features))
    edited, report = gen.edit(motion, args.prompt, frames, selection, args.seed, _options(args),
                              progress=_progress(args.quiet), raw=args.raw, constraints=constraints,
                              method=args.method)
    _write([edited], paths, args.quiet)
    _report_control([edited], args.quiet)
    print(json.dumps(report.to_dict()))
    return 0


def run_compose(args: argparse.Namespace) -> int:
    from ..generate.generator import clean_prompt

    for p in args.prompts:
        clean_prompt(p)
    paths = _outputs(args.out, 1)
    seconds = None
    if args.seconds:
        seconds = [float(s) for s in args.seconds.split(",")]
    gen = _generator(args)
    motion = gen.compose(args.prompts, seconds, args.seed, _options(args), _progress(args.quiet), raw=args.raw)
    _write([motion], paths, args.quiet)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--out", required=True, help="output file: .npy (joints), .npz, .bvh or .gif")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", help="generator folder (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--steps", type=int, help="iterative decoding steps (default: the model's, see its card)")
    p.add_argument("--cfg", type=float, default=None,
                   help="classifier-free guidance scale (default: the model's recommended one, 4 unless its "
                        "generator.json says otherwise)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=float, default=0.1, help="fraction of codes kept (or a count >= 1)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--raw", action="store_true",
                   help="write the model's own joints (default: animation-ready: rigid skeleton, planted feet, "
                        "no floor penetration, light jitter filter)")
    p.add_argument("--path", help="root path the pelvis follows: P.json {\"points\": [[t, x, z], ...]} (seconds, "
                                   "metres; motion frame: Y up, start at the origin facing +Z, +X its left) or a "
                                   "dense (T, 2) .npy at 20 fps")
    p.add_argument("--keyframes", help="K.npz: frames (K,) at 20 fps, joints (K, 22, 3), optional mask (K, 22) bool")
    add_server_option(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate a motion from a text prompt")
    p.add_argument("prompt")
    p.add_argument("--seconds", type=float, help="length in seconds (default: estimated from the text)")
    p.add_argument("--samples", type=int, default=1, help="variations (files get _0, _1, ... suffixes)")
    _common(p)
    p.set_defaults(func=run_generate)

    p = sub.add_parser("edit", help="regenerate frames and/or joints of a motion (.npz) from a prompt")
    p.add_argument("input", help="motion .npz (as written by generate)")
    p.add_argument("--prompt", required=True)
    p.add_argument("--frames", help="feature frames A:B to regenerate (default: all)")
    p.add_argument("--joints", help="comma-separated joint names, e.g. r_shoulder,r_elbow,r_wrist")
    p.add_argument("--part", help="comma-separated parts: left_arm, right_arm, left_leg, right_leg, torso, head, "
                                  "arms, legs, upper_body, lower_body, spine")
    p.add_argument("--method", default="auto", choices=("auto", "inpaint", "transplant"),
                   help="auto (default): body-part edits carry the selected joints of a whole-body motion "
                        "generated for the prompt onto the input (transplant); edits with the root regenerate "
                        "its tokens in place (inpaint)")
    _common(p)
    p.set_defaults(func=run_edit)

    p = sub.add_parser("compose", help="one motion doing several prompts in turn, with generated transitions")
    p.add_argument("prompts", nargs="+")
    p.add_argument("--seconds", help="comma-separated durations per prompt (default: estimated)")
    _common(p)
    p.set_defaults(func=run_compose)
