"""`mogents data ...`: synthesise the procedural corpus, import/export user motion, stats, previews.

Handlers import their modules lazily so `mogents --help` stays fast.
"""

from __future__ import annotations

import argparse


def _synth(args: argparse.Namespace) -> int:
    from training.corpus.synth import run_synth
    return run_synth(args)


def _import(args: argparse.Namespace) -> int:
    from ..data.importer import run_import
    return run_import(args)


def _export(args: argparse.Namespace) -> int:
    from ..data.exporter import run_export
    return run_export(args)


def _stats(args: argparse.Namespace) -> int:
    from ..data.stats import run_stats
    return run_stats(args)


def _preview(args: argparse.Namespace) -> int:
    from ..data.preview import run_preview
    return run_preview(args)


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="datasets: synth, import, export, stats, preview")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    p = dsub.add_parser("synth", help="write the procedural motion-language corpus (HumanML3D layout)")
    p.add_argument("--out", required=True, help="output dataset folder")
    p.add_argument("--clips", type=int, default=10000, help="number of clips before mirroring")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    p.add_argument("--no-mirror", action="store_true", help="do not add mirrored M-copies")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.set_defaults(func=_synth)

    p = dsub.add_parser("import", help="import BVH files or (T, 22, 3) .npy joints as a HumanML3D-layout dataset")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--out", required=True, help="output dataset folder")
    p.add_argument("--fps", type=float, default=None, help="frame rate of .npy joints (BVH: from the file)")
    p.add_argument("--up", choices=["y", "z"], default="y", help="up axis of .npy joints")
    p.add_argument("--format", choices=["auto", "bvh", "joints"], default="auto")
    p.add_argument("--preset", default="auto",
                   help="BVH joint-name preset (auto, smpl, cmu, mixamo, rigify, ue, generic)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.set_defaults(func=_import)

    p = dsub.add_parser("export", help="features or joints (.npy/.npz) -> BVH")
    p.add_argument("input", metavar="IN")
    p.add_argument("--out", required=True, help="output .bvh")
    p.add_argument("--template", default="smpl",
                   help="joint naming of the BVH skeleton (smpl, mixamo, cmu, rigify, ue)")
    p.add_argument("--fps", type=float, default=20.0, help="frame rate of the input")
    p.set_defaults(func=_export)

    p = dsub.add_parser("stats", help="length histogram, vocabulary, per-family counts, realism vs HumanML3D")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("--json", default=None, help="also write the statistics as JSON here")
    p.set_defaults(func=_stats)

    p = dsub.add_parser("preview", help="stick-figure GIF (and PNG frame strip) of one clip")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("id", metavar="ID")
    p.add_argument("--out", required=True, help="output .gif (a .png strip is written beside it)")
    p.set_defaults(func=_preview)
