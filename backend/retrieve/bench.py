"""Retrieval speed on this machine: `python -m backend.retrieve.bench [--model DIR] [--threads N]`.

Times the text encoder (one caption, batches), the motion encoder (one 196-frame clip, batches, a long
take split into windows) and a search over a library of N random embeddings; prints a table (median ms).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from .library import top_k
from .loader import load_retrieval

CAPTION = "a person walks forward, then turns around and waves with the right hand"


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # first calls allocate
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def bench_retrieval(model: str | None = None, threads: int | None = None, repeats: int = 10,
                    library_size: int = 10_000) -> list[tuple[str, float]]:
    """(case, median milliseconds) rows."""
    runtime = load_retrieval(model, device="cpu", threads=threads)
    info = runtime.info
    rng = np.random.default_rng(0)

    def clip(frames: int) -> np.ndarray:
        return (runtime.mean + runtime.std * rng.standard_normal((frames, info.feature_dim))).astype(np.float32)

    one, batch = [clip(info.max_frames)], [clip(int(n)) for n in rng.integers(40, info.max_frames, 64)]
    take = [clip(info.max_frames * 10)]  # 98 s at 20 fps
    gallery = rng.standard_normal((library_size, info.embed_dim)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    query = runtime.encode_text([CAPTION])[0]
    rows = [
        ("text, 1 caption", _median_ms(lambda: runtime.encode_text([CAPTION]), repeats)),
        ("text, 64 captions", _median_ms(lambda: runtime.encode_text([CAPTION] * 64), repeats)),
        (f"motion, 1 x {info.max_frames} frames", _median_ms(lambda: runtime.encode_motion(one), repeats)),
        ("motion, 64 clips of 40-196 frames", _median_ms(lambda: runtime.encode_motion(batch), repeats)),
        (f"motion, 1 take of {len(take[0])} frames", _median_ms(lambda: runtime.encode_motion(take), repeats)),
        (f"search, top 10 of {library_size} embeddings",
         _median_ms(lambda: top_k(gallery @ query, 10), repeats)),
    ]
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="retrieval model folder (default: the shipped model)")
    p.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args(argv)
    rows = bench_retrieval(args.model, args.threads, args.repeats)
    width = max(len(name) for name, _ in rows)
    print(f"{'case':<{width}}  median ms")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.2f}")


if __name__ == "__main__":
    main()
