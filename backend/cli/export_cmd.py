"""`mogents export FORMAT ...`: write trained models in a deployable form.

    mogents export onnx --mask RUN/model.pt [--residual RUN/model.pt] --length RUN/model.pt --out FOLDER

`onnx` needs the training extra (torch, onnx, onnxscript); further formats register as more subparsers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import MotionInputError


def run_export_onnx(args: argparse.Namespace) -> int:
    try:
        from training.export.onnx_export import export_generator
    except ImportError as err:
        raise MotionInputError(f"exporting needs the training extra (torch, onnx, onnxscript): {err}") from None
    out = Path(args.out)
    try:
        folder = export_generator(args.mask, args.residual, args.length, out, name=args.name or out.name,
                                  opset=args.opset, progress=not args.quiet, verify=not args.no_verify)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None
    meta = json.loads((folder / "generator.json").read_text(encoding="utf-8"))
    print(f"exported generator {meta['name']!r} -> {folder} ({len(meta['files'])} files)")
    if not args.no_verify and not meta.get("parity_ok", True):
        print("warning: ONNX Runtime outputs differ from torch beyond tolerance; see 'parity' in generator.json")
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
    o.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime vs torch parity check")
    o.add_argument("--quiet", action="store_true", help="no progress lines")
    o.set_defaults(func=run_export_onnx)
