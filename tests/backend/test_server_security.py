"""Server guard and lifecycle: token (401), Host (403), size cap (413), JSON errors, the state and token
files, model checksums, non-loopback binding, and a clean SIGTERM shutdown of a real `mogents serve`."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import stat

import pytest

from backend.cli.main import main
from backend.client import Client, ClientError, ServerUnavailable
from backend.errors import MotionInputError
from backend.generate.loader import DEFAULT_MODEL
from backend.server.auth import host_name
from backend.server.config import ServerSettings
from backend.server.launcher import ServerLauncher
from tests.fixtures.server import running_server, serve_subprocess, wait_for_state_file

CAP = 1_000_000


def _broken_copy(source, target, name: str):
    shutil.copytree(source, target)
    with open(target / name, "r+b") as fh:  # flip one byte: the checksum no longer matches
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    return target


@pytest.fixture(scope="module")
def broken_model(tmp_path_factory):
    return _broken_copy(DEFAULT_MODEL, tmp_path_factory.mktemp("models") / "broken", "vq_decoder.onnx")


@pytest.fixture(scope="module")
def broken_retrieval(tmp_path_factory):
    from backend.retrieve.loader import DEFAULT_MODEL as RETRIEVAL_MODEL

    return _broken_copy(RETRIEVAL_MODEL, tmp_path_factory.mktemp("models") / "retrieval", "text_encoder.onnx")


@pytest.fixture(scope="module")
def server(tmp_path_factory, broken_model, broken_retrieval):
    with running_server(tmp_path_factory.mktemp("config"), max_body_bytes=CAP, extra_models=[broken_model],
                        retrieval_model=broken_retrieval, warmup=False) as srv:
        yield srv


def _raw(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
         chunked: bool = False) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)])
                     if chunked else body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    assert response.getheader("content-type", "").startswith("application/json"), raw[:200]
    return response.status, json.loads(raw)


def _auth(server) -> dict:
    return {"Authorization": f"Bearer {server.token}"}


def test_every_route_but_healthz_needs_the_token(server):
    assert _raw(server, "GET", "/healthz") == (200, {"ok": True})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {server.token}"},
                    {"Authorization": f"Bearer {server.token}x"}):
        for method, path in (("GET", "/v1/health"), ("POST", "/v1/generate"), ("GET", "/openapi.json"),
                             ("GET", "/v1/jobs"), ("GET", "/nowhere")):
            status, body = _raw(server, method, path, headers=headers)
            assert status == 401 and "token" in body["error"]
    assert _raw(server, "GET", "/v1/health", headers=_auth(server))[0] == 200
    assert _raw(server, "GET", "/openapi.json", headers=_auth(server))[0] == 200


@pytest.mark.parametrize("host,allowed", [("localhost", True), ("localhost:8000", True), ("127.0.0.1:1", True),
                                          ("[::1]:9", True), ("evil.example", False), ("evil.example:80", False),
                                          ("127.0.0.1.nip.io", False), ("", False)])
def test_only_loopback_host_headers_are_served(server, host, allowed):
    status, body = _raw(server, "GET", "/v1/health", headers={**_auth(server), "Host": host})
    assert status == (200 if allowed else 403)
    if not allowed:
        assert "not allowed" in body["error"]


def test_host_names_parse():
    assert host_name("LOCALHOST:80") == "localhost" and host_name("[::1]:8080") == "::1" and host_name("::1") == "::1"


def test_bodies_over_the_cap_get_413_by_length_and_while_streaming(server):
    big = json.dumps({"prompt": "walk", "pad": "x" * (CAP + 10)}).encode()
    headers = {**_auth(server), "Content-Type": "application/json"}
    status, body = _raw(server, "POST", "/v1/generate", big, headers)
    assert status == 413 and "larger than" in body["error"]
    status, body = _raw(server, "POST", "/v1/generate", big, headers, chunked=True)
    assert status == 413
    assert server.client().health()["status"] == "ok"


def test_errors_are_json(server):
    headers = {**_auth(server), "Content-Type": "application/json"}
    assert _raw(server, "GET", "/v1/nowhere", headers=headers)[0] == 404
    assert _raw(server, "DELETE", "/v1/generate", headers=headers)[0] == 405
    status, body = _raw(server, "POST", "/v1/generate", b'{"prompt": "walk", "steps": 0, "extra": 1}', headers)
    assert status == 422 and "steps" in body["error"] and "extra" in body["error"]
    status, body = _raw(server, "POST", "/v1/generate", b'{"prompt": "walk", "cfg": NaN}', headers)
    assert status == 422 and "cfg" in body["error"]
    status, body = _raw(server, "POST", "/v1/generate", b"\xff\x00{garbage", headers)
    assert 400 <= status < 500 and body["error"]


def test_state_and_token_files_are_private_and_usable(server):
    state_path = server.config_dir / "server.json"
    for path in (state_path, server.config_dir / "token"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state = json.loads(state_path.read_text())
    assert state["url"] == server.url and state["port"] == server.port and state["pid"] == os.getpid()
    assert state["token"] == server.token == (server.config_dir / "token").read_text().strip()
    assert set(state) >= {"host", "version", "started"}
    assert Client.from_state_file(state_path).health()["status"] == "ok"
    os.environ["MOGENTS_TOKEN"] = "not-the-token"
    try:
        with pytest.raises(ClientError) as err:
            Client.from_state_file(state_path).health()
        assert err.value.status == 401
    finally:
        del os.environ["MOGENTS_TOKEN"]


def test_a_model_failing_its_checksum_is_reported_or_refused(server, broken_model, capsys):
    models = {m["path"]: m for m in server.client().models()}
    entry = models[str(broken_model.resolve())]
    assert not entry["ok"] and "sha256 mismatch" in entry["error"] and not entry["loaded"]
    assert any("sha256 mismatch" in p["error"] for p in server.client().health()["model_problems"])
    assert main(["serve", "--model", str(broken_model), "--log-level", "error"]) == 2
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err and "vq_decoder.onnx" in err
    # a broken retrieval model: the server runs, says why in health, and search answers 400 with the reason
    problem = next(p for p in server.client().health()["model_problems"] if p["name"] == "retrieval")
    assert "sha256 mismatch" in problem["error"] and "text_encoder.onnx" in problem["error"]
    with pytest.raises(ClientError) as failed:
        server.client().retrieve(text="a person walks")
    assert failed.value.status == 400 and "no retrieval model is loaded" in failed.value.message


def test_non_loopback_addresses_need_allow_remote(tmp_path):
    with pytest.raises(MotionInputError, match="allow-remote"):
        ServerLauncher(ServerSettings(host="0.0.0.0")).prepare()
    assert main(["serve", "--host", "192.0.2.1"]) == 2


def test_allow_remote_also_accepts_the_bound_host(tmp_path):
    with running_server(tmp_path, host="127.0.0.2", allow_remote=True, warmup=False) as srv:
        conn = http.client.HTTPConnection("127.0.0.2", srv.port, timeout=30)
        conn.request("GET", "/v1/health", headers={"Authorization": f"Bearer {srv.token}"})
        assert conn.getresponse().status == 200
        conn.close()
    with running_server(tmp_path, host="127.0.0.2", warmup=False) as srv:
        conn = http.client.HTTPConnection("127.0.0.2", srv.port, timeout=30)
        conn.request("GET", "/v1/health", headers={"Authorization": f"Bearer {srv.token}"})
        assert conn.getresponse().status == 403
        conn.close()


def test_sigterm_shuts_down_cleanly_and_removes_the_state_file(tmp_path):
    proc = serve_subprocess(tmp_path, env={"MOGENTS_TOKEN": "token-from-env"})
    try:
        state_path = wait_for_state_file(tmp_path, proc)
        client = Client.from_state_file(state_path)
        assert client.token == "token-from-env"
        assert client.generate("a person walks", seconds=1.0, steps=2)["motions"][0]["seconds"] == 1.0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not state_path.exists()
        with pytest.raises(ServerUnavailable):
            client.health()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
