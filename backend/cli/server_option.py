"""The `--server [URL]` option shared by the commands that can run on a running `mogents serve`.

Kept free of heavy imports: every command module registers it while `mogents --help` builds its parser.
The remote execution itself lives in `backend.cli.remote`.
"""

from __future__ import annotations

import argparse


def add_server_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", nargs="?", const="", default=None, metavar="URL",
                   help="run on a running `mogents serve` (address and token from its state file unless a URL is "
                        "given; MOGENTS_TOKEN honoured). Put it after the positional arguments or write --server=URL")


def wants_server(args: argparse.Namespace) -> bool:
    return getattr(args, "server", None) is not None
