"""`mogents eval generation | vq`: the standard text-to-motion metrics with the frozen corpus evaluator."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import MotionInputError

DEFAULT_EVALUATOR = Path(__file__).resolve().parents[2] / "training" / "eval" / "checkpoints" / "evaluator_corpus.pt"


def _generator(args: argparse.Namespace):
    from ..generate.generator import Generator

    if args.torch:
        from training.inference.torch_runtime import TorchGeneratorRuntime

        mask, residual, length = args.torch
        return Generator(TorchGeneratorRuntime.from_checkpoints(mask, None if residual == "none" else residual,
                                                                length))
    from ..generate.loader import load_generator

    return load_generator(args.model)


def _evaluator(path: str | None):
    from training.eval.evaluator import load_evaluator

    try:
        return load_evaluator(path or DEFAULT_EVALUATOR)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None


def run_eval_generation(args: argparse.Namespace) -> int:
    import numpy as np

    from training.eval.protocol import evaluate_generation, format_table

    from ..generate.decoding import DecodeOptions

    gen = _generator(args)
    evaluator = _evaluator(args.evaluator)
    opts = DecodeOptions(steps=args.steps, cfg_scale=args.cfg)
    calls = [0]

    def generate_fn(texts, lengths):
        calls[0] += 1
        feats = gen.generate_batch(texts, lengths, seed=args.seed * 100_003 + calls[0], options=opts)
        out_len = np.array([len(f) for f in feats])
        padded = np.zeros((len(feats), out_len.max(), feats[0].shape[-1]), np.float32)
        for i, f in enumerate(feats):
            padded[i, :len(f)] = f
        return padded, out_len

    rows = evaluate_generation(generate_fn, args.data, args.split, evaluator, repeats=args.repeats,
                               mm_texts=args.mm_texts, mm_samples=args.mm_samples, seed=args.seed)
    rows = {"real motion": rows["real motion"], args.name: rows["generated"]}
    print(format_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def run_eval_vq(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from training.eval.protocol import evaluate_reconstruction
    from training.train.generator_tasks import load_vq

    try:
        vq, norm, _ = load_vq(args.vq)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None
    evaluator = _evaluator(args.evaluator)
    unit = vq.time_factor

    @torch.no_grad()
    def encode_decode(features, lengths):
        out = np.zeros_like(features)
        for i, n in enumerate(lengths):
            n = int(n) // unit * unit
            x = torch.from_numpy(norm.normalize(features[i, :n]))[None]
            out[i, :n] = norm.denormalize(vq.decode(vq.encode(x))[0].numpy())
        return out

    result = evaluate_reconstruction(encode_decode, args.data, args.split, evaluator)
    print(json.dumps({"vq": args.vq, **result}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate generation (FID, R-precision, ...) or VQ reconstruction")
    esub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    g = esub.add_parser("generation", help="FID, R-precision, MM-Dist, Diversity, MultiModality vs real motion")
    g.add_argument("--data", required=True, help="dataset folder (HumanML3D layout)")
    g.add_argument("--split", default="test")
    g.add_argument("--model", help="generator folder (default: the shipped model)")
    g.add_argument("--torch", nargs=3, metavar=("MASK", "RESIDUAL", "LENGTH"),
                   help="evaluate torch checkpoints instead (RESIDUAL may be 'none')")
    g.add_argument("--evaluator", help="evaluator checkpoint (default: the committed corpus evaluator)")
    g.add_argument("--repeats", type=int, default=20)
    g.add_argument("--mm-texts", type=int, default=100)
    g.add_argument("--mm-samples", type=int, default=30)
    g.add_argument("--steps", type=int, default=10)
    g.add_argument("--cfg", type=float, default=4.0)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--name", default="generated", help="row name in the table")
    g.add_argument("--json", help="also write the rows as JSON")
    g.set_defaults(func=run_eval_generation)
    v = esub.add_parser("vq", help="VQ-VAE reconstruction: MPJPE (root-aligned, mm) and FID")
    v.add_argument("--vq", required=True, help="VQ-VAE model.pt")
    v.add_argument("--data", required=True)
    v.add_argument("--split", default="test")
    v.add_argument("--evaluator")
    v.add_argument("--json")
    v.set_defaults(func=run_eval_vq)
