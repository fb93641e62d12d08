"""`mogents serve`: the backend HTTP service the Blender panel (and any script) talks to.

    mogents serve [--host 127.0.0.1] [--port 0] [--token T] [--model DIR] [--device auto|cpu|cuda] [--allow-remote]
                  [--retrieval-model DIR] [--library DIR] [--library-root DIR ...] [--max-body-mb 64]
                  [--batch-window-ms 5]

The chosen address and the token go to `config_home()/server.json` (0600) once the model is loaded and
warmed up; clients (`--server` in the CLI, `backend.client.Client.from_state_file()`) read it from there.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def run_serve(args: argparse.Namespace) -> int:
    from ..server.config import DEFAULT_MAX_BODY_BYTES, ServerSettings
    from ..server.launcher import ServerLauncher
    from ..server.state import state_file_path

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(levelname)s %(name)s: %(message)s")
    settings = ServerSettings(
        host=args.host, port=args.port, token=args.token, model=Path(args.model) if args.model else None,
        extra_models=[Path(p) for p in args.extra_model or ()], device=args.device, threads=args.threads,
        retrieval=not args.no_retrieval, retrieval_model=Path(args.retrieval_model) if args.retrieval_model else None,
        library=Path(args.library) if args.library else None,
        library_roots=[Path(p) for p in args.library_root or ()],
        allow_remote=args.allow_remote, max_body_bytes=int(args.max_body_mb * 1024 * 1024) or DEFAULT_MAX_BODY_BYTES,
        batch_window_s=args.batch_window_ms / 1000.0, log_level=args.log_level)
    launcher = ServerLauncher(settings)
    launcher.prepare()
    print(f"mogents server on {launcher.url} (state file {state_file_path()})", flush=True)
    launcher.serve()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the backend HTTP service (FastAPI) for the Blender add-on and scripts",
                       description="Serve the generator, retrieval and retargeting over HTTP on loopback. The "
                                   "address and token are written to the state file server.json in the config "
                                   "folder (MOGENTS_CONFIG_DIR or ~/.config/mogents) and removed on shutdown. Every "
                                   "route but GET /healthz needs 'Authorization: Bearer <token>', the OpenAPI "
                                   "schema at /openapi.json included.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    p.add_argument("--port", type=int, default=0, help="port (0: pick a free one)")
    p.add_argument("--token", help="bearer token (default: MOGENTS_TOKEN, else the per-installation token)")
    p.add_argument("--model", help="generator folder to serve (default: the shipped model)")
    p.add_argument("--extra-model", action="append", help="more generator folders to list in /v1/models")
    p.add_argument("--retrieval-model", help="retrieval model folder (default: the shipped one)")
    p.add_argument("--no-retrieval", action="store_true", help="do not load a retrieval model (no search, no library)")
    p.add_argument("--library", help="motion library folder (default: $MOGENTS_HOME/library)")
    p.add_argument("--library-root", action="append", metavar="DIR",
                   help="a folder POST /v1/library/add may read under (repeatable); with --allow-remote only these "
                        "are allowed (none given: no folder), other paths get 403")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: all cores)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow binding a non-loopback address and accept it as Host (logs a warning)")
    p.add_argument("--max-body-mb", type=float, default=64.0, help="request size cap in MB (default 64)")
    p.add_argument("--batch-window-ms", type=float, default=5.0,
                   help="how long concurrent generate requests are gathered into one batch")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=run_serve)
