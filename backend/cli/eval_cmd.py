"""`mogents eval generation | vq | retrieval`: the standard text-to-motion metrics with the frozen corpus
evaluator, and the TMR retrieval protocols for retrieval models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import MotionInputError

DEFAULT_EVALUATOR = Path(__file__).resolve().parents[2] / "training" / "eval" / "checkpoints" / "evaluator_v2.pt"


def _generator(args: argparse.Namespace):
    from ..generate.generator import Generator

    if args.torch:
        from training.inference.torch_runtime import TorchGeneratorRuntime

        mask, residual, length = args.torch
        return Generator(TorchGeneratorRuntime.from_checkpoints(mask, None if residual == "none" else residual,
                                                                length))
    from ..generate.loader import load_generator

    return load_generator(args.model, threads=getattr(args, "threads", None))


def _evaluator(path: str | None):
    from training.eval.evaluator import load_evaluator

    try:
        return load_evaluator(path or DEFAULT_EVALUATOR)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None


def _decoding_settings(args: argparse.Namespace, gen, opts) -> dict:
    """What identifies the generated row, for resuming a partial run: the model and the decoding options."""
    if args.torch:
        model = {"torch": list(args.torch)}
    else:  # the folder's checksum table names its exact files, wherever the folder lives
        import hashlib

        table = json.dumps(gen.info.extra.get("sha256", {}), sort_keys=True).encode()
        model = {"model": gen.info.name, "model_sha256": hashlib.sha256(table).hexdigest()}
    sampling = {} if (opts.temperature, opts.top_k) == (1.0, 0.1) else {"temperature": opts.temperature,
                                                                         "top_k": opts.top_k}
    return {**model, "steps": opts.steps, "cfg": opts.cfg_scale, "residual_cfg": opts.residual_cfg_scale,
            **sampling}


def run_eval_generation(args: argparse.Namespace) -> int:
    from training.eval.protocol import evaluate_generation, generator_fn

    from ..generate.decoding import DecodeOptions

    evaluator = _evaluator(args.evaluator)
    if args.baseline:
        return _eval_baseline(args, evaluator)
    gen = _generator(args)
    try:
        opts = DecodeOptions(steps=args.steps, cfg_scale=args.cfg, residual_cfg_scale=args.residual_cfg,
                             temperature=args.temperature, top_k=args.top_k).resolved(gen.info).checked()
    except ValueError as err:
        raise MotionInputError(str(err)) from None

    try:
        rows = evaluate_generation(generator_fn(gen, opts), args.data, args.split, evaluator, repeats=args.repeats,
                                   mm_texts=args.mm_texts, mm_samples=args.mm_samples, seed=args.seed,
                                   partial=args.partial, partial_settings=_decoding_settings(args, gen, opts))
    except ValueError as err:
        raise MotionInputError(str(err)) from None
    rows = {"real motion": rows["real motion"], args.name: rows["generated"]}
    return _report_rows(args, rows)


def _report_rows(args: argparse.Namespace, rows: dict) -> int:
    """Print the protocol table and write it as JSON when asked."""
    from training.eval.protocol import format_table

    print(format_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def _eval_baseline(args: argparse.Namespace, evaluator) -> int:
    """A reference row without a generator: `random-train-clip` plays a random training clip per caption."""
    from training.eval.baselines import random_train_clip
    from training.eval.protocol import evaluate_generation

    try:
        generate_fn = random_train_clip(args.data)
        rows = evaluate_generation(generate_fn, args.data, args.split, evaluator, repeats=args.repeats, mm_texts=0,
                                   seed=args.seed, partial=args.partial,
                                   partial_settings={"baseline": args.baseline})
    except (ValueError, FileNotFoundError) as err:
        raise MotionInputError(str(err)) from None
    name = args.name if args.name != "generated" else "random training clip"
    rows = {"real motion": rows["real motion"], name: rows["generated"]}
    return _report_rows(args, rows)


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


def _comma_list(text: str, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise MotionInputError(f"--{what} needs a comma-separated list, got {text!r}")
    return items


def _row_names(args: argparse.Namespace, results: list[dict]) -> list[str]:
    names = list(args.name) if args.name else [r["model"]["name"] for r in results]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):  # two models with one name would overwrite each other in the JSON
        seen[n] = seen.get(n, 0) + 1
        names[i] = n if seen[n] == 1 else f"{n} #{seen[n]}"
    return names


def run_eval_retrieval(args: argparse.Namespace) -> int:
    from backend.retrieve.protocols import check_protocols, check_thresholds
    from training.eval.retrieval_eval import (
        check_dataset,
        evaluate_retrieval,
        load_encoders,
        minilm_caption_similarity,
    )
    from training.eval.retrieval_table import markdown_report

    # everything a user can get wrong is checked before any model is loaded
    protocols = check_protocols(_comma_list(args.protocols, "protocols"))
    try:
        thresholds = check_thresholds([float(t) for t in _comma_list(args.thresholds, "thresholds")])
    except ValueError as err:
        raise MotionInputError(f"--thresholds: {err}") from None
    check_dataset(args.data, args.split, args.skeleton)
    if args.name and len(args.name) != len(args.model):
        raise MotionInputError(f"give one --name per --model ({len(args.model)} models, {len(args.name)} names)")
    # one sentence model for all rows (loaded on first use); it caches caption embeddings across models
    needs_captions = {"threshold", "dissimilar"} & set(protocols)
    caption_similarity = minilm_caption_similarity("cuda" if args.device == "cuda" else "cpu") if needs_captions \
        else None
    results = []
    for path in args.model:
        encoders = load_encoders(path, args.device)
        results.append(evaluate_retrieval(encoders, args.data, args.split, protocols=protocols, thresholds=thresholds,
                                          videos_dir=args.videos, skeleton=args.skeleton,
                                          include_mirrored=args.include_mirrored, max_frames=args.max_frames,
                                          seed=args.seed, progress=not args.quiet,
                                          caption_similarity=caption_similarity))
        results[-1]["model"]["path"] = str(path)
    rows = dict(zip(_row_names(args, results), results, strict=True))
    report = markdown_report(rows)
    print(report, end="")
    for out, text in ((args.json, json.dumps(rows, indent=2)), (args.markdown, report)):
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(text, encoding="utf-8")
    return 0


def run_eval_prompts(args: argparse.Namespace) -> int:
    from training.eval.prompt_suite import GROUPS, corpus_quality, format_report, run_suite, write_json

    groups = args.groups.split(",") if args.groups else None
    if groups and set(groups) - set(GROUPS):
        raise MotionInputError(f"unknown prompt groups {sorted(set(groups) - set(GROUPS))}; known: {GROUPS}")
    if args.seeds < 1:
        raise MotionInputError("--seeds must be at least 1")
    gen = _generator(args)

    def generate(text: str, seconds: float | None, seed: int):
        return gen.generate(text, seconds=seconds, seed=seed, raw=args.raw)[0].joints

    result = run_suite(generate, seeds=args.seeds, groups=groups, progress=not args.quiet)
    result["raw"] = bool(args.raw)
    corpus = corpus_quality(args.corpus) if args.corpus else None
    if corpus:
        result["corpus_quality"] = corpus
    print(format_report(result, corpus))
    if args.json:
        write_json(result, args.json)
    return 0


def run_eval_edits(args: argparse.Namespace) -> int:
    from training.eval import edit_suite as es

    if args.seeds < 1:
        raise MotionInputError("--seeds must be at least 1")
    try:
        cases = es.select_cases(_comma_list(args.cases, "cases") if args.cases else None)
    except ValueError as err:
        raise MotionInputError(str(err)) from None
    from ..generate.loader import load_generator

    gen = load_generator(args.model, args.device, threads=args.threads)
    result = es.run_suite(gen, seeds=args.seeds, cases=cases, progress=not args.quiet, method=args.method)
    print(es.format_report(result))
    if args.json:
        es.write_json(result, args.json)
    return 0


def run_eval_control(args: argparse.Namespace) -> int:
    from training.eval import control_suite as cs
    from training.eval.prompt_suite import GROUPS

    groups = args.groups.split(",") if args.groups else None
    if groups and set(groups) - set(GROUPS):
        raise MotionInputError(f"unknown prompt groups {sorted(set(groups) - set(GROUPS))}; known: {GROUPS}")
    from ..generate.loader import load_generator

    gen = load_generator(args.model, args.device, threads=args.threads)
    gen.generate("a person walks forward", 2.0, 0)  # warm-up, so the first row's latency is not the load
    kept: dict = {}
    paths = cs.run_paths(gen, args.seeds, keep=kept)
    keys = cs.run_keys(gen, args.seeds, cs.key_cases(args.clips))
    result = {"paths": paths, "keyframes": keys, "summary": cs.summary(paths, keys)}
    if args.prompt_checks:
        result["prompt_checks"] = cs.run_prompt_checks(gen, groups)
    print(cs.format_report(result))
    if args.json:
        cs.write_json(result, args.json)
    if args.png:
        cs.plot_paths(kept, args.png, ["arc left r=4 m walk", "S-curve walk", "circle r=1.5 m walk",
                                       "walk, stop, walk"])
        print(f"wrote {args.png}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate generation (FID, R-precision, ...), VQ reconstruction or retrieval")
    esub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    g = esub.add_parser("generation", help="FID, R-precision, MM-Dist, Diversity, MultiModality vs real motion")
    g.add_argument("--data", required=True, help="dataset folder (HumanML3D layout)")
    g.add_argument("--split", default="test")
    g.add_argument("--model", help="generator folder (default: the shipped model)")
    g.add_argument("--torch", nargs=3, metavar=("MASK", "RESIDUAL", "LENGTH"),
                   help="evaluate torch checkpoints instead (RESIDUAL may be 'none')")
    g.add_argument("--evaluator", help="evaluator checkpoint (default: the committed corpus evaluator)")
    g.add_argument("--baseline", choices=("random-train-clip",),
                   help="score a reference row instead of a generator: a random training clip per caption")
    g.add_argument("--repeats", type=int, default=20)
    g.add_argument("--mm-texts", type=int, default=100)
    g.add_argument("--mm-samples", type=int, default=30)
    g.add_argument("--steps", type=int, help="decoding steps (default: the model's recommended count)")
    g.add_argument("--cfg", type=float, default=None, help="guidance scale (default: the model's recommended one)")
    g.add_argument("--residual-cfg", type=float, default=5.0, help="CFG scale of the residual layers")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the base layer")
    g.add_argument("--top-k", type=float, default=0.1,
                   help="share of the codebook kept when sampling the base layer (or a count >= 1)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--partial", metavar="FILE",
                   help="save each finished repeat here and continue from it when rerun with the same settings")
    g.add_argument("--name", default="generated", help="row name in the table")
    g.add_argument("--json", help="also write the rows as JSON")
    g.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: all cores)")
    g.set_defaults(func=run_eval_generation)
    pr = esub.add_parser("prompts", help="prompt suite: does the motion do what the prompt says (pass rate per group)")
    pr.add_argument("--model", help="generator folder (default: the shipped model)")
    pr.add_argument("--torch", nargs=3, metavar=("MASK", "RESIDUAL", "LENGTH"),
                    help="evaluate torch checkpoints instead (RESIDUAL may be 'none')")
    pr.add_argument("--seeds", type=int, default=3, help="seeds per prompt (default 3)")
    pr.add_argument("--groups", help="comma-separated groups (default: all)")
    pr.add_argument("--corpus", help="dataset folder: also report the physical-quality figures of its test clips")
    pr.add_argument("--json", help="also write every prompt's result as JSON")
    pr.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: all cores)")
    pr.add_argument("--raw", action="store_true",
                    help="check the model's own joints instead of the animation-ready ones (the default)")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=run_eval_prompts)
    ed = esub.add_parser("edits", help="edit suite: arm and leg edits over walks, jogs and standing follow the "
                                       "prompt in the region and keep everything else (pass rate per case)")
    ed.add_argument("--model", help="generator folder (default: the shipped model)")
    ed.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    ed.add_argument("--seeds", type=int, default=2, help="seeds per case (default 2)")
    ed.add_argument("--cases", help="comma-separated case names (default: all)")
    ed.add_argument("--json", help="also write every case's result as JSON")
    ed.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: all cores)")
    ed.add_argument("--method", default="auto", choices=("auto", "inpaint", "transplant"),
                    help="edit method, as `mogents edit --method`")
    ed.add_argument("--quiet", action="store_true", help="no progress bar")
    ed.set_defaults(func=run_eval_edits)
    c = esub.add_parser("control", help="paths and keyframes: pelvis/keyed-joint error, seams, skating, bone "
                                        "lengths, prompt checks and latency vs unconstrained generation")
    c.add_argument("--model", help="generator folder (default: the shipped model)")
    c.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    c.add_argument("--seeds", type=int, default=2, help="seeds per path and keyframe set (default 2)")
    c.add_argument("--clips", type=int, default=4, help="corpus clips that give keyframe sets (3 sets each)")
    c.add_argument("--prompt-checks", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the prompt suite with and without constraints")
    c.add_argument("--groups", default="basic,direction,speed,layered",
                   help="prompt groups for the prompt checks (comma-separated)")
    c.add_argument("--json", help="also write every row as JSON")
    c.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: all cores)")
    c.add_argument("--png", help="top view of the pelvis over four requested paths (PNG)")
    c.set_defaults(func=run_eval_control)
    v = esub.add_parser("vq", help="VQ-VAE reconstruction: MPJPE (root-aligned, mm) and FID")
    v.add_argument("--vq", required=True, help="VQ-VAE model.pt")
    v.add_argument("--data", required=True)
    v.add_argument("--split", default="test")
    v.add_argument("--evaluator")
    v.add_argument("--json")
    v.set_defaults(func=run_eval_vq)
    r = esub.add_parser("retrieval", help="TMR retrieval protocols (R@k, MedR both ways) and zero-shot classification")
    r.add_argument("--model", action="append", required=True,
                   help="retrieval model folder (retrieval.json) or torch .pt checkpoint; repeat for several")
    r.add_argument("--data", required=True, help="dataset folder (HumanML3D layout)")
    r.add_argument("--split", default="test")
    r.add_argument("--videos", help="folder of rendered videos (ID.npy frames or ID.mp4): adds v2m / m2v")
    r.add_argument("--skeleton", help="evaluate new_joints/ID.npy of this skeleton (e.g. kit21) via encode_joints")
    r.add_argument("--protocols", default="all,same_caption,threshold,dissimilar,batches,zero_shot",
                   help="comma-separated subset of all,same_caption,threshold,dissimilar,batches,zero_shot")
    r.add_argument("--thresholds", default="0.95,0.8", help="caption-similarity thresholds (TMR 0.95, LAVIMO 0.8)")
    r.add_argument("--include-mirrored", action="store_true", help="keep mirrored M<id> copies in the gallery")
    r.add_argument("--max-frames", type=int, help="crop every motion to at most this many frames")
    r.add_argument("--name", action="append", help="row name per --model (default: the model's name)")
    r.add_argument("--seed", type=int, default=0, help="seeds the dissimilar subset and the batches")
    r.add_argument("--json", help="write {row name: result} as JSON")
    r.add_argument("--markdown", help="write the tables as markdown")
    r.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(func=run_eval_retrieval)
