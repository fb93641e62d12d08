"""Fuzzing every route of the real server with hypothesis: bad bodies always get a 4xx JSON error, never a
5xx, and the server keeps answering. Bodies start from a valid, cheap request and get 1-3 mutations that
each make it invalid (wrong types, missing fields, NaN/inf as JSON literals, out-of-range values, unknown
joints and parts, arrays over the size cap), or are random JSON values or random bytes."""

from __future__ import annotations

import http.client
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.rigs import smpl_rig
from tests.fixtures.server import running_server

CAP = 512 * 1024
NAN, INF = float("nan"), float("inf")


class Rows(list):
    """A list that hypothesis reports briefly when a big example fails."""

    def __repr__(self) -> str:
        return f"Rows(<{len(self)} x {len(self[0]) if self else 0}>)"


MOTION = {"features": Rows([0.01 * ((i + j) % 7) for j in range(263)] for i in range(40))}
HUGE = Rows([[0.123456789] * 263] * 300)  # ~1 MB of JSON: over the cap
BAD_NUMBERS = [NAN, INF, -INF, "x", [], {}, None]
BAD_PROMPTS = ["", "   ", "x" * 501, 5, None, [], {"text": "walk"}]
BAD_OPTIONS = {"cfg": [-1, 31, *BAD_NUMBERS], "steps": [0, 101, 1.5, *BAD_NUMBERS],
               "temperature": [-0.1, 11, *BAD_NUMBERS], "top_k": [0, -1, 1e6, *BAD_NUMBERS],
               "seed": [-1, 1.5, 2**64, *BAD_NUMBERS], "stream": [[], {}, 2, "maybe"]}
BAD_MOTIONS = [None, "x", [], {}, {"features": "x"}, {"features": Rows([[1.0, 2.0]] * 40)},
               {"features": Rows([[NAN] * 263] * 40)}, {"features": Rows([[0.0] * 263, [0.0] * 262] * 20)},
               {"features": Rows([[1e39] * 263] * 40)}, {"joints": [[[1e300, 0, 0]] * 22]},
               {"features": HUGE}, {"joints": [[[0.0, 0.0]]]}, {"joints": [[[INF, 0, 0]] * 22]}, {"features": []}]

RIG = smpl_rig()
BAD_ARMATURES = [None, "x", [], {}, {"bones": []}, {"bones": "x"}, {"bones": [{"name": "a"}]}, {"bones": [5]},
                 {"bones": [{"name": "a", "head": [0, 0, 0], "tail": [0, 0, 0]}]},
                 {"bones": [{"name": "a", "parent": "a", "head": [0, 0, 0], "tail": [0, 1, 0]}]},
                 {"bones": [{"name": "a", "head": [NAN, 0, 0], "tail": [0, 1, 0]}]},
                 {"bones": [{"name": "a", "head": [0, 0], "tail": [0, 1, 0]}]},
                 {"bones": [{"name": "a", "matrix": [[2, 0, 0, 0]] * 4, "length": 1}]},
                 {"bones": [{"name": "a", "head": [0, 0, 0], "tail": [0, 1, 0]}] * 2},
                 {**RIG, "up": "W"}, {"bones": [{"name": f"b{i}", "head": [0, 0, i], "tail": [0, 0, i + 1]}
                                                for i in range(1001)]}]
JOINTS = [[[0.1 * j, 0.9 + 0.01 * t, 0.0] for j in range(22)] for t in range(6)]

