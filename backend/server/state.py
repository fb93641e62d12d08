"""The per-installation token and the running server's state file, both in `config_home()` with 0600.

Clients (the CLI's `--server`, the Blender add-on, scripts) find a running server through
`config_home()/server.json`: url, host, port, token, pid, version, started. It is written once the server
listens (after the model is warmed up) and removed on a clean shutdown, only by the process that wrote it.

One server per config folder: a running server holds an exclusive lock on `config_home()/server.lock`
(flock; the kernel releases it when the process dies), so a second one is refused with the first's pid and
address instead of overwriting its state file (and deleting it when it stops). A state file found while
the lock is free is stale (its server was killed): it is replaced, with a note in the log.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path

from ..errors import MotionInputError
from ..paths import config_home
from ..retrieve.folder_lock import lock_fd, unlock_fd

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
TOKEN_FILE = "token"
log = logging.getLogger("mogents.server")
TOKEN_ENV = "MOGENTS_TOKEN"


def state_file_path() -> Path:
    return config_home() / STATE_FILE


def token_file_path() -> Path:
    return config_home() / TOKEN_FILE


def _write_private(path: Path, text: str) -> None:
    """Write atomically with 0600 from the start, so the secret is never readable by others."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)  # the umask may have narrowed it further, never widened; make it exact
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def installation_token() -> str:
    """The token stored in `config_home()/token`, created (random, 0600) on first use."""
    path = token_file_path()
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    _write_private(path, token + "\n")
    return token


def resolve_token(explicit: str | None) -> str:
    """--token, else MOGENTS_TOKEN, else the per-installation token."""
    token = explicit if explicit is not None else os.environ.get(TOKEN_ENV) or None
    if token is None:
        return installation_token()
    if not token.strip() or any(c.isspace() for c in token):
        raise MotionInputError("the token must be a non-empty string without spaces")
    return token


def write_state(url: str, host: str, port: int, token: str, version: str) -> Path:
    path = state_file_path()
    state = {"url": url, "host": host, "port": port, "token": token, "pid": os.getpid(), "version": version,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_private(path, json.dumps(state, indent=2) + "\n")
    return path


def read_state(path: Path | None = None) -> dict | None:
    """The state file's content, or None when there is none (or it is unreadable)."""
    path = path or state_file_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: object) -> bool:
    """True when a process with this pid runs on this machine (or exists but belongs to another user)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; only the lock decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def acquire_server_lock() -> int:
    """Lock the config folder for this server (an open file descriptor to pass to `release_server_lock`);
    raises MotionInputError naming the running server when another one holds it. A state file left by a
    server that is gone is removed."""
    path = config_home() / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    if not lock_fd(fd, wait=False):
        os.close(fd)
        state = read_state() or {}
        who = f"pid {state.get('pid')}, {state.get('url')}" if pid_alive(state.get("pid")) else "starting up"
        raise MotionInputError(f"another mogents server ({who}) is running with the config folder {config_home()}; "
                               "stop it first, or give this one its own folder with MOGENTS_CONFIG_DIR")
    stale = read_state()
    if stale is not None:
        pid = stale.get("pid")
        gone = "is gone" if not pid_alive(pid) else "holds no lock (an older mogents, or its pid was reused)"
        log.warning("replacing the stale state file %s: its server (pid %s) %s", state_file_path(), pid, gone)
        state_file_path().unlink(missing_ok=True)
    return fd


def release_server_lock(fd: int) -> None:
    try:
        unlock_fd(fd)
    finally:
        os.close(fd)


def remove_state(pid: int | None = None) -> None:
    """Remove the state file if it belongs to `pid` (default: this process)."""
    path = state_file_path()
    state = read_state(path)
    if state is not None and state.get("pid") == (pid or os.getpid()):
        path.unlink(missing_ok=True)
