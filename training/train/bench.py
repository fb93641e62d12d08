"""`mogents bench train vq|mask|residual --config FILE`: training throughput, the path before and now.

Each path runs in its own subprocess (so its peak memory is its own), a few rounds interleaved
(before, now, before, now, ...) because this machine's speed drifts; each round's step time is the
median of its timed steps, and the table shows the fastest round of each path.

    before   fp32; transformers: nn.TransformerEncoderLayer, every batch tokenised by the frozen VQ,
             captions embedded as batches first meet them
    now      bf16 autocast (AMX), fused AdamW, channels-last conv weights; transformers: SDPA
             attention (matmuls for short sequences), token maps cached per VQ checksum, every
             caption embedded once up front (disk cache per text model), batches bucketed by length
             (runs of 8 batches sorted) so little padding is computed

Setup (building the caches the first time) is reported apart from the steady steps. `--accuracy-steps
N` also trains each path N steps from the same seed and reports its validation metric, to check that
the faster path learns as well.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_BEFORE_TOKENS = {"train.bf16": False, "train.bucket": 0, "train.fused_optimizer": False, "data.token_cache": False,
                  "model.attention_impl": "reference", "text.precompute": False, "train.channels_last": False}
_NOW_TOKENS = {"train.bf16": True, "train.bucket": 8, "train.fused_optimizer": True, "data.token_cache": True,
               "model.attention_impl": "sdpa", "text.precompute": True}
PATHS: dict[str, dict[str, dict]] = {
    "before": {"vq": {"train.bf16": False, "train.fused_optimizer": False, "train.channels_last": False},
               "mask": _BEFORE_TOKENS, "residual": _BEFORE_TOKENS},
    "now": {"vq": {"train.bf16": True, "train.fused_optimizer": True, "train.channels_last": True},
            "mask": _NOW_TOKENS, "residual": _NOW_TOKENS},
}
VAL_METRIC = {"vq": "mpjpe_mm", "mask": "val_masked_acc", "residual": "val_acc"}


def _apply(config: dict, overrides: dict) -> dict:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for key, value in overrides.items():
        section, name = key.split(".", 1)
        out.setdefault(section, {})[name] = value
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(kind: str, config: dict, steps: int, warmup: int, threads: int | None) -> dict:
    """Time `steps` optimiser steps after `warmup` ones in this process; a step includes fetching and
    collating its batch, as in training."""
    import torch
    from torch.utils.data import DataLoader

    from .generator_tasks import TASKS
    from .loop import EpochSampler, TrainConfig, build_optimizer, prepare_model, seed_everything
    from .precision import resolve_bf16

    if threads:
        torch.set_num_threads(threads)
    cfg = TrainConfig.from_dict(config["train"])
    use_bf16, _ = resolve_bf16(cfg.bf16, torch.device("cpu"))
    seed_everything(cfg.seed)
    started = time.perf_counter()
    task = TASKS[kind](config, seed=cfg.seed)
    model = prepare_model(task.build_model(), cfg, torch.device("cpu"))
    setup_s = time.perf_counter() - started
    step_model = torch.compile(model, dynamic=True) if cfg.compile else model
    opt = build_optimizer(model, cfg, torch.device("cpu"))
    dataset = task.train_dataset()
    lengths = dataset.lengths() if cfg.bucket and hasattr(dataset, "lengths") else None
    loader = DataLoader(dataset, batch_size=cfg.batch_size,
                        sampler=EpochSampler(len(dataset), cfg.seed, lengths=lengths, batch_size=cfg.batch_size,
                                             bucket=cfg.bucket),
                        collate_fn=task.collate, drop_last=True, num_workers=0)
    model.train()
    marks, done = [], 0
    it = iter(loader)
    while done < warmup + steps:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            terms = task.loss(step_model, batch, done)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        marks.append(time.perf_counter() - t0)
        done += 1
    steady = statistics.median(marks[warmup:])
    return {"setup_s": round(setup_s, 2), "step_s": steady, "steps_per_s": 1.0 / steady,
            "samples_per_s": cfg.batch_size / steady, "peak_rss_mb": round(_peak_rss_mb(), 1), "bf16": use_bf16}


def accuracy_after(kind: str, config: dict, steps: int) -> float:
    """Train `steps` steps with the real loop (same seed) and return the task's validation metric."""
    from .generator_tasks import TASKS
    from .loop import TrainConfig, train

    config = _apply(config, {"train.steps": steps, "train.checkpoint_every": steps, "train.eval_every": 0})
    cfg = TrainConfig.from_dict(config["train"])
    with tempfile.TemporaryDirectory() as tmp:
        metrics = train(TASKS[kind](config, seed=cfg.seed), cfg, tmp, resume=False, progress=False)
    return float(metrics[VAL_METRIC[kind]])


