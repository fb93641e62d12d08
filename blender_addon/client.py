"""HTTP client for the MoGenTS backend (standard library only: Blender's Python has no requests/httpx).

Every failure becomes a `BackendError` whose message can go straight into a Blender report: the backend is
not running, the token is wrong, the backend is too old, or the backend's own `{"error": ...}` text.
Streaming routes answer NDJSON; `stream()` yields one event per line and stops reading (closing the
connection, which cancels the work on the server) as soon as `cancelled()` turns true.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

API_VERSION = "v1"
MIN_BACKEND_VERSION = (0, 1, 0)


class BackendError(RuntimeError):
    """A problem talking to the backend, worded for the user."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def config_home() -> Path:
    """Where `mogents serve` writes its state file (same rules as backend/paths.py)."""
    explicit = os.environ.get("MOGENTS_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mogents"


def state_file() -> Path:
    return config_home() / "server.json"


def read_state(path: Path | None = None) -> dict | None:
    """The running server's {url, token, pid, ...}, or None when no server has announced itself."""
    path = path or state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "url" in data and "token" in data else None


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


class Client:
    def __init__(self, url: str, token: str, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_state_file(cls, path: Path | None = None, timeout: float = 60.0) -> Client:
        state = read_state(path)
        if state is None:
            raise BackendError("No running MoGenTS backend found (no state file at "
                               f"{path or state_file()}). Start it from the add-on panel or run `mogents serve`.")
        return cls(state["url"], state["token"], timeout)

    # -- plumbing -------------------------------------------------------------------------------------
    def _request(self, method: str, route: str, body: dict | None = None) -> urllib.request.Request:
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(f"{self.url}{route}", data=data, method=method, headers=headers)

    def _open(self, request: urllib.request.Request, timeout: float | None):
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as err:
            raise self._http_error(err) from None
        except urllib.error.URLError as err:
            raise BackendError(f"Cannot reach the MoGenTS backend at {self.url} ({err.reason}). "
                               "Is it running? Start it from the add-on panel or run `mogents serve`.") from None
        except TimeoutError:
            raise BackendError(f"The backend at {self.url} did not answer in time.") from None
        except ValueError as err:  # NaN in a body, malformed URL
            raise BackendError(f"Invalid request: {err}") from None

    def _http_error(self, err: urllib.error.HTTPError) -> BackendError:
        try:
            detail = json.loads(err.read().decode("utf-8")).get("error")
        except (ValueError, AttributeError, OSError):
            detail = None
        if err.code == 401:
            return BackendError("The backend rejected the access token. Reconnect (the token is in the "
                                "server's state file) or set it in the add-on preferences.", 401)
        if err.code == 404 and detail is None:
            return BackendError("The backend does not know this request; it is probably too old for this "
                                "add-on. Update the backend.", 404)
        return BackendError(detail or f"The backend answered HTTP {err.code}.", err.code)

    def call(self, method: str, route: str, body: dict | None = None, timeout: float | None = None) -> dict:
        with self._open(self._request(method, route, body), timeout) as response:
            raw = response.read()
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise BackendError("The backend sent a malformed answer.") from None

    def stream(self, route: str, body: dict, cancelled: Callable[[], bool] = lambda: False,
               timeout: float | None = None) -> Iterator[dict]:
        """NDJSON events of a streaming route; stops (and hangs up) when `cancelled()` is true."""
        response = self._open(self._request("POST", route, dict(body, stream=True)), timeout)
        try:
            for line in response:
                if cancelled():
                    return
                line = line.strip()
                if not line:
                    continue
                try:
                    event = json.loads(line.decode("utf-8"))
                except ValueError:
                    raise BackendError("The backend sent a malformed progress event.") from None
                if event.get("event") == "error":
                    raise BackendError(str(event.get("error", "the backend reported an error")),
                                       event.get("status"))
                yield event
        finally:
            response.close()

    # -- routes ---------------------------------------------------------------------------------------
    def health(self, timeout: float = 5.0) -> dict:
        info = self.call("GET", f"/{API_VERSION}/health", timeout=timeout)
        version = info.get("version") or info.get("versions", {}).get("mogents", "0")
        if _version_tuple(version) < MIN_BACKEND_VERSION:
            raise BackendError(f"The backend is version {version}; this add-on needs "
                               f"{'.'.join(map(str, MIN_BACKEND_VERSION))} or newer. Update the backend.")
        return info

    def generate(self, params: dict) -> dict:
        return self.call("POST", f"/{API_VERSION}/generate", params)

    def stream_generate(self, params: dict, cancelled: Callable[[], bool] = lambda: False) -> Iterator[dict]:
        return self.stream(f"/{API_VERSION}/generate", params, cancelled)

    def edit(self, params: dict) -> dict:
        return self.call("POST", f"/{API_VERSION}/edit", params)

    def compose(self, params: dict) -> dict:
        return self.call("POST", f"/{API_VERSION}/compose", params)

    def retarget(self, params: dict) -> dict:
        return self.call("POST", f"/{API_VERSION}/retarget", params)

    def to_motion(self, params: dict) -> dict:
        """The rig's curve and keyed poses in the motion frame (/v1/retarget/to-motion)."""
        return self.call("POST", f"/{API_VERSION}/retarget/to-motion", params)

    def bone_map_presets(self) -> dict:
        return self.call("GET", f"/{API_VERSION}/bone-maps")

    def detect_bone_map(self, armature: dict, preset: str = "auto") -> dict:
        return self.call("POST", f"/{API_VERSION}/bone-maps/detect", {"armature": armature, "preset": preset})

    def retrieve(self, params: dict) -> dict:
        return self.call("POST", f"/{API_VERSION}/retrieve", params)

    def library(self) -> dict:
        return self.call("GET", f"/{API_VERSION}/library")

    def library_motion(self, entry_id: str) -> dict:
        return self.call("GET", f"/{API_VERSION}/library/{entry_id}")

    def library_add(self, folder: str) -> dict:
        return self.call("POST", f"/{API_VERSION}/library/add", {"folder": folder})

    def job(self, job_id: str) -> dict:
        return self.call("GET", f"/{API_VERSION}/jobs/{job_id}")

    def cancel_job(self, job_id: str) -> dict:
        return self.call("DELETE", f"/{API_VERSION}/jobs/{job_id}")
