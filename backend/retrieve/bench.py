"""Retrieval speed on this machine: `mogents bench retrieve [--model DIR] [--library-size N] [--threads N]`.

Prints two tables (median of repeats):
- encoders: latency of one text / clip / video and throughput in items per second for batches;
- search: a text query against a library of N random unit embeddings (100,000 by default): the search
  itself (scores + top-k) beside the text encoding it needs, and the same through `MotionLibrary` on an
  index written to a temporary folder (what `mogents retrieve --library` does once the index is loaded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .library import top_k
from .loader import load_retrieval

CAPTION = "a person walks forward, then turns around and waves with the right hand"


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()  # first calls allocate
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_encoders(runtime, repeats: int = 5) -> list[tuple[str, float, float]]:
    """(case, median ms per call, items per second) rows."""
    info = runtime.info
    rng = np.random.default_rng(0)

    def clip(frames: int) -> np.ndarray:
        return (runtime.mean + runtime.std * rng.standard_normal((frames, info.feature_dim))).astype(np.float32)

    rows = []

    def row(name: str, fn: Callable[[], object], items: int) -> None:
        s = _median_s(fn, repeats)
        rows.append((name, 1000.0 * s, items / s))

    if info.has("text"):
        row("text, 1 caption", lambda: runtime.encode_text([CAPTION]), 1)
        row("text, 64 captions", lambda: runtime.encode_text([CAPTION] * 64), 64)
    if info.has("motion"):
        one = [clip(info.max_frames)]
        batch = [clip(int(n)) for n in rng.integers(40, info.max_frames, 64)]
        row(f"motion, 1 clip of {info.max_frames} frames", lambda: runtime.encode_motion(one), 1)
        row("motion, 64 clips of 40-196 frames", lambda: runtime.encode_motion(batch), 64)
    if info.has("video"):
        frames = rng.integers(0, 255, (60, 240, 320, 3), dtype=np.uint8)
        row("video, 1 clip of 60 frames 320x240", lambda: runtime.encode_video(frames), 1)
    return rows


def random_gallery(size: int, dim: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed).standard_normal((size, dim)).astype(np.float32)
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def bench_search(runtime, library_size: int = 100_000, repeats: int = 20,
                 through_library: bool = True) -> list[tuple[str, float]]:
    """(case, median ms) rows for a text query over `library_size` embeddings."""
    info = runtime.info
    gallery = random_gallery(library_size, info.embed_dim)
    by_dim = np.ascontiguousarray(gallery.T)  # the layout the library searches (see library._State.scores)
    query = runtime.encode_text([CAPTION])[0]
    rows = [("text encoding, 1 caption", 1000.0 * _median_s(lambda: runtime.encode_text([CAPTION]), repeats)),
            (f"search only, top 10 of {library_size:,}", 1000.0 * _median_s(lambda: top_k(query @ by_dim, 10),
                                                                          repeats))]
    if through_library:
        rows.append((f"library search_text (encode + search) of {library_size:,}",
                     1000.0 * _library_search(runtime, gallery, repeats)))
    return rows


def _library_search(runtime, gallery: np.ndarray, repeats: int) -> float:
    """Median seconds of `MotionLibrary.search_text` over an index holding `gallery` (entries synthetic)."""
    from .library import LibraryEntry, MotionLibrary

    with tempfile.TemporaryDirectory(prefix="mogents-bench-") as tmp:
        name = runtime.info.name
        entries = [LibraryEntry(f"{i:012x}", f"clip{i}", f"clip{i}.bvh", f"{i:064x}", (f"caption {i}",), 100, 20.0,
                                "", name, "bvh") for i in range(len(gallery))]
        library = MotionLibrary(Path(tmp), reembed=False)
        library._commit(entries, gallery, name)  # the library's own index writer: the format is not restated here
        return _median_s(lambda: library.search_text(runtime, CAPTION, 10), repeats)


def _print(header: tuple[str, ...], rows: list[tuple]) -> None:
    width = max(len(header[0]), *(len(r[0]) for r in rows))
    print("  ".join([f"{header[0]:<{width}}", *(f"{h:>12}" for h in header[1:])]))
    for r in rows:
        print("  ".join([f"{r[0]:<{width}}", *(f"{v:12.2f}" for v in r[1:])]))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    run(p.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="retrieval model folder (default: the shipped model)")
    p.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--library-size", type=int, default=100_000)


def run(args: argparse.Namespace) -> int:
    runtime = load_retrieval(args.model, device="cpu", threads=args.threads)
    print(f"model {runtime.info.name} ({', '.join(sorted(runtime.info.modalities))}), {runtime.provider}")
    _print(("encoder", "ms / call", "items / s"), bench_encoders(runtime, max(3, args.repeats // 2)))
    print()
    _print(("search", "median ms"), bench_search(runtime, args.library_size, args.repeats))
    return 0


if __name__ == "__main__":
    main()
