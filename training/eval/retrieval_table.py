"""Markdown tables from `mogents eval retrieval` result JSONs: one row per model.

    python -m training.eval.retrieval_table results_a.json results_b.json [--out table.md]

A JSON file holds either one result (as `evaluate_retrieval` returns it) or {row name: result}, as the CLI's
`--json` writes. Each protocol gets a table whose columns are direction × R@1/R@5/R@10/MedR; zero-shot
classification gets its own table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from backend.errors import MotionInputError

METRICS = ("R@1", "R@5", "R@10", "MedR")
DIRECTION_ORDER = ("t2m", "m2t", "v2m", "m2v")
_MISSING = "–"


def load_results(paths: Sequence[str | Path]) -> dict[str, dict]:
    """{row name: result} from result files, in order; a single result is named after its file."""
    rows: dict[str, dict] = {}
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise MotionInputError(f"cannot read retrieval results: {err}", str(path)) from None
        if not isinstance(data, dict):
            raise MotionInputError("not a retrieval result JSON", str(path))
        named = {path.stem: data} if "protocols" in data else data
        for name, result in named.items():
            if not isinstance(result, dict) or "protocols" not in result:
                raise MotionInputError(f"entry {name!r} is not a retrieval result", str(path))
            rows[name if name not in rows else f"{name} ({path.stem})"] = result
    return rows


def protocol_keys(results: dict[str, dict]) -> list[str]:
    """Protocol keys found in any result, in first-seen order."""
    keys: dict[str, None] = {}
    for result in results.values():
        keys.update(dict.fromkeys(result.get("protocols", {})))
    return list(keys)


def _directions(results: dict[str, dict], protocol: str) -> list[str]:
    found = {d for r in results.values() for d in r.get("protocols", {}).get(protocol, {})}
    return [d for d in DIRECTION_ORDER if d in found] + sorted(found - set(DIRECTION_ORDER))


def _cell(value: float | None, metric: str) -> str:
    if value is None:
        return _MISSING
    return f"{value:.1f}" if metric == "MedR" else f"{value:.2f}"


def markdown_table(results: dict[str, dict], protocols: Sequence[str] | None = None,
                   directions: Sequence[str] | None = None, metrics: Sequence[str] = METRICS) -> str:
    """Rows = models; columns = protocol × direction × metric. Missing numbers show as "–"."""
    protocols = list(protocols) if protocols is not None else protocol_keys(results)
    columns = [(p, d, m) for p in protocols for d in (directions or _directions(results, p)) for m in metrics]
    head = ["model"] + [f"{p} {d} {m}" if len(protocols) > 1 else f"{d} {m}" for p, d, m in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["--:"] * len(columns)) + "|"]
    for name, result in results.items():
        table = result.get("protocols", {})
        cells = [_cell(table.get(p, {}).get(d, {}).get(m), m) for p, d, m in columns]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def zero_shot_table(results: dict[str, dict]) -> str | None:
    """Rows = models: clips, classes, top-1, top-5, balanced top-1 (%); None when no result has zero-shot."""
    rows = {n: r.get("zero_shot") for n, r in results.items()}
    if not any(z and "top1" in z for z in rows.values()):
        return None
    lines = ["| model | clips | classes | top-1 | top-5 | balanced top-1 |", "|---|--:|--:|--:|--:|--:|"]
    for name, z in rows.items():
        if not z or "top1" not in z:
            reason = (z or {}).get("skipped", "not run")
            lines.append(f"| {name} | {_MISSING} | {_MISSING} | {reason} | | |")
            continue
        lines.append(f"| {name} | {z['clips']} | {len(z['classes'])} | {z['top1']:.2f} | {z.get('top5', 0):.2f} "
                     f"| {z['balanced_top1']:.2f} |")
    return "\n".join(lines)


def _gallery(results: dict[str, dict], protocol: str) -> str:
    sizes = sorted({str(r.get("protocol_info", {}).get(protocol, {}).get("gallery", "?")) for r in results.values()})
    return ", ".join(sizes)


def markdown_report(results: dict[str, dict]) -> str:
    """One table per protocol (with its gallery size), then zero-shot, then notes on skipped protocols."""
    parts = []
    for protocol in protocol_keys(results):
        parts.append(f"### {protocol} (gallery {_gallery(results, protocol)})\n\n"
                     + markdown_table(results, [protocol]))
    zero = zero_shot_table(results)
    if zero:
        parts.append("### zero-shot family classification (%)\n\n" + zero)
    notes = sorted({f"{name}: {p} skipped ({i['skipped']})" for name, r in results.items()
                    for p, i in r.get("protocol_info", {}).items() if "skipped" in i})
    notes += sorted({r["caption_similarity"]["note"] for r in results.values() if r.get("caption_similarity")})
    if notes:
        parts.append("\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Markdown tables from retrieval result JSONs.")
    parser.add_argument("results", nargs="+", help="JSON files written by `mogents eval retrieval --json`")
    parser.add_argument("--out", help="also write the markdown here")
    args = parser.parse_args(argv)
    try:
        text = markdown_report(load_results(args.results))
    except MotionInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
