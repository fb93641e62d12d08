"""Starting and stopping a server: load and warm the model, bind, serve, publish the state file.

`mogents serve` and the test fixture both use `ServerLauncher`: `prepare()` does everything that can fail
on the user's input (model checksum, address) before anything is published; `serve()` blocks, writes the
state file once the socket listens, and removes it when the server stops (SIGINT/SIGTERM or `stop()`).

Stopping is bounded: open streams end with an error event and waiting requests answer 503 at once, jobs are
cancelled, and work that ignores cancellation is left to its daemon thread after SHUTDOWN_TIMEOUT_S, so
SIGTERM ends the process within about GRACEFUL_S + SHUTDOWN_TIMEOUT_S seconds whatever its jobs do.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from types import FrameType

import uvicorn

from ..errors import MotionInputError
from ..generate.decoding import DecodeOptions
from ..generate.generator import Generator
from ..generate.loader import DEFAULT_MODEL, load_generator
from .app import create_app
from .config import ServerSettings, is_loopback, package_version
from .registry import build_registry
from .services import Services
from .state import acquire_server_lock, release_server_lock, remove_state, resolve_token, write_state

log = logging.getLogger("mogents.server")
GRACEFUL_S = 2  # how long uvicorn waits for open requests (which end at once when their jobs are cancelled)


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as err:
        sock.close()
        raise MotionInputError(f"cannot listen on {host}:{port}: {err}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn's server with a hook for the moment the socket accepts connections.

    SIGTERM / SIGINT ask for the normal shutdown and the process then exits with 0: uvicorn would re-raise the
    signal after shutting down, which makes a requested stop look like a crash (exit -15) to supervisors.
    """

    def __init__(self, config: uvicorn.Config, on_started, on_stopping):
        super().__init__(config)
        self._on_started = on_started
        self._on_stopping = on_stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_stopping()  # before uvicorn waits for open requests: they end now instead
        await super().shutdown(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


class ServerLauncher:
    def __init__(self, settings: ServerSettings, generator: Generator | None = None):
        self.settings = settings
        self._generator = generator
        self.started = threading.Event()
        self.url = ""
        self.port = 0
        self.token = ""
        self.services: Services | None = None
        self._server: _Uvicorn | None = None
        self._sock: socket.socket | None = None
        self._lock_fd: int | None = None  # the config folder's server lock, held while serving

    def prepare(self) -> None:
        """Check the address, load (sha256-verified) and warm the generator, bind the socket."""
        s = self.settings
        if not is_loopback(s.host) and not s.allow_remote:
            raise MotionInputError(f"{s.host} is not a loopback address; pass --allow-remote to serve other "
                                   f"machines (anyone with the token can then use the server)")
        if not 0 <= s.port <= 65535:
            raise MotionInputError(f"port must be 0..65535, got {s.port}")
        for root in s.library_roots:
            if not Path(root).is_dir():
                raise MotionInputError("--library-root must be an existing folder", str(root))
        self.token = resolve_token(s.token)
        folder = Path(s.model) if s.model else DEFAULT_MODEL
        generator = self._generator or load_generator(folder, s.device, s.threads)
        if s.warmup:
            start = time.perf_counter()
            generator.generate("a person walks forward", 1.0, seed=0, options=DecodeOptions(steps=2))
            log.info("warm-up generation took %.2f s", time.perf_counter() - start)
        if s.write_state:  # one server per config folder (the state file is its address)
            self._lock_fd = acquire_server_lock()
        try:
            self.services = Services(s, generator, build_registry(folder, s.extra_models))
        except BaseException:
            self._release_lock()
            raise
        try:
            self.services.load_retrieval()
            self._sock = bind_socket(s.host, s.port)
        except BaseException:
            self.services.close()
            self._release_lock()
            raise
        self.port = self._sock.getsockname()[1]
        self.url = url_for(s.host, self.port)
        if not is_loopback(s.host):
            log.warning("serving on non-loopback address %s: other machines can reach this server", s.host)

    def serve(self) -> None:
        """Serve until stopped; the state file exists exactly while the server accepts connections."""
        if self.services is None or self._sock is None:
            self.prepare()
        assert self.services is not None and self._sock is not None
        app = create_app(self.services, self.settings, self.token)
        config = uvicorn.Config(app, log_level=self.settings.log_level, access_log=False, lifespan="on",
                                timeout_graceful_shutdown=GRACEFUL_S)
        self._server = _Uvicorn(config, self._published, self.services.begin_shutdown)
        try:
            self._server.run(sockets=[self._sock])
        finally:
            if self.settings.write_state:
                remove_state()
            self._release_lock()
            self._sock.close()
            self.started.clear()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            release_server_lock(fd)

    def _published(self) -> None:
        if self.settings.write_state:
            write_state(self.url, self.settings.host, self.port, self.token, package_version())
        log.info("serving %s on %s", self.services.generator.info.name if self.services else "?", self.url)
        self.started.set()

    def stop(self) -> None:
        """Ask a server running in another thread to shut down (as SIGTERM does)."""
        if self._server is not None:
            self._server.should_exit = True
