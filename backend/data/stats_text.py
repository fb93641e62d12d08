"""Printing `compute_stats` results: tables (rich when installed, else aligned plain text) and a
text histogram of clip lengths."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence], file=None) -> None:
    file = file or sys.stdout
    cells = [[_fmt(v) for v in row] for row in rows]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None  # noqa: N806
    if Console is not None:
        print(title, file=file)
        table = Table()
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in cells:
            table.add_row(*row)
        Console(file=file, width=100).print(table)
        return
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(title, file=file)
    pairs = enumerate(zip(headers, widths, strict=True))
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in pairs)
    print(line, file=file)
    print("-" * len(line), file=file)
    for row in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))), file=file)
    print(file=file)


def histogram_lines(edges: Sequence[float], counts: Sequence[int], width: int = 40) -> list[str]:
    """One line per bin: '  2-3 s | ######      12'."""
    peak = max(counts, default=0) or 1
    lines = []
    for i, n in enumerate(counts):
        label = f"{edges[i]:g}-{edges[i + 1]:g} s"
        bar = "#" * round(width * n / peak)
        lines.append(f"{label:>10} | {bar:<{width}} {n}")
    return lines


def print_stats(stats: dict, file=None) -> None:
    file = file or sys.stdout
    c, ln, voc = stats["counts"], stats["lengths"], stats["vocabulary"]
    print(f"Dataset {stats['dataset']}  ({stats['skeleton']}, {stats['feature_dim']}-d, {stats['fps']:g} fps)",
          file=file)
    rows = [["clips", c["clips"]], ["  original", c["original"]], ["  mirrored (M...)", c["mirrored"]],
            ["captions", c["captions"]], ["  of original clips", c["captions_original"]],
            ["  with a time window", c["captions_with_window"]], ["clips without texts", c["clips_without_texts"]]]
    rows += [[f"split {name}", n] for name, n in c["splits"].items()]
    print_table("Counts", ["what", "count"], rows, file)

    lo, hi = ln["training_range_frames"]
    print(f"Clip lengths: {ln['seconds_min']:.2f}-{ln['seconds_max']:.2f} s, mean {ln['seconds_mean']:.2f} s; "
          f"{ln['in_training_range']} of {c['clips']} clips have {lo} <= frames < {hi}", file=file)
    hist = ln["histogram"]
    for line in histogram_lines(hist["edges"], hist["counts"]):
        print(line, file=file)
    print(file=file)

    print(f"Vocabulary: {voc['size']} distinct words", file=file)
    print("  top words: " + ", ".join(f"{w} ({n})" for w, n in voc["top_words"]), file=file)
    print("  top verbs: " + ", ".join(f"{w} ({n})" for w, n in voc["top_verbs"]), file=file)
    if "distinct_caption_share" in voc:
        print(f"  distinct captions (original clips): {voc['distinct_captions']} "
              f"({100 * voc['distinct_caption_share']:.1f}%)", file=file)
    cov = voc.get("prompt_coverage")
    if cov:
        print(f"  user prompt coverage ({cov['prompts']} prompts): {100 * cov['word_share']:.1f}% of words, "
              f"{100 * cov['distinct_share']:.1f}% of distinct words; missing: {', '.join(cov['missing'][:30])}",
              file=file)
    print(file=file)

    if stats.get("families"):
        print_table("Clips per family (corpus_meta.jsonl)", ["family", "clips"],
                    list(stats["families"].items()), file)

    realism = stats["realism"]
    if stats["skeleton"] != "smpl22":
        print(f"note: the reference is {realism['reference']}; units and frame rate differ for this skeleton",
              file=file)
    print_table(f"Realism vs {realism['reference']}", ["quantity", "dataset", "reference", "ratio"],
                [[r["name"], r["dataset"], r["reference"], r["ratio"]] for r in realism["rows"]], file)

    if realism.get("targets"):
        print_table("Realism targets (issue 14)", ["quantity", "dataset", "real", "ratio / points", "target", "ok"],
                    [[r["name"], r["dataset"], r["reference"], r["compare"], r["target"], "yes" if r["ok"] else "no"]
                     for r in realism["targets"]], file)

    if stats.get("problems"):
        print(f"{len(stats['problems'])} problem(s):", file=file)
        for p in stats["problems"]:
            print(f"  {p}", file=file)
