"""Server settings: what `mogents serve` options and tests can change, with safe defaults."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 0                              # 0: the OS picks a free port
    token: str | None = None                   # None: MOGENTS_TOKEN, else the per-installation token
    model: Path | None = None                  # generator folder (None: the shipped default)
    extra_models: list[Path] = field(default_factory=list)
    retrieval: bool = True                     # load the retrieval model (text/motion search, library)
    retrieval_model: Path | None = None        # retrieval folder (None: the shipped default)
    library: Path | None = None                # motion library folder (None: data_home()/library)
    library_roots: list[Path] = field(default_factory=list)  # folders /v1/library/add may read (see below)
    device: str = "auto"
    threads: int | None = None                 # ONNX Runtime intra-op threads (None: all cores)
    allow_remote: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    batch_window_s: float = 0.005              # how long the batcher waits for more generate requests
    max_batch_rows: int = 32                   # samples decoded together at most
    job_workers: int = 2                       # threads for edit / compose / library jobs
    max_active_jobs: int = 256                 # queued + running; more gets 429
    job_ttl_s: float = 600.0                   # finished jobs are forgotten after this long ...
    max_finished_jobs: int = 256               # ... or when more than this many have finished
    warmup: bool = True
    write_state: bool = True                   # write config_home()/server.json once listening
    log_level: str = "info"


def library_add_roots(settings: ServerSettings) -> list[Path] | None:
    """The folders `/v1/library/add` may read under (resolved), or None for anywhere.

    Given `--library-root` folders bound it always; without them a loopback server (the user's own
    machine) may read any path, and a server with --allow-remote none (an empty list)."""
    if settings.library_roots:
        return [Path(root).resolve() for root in settings.library_roots]
    return [] if settings.allow_remote else None


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bound_host_names(host: str) -> set[str]:
    """Host header names that reach a server bound to `host` (with --allow-remote): the address itself, or
    for a wildcard bind (0.0.0.0, ::) this machine's name and addresses."""
    names = {host.strip("[]").lower()}
    if names & {"0.0.0.0", "::", ""}:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        try:
            names |= set(socket.gethostbyname_ex(hostname)[2])
        except OSError:
            pass  # no resolvable name: the name itself is still accepted
    return names


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mogents-studio")
    except PackageNotFoundError:
        return "0+unknown"
