"""`mogents train KIND --config FILE`: train a generator, evaluator or retrieval model (needs the training extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MotionInputError

KINDS = ("vq", "mask", "residual", "length", "evaluator", "tmr", "patches", "lavimo")
RETRIEVAL_KINDS = ("tmr", "patches", "lavimo")


def run_train(args: argparse.Namespace) -> int:
    from training.train.config import load_config
    from training.train.loop import TrainConfig, train

    if args.threads:  # e.g. 1 when another job shares a 2-core machine: two OpenMP threads on one free
        import torch  # core wait on each other at every parallel region and run several times slower

        torch.set_num_threads(args.threads)
    config = load_config(args.config, args.set)
    if args.data:
        config["data"]["root"] = args.data
    if args.kind in RETRIEVAL_KINDS:  # the task seeds its data with the run's seed too
        for key in ("seed", "steps"):
            if getattr(args, key) is not None:
                config["train"][key] = getattr(args, key)
    try:
        train_cfg = TrainConfig.from_dict(config["train"])
    except (TypeError, ValueError) as err:
        raise MotionInputError(str(err)) from None
    if args.seed is not None:
        train_cfg.seed = args.seed
    if args.steps is not None:
        train_cfg.steps = args.steps
    out = Path(args.out or config.get("out", f"runs/{Path(args.config).stem}"))
    try:
        if args.kind == "evaluator":
            from training.eval.evaluator_task import build_task

            task, cfg2 = build_task(config, config["data"]["root"])
            cfg2.seed, cfg2.steps = train_cfg.seed, train_cfg.steps
            train_cfg = cfg2
        elif args.kind in RETRIEVAL_KINDS:
            from training.retrieval.tasks import build_task as build_retrieval_task

            task, train_cfg = build_retrieval_task(args.kind, config)
        else:
            from training.train.generator_tasks import TASKS

            task = TASKS[args.kind](config, seed=train_cfg.seed)
    except (FileNotFoundError, ValueError) as err:
        raise MotionInputError(str(err)) from None
    result = train(task, train_cfg, out, resume=not args.no_resume, progress=not args.quiet)
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items())
    print(f"trained {args.kind} -> {out / 'model.pt'}: {shown}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model: vq, mask, residual, length, evaluator, "
                       "or a retrieval model: tmr, patches, lavimo")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--config", required=True, help="TOML config (see training/configs/)")
    p.add_argument("--out", help="run folder (default: runs/<config name>); resumes from its last checkpoint")
    p.add_argument("--data", help="dataset folder (overrides [data] root)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value")
    p.add_argument("--seed", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: all cores)")
    p.add_argument("--no-resume", action="store_true", help="start over even if the run folder has a checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=lambda a: run_train(a))
