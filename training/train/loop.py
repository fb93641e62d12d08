"""The one training loop behind every `mogents train ...` command.

A task (VQ-VAE, mask transformer, residual transformer, length estimator, evaluator) supplies the
model, the dataset and the loss of one batch; this loop supplies everything else the same way for all
of them: seeding, a deterministic epoch sampler, AdamW with warm-up, gradient clipping, a tqdm bar,
TensorBoard scalars plus a `metrics.jsonl`, periodic checkpoints written atomically and exact resume
(the sampler skips the batches already seen), DDP when launched by `torchrun`, and a loss-curve plot.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from .precision import resolve_bf16


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup: int = 100
    schedule: str = "cosine"         # "cosine" (to 10% of lr) or "constant" after warm-up
    grad_clip: float = 1.0
    checkpoint_every: int = 200
    log_every: int = 10
    eval_every: int = 0              # 0: only at the end
    seed: int = 0
    workers: int = 0
    device: str = "auto"             # "auto", "cpu", "cuda"
    bf16: bool = False               # autocast forward + loss to bfloat16 where native (AMX; `precision.py`)
    compile: bool = False            # torch.compile the model for the training steps
    bucket: int = 0                  # sort runs of this many batches by item length (0: plain shuffle)
    fused_optimizer: bool = True     # AdamW's fused kernel (the per-tensor loop when false)
    channels_last: bool = True       # 4-D (conv) weights channels-last: the VQ's joint map already is
    keep_every: int = 0              # also keep the weights every N steps (checkpoints/step_N.pt), for curves
    init: str = ""                   # a model.pt of the same kind whose weights start a new run (warm start)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        unknown = {k: v for k, v in d.items() if k not in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"unknown [train] keys: {sorted(unknown)}")
        return cls(**known)


class Task(Protocol):
    """What a trainable model kind provides to the loop."""

    kind: str

    def build_model(self) -> nn.Module: ...

    def train_dataset(self) -> Dataset: ...

    def collate(self, items: list) -> Any: ...

    def loss(self, model: nn.Module, batch: Any, step: int) -> dict[str, torch.Tensor]:
        """Scalars of one batch; 'loss' is optimised, the rest are logged."""

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Validation numbers (called on rank 0 in eval mode, without gradients)."""

    def meta(self) -> dict:
        """Everything needed to rebuild the model from its weights (configs, normaliser location)."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - third-party code may draw from the global generator
    torch.manual_seed(seed)


class EpochSampler(Sampler[int]):
    """A permutation of the dataset fixed by (seed, epoch), split across ranks, that can start mid-epoch.

    With `lengths` and `bucket` > 0, each run of `bucket` batches is sorted by length before it is cut
    into batches, and the batches are then shuffled: a batch holds items of similar length, so the
    transformers pad (and attend over) far fewer empty frames. The order stays a pure function of
    (seed, epoch), so resuming mid-epoch still skips exactly the batches already seen.
    """

    def __init__(self, size: int, seed: int, rank: int = 0, world: int = 1, lengths: list[int] | None = None,
                 batch_size: int = 1, bucket: int = 0):
        self.size, self.seed, self.rank, self.world = size, seed, rank, world
        self.epoch, self.skip = 0, 0
        self.lengths, self.batch_size, self.bucket = lengths, batch_size, bucket

    def set_position(self, epoch: int, skip_items: int) -> None:
        self.epoch, self.skip = epoch, skip_items

    def _bucketed(self, order: list[int], g: torch.Generator) -> list[int]:
        b = self.batch_size
        span = b * self.bucket
        full = len(order) - len(order) % b
        batches = []
        for s in range(0, full, span):
            chunk = sorted(order[s:min(s + span, full)], key=lambda i: self.lengths[i])
            batches += [chunk[k:k + b] for k in range(0, len(chunk), b)]
        rest = order[full:]
        return [i for j in torch.randperm(len(batches), generator=g).tolist() for i in batches[j]] + rest

    def _indices(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=g).tolist()
        per_rank = self.size // self.world
        order = order[self.rank * per_rank:(self.rank + 1) * per_rank]
        if self.lengths is not None and self.bucket > 0:
            order = self._bucketed(order, g)
        return order[self.skip:]

    def __iter__(self):
        return iter(self._indices())

    def __len__(self) -> int:
        return max(self.size // self.world - self.skip, 0)


def prepare_model(model: nn.Module, cfg: TrainConfig, device: torch.device) -> nn.Module:
    """On the device; with `channels_last`, 4-D weights in channels-last layout (the VQ's (B, 12, T, J)
    joint map is a permuted (B, T, J, 12) tensor, so oneDNN then skips two layout copies per conv)."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if cfg.channels_last else model


