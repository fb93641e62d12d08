"""The add-on's connection to the backend, made on demand from the preferences.

Called from worker threads only (launching a backend or a health check may take seconds); the preference
values are read on the main thread and passed in as a plain `Connection`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from . import backend_process
from .client import BackendError, Client

_lock = threading.Lock()
_client: Client | None = None


@dataclass(frozen=True)
class Connection:
    mode: str           # LAUNCH | STATE_FILE | URL
    command: str
    url: str
    token: str
    auto_start: bool
    device: str

    @classmethod
    def from_preferences(cls, prefs) -> Connection:
        return cls(prefs.connection, prefs.command, prefs.url, prefs.token, prefs.auto_start, prefs.device)


def client(conn: Connection, start: bool | None = None) -> Client:
    """A healthy client, reusing the last one; (re)launches the backend when the preferences say so."""
    global _client
    with _lock:
        if _client is not None:
            try:
                _client.health()
                return _client
            except BackendError:
                _client = None
        code = backend_process.crashed()
        if conn.mode == "LAUNCH":
            if not (conn.auto_start if start is None else start):
                hint = f" (it exited with code {code})" if code is not None else ""
                raise BackendError(f"The backend is not running{hint}. Press Start in the MoGenTS panel.")
            _client = backend_process.launch(conn.command, conn.device)
        elif conn.mode == "URL":
            _client = backend_process.connect(conn.url, conn.token)
        else:
            _client = backend_process.connect()
        return _client


def disconnect(stop_process: bool = True) -> bool:
    global _client
    with _lock:
        _client = None
        return backend_process.stop() if stop_process else False


def cached() -> Client | None:
    return _client
