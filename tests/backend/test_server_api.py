"""Every route of the backend server, over real HTTP on loopback, against the shipped generator."""

from __future__ import annotations

import http.client
import json
import threading
import time

import numpy as np
import pytest

from backend.client import Client, ClientError
from backend.generate.decoding import DecodeOptions
from backend.motion.bvh import parse_bvh_text
from tests.fixtures.server import running_server

FAST = {"steps": 2}
LONG = {"prompt": "a person walks in a circle", "seconds": 10.0, "samples": 8, "steps": 100}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), batch_window_s=0.02) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server) -> Client:
    return server.client()


def _wait(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _local(server, prompt: str, seconds: float | None, seed: int, samples: int = 1, steps: int = 2):
    return server.services.generator.generate(prompt, seconds, seed, samples, DecodeOptions(steps=steps))


def test_health_models_and_openapi(server, client):
    assert client.healthz()
    health = client.health()
    assert health["status"] == "ok" and health["provider"] in ("CPU", "CUDA")
    assert health["models"][0]["name"] == "mogents-corpus-v2-side" and len(health["models"][0]["sha256"]) == 12
    assert set(health["versions"]) >= {"mogents", "onnxruntime", "numpy"}
    assert health["uptime_s"] > 0 and set(health["jobs"]) == {"queued", "running", "done", "failed", "cancelled"}
    models = client.models()
    assert any(m["loaded"] and m["ok"] for m in models)
    paths = client.openapi()["paths"]
    for route in ("/v1/generate", "/v1/edit", "/v1/compose", "/v1/export", "/v1/jobs", "/v1/jobs/{job_id}"):
        assert route in paths


def test_generate_matches_the_in_process_generator(server, client):
    result = client.generate("a person walks forward", seconds=2.0, seed=11, samples=2, **FAST)
    local = _local(server, "a person walks forward", 2.0, 11, samples=2)
    assert len(result["motions"]) == 2
    for got, want in zip(result["motions"], local, strict=True):
        assert np.array_equal(np.asarray(got["features"], np.float32), want.features)
        assert np.array_equal(np.asarray(got["joints"], np.float32), want.joints)
        assert got["fps"] == 20.0 and got["seed"] == 11 and got["seconds"] == pytest.approx(2.0)
        assert got["prompt"] == "a person walks forward"
    auto = client.generate("a person jumps", seconds=None, seed=3, **FAST)["motions"][0]
    assert 0.5 <= auto["seconds"] <= 9.8


def test_stream_sends_ordered_progress_and_ends_with_the_result(server, client):
    events = list(client.generate_stream("a person waves", seconds=2.0, seed=5, steps=4))
    assert events[0]["event"] == "job" and events[-1]["event"] == "result"
    progress = [e for e in events if e["event"] == "progress"]
    stages = [e["stage"] for e in progress]
    assert stages[0] == "text" and "decode" in stages and stages[-1] == "residual"
    decode_steps = [e["step"] for e in progress if e["stage"] == "decode"]
    assert decode_steps == [1, 2, 3, 4] and all(e["total"] == 4 for e in progress if e["stage"] == "decode")
    assert stages.index("residual") > max(i for i, s in enumerate(stages) if s == "decode")
    plain = client.generate("a person waves", seconds=2.0, seed=5, steps=4)
    assert events[-1]["motions"] == plain["motions"]


def test_stream_reports_bad_input_as_http_error(client):
    with pytest.raises(ClientError) as err:
        list(client.generate_stream("walk", seconds=20))
    assert err.value.status == 422


def test_edit_keeps_the_untouched_part_and_streams(server, client):
    source = client.generate("a person walks forward", seconds=2.0, seed=1, **FAST)["motions"][0]
    result = client.edit(source, "a person waves with the right hand", frames=(8, 32), part="right_arm", seed=2,
                         **FAST)
    before, after = np.asarray(source["features"]), np.asarray(result["motion"]["features"])
    assert before.shape == after.shape and np.array_equal(before[:8], after[:8])
    assert not np.array_equal(before, after) and result["report"]["untouched_mpjpe_mm"] < 0.1
    events = list(client.edit_stream(source, "a person waves", joints=["r_wrist", "r_elbow"], seed=2, **FAST))
    assert events[-1]["event"] == "result" and "report" in events[-1]
    for bad in ({"frames": (30, 90)}, {"joints": ["nose"]}, {"part": "tentacle"}):
        with pytest.raises(ClientError) as err:
            client.edit(source, "wave", **bad, **FAST)
        assert err.value.status == 400
    with pytest.raises(ClientError) as err:
        client.edit({"joints": source["joints"]}, "wave", **FAST)
    assert err.value.status == 400 and "features" in err.value.message


def test_compose_and_export(client):
    composed = client.compose(["a person walks forward", "then sits down"], [1.0, 1.0], seed=4, **FAST)["motion"]
    assert len(composed["joints"]) >= 36 and composed["meta"]["segments"] == ["a person walks forward", "sits down"]
    bvh = parse_bvh_text(client.export_bvh({"joints": composed["joints"]}, template="mixamo"))
    assert bvh.num_frames == len(composed["joints"]) and bvh.names[0].startswith("mixamorig:")
    from_features = client.export_bvh({"features": composed["features"], "fps": 20.0})
    assert parse_bvh_text(from_features).num_frames == len(composed["joints"])
    with pytest.raises(ClientError) as err:
        client.export_bvh({"joints": [[[0.0, 0.0]]]})
    assert err.value.status == 400


def test_compose_continues_a_given_motion_keeping_its_frames(client):
    start = client.generate("a person walks forward", 2.0, seed=1, **FAST)["motions"][0]
    cut = 24
    body = {"features": start["features"][:cut], "fps": 20.0, "prompt": "walk"}
    out = client.request("POST", "/v1/compose", {"prompts": ["then jumps"], "seconds": [1.0], "motion": body,
                                                  "seed": 2, **FAST})["motion"]
    assert len(out["features"]) > cut
    np.testing.assert_allclose(np.asarray(out["features"])[:cut - 8], np.asarray(start["features"])[:cut - 8],
                               atol=1e-4)
    assert out["meta"]["segments"] == ["walk", "jumps"]


def test_jobs_run_report_progress_and_expire_from_unknown_ids(client):
    job = client.submit_job("generate", {"prompt": "a person jumps", "seconds": 1.0, "seed": 9, **FAST})
    assert job["status"] in ("queued", "running", "done") and job["kind"] == "generate"
    done = client.wait_job(job["id"], interval=0.02, timeout=60)
    assert done["status"] == "done" and done["progress"]["fraction"] == 1.0
    direct = client.generate("a person jumps", seconds=1.0, seed=9, **FAST)
    assert done["result"]["motions"] == direct["motions"]
    composed = client.wait_job(client.submit_job("compose", {"prompts": ["walk", "jump"], "seconds": [1, 1],
                                                             **FAST})["id"], interval=0.02, timeout=60)
    assert composed["status"] == "done" and "motion" in composed["result"]
    assert job["id"] in {j["id"] for j in client.jobs()}
    for call in (lambda: client.job("nope"), lambda: client.cancel_job("nope")):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.status == 404
    with pytest.raises(ClientError) as err:
        client.submit_job("generate", {"prompt": "walk", "samples": 99})
    assert err.value.status == 422 and "params.samples" in err.value.message
    failed = client.wait_job(client.submit_job("edit", {"motion": {"features": [[0.0] * 263] * 4},
                                                        "prompt": "wave", **FAST})["id"], interval=0.02)
    assert failed["status"] == "failed" and "too short" in failed["error"] and "result" not in failed


@pytest.mark.parametrize("kind", ["generate", "compose"])
def test_cancelling_a_running_job_stops_it_while_health_answers(server, client, kind):
    params = LONG if kind == "generate" else {"prompts": ["walk", "run", "jump"], "seconds": [10, 10, 10],
                                              "steps": 100}
    job = client.submit_job(kind, params)
    _wait(lambda: client.job(job["id"])["status"] == "running")
    assert client.health()["jobs"]["running"] >= 1  # the event loop answers while the model works
    assert client.cancel_job(job["id"])["id"] == job["id"]
    _wait(lambda: client.job(job["id"])["status"] == "cancelled")
    assert "result" not in client.job(job["id"])


def _open_stream(server, body: dict) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/v1/generate", json.dumps({**body, "stream": True}),
                 {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"})
    return conn, conn.getresponse()


def test_client_leaving_a_stream_cancels_the_job_without_leaking_threads(server, client):
    list(client.generate_stream("warm up the stream path", seconds=1.0, **FAST))
    before = {t.ident: t.name for t in threading.enumerate()}
    conn, response = _open_stream(server, LONG)
    job_id = json.loads(response.readline())["id"]
    while json.loads(response.readline()).get("stage") != "decode":
        pass
    conn.sock.close()  # disconnect mid-stream
    conn.close()
    job = server.services.jobs.get(job_id)
    _wait(lambda: job.status == "cancelled")
    assert job.result is None and not job.listeners
    after = {t.ident: t.name for t in threading.enumerate()}
    new = [name for ident, name in after.items() if ident not in before]
    assert all(name.startswith(("mogents-cpu", "mogents-job")) for name in new), new
    assert client.health()["status"] == "ok"


def test_concurrent_clients_are_batched_and_get_their_own_motions(server):
    requests = [(f"a person {verb}", 2.0 if i % 3 else 1.0, 100 + i, 1 + i % 2)
                for i, verb in enumerate(["walks", "runs", "jumps", "waves", "sits", "kicks", "turns", "crouches"] * 4)]
    results: dict[int, dict] = {}
    errors: list[Exception] = []
    batches_before = server.services.batcher.batches

    def ask(i: int) -> None:
        prompt, seconds, seed, samples = requests[i]
        try:
            results[i] = server.client().generate(prompt, seconds=seconds, seed=seed, samples=samples, **FAST)
        except Exception as err:  # collected and reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(results) == 32
    assert server.services.batcher.largest_batch > 1
    assert server.services.batcher.batches - batches_before < 32
    for i in (0, 1, 5, 17, 31):  # batched results equal unbatched in-process generation with the same seed
        prompt, seconds, seed, samples = requests[i]
        local = _local(server, prompt, seconds, seed, samples)
        got = results[i]["motions"]
        assert len(got) == samples
        for g, w in zip(got, local, strict=True):
            assert np.array_equal(np.asarray(g["features"], np.float32), w.features)
