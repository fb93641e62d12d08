"""`mogents export FORMAT ...`: write trained models in a deployable form.

    mogents export onnx --mask RUN/model.pt [--residual RUN/model.pt] --length RUN/model.pt --out FOLDER
    mogents export retrieval RUN/model.pt --out FOLDER [--eval-data DATASET]   (evaluator, tmr, patches, lavimo)
    mogents export checkpoints FOLDER --out DIR   (torch model.pt files rebuilt from a generator folder)
    mogents export bvh MOTION.npz -o OUT.bvh [--template smpl] [--units m] [--fps 20] [--server [URL]]

`onnx` needs the training extra (torch, onnx, onnxscript); further formats register as more subparsers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import MotionInputError
from .server_option import add_server_option, wants_server


def run_export_onnx(args: argparse.Namespace) -> int:
    try:
        from training.export.onnx_export import export_generator
    except ImportError as err:
        raise MotionInputError(f"exporting needs the training extra (torch, onnx, onnxscript): {err}") from None
    out = Path(args.out)
    try:
        folder = export_generator(args.mask, args.residual, args.length, out, name=args.name or out.name,
                                  opset=args.opset, progress=not args.quiet, verify=not args.no_verify,
                                  decode_steps=args.decode_steps)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None
    meta = json.loads((folder / "generator.json").read_text(encoding="utf-8"))
    print(f"exported generator {meta['name']!r} -> {folder} ({len(meta['files'])} files)")
    if not args.no_verify and not meta.get("parity_ok", True):
        print("warning: ONNX Runtime outputs differ from torch beyond tolerance; see 'parity' in generator.json")
    return 0


def run_export_checkpoints(args: argparse.Namespace) -> int:
    try:
        from training.export.onnx_import import import_generator
    except ImportError as err:
        raise MotionInputError(f"rebuilding checkpoints needs the training extra (torch, onnx): {err}") from None
    folder = Path(args.folder)
    if not (folder / "generator.json").is_file():
        raise MotionInputError(f"not a generator folder (no generator.json): {folder}")
    try:
        written = import_generator(folder, args.out)
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise MotionInputError(f"cannot rebuild checkpoints from {folder}: {err}") from None
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def run_export_retrieval(args: argparse.Namespace) -> int:
    try:
        from training.export.retrieval_encoders_export import export_any_retrieval
    except ImportError as err:
        raise MotionInputError(f"exporting needs the training extra (torch, onnx, onnxscript): {err}") from None
    checkpoint = args.checkpoint_path or args.checkpoint
    if not checkpoint:
        raise MotionInputError("give the checkpoint: `mogents export retrieval RUN/model.pt --out FOLDER`")
    if args.checkpoint_path and args.checkpoint and args.checkpoint_path != args.checkpoint:
        raise MotionInputError("two different checkpoints given (positional and --checkpoint)")
    out = Path(args.out)
    try:
        folder = export_any_retrieval(checkpoint, out, name=args.name or out.name, opset=args.opset,
                                      progress=not args.quiet, verify=not args.no_verify, text_mode=args.text_mode,
                                      quantize=not args.no_quantize, eval_data=args.eval_data,
                                      eval_split=args.eval_split)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None
    meta = json.loads((folder / "retrieval.json").read_text(encoding="utf-8"))
    print(f"exported retrieval model {meta['name']!r} ({meta.get('kind', 'evaluator')}) -> {folder} "
          f"({len(meta['files'])} files)")
    if not args.no_verify and not meta.get("parity_ok", True):
        print("warning: ONNX Runtime outputs differ from torch beyond tolerance; see 'parity' in retrieval.json")
    return 0


def _stored_fps(path: Path) -> float:
    """The frame rate saved in a motion .npz (as `mogents generate` writes it), else 20."""
    import numpy as np

    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "fps" in archive.files:
                    return float(archive["fps"])
        except (OSError, ValueError):
            pass  # load_motion has already reported unreadable files
    return 20.0


def run_export_bvh(args: argparse.Namespace) -> int:
    from ..data.exporter import load_motion, template_names, write_bvh

    out = Path(args.out)
    if out.suffix.lower() != ".bvh":
        raise MotionInputError("the output file should end in .bvh", str(out))
    template_names(args.template)
    joints, kind = load_motion(args.input)
    fps = float(args.fps) if args.fps is not None else _stored_fps(Path(args.input))
    if fps <= 0:
        raise MotionInputError(f"fps must be positive, got {fps:g}")
    if wants_server(args):
        from .remote import client_for, server_errors

        with server_errors():
            text = client_for(args).export_bvh({"joints": joints}, args.template, args.units, fps)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    else:
        write_bvh(out, joints, fps, args.template, args.units)
    print(f"wrote {out}: {len(joints)} frames at {fps:g} fps from {kind}, template {args.template}, {args.units}, "
          f"Y up")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export trained models (onnx: a generator folder for `mogents generate`)")
    formats = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    o = formats.add_parser("onnx", help="export a generator (VQ-VAE, transformers, length, text) to an ONNX folder")
    o.add_argument("--mask", required=True, help="mask transformer model.pt (names its VQ-VAE)")
    o.add_argument("--residual", help="residual transformer model.pt (without it only the first quantiser is used)")
    o.add_argument("--length", required=True, help="length estimator model.pt")
    o.add_argument("--out", required=True, help="generator folder to write (replaced if it holds a generator)")
    o.add_argument("--name", help="generator name (default: the folder name)")
    o.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    o.add_argument("--decode-steps", type=int, metavar="N",
                   help="recommended decoding steps, stored in generator.json (default: none, i.e. the paper's 10)")
    o.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime vs torch parity check")
    o.add_argument("--quiet", action="store_true", help="no progress lines")
    o.set_defaults(func=run_export_onnx)
    r = formats.add_parser("retrieval", help="export a retrieval model (evaluator, tmr, patches, lavimo checkpoint) "
                           "as an ONNX retrieval folder")
    r.add_argument("checkpoint_path", nargs="?", metavar="CHECKPOINT",
                   help="model.pt of `mogents train evaluator|tmr|patches|lavimo`")
    r.add_argument("--checkpoint", help="the same as CHECKPOINT (kept for existing scripts)")
    r.add_argument("--out", required=True, help="retrieval folder to write (replaced if it holds a retrieval model)")
    r.add_argument("--name", help="model name (default: the folder name)")
    r.add_argument("--text-mode", choices=("tagged", "plain"),
                   help="evaluator only: default caption reading, POS-tagged words (default, as in training) or "
                   "plain word pieces")
    r.add_argument("--no-quantize", action="store_true",
                   help="tmr/patches/lavimo: keep the text encoder in fp32 (default: int8 weights, ~4x smaller)")
    r.add_argument("--eval-data", help="HumanML3D-layout dataset: measure retrieval metrics into retrieval.json")
    r.add_argument("--eval-split", default="test", help="split of --eval-data (default test)")
    r.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    r.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime vs torch parity check")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.set_defaults(func=run_export_retrieval)
    c = formats.add_parser("checkpoints", help="rebuild torch checkpoints (vq, mask, residual, length) from an "
                           "exported generator folder, to continue training it on another machine")
    c.add_argument("folder", help="generator folder (generator.json and its ONNX graphs)")
    c.add_argument("--out", required=True, help="folder for vq/ mask/ residual/ length/ model.pt")
    c.set_defaults(func=run_export_checkpoints)
    b = formats.add_parser("bvh", help="write a motion (.npz from generate, .npy joints/features) as BVH")
    b.add_argument("input", metavar="IN", help="motion .npz (joints or features) or .npy")
    b.add_argument("-o", "--out", required=True, help="output .bvh")
    b.add_argument("--template", default="smpl", help="joint names of the BVH skeleton (smpl, mixamo, cmu, rigify, ue)")
    b.add_argument("--units", default="m", choices=("m", "cm"))
    b.add_argument("--fps", type=float, help="frame rate (default: the .npz's, else 20)")
    add_server_option(b)
    b.set_defaults(func=run_export_bvh)
