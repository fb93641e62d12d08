"""The per-installation token and the running server's state file, both in `config_home()` with 0600.

Clients (the CLI's `--server`, the Blender add-on, scripts) find a running server through
`config_home()/server.json`: url, host, port, token, pid, version, started. It is written once the server
listens (after the model is warmed up) and removed on a clean shutdown, only by the process that wrote it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from ..errors import MotionInputError
from ..paths import config_home

STATE_FILE = "server.json"
TOKEN_FILE = "token"
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


def remove_state(pid: int | None = None) -> None:
    """Remove the state file if it belongs to `pid` (default: this process)."""
    path = state_file_path()
    state = read_state(path)
    if state is not None and state.get("pid") == (pid or os.getpid()):
        path.unlink(missing_ok=True)
