"""A small client for the MoGenTS backend HTTP API, standard library only (`http.client`, `json`).

    from backend.client import Client
    client = Client.from_state_file()              # address and token of the running `mogents serve`
    result = client.generate("a person walks forward", seconds=4, seed=1)
    for event in client.generate_stream("a person waves", seconds=3):
        print(event)                               # job, progress ..., then result (or error)

Arrays may be passed as nested lists or as anything with `.tolist()` (numpy arrays); results come back as
plain JSON (nested lists). Errors from the server raise `ClientError` with its HTTP status and message;
an unreachable server raises `ServerUnavailable`, and so does a stream that ends before its last event (a
`result` or an `error`): the server died or the connection broke. Leaving a stream early closes the
connection, which cancels the work on the server.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

TOKEN_ENV = "MOGENTS_TOKEN"
LAST_EVENTS = ("result", "error")  # a stream ends with one of these; without one it was cut


class ClientError(Exception):
    """The server answered with an error (`status`, `message`), or could not be asked at all."""

    def __init__(self, status: int | None, message: str):
        self.status, self.message = status, message
        super().__init__(f"{message} (HTTP {status})" if status else message)


class ServerUnavailable(ClientError):
    """No server answers at the address (not started, or stopped)."""


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot send {type(obj).__name__} as JSON")


def _pid_gone(pid: int) -> bool:
    """True only when no process has this pid on this machine (the state file's server was killed)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; the connection will tell
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists under another user, or cannot be asked (Windows without the right): assume alive
        return False
    return False


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 600.0):
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(None, f"not a server URL: {url!r}")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_state_file(cls, path: str | Path | None = None, token: str | None = None,
                        timeout: float = 600.0) -> Client:
        """The running server's address from `config_home()/server.json`; the token from the argument, else
        MOGENTS_TOKEN, else the state file."""
        if path is None:
            from .paths import config_home

            path = config_home() / "server.json"
        try:
            state = json.loads(Path(path).read_text(encoding="utf-8"))
            url = state["url"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ServerUnavailable(None, f"no running server found (no readable state file {path}); "
                                          f"start one with `mogents serve`") from None
        pid = state.get("pid")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and _pid_gone(pid):
            raise ServerUnavailable(None, f"the state file {path} is left over from a server that is not running "
                                          f"(pid {pid}); start one with `mogents serve`")
        return cls(url, token or os.environ.get(TOKEN_ENV) or state.get("token"), timeout)

    # ------------------------------------------------------------------------------------ transport

    def _connection(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self.timeout)

    def _send(self, method: str, path: str, body: Any = None, raw: tuple[bytes, str] | None = None
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send JSON `body`, or `raw` (bytes, content type); errors raise, success returns the open response."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if raw is not None:
            data, headers["Content-Type"] = raw
        elif body is not None:
            data = json.dumps(body, default=_jsonable).encode()
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
        except OSError as err:
            conn.close()
            raise ServerUnavailable(None, f"no answer from {self.url}: {err}") from None
        if response.status >= 400:
            raw = response.read()
            conn.close()
            try:
                message = json.loads(raw).get("error") or raw.decode(errors="replace")
            except (ValueError, AttributeError):
                message = raw.decode(errors="replace")[:500]
            raise ClientError(response.status, message)
        return conn, response

    def request(self, method: str, path: str, body: Any = None, raw: tuple[bytes, str] | None = None) -> Any:
        """One call; the parsed JSON answer."""
        conn, response = self._send(method, path, body, raw)
        try:
            raw = response.read()
        except OSError as err:
            raise ServerUnavailable(None, f"connection to {self.url} lost: {err}") from None
        finally:
            conn.close()
        return json.loads(raw) if raw else None

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST with "stream": true; yields the NDJSON events up to the last one (`result` or `error`).
        Stopping early disconnects (cancels the work); a stream cut before its last event raises
        ServerUnavailable."""
        conn, response = self._send("POST", path, {**body, "stream": True})
        try:
            while line := response.readline():
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    raise ServerUnavailable(None, f"the stream from {self.url} broke off mid-event "
                                                  f"({line[:80]!r})") from None
                yield event
                if isinstance(event, dict) and event.get("event") in LAST_EVENTS:
                    return
        except (OSError, http.client.HTTPException) as err:
            raise ServerUnavailable(None, f"connection to {self.url} lost mid-stream: {err!r}; the stream "
                                          "ended before its result") from None
        finally:
            conn.close()
        raise ServerUnavailable(None, f"the stream from {self.url} ended before its result (the server stopped "
                                      "or the connection broke)")

    # --------------------------------------------------------------------------------------- system

    def healthz(self) -> bool:
        try:
            return bool(self.request("GET", "/healthz").get("ok"))
        except ClientError:
            return False

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/v1/health")

    def models(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/models")["models"]

    def openapi(self) -> dict[str, Any]:
        return self.request("GET", "/openapi.json")

    def wait_until_up(self, timeout: float = 60.0, interval: float = 0.1) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthz():
            if time.monotonic() > deadline:
                raise ServerUnavailable(None, f"no server came up at {self.url} within {timeout:g} s")
            time.sleep(interval)

    # ----------------------------------------------------------------------------------- generation

    @staticmethod
    def _generate_body(prompt: str, seconds: float | None, seed: int, samples: int, **options: Any) -> dict:
        return _drop_none({"prompt": prompt, "seconds": seconds, "seed": seed, "samples": samples, **options})

    def generate(self, prompt: str, seconds: float | None = None, seed: int = 0, samples: int = 1,
                 **options: Any) -> dict[str, Any]:
        """{"motions": [{"joints", "features", "fps", "seconds", "prompt", "seed", "meta"}, ...]}.
        options: cfg, steps, temperature, top_k, raw (True: the model's own joints instead of the animation-ready
        ones; also for edit and compose); control (also for edit): path={"points": [[t, x, z], ...]} or
        {"dense": [[x, z], ...]}, keyframes={"frames": [...], "joints": (K, 22, 3), "mask": (K, 22)} (lists or
        numpy arrays; see `backend.motion.constraints`)."""
        return self.request("POST", "/v1/generate", self._generate_body(prompt, seconds, seed, samples, **options))

    def generate_stream(self, prompt: str, seconds: float | None = None, seed: int = 0, samples: int = 1,
                        **options: Any) -> Iterator[dict[str, Any]]:
        return self.stream("/v1/generate", self._generate_body(prompt, seconds, seed, samples, **options))

    @staticmethod
    def _edit_body(motion: dict[str, Any], prompt: str, frames: tuple[int, int] | None, joints: list[str] | None,
                   part: list[str] | str | None, seed: int, **options: Any) -> dict:
        return _drop_none({"motion": motion, "prompt": prompt, "frames": list(frames) if frames else None,
                           "joints": joints, "part": part, "seed": seed, **options})

    def edit(self, motion: dict[str, Any], prompt: str, frames: tuple[int, int] | None = None,
             joints: list[str] | None = None, part: list[str] | str | None = None, seed: int = 0,
             **options: Any) -> dict[str, Any]:
        """{"motion": ..., "report": {...}}; `motion` needs "features" (as generate returns them)."""
        return self.request("POST", "/v1/edit", self._edit_body(motion, prompt, frames, joints, part, seed, **options))

    def edit_stream(self, motion: dict[str, Any], prompt: str, frames: tuple[int, int] | None = None,
                    joints: list[str] | None = None, part: list[str] | str | None = None, seed: int = 0,
                    **options: Any) -> Iterator[dict[str, Any]]:
        return self.stream("/v1/edit", self._edit_body(motion, prompt, frames, joints, part, seed, **options))

    def compose(self, prompts: list[str], seconds: list[float | None] | None = None, seed: int = 0,
                **options: Any) -> dict[str, Any]:
        return self.request("POST", "/v1/compose", _drop_none({"prompts": prompts, "seconds": seconds, "seed": seed,
                                                               **options}))

    def compose_stream(self, prompts: list[str], seconds: list[float | None] | None = None, seed: int = 0,
                       **options: Any) -> Iterator[dict[str, Any]]:
        return self.stream("/v1/compose", _drop_none({"prompts": prompts, "seconds": seconds, "seed": seed,
                                                      **options}))

    def export_bvh(self, motion: dict[str, Any], template: str = "smpl", units: str = "m",
                   fps: float | None = None) -> str:
        """BVH text of a motion given as {"joints": (T, 22, 3)} or {"features": (T, 263)} (plus "fps")."""
        body = _drop_none({"motion": motion, "template": template, "units": units, "fps": fps})
        return self.request("POST", "/v1/export", body)["bvh"]

    # ------------------------------------------------------------------------------------------ jobs

    def submit_job(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/jobs", {"kind": kind, "params": params})

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/jobs/{quote(job_id, safe='')}")

    def jobs(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/jobs")["jobs"]

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/jobs/{quote(job_id, safe='')}")

    def wait_job(self, job_id: str, interval: float = 0.2, timeout: float | None = None) -> dict[str, Any]:
        """Poll until the job is done, failed or cancelled; its last state (with "result" when done)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.job(job_id)
            if state["status"] in ("done", "failed", "cancelled"):
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(None, f"job {job_id} still {state['status']} after {timeout:g} s")
            time.sleep(interval)

    # ------------------------------------------------------------------------------- library, search

    def retrieve(self, text: str | None = None, motion: dict[str, Any] | None = None,
                 video: bytes | str | Path | None = None, k: int = 10) -> dict[str, Any]:
        """Search the library by one of: text, a motion ({"features": (T, 263)}), or a video file (bytes or a
        path; uploaded as multipart/form-data). {"query", "model", "hits": [{"rank", "id", "name", "score",
        "captions"}]}."""
        if video is None:
            return self.request("POST", "/v1/retrieve", _drop_none({"text": text, "motion": motion, "k": k}))
        if text is not None or motion is not None:
            raise ClientError(None, "give exactly one query: text, motion or video")
        content = video if isinstance(video, bytes) else Path(video).read_bytes()
        name = "video" if isinstance(video, bytes) else Path(video).name
        return self.request("POST", "/v1/retrieve", raw=_multipart({"k": str(k)}, {"video": (name, content)}))

    def library(self) -> dict[str, Any]:
        """{"entries": [...], "info": {...}}"""
        return self.request("GET", "/v1/library")

    def library_add(self, folder: str | Path, split: str | None = None) -> dict[str, Any]:
        """Start adding a folder (on the server's machine); returns the job (see `wait_job`)."""
        return self.request("POST", "/v1/library/add", _drop_none({"folder": str(folder), "split": split}))

    def library_get(self, entry_id: str) -> dict[str, Any]:
        """{"entry": {...}, "motion": {...shaped like a generated motion}}"""
        return self.request("GET", f"/v1/library/{quote(entry_id, safe='')}")

    def library_remove(self, entry_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/library/{quote(entry_id, safe='')}")

    # ------------------------------------------------------------------------------------- retarget

    def retarget(self, armature: dict[str, Any], motion: dict[str, Any], bone_map: dict[str, Any] | None = None,
                 preset: str | None = None, root_motion: str = "full", scale: float | None = None,
                 foot_cleanup: bool = True, fps: float | None = None,
                 origin: list[float] | None = None) -> dict[str, Any]:
        """Per-bone rotations ({bone: T x 4 wxyz}) and root location (T x 3) for an armature's rest pose."""
        return self.request("POST", "/v1/retarget", _drop_none({
            "armature": armature, "motion": motion, "bone_map": bone_map, "preset": preset,
            "root_motion": root_motion, "scale": scale, "foot_cleanup": foot_cleanup, "fps": fps,
            "origin": origin}))

    def to_motion(self, armature: dict[str, Any], path: dict[str, Any] | None = None,
                  pose: dict[str, Any] | None = None, bone_map: dict[str, Any] | None = None,
                  preset: str | None = None, scale: float | None = None) -> dict[str, Any]:
        """A curve ({times, points} in armature space) and posed bones ({frames, matrices: {bone: K x 4x4}}) in the
        motion frame: {"path", "keyframes", "scale", "origin"} for `generate(path=..., keyframes=...)` and
        `retarget(scale=..., origin=...)`."""
        return self.request("POST", "/v1/retarget/to-motion", _drop_none({
            "armature": armature, "path": path, "pose": pose, "bone_map": bone_map, "preset": preset,
            "scale": scale}))

    def bone_maps(self) -> list[str]:
        return self.request("GET", "/v1/bone-maps")["presets"]

    def detect_bone_map(self, armature: dict[str, Any], preset: str = "auto") -> dict[str, Any]:
        return self.request("POST", "/v1/bone-maps/detect", {"armature": armature, "preset": preset})


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = "mogents-" + os.urandom(12).hex()
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{safe}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