def build_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW, no weight decay on biases, norms, embeddings and the null text; the fused kernel where the
    device has one (2.5x faster than the per-tensor loop on this CPU)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "emb" in name or "null" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = cfg.fused_optimizer and device.type in ("cpu", "cuda")
    return torch.optim.AdamW(groups, lr=cfg.lr, **({"fused": True} if fused else {}))


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    progress = min((step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1), 1.0)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def _device(cfg: TrainConfig, local_rank: int) -> torch.device:
    if cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _warm_start(model: nn.Module, path: Path, kind: str) -> None:
    """Load the weights of a finished run (or one rebuilt by `mogents export checkpoints`) into a new run;
    the optimiser, the schedule and the data order start afresh."""
    if not path.is_file():
        raise FileNotFoundError(f"[train] init: no such checkpoint {path}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or state.get("kind") != kind:
        raise ValueError(f"[train] init: {path} holds a {state.get('kind') if isinstance(state, dict) else None!r} "
                         f"model, not {kind!r}")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:  # a different size or architecture than this config builds
        raise ValueError(f"[train] init: {path} does not fit this config's model: {err}") from None


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _move(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _move(v, device) for k, v in batch.items()}
    return batch


def train(task: Task, cfg: TrainConfig, out_dir: str | Path, *, resume: bool = True,
          progress: bool = True, max_steps_this_run: int | None = None) -> dict:
    """Train until cfg.steps (resuming from out_dir/checkpoints/last.pt when present). Returns final metrics.

    `max_steps_this_run` stops early after that many optimiser steps (a checkpoint is written), which
    tests use to simulate a killed run.
    """
    rank, world, local_rank = _dist_info()
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    device = _device(cfg, local_rank)
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed + rank)

    use_bf16, note = resolve_bf16(cfg.bf16, device)
    if note and rank == 0:
        print(f"[train] {note}", file=sys.stderr)
    model = prepare_model(task.build_model(), cfg, device)
    opt = build_optimizer(model, cfg, device)
    step, epoch, seen_in_epoch = 0, 0, 0
    elapsed_before = 0.0  # training wall time of earlier runs of this resumed training
    last = ckpt_dir / "last.pt"
    if resume and last.exists():
        state = torch.load(last, map_location=device, weights_only=False)
        if state.get("kind") != task.kind:
            raise ValueError(f"{last} holds a {state.get('kind')!r} run, not {task.kind!r}")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, epoch, seen_in_epoch = state["step"], state["epoch"], state["seen_in_epoch"]
        elapsed_before = float(state.get("elapsed_s", 0.0))
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])  # noqa: NPY002
        random.setstate(state["python_rng"])
    elif cfg.init:
        _warm_start(model, Path(cfg.init), task.kind)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda" else None)

    dataset = task.train_dataset()
    if len(dataset) // world < max(cfg.batch_size // world, 1):
        raise ValueError(f"the training set has {len(dataset)} items, fewer than one batch of {cfg.batch_size}")
    per_rank_batch = max(cfg.batch_size // world, 1)
    lengths = dataset.lengths() if cfg.bucket and hasattr(dataset, "lengths") else None
    sampler = EpochSampler(len(dataset), cfg.seed, rank, world, lengths, per_rank_batch, cfg.bucket)
    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tb"))
        (out / "config.json").write_text(json.dumps({"kind": task.kind, "train": asdict(cfg), "bf16_used": use_bf16,
                                                     **task.meta()}, indent=2))
    log_path = out / "metrics.jsonl"
    step_model = torch.compile(model, dynamic=True) if cfg.compile else model

    def checkpoint() -> None:
        if rank != 0:
            return
        _save_atomic({"kind": task.kind, "model": unwrap(model).state_dict(), "optimizer": opt.state_dict(),
                      "step": step, "epoch": epoch, "seen_in_epoch": seen_in_epoch,
                      "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),  # noqa: NPY002
                      "python_rng": random.getstate(), "meta": task.meta(),
                      "elapsed_s": elapsed_before + time.time() - started}, last)
        if cfg.keep_every and step % cfg.keep_every == 0:  # weights only, for curves over training time
            _save_atomic({"kind": task.kind, "model": unwrap(model).state_dict(), "step": step,
                          "elapsed_s": round(elapsed_before + time.time() - started, 1), "meta": task.meta(),
                          "metrics": {}}, ckpt_dir / f"step_{step:07d}.pt")

    bar = None
    if progress and rank == 0:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc=f"train {task.kind}", dynamic_ncols=True)
    started, run_steps, last_logged = time.time(), 0, {}
    model.train()
    while step < cfg.steps:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        sampler.set_position(epoch, seen_in_epoch)
        loader = DataLoader(dataset, batch_size=per_rank_batch, sampler=sampler, collate_fn=task.collate,
                            num_workers=cfg.workers, drop_last=True, persistent_workers=False,
                            generator=torch.Generator().manual_seed(cfg.seed + epoch))  # keep the global RNG untouched
        for batch in loader:
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                terms = task.loss(step_model, _move(batch, device), step)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            run_steps += 1
            seen_in_epoch += per_rank_batch
            if rank == 0 and (step % cfg.log_every == 0 or step == cfg.steps):
                last_logged = {k: float(v.detach()) for k, v in terms.items()}
                last_logged["lr"] = opt.param_groups[0]["lr"]
                for k, v in last_logged.items():
                    writer.add_scalar(f"train/{k}", v, step)
                with log_path.open("a") as f:
                    f.write(json.dumps({"step": step, "time": round(time.time() - started, 2), **last_logged}) + "\n")
                if bar is not None:
                    bar.set_postfix(loss=f"{last_logged['loss']:.4f}")
            if bar is not None:
                bar.update(1)
            if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                _evaluate(task, model, writer, step, log_path, rank)
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                checkpoint()
            if step >= cfg.steps or (max_steps_this_run is not None and run_steps >= max_steps_this_run):
                break
        else:
            epoch, seen_in_epoch = epoch + 1, 0
            continue
        if max_steps_this_run is not None and run_steps >= max_steps_this_run and step < cfg.steps:
            checkpoint()
            if bar is not None:
                bar.close()
            return {"step": step, "stopped_early": True, **last_logged}
    if bar is not None:
        bar.close()
    metrics = _evaluate(task, model, writer, step, log_path, rank)
    if rank == 0:
        # elapsed_s: the training wall time, which curves over time read without opening last.pt
        save_model(unwrap(model), task, out / "model.pt",
                   {"step": step, "elapsed_s": round(elapsed_before + time.time() - started, 1), **metrics})
        plot_curves(log_path, out / "curves.png")
        writer.close()
    return {"step": step, **last_logged, **metrics}


def _evaluate(task: Task, model: nn.Module, writer, step: int, log_path: Path, rank: int) -> dict:
    if rank != 0:
        return {}
    model.eval()
    with torch.no_grad():
        metrics = task.evaluate(unwrap(model))
    model.train()
    for k, v in metrics.items():
        writer.add_scalar(f"eval/{k}", v, step)
    with log_path.open("a") as f:
        f.write(json.dumps({"step": step, "eval": metrics}) + "\n")
    return metrics


def save_model(model: nn.Module, task: Task, path: Path, metrics: dict) -> None:
    """The trained weights with the metadata needed to rebuild them (what export and inference load)."""
    _save_atomic({"kind": task.kind, "model": model.state_dict(), "meta": task.meta(), "metrics": metrics}, path)


def plot_curves(log_path: Path, png: Path) -> None:
    """Training loss (and logged terms) against step, for people who would rather look than read."""
    if not log_path.exists():
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "eval" not in r]
    if not rows:
        return
    keys = [k for k in rows[-1] if k not in ("step", "time", "lr")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        pts = [(r["step"], r[key]) for r in rows if key in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts])
        ax.set_title(key)
        ax.set_xlabel("step")
        if key == "loss" and all(p[1] > 0 for p in pts):
            ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)
