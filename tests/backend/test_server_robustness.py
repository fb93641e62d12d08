"""The server when things go wrong around it: stuck or cancelled jobs, SIGTERM and SIGKILL mid-stream, clients
that leave, two servers on one config folder, and library paths outside the allowed roots.

Real servers on loopback: in-process (`running_server`) where a test looks at the job table, a `mogents serve`
process where it needs signals and exit codes.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.client import Client, ServerUnavailable
from tests.fixtures.server import REPO, running_server, wait_for_state_file

LONG = {"prompt": "a person walks in a circle", "seconds": 10.0, "samples": 8, "steps": 100}
FINISHED = ("done", "failed", "cancelled")


def _wait(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:g} s"
        time.sleep(0.02)


def _serve(config_dir: Path, *args: str, script: str | None = None) -> subprocess.Popen:
    """`mogents serve --port 0` as a process of its own; `script` runs first (to plant a stuck reader)."""
    env = {**os.environ, "MOGENTS_CONFIG_DIR": str(config_dir), "MOGENTS_HOME": str(config_dir / "data"),
           "OMP_NUM_THREADS": "1"}
    code = (script or "") + "\nimport sys\nfrom backend.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0", "--log-level", "warning", *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


def _clip_folder(folder: Path, clips: int = 3) -> Path:
    from tests.backend.test_library_safety import write_clips

    write_clips(folder, range(clips))
    return folder


# ------------------------------------------------------------------------------ stuck and cancelled jobs

# a motion reader that never returns and ignores cancellation: what a FIFO did to `library add` before
STUCK_READER = """
import threading
import backend.retrieve.library as library
library.load_motion = lambda source: threading.Event().wait()
"""


def test_sigterm_ends_the_server_within_5_s_even_with_a_stuck_job(tmp_path):
    proc = _serve(tmp_path, script=STUCK_READER)
    try:
        client = Client.from_state_file(wait_for_state_file(tmp_path, proc), timeout=30)
        job = client.library_add(_clip_folder(tmp_path / "clips"))
        _wait(lambda: client.job(job["id"])["status"] == "running", what="the job running")
        time.sleep(0.3)  # inside the stuck reader now
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not stop a server with a stuck job")
        assert time.monotonic() - start < 5.0 and code == 0
        assert not (tmp_path / "server.json").exists()
    finally:
        _stop(proc)


def test_a_cancelled_library_add_of_special_files_stops(tmp_path):
    folder = _clip_folder(tmp_path / "clips", clips=2)
    os.mkfifo(folder / "a.bvh")                 # first in name order: the job meets it at once
    os.symlink("/dev/zero", folder / "b.npy")
    with running_server(tmp_path / "config", warmup=False) as srv:
        client = srv.client(timeout=30)
        job = client.library_add(folder)
        _wait(lambda: client.job(job["id"])["status"] != "queued", what="the job starting")
        client.cancel_job(job["id"])
        _wait(lambda: client.job(job["id"])["status"] in FINISHED, timeout=10, what="the cancelled job ending")
        # the same folder again, not cancelled: the special files are reported, the clips added
        done = client.wait_job(client.library_add(folder)["id"], interval=0.05, timeout=20)
        assert done["status"] == "done", done
        failed = {Path(f["source"]).name: f["reason"] for f in done["result"]["failed"]}
        assert sorted(failed) == ["a.bvh", "b.npy"] and all("not a regular file" in r for r in failed.values())
        assert done["result"]["entries"] == 2


# ----------------------------------------------------------------------------------- streams cut short

def _stream_until_decoding(client: Client):
    """A long streamed generate, read up to its first decoding step: (the event iterator, events so far)."""
    events = client.generate_stream(**LONG)
    seen = []
    for event in events:
        seen.append(event)
        if event.get("stage") == "decode":
            return events, seen
    pytest.fail(f"the stream ended before decoding: {seen}")


def test_the_client_raises_when_the_server_dies_mid_stream(tmp_path):
    proc = _serve(tmp_path, "--no-retrieval")
    try:
        client = Client.from_state_file(wait_for_state_file(tmp_path, proc), timeout=30)
        events, seen = _stream_until_decoding(client)
        proc.kill()
        proc.wait(10)
        with pytest.raises(ServerUnavailable, match="ended before its result"):
            for event in events:
                seen.append(event)
        assert seen[0]["event"] == "job" and all(e["event"] != "result" for e in seen)
    finally:
        _stop(proc)


def test_sigterm_ends_open_streams_with_an_error_event(tmp_path):
    proc = _serve(tmp_path, "--no-retrieval")
    try:
        client = Client.from_state_file(wait_for_state_file(tmp_path, proc), timeout=30)
        events, _ = _stream_until_decoding(client)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = list(events)  # the stream ends, with an error event, instead of being cut
        assert rest[-1]["event"] == "error" and rest[-1]["status"] == 503, rest[-1:]
        assert "shutting down" in rest[-1]["error"]
        assert proc.wait(10) == 0 and time.monotonic() - start < 5.0
    finally:
        _stop(proc)


# ---------------------------------------------------------------------------------- clients that leave

def test_a_plain_generate_whose_client_left_is_cancelled(tmp_path):
    with running_server(tmp_path / "config", warmup=False, retrieval=False) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.request("POST", "/v1/generate", json.dumps(LONG),
                     {"Authorization": f"Bearer {srv.token}", "Content-Type": "application/json"})

        def decoding():
            return [j for j in srv.services.jobs.list() if j.kind == "generate" and j.stage == "decode"]

        _wait(lambda: bool(decoding()), what="the generate decoding")
        (job,) = decoding()
        conn.sock.close()  # the client leaves without reading the answer
        conn.close()
        _wait(lambda: job.status == "cancelled", timeout=5, what="the job of the departed client cancelled")
        assert job.step < job.total and job.result is None
        # the generator is free for the next client at once
        start = time.monotonic()
        assert srv.client().generate("a person waves", seconds=1.0, steps=2)["motions"]
        assert time.monotonic() - start < 5.0


# --------------------------------------------------------------------------- one server per config folder

def test_a_second_server_on_one_config_folder_is_refused_and_the_first_keeps_its_state(tmp_path):
    first = _serve(tmp_path, "--no-retrieval")
    try:
        state_path = wait_for_state_file(tmp_path, first)
        state = json.loads(state_path.read_text())
        second = _serve(tmp_path, "--no-retrieval")
        try:
            code = second.wait(30)
        except subprocess.TimeoutExpired:
            second.send_signal(signal.SIGTERM)  # it runs beside the first: stopping it deletes the first's state
            second.wait(30)
            pytest.fail(f"a second server started on one config folder; state file left: {state_path.exists()}")
        _, err = second.communicate()
        assert code == 2 and f"another mogents server (pid {first.pid}" in err and str(tmp_path) in err, err
        assert json.loads(state_path.read_text()) == state  # untouched
        assert Client.from_state_file(state_path).health()["status"] == "ok"
        first.send_signal(signal.SIGTERM)
        assert first.wait(10) == 0 and not state_path.exists()
    finally:
        _stop(first)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("pid", ["dead", "alive, not a server"])
def test_a_stale_state_file_is_detected_and_replaced(tmp_path, pid):
    stale_pid = _dead_pid() if pid == "dead" else os.getpid()
    state_path = tmp_path / "server.json"
    state_path.write_text(json.dumps({"url": "http://127.0.0.1:9", "host": "127.0.0.1", "port": 9,
                                      "token": "old", "pid": stale_pid}))
    if pid == "dead":  # a client is told the server is gone, instead of trying its address
        with pytest.raises(ServerUnavailable, match=f"left over from a server that is not running \\(pid {stale_pid}"):
            Client.from_state_file(state_path)
    with running_server(tmp_path, warmup=False, retrieval=False) as srv:
        state = json.loads(state_path.read_text())
        assert state["pid"] == os.getpid() and state["url"] == srv.url
        assert Client.from_state_file(state_path).health()["status"] == "ok"
    assert not state_path.exists()


# ------------------------------------------------------------------------- library paths under --allow-remote

def _add_status(srv, folder: Path, via_jobs: bool = False) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    body = {"kind": "library_add", "params": {"folder": str(folder)}} if via_jobs else {"folder": str(folder)}
    conn.request("POST", "/v1/jobs" if via_jobs else "/v1/library/add", json.dumps(body),
                 {"Authorization": f"Bearer {srv.token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    status, answer = response.status, json.loads(response.read())
    conn.close()
    return status, answer


def test_allow_remote_without_library_roots_refuses_every_folder(tmp_path):
    clips = _clip_folder(tmp_path / "clips", clips=1)
    with running_server(tmp_path / "config", warmup=False, allow_remote=True) as srv:
        for via_jobs in (False, True):
            status, answer = _add_status(srv, clips, via_jobs)
            assert status == 403 and "--library-root" in answer["error"], answer
        assert not srv.services.jobs.list()  # nothing started


def test_library_roots_bound_what_library_add_may_read(tmp_path):
    root = _clip_folder(tmp_path / "root" / "clips", clips=2).parent
    outside = _clip_folder(tmp_path / "outside", clips=1)
    (root / "escape").symlink_to(outside, target_is_directory=True)
    os.symlink(next(outside.glob("*.npy")), root / "clips" / "linked_out.npy")
    with running_server(tmp_path / "config", warmup=False, allow_remote=True, library_roots=[root]) as srv:
        for path in (outside, root / ".." / "outside", root / "escape", Path("/etc")):
            for via_jobs in (False, True):
                status, answer = _add_status(srv, path, via_jobs)
                assert status == 403 and "outside the library roots" in answer["error"], (path, answer)
                assert str(root.resolve()) in answer["error"]
        status, answer = _add_status(srv, root / "clips")
        assert status == 202
        done = srv.client().wait_job(answer["id"], interval=0.05, timeout=20)
        failed = {Path(f["source"]).name: f["reason"] for f in done["result"]["failed"]}
        assert list(failed) == ["linked_out.npy"] and "outside the library roots" in failed["linked_out.npy"]
        assert done["result"]["entries"] == 2


def test_library_roots_must_be_folders(tmp_path):
    from backend.cli.main import main

    code = main(["serve", "--no-retrieval", "--library-root", str(tmp_path / "missing")])
    assert code == 2
