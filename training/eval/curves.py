"""FID and Top-1 against training time, from the step checkpoints a run keeps (`[train] keep_every`).

    python -m training.eval.curves --run small=RUNS/mask_small --run large=RUNS/mask_large \
        --residual RUNS/residual_small/model.pt --length RUNS/length/model.pt --data CORPUS \
        --evaluator RUNS/evaluator/model.pt --json out/curves.json --png docs/curves.png

Each kept mask-transformer checkpoint is decoded with the same residual transformer and length estimator and
scored with the generation protocol (`training.eval.protocol`), so the curves compare the mask transformers
alone. The x axis is the training wall time the checkpoint records (`elapsed_s`), which is what "equal wall
time" means for two sizes. Scores are saved to the JSON after each checkpoint and a rerun skips those already
there, so a long sweep can be interrupted. `--reference ROWS.json` (an `mogents eval generation --json` file,
e.g. the random-training-clip baseline) draws the real-motion Top-1 and the floor FID as dashed lines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def kept_checkpoints(run: Path) -> list[Path]:
    """The run's step checkpoints in step order, plus its final model.pt when that is a later step."""
    steps = sorted((run / "checkpoints").glob("step_*.pt"))
    final = run / "model.pt"
    if final.exists():
        steps.append(final)
    return steps


def _checkpoint_time(path: Path) -> tuple[int, float]:
    """(step, training wall time in s) of a kept step checkpoint or a final model.pt. The file is memory-mapped,
    so reading two numbers does not read the weights."""
    state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    info = state if "step" in state else state.get("metrics", {})
    step, elapsed = info.get("step"), info.get("elapsed_s")
    if step is None or elapsed is None:  # a final model.pt of an older run: its last.pt has the same step's time
        last = torch.load(path.parent / "checkpoints" / "last.pt", map_location="cpu", weights_only=False, mmap=True)
        step, elapsed = last["step"], last.get("elapsed_s", float("nan"))
    return int(step), float(elapsed)


def score_checkpoint(mask: Path, residual: Path | None, length: Path, data: str, split: str, evaluator,
                     repeats: int, seed: int) -> dict[str, float]:
    from backend.generate.decoding import DecodeOptions
    from backend.generate.generator import Generator
    from training.eval.protocol import evaluate_generation, generator_fn
    from training.inference.torch_runtime import TorchGeneratorRuntime

    gen = Generator(TorchGeneratorRuntime.from_checkpoints(mask, residual, length))
    opts = DecodeOptions().resolved(gen.info).checked()
    rows = evaluate_generation(generator_fn(gen, opts), data, split, evaluator, repeats=repeats, mm_texts=0,
                               seed=seed, progress=False)
    return {k: float(v) for k, v in rows["generated"].items()}


def sweep(runs: dict[str, Path], residual: Path | None, length: Path, data: str, split: str, evaluator,
          repeats: int, seed: int, every: int, out_json: Path) -> dict:
    """Score every `every`-th kept checkpoint of each run (the last one always), saving after each."""
    results = json.loads(out_json.read_text()) if out_json.exists() else {}
    for name, run in runs.items():
        ckpts = kept_checkpoints(run)
        chosen = [c for i, c in enumerate(ckpts) if i % every == every - 1 or i == len(ckpts) - 1]
        points = results.setdefault(name, [])
        done = {p["step"] for p in points}
        for ckpt in chosen:
            step, elapsed = _checkpoint_time(ckpt)
            if step in done:
                continue
            scores = score_checkpoint(ckpt, residual, length, data, split, evaluator, repeats, seed)
            points.append({"step": step, "elapsed_s": elapsed, **scores})
            points.sort(key=lambda p: p["step"])
            done.add(step)
            print(f"[curves] {name} step {step} ({elapsed / 60:.1f} min): FID {scores['fid']:.3f}, "
                  f"Top-1 {scores['top1']:.3f}", flush=True)
            out_json.parent.mkdir(parents=True, exist_ok=True)
            out_json.write_text(json.dumps(results, indent=2))
    return results


def plot(results: dict, png: Path, reference: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, points in results.items():
        minutes = [p["elapsed_s"] / 60 for p in points]
        axes[0].plot(minutes, [p["fid"] for p in points], "o-", label=name)
        axes[1].plot(minutes, [p["top1"] for p in points], "o-", label=name)
    if reference:
        if "real motion" in reference:
            axes[1].axhline(reference["real motion"]["top1"], ls="--", c="gray", label="real motion")
            axes[1].axhline(0.7 * reference["real motion"]["top1"], ls=":", c="gray", label="70% of real")
        floors = [k for k in reference if k != "real motion"]
        if floors:
            axes[0].axhline(reference[floors[0]]["fid"], ls="--", c="gray", label=floors[0])
    axes[0].set(xlabel="training time (CPU minutes)", ylabel="FID (lower is better)", yscale="log")
    axes[1].set(xlabel="training time (CPU minutes)", ylabel="R-precision Top-1")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Mask transformer sizes at equal wall time (corpus v2 test split)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", action="append", required=True, metavar="NAME=DIR", help="a mask-transformer run")
    p.add_argument("--residual", help="residual checkpoint shared by every point ('none' for none)")
    p.add_argument("--length", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--evaluator", required=True)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--every", type=int, default=1, help="score every N-th kept checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--png", type=Path)
    p.add_argument("--reference", type=Path, help="eval generation --json rows for the dashed lines")
    args = p.parse_args(argv)
    runs = {}
    for item in args.run:
        name, sep, folder = item.partition("=")
        if not sep or not Path(folder).is_dir():
            p.error(f"--run wants NAME=DIR with an existing DIR, got {item!r}")
        runs[name] = Path(folder)
    from training.eval.evaluator import load_evaluator

    residual = None if args.residual in (None, "none") else Path(args.residual)
    results = sweep(runs, residual, Path(args.length), args.data, args.split, load_evaluator(args.evaluator),
                    args.repeats, args.seed, max(1, args.every), args.json)
    if args.png:
        reference = json.loads(args.reference.read_text()) if args.reference else None
        plot(results, args.png, reference)
        print(f"[curves] wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
