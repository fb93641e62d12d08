"""Latency benchmark of generation with a per-stage breakdown (a command, never a timed test).

A proxy runtime times every call; a run generates a 196-frame motion (default) at each batch size,
after warm-up, and reports the median over repeats of: text encoding, each mask-decoding step, all
residual layers, decoding tokens to features, features to joints, and the total.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from .decoding import DecodeOptions, decode_motion_features
from .generator import Generator
from .motion import GeneratedMotion


class TimedRuntime:
    def __init__(self, runtime):
        self.inner = runtime
        self.info = runtime.info
        self.provider = runtime.provider
        self.times: dict[str, list[float]] = defaultdict(list)

    def _timed(self, name, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        self.times[name].append(time.perf_counter() - t)
        return out

    def encode_text(self, prompts):
        return self._timed("text", self.inner.encode_text, prompts)

    def mask_logits(self, *a):
        return self._timed("mask_step", self.inner.mask_logits, *a)

    def residual_logits(self, *a):
        return self._timed("residual_layer", self.inner.residual_logits, *a)

    def length_logits(self, text):
        return self._timed("length", self.inner.length_logits, text)

    def encode_motion(self, f):
        return self._timed("vq_encode", self.inner.encode_motion, f)

    def decode_motion(self, ids):
        return self._timed("vq_decode", self.inner.decode_motion, ids)


def bench_runtime(runtime, batch: int, frames: int = 196, repeats: int = 5, steps: int | None = None,
                  prompt: str = "a person walks forward and waves with the right hand") -> dict:
    """Median seconds per stage for one generation of `batch` samples of `frames` frames."""
    timed = TimedRuntime(runtime)
    gen = Generator(timed)
    opts = DecodeOptions(steps=steps).resolved(runtime.info).checked()
    rows = np.full(batch, frames // runtime.info.time_factor, np.int64)
    totals, per_run = [], defaultdict(list)
    for r in range(repeats + 1):  # the first run warms up
        timed.times.clear()
        t0 = time.perf_counter()
        text = np.repeat(timed.encode_text([prompt]), batch, axis=0)
        rng = np.random.default_rng(r)
        feats = decode_motion_features(timed, text, rows, opts, rng)
        t1 = time.perf_counter()
        for f in feats:
            GeneratedMotion.from_features(f, gen.info.fps, prompt, r)
        t2 = time.perf_counter()
        if r == 0:
            continue
        totals.append(t2 - t0)
        per_run["joints"].append(t2 - t1)
        for k, v in timed.times.items():
            per_run[k + "_total"].append(sum(v))
            per_run[k + "_each"].append(float(np.mean(v)))
    out = {k: float(np.median(v)) for k, v in per_run.items()}
    out["total"] = float(np.median(totals))
    out["steps"] = opts.steps
    return out


def format_bench(rows: dict[str, dict]) -> str:
    cols = [("text_total", "text"), ("mask_step_each", "mask step"), ("mask_step_total", "all steps"),
            ("residual_layer_total", "residual"), ("vq_decode_total", "VQ decode"), ("joints", "to joints"),
            ("total", "total")]
    lines = ["| runtime | batch | steps | " + " | ".join(c[1] + " (ms)" for c in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for name, r in rows.items():
        cells = " | ".join(f"{r.get(k, float('nan')) * 1000:.1f}" for k, _ in cols)
        lines.append(f"| {name} | {r['batch']} | {r.get('steps', '')} | {cells} |")
    return "\n".join(lines)
