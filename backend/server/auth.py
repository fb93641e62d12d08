"""Request guard (pure ASGI, in front of everything): Host check, bearer token, request size cap.

- Host: only loopback names (localhost, 127.0.0.1, [::1], any port) unless the server was started with
  --allow-remote, which adds the bound host. A web page that rebinds its DNS name to 127.0.0.1 still sends
  its own name as Host, so this stops DNS-rebinding attacks -> 403.
- Token: `Authorization: Bearer <token>`, compared in constant time, on every path but `/healthz` -> 401.
- Size: bodies over the cap -> 413, judged from Content-Length before reading and again while reading
  (chunked uploads have no Content-Length). The body is read here, then replayed to the app.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import LOOPBACK_NAMES

PUBLIC_PATHS = frozenset({"/healthz"})


def host_name(header: str) -> str:
    """'localhost:8000' -> 'localhost', '[::1]:80' -> '::1', 'a:b:c' (bare IPv6) -> as is."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


async def send_json_error(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: ASGIApp, token: str, allowed_hosts: set[str] | None = None,
                 max_body_bytes: int = 64 * 1024 * 1024):
        self.app = app
        self.token = token.encode()
        self.allowed_hosts = {h.lower().strip("[]") for h in (allowed_hosts or ())} | set(LOOPBACK_NAMES)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        host = headers.get(b"host", b"").decode("latin-1")
        if host_name(host) not in self.allowed_hosts:
            await send_json_error(send, 403, f"host {host!r} is not allowed (loopback names only)")
            return
        if scope["path"] not in PUBLIC_PATHS and not self._authorized(headers.get(b"authorization", b"")):
            await send_json_error(send, 401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                                  [(b"www-authenticate", b"Bearer")])
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_json_error(send, 400, "bad Content-Length")
                return
            if size > self.max_body_bytes:
                await send_json_error(send, 413, self._too_large())
                return
        body = await self._read_body(receive)
        if body is None:
            await send_json_error(send, 413, self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _authorized(self, header: bytes) -> bool:
        scheme, _, value = header.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self.token)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes"

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the cap."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then the real channel (so disconnects still arrive)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
