"""`mogents bench generate`: latency table, ONNX Runtime vs torch, batch 1 and 8, per-stage breakdown."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def run_bench(args: argparse.Namespace) -> int:
    from ..generate.bench import bench_runtime, format_bench
    from ..generate.loader import DEFAULT_MODEL
    from ..runtime.onnx_runtime import OnnxGeneratorRuntime

    folder = Path(args.model) if args.model else DEFAULT_MODEL
    runtimes = {}
    ort = OnnxGeneratorRuntime(folder, device=args.device, threads=args.threads)
    runtimes[f"onnxruntime ({ort.provider})"] = ort
    if args.torch:
        import torch

        from training.inference.torch_runtime import TorchGeneratorRuntime

        if args.threads:
            torch.set_num_threads(args.threads)
        mask, residual, length = args.torch
        runtimes["torch (cpu)"] = TorchGeneratorRuntime.from_checkpoints(mask, residual, length)
    rows = {}
    for name, rt in runtimes.items():
        for batch in args.batch:
            rows[f"{name} b{batch}"] = {"batch": batch, **bench_runtime(rt, batch, args.frames, args.repeats,
                                                                       args.steps)}
    print(format_bench(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks that print tables")
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    g = bsub.add_parser("generate", help="generation latency per stage")
    g.add_argument("--model", help="generator folder (default: the shipped model)")
    g.add_argument("--torch", nargs=3, metavar=("MASK", "RESIDUAL", "LENGTH"),
                   help="also time the torch runtime on these checkpoints")
    g.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    g.add_argument("--frames", type=int, default=196)
    g.add_argument("--steps", type=int, default=10)
    g.add_argument("--repeats", type=int, default=5)
    g.add_argument("--threads", type=int, help="intra-op threads (default: all cores)")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    g.add_argument("--json", help="also write the numbers as JSON")
    g.set_defaults(func=run_bench)