def _run_subprocess(kind: str, config: dict, args: argparse.Namespace, accuracy: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path, out_path = Path(tmp) / "config.json", Path(tmp) / "out.json"
        cfg_path.write_text(json.dumps(config))
        cmd = [sys.executable, "-m", "training.train.bench", kind, str(cfg_path), str(out_path),
               str(args.steps), str(args.warmup), str(args.threads or 0), str(args.accuracy_steps if accuracy else 0)]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        return json.loads(out_path.read_text())


def bench_train(kind: str, config: dict, args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    runs: dict[str, list[dict]] = {name: [] for name in PATHS}
    jobs = [(r, name) for r in range(args.rounds) for name in PATHS]
    for r, name in tqdm(jobs, desc=f"bench train {kind}", unit="run"):
        cfg = _apply(config, PATHS[name][kind])
        cfg["train"]["batch_size"] = args.batch or cfg["train"].get("batch_size", 32)
        runs[name].append(_run_subprocess(kind, cfg, args, accuracy=(r == 0 and args.accuracy_steps > 0)))
    rows = {}
    for name, results in runs.items():
        # the least disturbed round: the machine's other load only ever slows a round down
        best = min(results, key=lambda x: x["step_s"])
        row = {k: best[k] for k in ("step_s", "steps_per_s", "samples_per_s")}
        row["peak_rss_mb"] = max(x["peak_rss_mb"] for x in results)
        row["setup_s_first"] = results[0]["setup_s"]
        row["setup_s_cached"] = results[-1]["setup_s"]
        row["rounds"] = len(results)
        if "val" in results[0]:
            row[VAL_METRIC[kind]] = results[0]["val"]
        rows[name] = row
    rows["speedup"] = rows["now"]["steps_per_s"] / rows["before"]["steps_per_s"]
    return rows


def format_table(kind: str, rows: dict) -> str:
    head = ["path", "steps/s", "samples/s", "step (ms)", "peak RSS (MB)", "setup first / cached (s)"]
    metric = VAL_METRIC[kind]
    if metric in rows["before"]:
        head.append(metric)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in PATHS:
        r = rows[name]
        cells = [name, f"{r['steps_per_s']:.2f}", f"{r['samples_per_s']:.1f}", f"{1000 * r['step_s']:.0f}",
                 f"{r['peak_rss_mb']:.0f}", f"{r['setup_s_first']:.1f} / {r['setup_s_cached']:.1f}"]
        if metric in r:
            cells.append(f"{r[metric]:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"\n{kind}: now / before = {rows['speedup']:.2f}x steps/s")
    if not rows["now"].get("bf16", True):
        lines.append("(this CPU has no native bf16: the now path ran in fp32, see training/train/precision.py)")
    return "\n".join(lines)


def _main(argv: list[str]) -> None:
    kind, cfg_path, out_path, steps, warmup, threads, acc_steps = argv
    config = json.loads(Path(cfg_path).read_text())
    result = worker(kind, config, int(steps), int(warmup), int(threads) or None)
    if int(acc_steps):
        result["val"] = accuracy_after(kind, config, int(acc_steps))
    Path(out_path).write_text(json.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1:])
