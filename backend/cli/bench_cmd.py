"""`mogents bench generate`: latency table, ONNX Runtime vs torch, batch 1 and 8, per-stage breakdown.
`mogents bench serve`: a real server subprocess: cold start, latency and throughput under concurrent clients,
retargeting through the API."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def run_bench(args: argparse.Namespace) -> int:
    from ..generate.bench import bench_runtime, format_bench
    from ..generate.loader import DEFAULT_MODEL
    from ..runtime.onnx_runtime import OnnxGeneratorRuntime

    folders = [Path(m) for m in args.model] if args.model else [DEFAULT_MODEL]
    runtimes = {}
    for folder in folders:  # several models side by side in one run (this machine's speed drifts)
        ort = OnnxGeneratorRuntime(folder, device=args.device, threads=args.threads)
        label = f"onnxruntime ({ort.provider})" + (f" {ort.info.name}" if len(folders) > 1 else "")
        while label in runtimes:  # the same model twice still gets two rows
            label += "'"
        runtimes[label] = ort
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


def run_bench_serve(args: argparse.Namespace) -> int:
    from ..errors import MotionInputError
    from ..server.bench import bench_serve, format_bench

    try:
        clients = [int(c) for c in args.clients.split(",")]
    except ValueError:
        raise MotionInputError(f"--clients must be comma-separated counts, got {args.clients!r}") from None
    if not clients or min(clients) < 1 or args.requests < 1:
        raise MotionInputError("--clients and --requests must be at least 1")
    result = bench_serve(clients, args.requests, args.seconds, args.steps, args.model, args.threads,
                         soak=args.soak)
    print(format_bench(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def run_bench_train(args: argparse.Namespace) -> int:
    from training.train.bench import bench_train, format_table
    from training.train.config import load_config

    overrides = list(args.set or [])
    if args.data:
        overrides.append(f"data.root={args.data}")
    config = load_config(args.config, overrides)
    rows = bench_train(args.kind, config, args)
    print(format_table(args.kind, rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks that print tables")
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    g = bsub.add_parser("generate", help="generation latency per stage")
    g.add_argument("--model", action="append",
                   help="generator folder (default: the shipped model); repeat to time several side by side")
    g.add_argument("--torch", nargs=3, metavar=("MASK", "RESIDUAL", "LENGTH"),
                   help="also time the torch runtime on these checkpoints")
    g.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    g.add_argument("--frames", type=int, default=196)
    g.add_argument("--steps", type=int, help="decoding steps (default: the model's recommended count)")
    g.add_argument("--repeats", type=int, default=5)
    g.add_argument("--threads", type=int, help="intra-op threads (default: all cores)")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    g.add_argument("--json", help="also write the numbers as JSON")
    g.set_defaults(func=run_bench)
    s = bsub.add_parser("serve", help="server cold start, latency and throughput under concurrent clients")
    s.add_argument("--clients", default="1,8,32", help="concurrent client counts (default 1,8,32)")
    s.add_argument("--requests", type=int, default=32, help="generate requests per client count (default 32)")
    s.add_argument("--seconds", type=float, default=4.0, help="motion length (default 4 s)")
    s.add_argument("--steps", type=int, help="decoding steps (default: the model's recommended count)")
    s.add_argument("--model", help="generator folder (default: the shipped model)")
    s.add_argument("--threads", type=int, help="server's ONNX Runtime threads (default: all cores)")
    s.add_argument("--soak", type=int, default=0,
                   help="then this many sequential requests, sampling the server's RSS every 50 (default 0: none)")
    s.add_argument("--json", help="also write the numbers as JSON")
    s.set_defaults(func=run_bench_serve)
    t = bsub.add_parser("train", help="training throughput: the path before and now, side by side")
    t.add_argument("kind", choices=("vq", "mask", "residual"))
    t.add_argument("--config", required=True, help="training config (TOML)")
    t.add_argument("--data", help="dataset folder (overrides [data] root)")
    t.add_argument("--set", action="append", metavar="SEC.KEY=VAL", help="override a config value (repeatable)")
    t.add_argument("--steps", type=int, default=20, help="timed steps per run (default 20)")
    t.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    t.add_argument("--rounds", type=int, default=2, help="interleaved runs per path; the median is shown (default 2)")
    t.add_argument("--batch", type=int, help="batch size (default: the config's)")
    t.add_argument("--threads", type=int, help="intra-op threads (default: all cores)")
    t.add_argument("--accuracy-steps", type=int, default=0,
                   help="also train each path this many steps and report its validation metric")
    t.add_argument("--json", help="also write the numbers as JSON")
    t.set_defaults(func=run_bench_train)
    r = bsub.add_parser("retrieve", help="retrieval encoders' latency and throughput; text search over a large library")
    from ..retrieve.bench import add_arguments, run

    add_arguments(r)
    r.set_defaults(func=run)
