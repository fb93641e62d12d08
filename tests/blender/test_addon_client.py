"""The add-on's thread runner and HTTP client, without a backend: progress, cancel, errors worded for users."""

import http.server
import json
import socket
import threading
import time

import pytest

pytest.importorskip("bpy")

from blender_addon import tasks  # noqa: E402
from blender_addon.client import BackendError, Client, read_state  # noqa: E402

pytestmark = pytest.mark.blender


def _wait(task, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not task.state.done and time.monotonic() < deadline:
        time.sleep(0.01)
    return task.snapshot()


def test_task_reports_progress_and_result():
    seen = []

    def work(progress, cancelled):
        for i in range(5):
            progress(i / 4, f"step {i}")
            seen.append(i)
        return "ok"

    snap = _wait(tasks.Task("demo", work).start())
    assert snap.done and snap.result == "ok" and snap.error is None
    assert snap.fraction == 1.0 and snap.message == "step 4" and seen == list(range(5))


def test_cancel_stops_work_and_is_reported():
    started = threading.Event()

    def work(progress, cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.005)
        return "partial"

    task = tasks.start("long", work)
    started.wait(2)
    with pytest.raises(RuntimeError, match="still running"):
        tasks.start("second", lambda p, c: None)
    assert tasks.cancel_current()
    snap = _wait(task)
    tasks.finish(task)
    assert snap.cancelled and snap.done
    assert tasks.current() is None


def test_errors_in_the_thread_become_messages():
    def work(progress, cancelled):
        raise BackendError("the backend is gone")

    snap = _wait(tasks.Task("failing", work).start())
    assert snap.error == "the backend is gone" and snap.result is None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_backend_gives_a_clear_error():
    client = Client(f"http://127.0.0.1:{_free_port()}", "token", timeout=2)
    with pytest.raises(BackendError, match="Cannot reach the MoGenTS backend"):
        client.health()


def test_missing_or_garbled_state_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MOGENTS_CONFIG_DIR", str(tmp_path))
    with pytest.raises(BackendError, match="No running MoGenTS backend"):
        Client.from_state_file()
    (tmp_path / "server.json").write_text("{not json")
    assert read_state() is None
    (tmp_path / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "token": "t"}))
    assert read_state()["token"] == "t"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer right":
            self._send(401, {"error": "missing or wrong token"})
        elif self.path == "/v1/health":
            self._send(200, {"status": "ok", "version": "0.0.1"})
        else:
            self._send(404, {"error": "no such route"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not body.get("prompt"):
            self._send(422, {"error": "the prompt is empty"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for i in range(3):
            self.wfile.write(json.dumps({"event": "progress", "stage": "decode", "step": i + 1, "total": 3}).encode()
                             + b"\n")
        self.wfile.write(b'{"event": "result", "motions": []}\n')

    def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_backend():
    """A stand-in HTTP server for the client's error mapping (the real backend is tested end to end elsewhere)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_wrong_token_old_backend_and_backend_errors(fake_backend):
    with pytest.raises(BackendError, match="rejected the access token"):
        Client(fake_backend, "wrong").health()
    with pytest.raises(BackendError, match="version 0.0.1"):
        Client(fake_backend, "right").health()
    with pytest.raises(BackendError, match="the prompt is empty"):
        list(Client(fake_backend, "right").stream("/v1/generate", {"prompt": ""}))
    events = list(Client(fake_backend, "right").stream("/v1/generate", {"prompt": "walk"}))
    assert [e["event"] for e in events] == ["progress"] * 3 + ["result"]
    stopped = list(Client(fake_backend, "right").stream("/v1/generate", {"prompt": "walk"}, cancelled=lambda: True))
    assert stopped == []


def test_generate_body_leaves_steps_and_strength_to_the_model_unless_set():
    from types import SimpleNamespace

    from blender_addon.requests_body import generate_body

    settings = SimpleNamespace(prompt="  a person   walks ", auto_length=True, seconds=4.0, seed=3, variations=2,
                               auto_strength=True, cfg=4.0, steps=0, raw_output=False)
    body = generate_body(settings)
    assert body["steps"] is None and body["prompt"] == "a person walks" and body["seconds"] is None
    assert body["cfg"] is None  # the model's recommended prompt strength
    assert body["raw"] is False  # the backend's animation-ready joints unless the panel asks for raw
    settings.steps, settings.raw_output, settings.auto_strength, settings.cfg = 7, True, False, 2.5
    body = generate_body(settings)
    assert body["steps"] == 7 and body["raw"] is True and body["cfg"] == 2.5
    with pytest.raises(ValueError, match="prompt"):
        generate_body(SimpleNamespace(**{**vars(settings), "prompt": "  "}))
