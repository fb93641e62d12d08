"""The stdlib client and the CLI's --server option against a real server: the same files as in-process."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from backend.cli.main import main
from backend.client import Client, ClientError, ServerUnavailable
from tests.fixtures.server import running_server

GEN = ["--seconds", "2", "--seed", "7", "--steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("config"), warmup=False) as srv:
        yield srv


def _same_files(a, b) -> None:
    assert a.read_bytes() == b.read_bytes()


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_generate_gives_the_same_files_in_process_and_on_the_server(server, tmp_path, capsys):
    local, remote = tmp_path / "local", tmp_path / "remote"
    for name in ("m.npz", "m.bvh", "m.npy"):
        assert main(["generate", "a person walks forward", *GEN, "-o", str(local / name)]) == 0
        assert main(["generate", "a person walks forward", *GEN, "-o", str(remote / name), "--server"]) == 0
        _same_files(local / name, remote / name)
    # an explicit URL, two samples, progress bars fed by the stream (not --quiet)
    assert main(["generate", "a person jumps", "--seconds", "1", "--samples", "2", "--steps", "2",
                 "-o", str(local / "s.npz")]) == 0
    code, out, _ = _run(["generate", "a person jumps", "--seconds", "1", "--samples", "2", "--steps", "2",
                         "-o", str(remote / "s.npz"), f"--server={server.url}"], capsys)
    assert code == 0 and "wrote" in out
    for i in range(2):
        _same_files(local / f"s_{i}.npz", remote / f"s_{i}.npz")


def test_edit_compose_and_export_match(server, tmp_path, capsys):
    src = tmp_path / "in.npz"
    assert main(["generate", "a person walks forward", *GEN, "-o", str(src)]) == 0
    edit = ["edit", str(src), "--prompt", "a person waves with the right hand", "--frames", "8:32", "--part",
            "right_arm", "--steps", "2", "--quiet"]
    code_l, out_l, _ = _run([*edit, "-o", str(tmp_path / "e_local.npz")], capsys)
    code_r, out_r, _ = _run([*edit, "-o", str(tmp_path / "e_remote.npz"), "--server"], capsys)
    assert code_l == code_r == 0 and out_l == out_r and "untouched_mpjpe_mm" in out_r
    _same_files(tmp_path / "e_local.npz", tmp_path / "e_remote.npz")
    compose = ["compose", "a person walks", "then jumps", "--seconds", "1,1", "--steps", "2", "--quiet"]
    assert main([*compose, "-o", str(tmp_path / "c_local.npz")]) == 0
    assert main([*compose, "-o", str(tmp_path / "c_remote.npz"), "--server"]) == 0
    _same_files(tmp_path / "c_local.npz", tmp_path / "c_remote.npz")
    for extra in ([], ["--template", "mixamo", "--units", "cm"]):
        code_l, out_l, _ = _run(["export", "bvh", str(src), "-o", str(tmp_path / "l.bvh"), *extra], capsys)
        code_r, out_r, _ = _run(["export", "bvh", str(src), "-o", str(tmp_path / "r.bvh"), *extra, "--server"],
                                capsys)
        assert code_l == code_r == 0 and out_l.replace("l.bvh", "r.bvh") == out_r
        _same_files(tmp_path / "l.bvh", tmp_path / "r.bvh")


def test_retarget_matches(server, tmp_path, capsys):
    from tests.fixtures.rigs import mixamo_rig

    src = tmp_path / "walk.npz"
    assert main(["generate", "a person walks forward", *GEN, "-o", str(src)]) == 0
    (tmp_path / "rig.json").write_text(json.dumps(mixamo_rig()))
    (tmp_path / "map.json").write_text(json.dumps({"mapping": {"pelvis": "mixamorig:Hips",
                                                               "l_hip": "mixamorig:LeftUpLeg"}}))
    for extra in ([], ["--in-place", "--no-foot-cleanup", "--scale", "80"], ["--map", str(tmp_path / "map.json")]):
        base = ["retarget", str(src), "--armature", str(tmp_path / "rig.json"), *extra]
        code_l, out_l, err_l = _run([*base, "-o", str(tmp_path / "local.json")], capsys)
        code_r, out_r, err_r = _run([*base, "-o", str(tmp_path / "remote.json"), "--server"], capsys)
        assert code_l == code_r == 0 and out_l.replace("local", "remote") == out_r and err_l == err_r
        _same_files(tmp_path / "local.json", tmp_path / "remote.json")
    code, _, err = _run(["retarget", str(src), "--armature", str(tmp_path / "rig.json"), "--preset", "nope",
                         "-o", str(tmp_path / "x.json"), "--server"], capsys)
    assert code == 2 and "preset" in err and not (tmp_path / "x.json").exists()


def test_library_and_retrieve_match(server, tmp_path, capsys):
    folder = tmp_path / "motions"
    for i, prompt in enumerate(["a person walks forward", "a person jumps up", "a person waves"]):
        assert main(["generate", prompt, "--seconds", "2", "--seed", str(i), "--steps", "2", "--quiet",
                     "-o", str(folder / f"clip{i}.npz")]) == 0
    code, out, _ = _run(["library", "add", str(folder), "--quiet", "--json", "--server"], capsys)
    assert code == 0 and len(json.loads(out)["added"]) == 3
    code, again, _ = _run(["library", "add", str(folder), "--quiet", "--server"], capsys)
    assert code == 0 and "added 0, skipped 3" in again
    library = str(server.services.library.folder)
    for query in (["a person jumps"], ["--motion", str(folder / "clip1.npz")]):
        code_l, out_l, _ = _run(["retrieve", *query, "-k", "2", "--json", "--library", library], capsys)
        code_r, out_r, _ = _run(["retrieve", *query, "-k", "2", "--json", "--server"], capsys)
        assert code_l == code_r == 0 and json.loads(out_l) == json.loads(out_r)
    for action in (["list"], ["info", "--json"]):
        assert _run(["library", *action, "--library", library], capsys)[1] == \
            _run(["library", *action, "--server"], capsys)[1]
    first = server.services.library.entries()[0].id
    code, out, _ = _run(["library", "remove", first, "--server"], capsys)
    assert code == 0 and f"removed {first}" in out and "2 motions left" in out
    code, _, err = _run(["library", "remove", "nope", "--server"], capsys)
    assert code == 2 and "no motion with id 'nope'" in err and len(server.services.library) == 2
    code, _, err = _run(["retrieve", "walk", "--library", library, "--server"], capsys)
    assert code == 2 and "--library" in err


def test_client_routes_for_library_and_video(server, tmp_path):
    client = server.client()
    assert main(["generate", "a person kicks", "--seconds", "3", "--seed", "5", "--steps", "2", "--quiet",
                 "-o", str(tmp_path / "kick.npz")]) == 0
    job = client.wait_job(client.library_add(tmp_path)["id"], interval=0.05, timeout=60)
    assert job["status"] == "done" and job["progress"]["stage"] == "add"
    entry_id = job["result"]["added"][0]["id"]
    got = client.library_get(entry_id)
    assert got["entry"]["id"] == entry_id and got["motion"]["prompt"] == "a person kicks"
    with np.load(tmp_path / "kick.npz") as clip:
        assert np.allclose(np.asarray(got["motion"]["features"]), clip["features"], atol=1e-6)
    hits = client.retrieve(motion={"features": got["motion"]["features"]}, k=1)["hits"]
    assert hits[0]["id"] == entry_id and hits[0]["score"] > 0.99
    frames = io.BytesIO()
    np.save(frames, np.random.default_rng(0).integers(0, 256, (10, 48, 40, 3), dtype=np.uint8))
    found = client.retrieve(video=frames.getvalue(), k=1)
    assert found["model"] == "mogents-corpus-lavimo" and found["query"]["kind"] == "video"
    assert found["query"]["sampled"] == 8 and len(found["hits"]) == 1
    with pytest.raises(ClientError) as err:
        client.retrieve(video=b"not a video")
    assert err.value.status == 400 and "cannot decode the video" in err.value.message
    with pytest.raises(ClientError) as err:
        client.retrieve(text="walk", motion={"features": got["motion"]["features"]})
    assert err.value.status == 422
    with pytest.raises(ClientError) as err:
        client.library_get("missing")
    assert err.value.status == 404
    with pytest.raises(ClientError) as err:
        client.library_add(tmp_path / "does-not-exist")
    assert err.value.status == 400


def test_server_errors_exit_2(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOGENTS_TOKEN", "wrong")
    code, _, err = _run(["generate", "walk", *GEN, "-o", str(tmp_path / "x.npz"), "--server"], capsys)
    assert code == 2 and "bearer token" in err and not (tmp_path / "x.npz").exists()
    monkeypatch.delenv("MOGENTS_TOKEN")
    code, _, err = _run(["generate", "walk", "--seconds", "30", "--quiet", "-o", str(tmp_path / "x.npz"), "--server"],
                        capsys)
    assert code == 2 and "seconds" in err and not (tmp_path / "x.npz").exists()
    code, _, err = _run(["generate", "walk", *GEN, "-o", str(tmp_path / "x.npz"), "--server=http://127.0.0.1:9"],
                        capsys)
    assert code == 2 and "no answer" in err


def test_client_without_a_server(tmp_path):
    with pytest.raises(ServerUnavailable, match="no running server"):
        Client.from_state_file(tmp_path / "server.json")
    with pytest.raises(ClientError):
        Client("ftp://example.org")
    assert not Client("http://127.0.0.1:9").healthz()
