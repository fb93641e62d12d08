"""Start, find and stop the backend process from inside Blender.

The add-on either launches the backend itself (a command from the preferences, default `mogents serve`),
or connects to one that is already running: by URL + token, or through the state file that
`mogents serve` writes. A launched server is started with `--port 0`; the add-on waits for the state
file naming that process's pid, then talks to the URL in it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

from .client import BackendError, Client, read_state, state_file

_process: subprocess.Popen | None = None
_log_path: Path | None = None


def split_command(command: str) -> list[str]:
    args = shlex.split(command, posix=os.name != "nt")
    if not args:
        raise BackendError("The backend command in the add-on preferences is empty.")
    return args


def launch(command: str, device: str = "auto", log_dir: Path | None = None, wait: float = 120.0) -> Client:
    """Start `command` (+ `--port 0 --device D`), wait until it announces itself and answers health."""
    global _process, _log_path
    stop()
    args = split_command(command) + ["--port", "0", "--device", device]
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log_dir.mkdir(parents=True, exist_ok=True)
    _log_path = log_dir / "mogents-backend.log"
    log = _log_path.open("wb")
    try:
        _process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except OSError as err:
        log.close()
        raise BackendError(f"Could not start the backend with {args[0]!r}: {err.strerror}. Install the backend "
                           "(`pip install mogents-studio`) or set its command in the add-on preferences.") from None
    log.close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        code = _process.poll()
        if code is not None:
            raise BackendError(f"The backend exited during start-up (code {code}). Last log lines:\n{log_tail()}")
        state = read_state()
        if state is not None and state.get("pid") == _process.pid:
            client = Client(state["url"], state["token"])
            try:
                client.health()
                return client
            except BackendError:
                pass
        time.sleep(0.2)
    stop()
    raise BackendError(f"The backend did not come up within {wait:.0f} s (state file {state_file()}).")


def log_tail(lines: int = 8) -> str:
    if _log_path is None or not _log_path.exists():
        return ""
    return "\n".join(_log_path.read_text(errors="replace").splitlines()[-lines:])


def running_process() -> subprocess.Popen | None:
    """The process this add-on launched, if it is still alive."""
    if _process is not None and _process.poll() is None:
        return _process
    return None


def crashed() -> int | None:
    """Exit code of a launched backend that died on its own, else None."""
    if _process is not None and _process.poll() is not None:
        return _process.returncode
    return None


def stop(timeout: float = 10.0) -> bool:
    """Terminate the launched backend (SIGTERM, then kill); False when there was none."""
    global _process
    proc, _process = _process, None
    if proc is None or proc.poll() is not None:
        return False
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
    return True


def connect(url: str = "", token: str = "") -> Client:
    """A client for a running backend: explicit URL/token first, else the state file."""
    if url:
        if not token:
            state = read_state()
            token = state["token"] if state else os.environ.get("MOGENTS_TOKEN", "")
        client = Client(url, token)
    else:
        client = Client.from_state_file()
    client.health()
    return client
