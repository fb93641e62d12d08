"""`mogents` command line: one entry point, subcommand groups registered from small modules."""

from __future__ import annotations

import argparse
import sys

from ..errors import MotionInputError
from . import (
    bench_cmd,
    data_cmd,
    eval_cmd,
    export_cmd,
    generate_cmd,
    render_cmd,
    retarget_cmd,
    retrieve_cmd,
    serve_cmd,
    train_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mogents", description="Text-to-motion toolkit (MoGenTS).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_cmd.register(sub)
    train_cmd.register(sub)
    export_cmd.register(sub)
    generate_cmd.register(sub)
    bench_cmd.register(sub)
    eval_cmd.register(sub)
    render_cmd.register(sub)
    retarget_cmd.register(sub)
    retrieve_cmd.register(sub)
    serve_cmd.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MotionInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