ROUTES: dict[str, tuple[dict, list[str], dict[str, list]]] = {
    # path: (valid cheap body, required fields, field -> values that make it invalid)
    "/v1/generate": ({"prompt": "a person walks", "seconds": 1.0, "steps": 1}, ["prompt"], {
        "prompt": BAD_PROMPTS, "seconds": [0.1, 10.5, -1, 1e309, *BAD_NUMBERS[:-1]],
        "samples": [0, 9, -3, 1.5, *BAD_NUMBERS], **BAD_OPTIONS}),
    "/v1/edit": ({"motion": MOTION, "prompt": "wave", "frames": [8, 24], "part": "right_arm", "steps": 1},
                 ["motion", "prompt"], {
        "motion": BAD_MOTIONS, "prompt": BAD_PROMPTS, "frames": [[5], [1, 2, 3], [-1, 4], [30, 10], [0, 10**6],
                                                                "0:4", [1.5, 3], [NAN, 4]],
        "joints": [["nose"], "r_wrist", [5], [""], ["x" * 300], ["r_wrist"] * 65],
        "part": [["tentacle"], 5, "", "x" * 300, [None]], **BAD_OPTIONS}),
    "/v1/compose": ({"prompts": ["walk", "jump"], "seconds": [1.0, 1.0], "steps": 1}, ["prompts"], {
        "prompts": [[], [""], "walk", [5], ["walk"] * 17, None], "seconds": [[0.1, 1], [1, 2, 3], "x", [NAN, 1],
                                                                              [1, 11]], **BAD_OPTIONS}),
    "/v1/export": ({"motion": {"joints": [[[0.0, 0.9, 0.0]] * 22] * 4}}, ["motion"], {
        "motion": BAD_MOTIONS, "template": ["xyz", 5, None], "units": ["mm", 1],
        "fps": [0, -1, 1e9, *BAD_NUMBERS[:-1]]}),
    "/v1/jobs": ({"kind": "generate", "params": {"prompt": "walk", "seconds": 1.0, "steps": 1}}, ["kind"], {
        "kind": ["nope", 5, None, []], "params": [5, "x", [], {"prompt": ""}, {"prompt": "walk", "samples": 0},
                                                  {"prompt": "walk", "stream": True}, {"motion": MOTION}]}),
    "/v1/retarget": ({"armature": RIG, "motion": {"joints": JOINTS}}, ["armature", "motion"], {
        "armature": BAD_ARMATURES, "motion": BAD_MOTIONS,
        "bone_map": [{"mapping": {"pelvis": "nope"}}, {"mapping": {"nose": "pelvis"}}, {}, "x", {"mapping": []},
                     {"mapping": {"pelvis": 5}}, {"mapping": {"pelvis": "l_hip", "l_hip": "pelvis"}},
                     {"mapping": {"pelvis": "pelvis", "spine1": "pelvis"}}],
        "preset": ["nope", 5, "x" * 60], "root_motion": ["flying", 1], "scale": [0, -1, *BAD_NUMBERS[:-1]],
        "foot_cleanup": ["x", [], 3], "fps": [0, -1, *BAD_NUMBERS[:-1]]}),
    "/v1/bone-maps/detect": ({"armature": RIG}, ["armature"], {"armature": BAD_ARMATURES,
                                                               "preset": ["nope", 5, None, "x" * 60]}),
    "/v1/retrieve": ({"text": "a person walks", "k": 2}, ["text"], {
        "text": ["", "   ", 5, "x" * 2001, []], "k": [0, -1, 1001, 1.5, *BAD_NUMBERS],
        "motion": BAD_MOTIONS[1:], "video": [{"data": "!!!"}, {"data": ""}, "x", 5, {"data": "AAAA"}]}),
    "/v1/library/add": ({"folder": "/nonexistent/motions"}, ["folder"], {
        "folder": ["", 5, None, "x" * 5000, "\x00"], "split": ["../test", "x" * 70, "", 5]}),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), max_body_bytes=CAP, warmup=False) as srv:
        yield srv


def _post(server, path: str, body: bytes, method: str = "POST") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Authorization": f"Bearer {server.token}",
                                                       "Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    return response.status, json.loads(raw)


def _mutations(path: str):
    _, required, bad = ROUTES[path]
    drop = st.sampled_from(required).map(lambda f: ("drop", f, None))
    replace = st.sampled_from(sorted(bad)).flatmap(lambda f: st.sampled_from(bad[f]).map(lambda v: ("set", f, v)))
    unknown = st.text(min_size=1, max_size=10).filter(lambda k: k not in bad and k not in required).map(
        lambda k: ("set", k, 1))
    return st.lists(st.one_of(drop, replace, unknown), min_size=1, max_size=3)


def _apply(base: dict, mutations: list[tuple]) -> dict:
    body = dict(base)
    for op, field, value in mutations:
        if op == "drop":
            body.pop(field, None)
        else:
            body[field] = value
    return body


def _check_error(status: int, body: dict) -> None:
    assert 400 <= status < 500, (status, body)
    assert isinstance(body.get("error"), str) and body["error"]


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_mutated_bodies_get_4xx_json(server, path):
    @FUZZ
    @given(_mutations(path))
    def run(mutations):
        _check_error(*_post(server, path, json.dumps(_apply(ROUTES[path][0], mutations)).encode()))

    run()


json_values = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                             children, max_size=4),
                           max_leaves=12)


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_random_json_and_bytes_get_4xx_json(server, path):
    @FUZZ
    @given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
    def run(body):
        status, answer = _post(server, path, body)
        _check_error(status, answer)

    run()


@FUZZ
@given(st.text(min_size=1, max_size=40), st.sampled_from(["GET", "DELETE"]),
       st.sampled_from(["/v1/jobs/", "/v1/library/"]))
def test_unknown_ids_get_404(server, item_id, method, prefix):
    from urllib.parse import quote

    status, body = _post(server, prefix + quote(item_id, safe=""), b"", method)
    assert status == 404 and body["error"]


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["", "; boundary=XyZ", "; boundary=", '; boundary="a b"']))
def test_garbage_multipart_gets_4xx_json(server, body, params):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", "/v1/retrieve", body=b"--XyZ\r\n" + body, headers={
            "Authorization": f"Bearer {server.token}", "Content-Type": "multipart/form-data" + params})
        response = conn.getresponse()
        _check_error(response.status, json.loads(response.read()))
    finally:
        conn.close()


def test_the_server_survives_and_no_job_hit_a_bug(server):
    client = server.client()
    assert client.health()["status"] == "ok"
    assert client.generate("a person walks", seconds=1.0, steps=1)["motions"]
    assert not [j for j in server.services.jobs.list() if j.error_status == 500]
