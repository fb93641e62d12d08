"""The motion library under hostile conditions: concurrent processes adding to one library, special files
(FIFOs, device symlinks) in a folder being added, and values no motion has.

Clips are small synthetic walks (features .npy), so each test runs in a few seconds on the shipped model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from backend.motion.features import joints_to_features  # noqa: E402
from backend.motion.skeleton import SMPL22  # noqa: E402
from backend.retrieve import MotionLibrary, load_retrieval  # noqa: E402
from tests.fixtures.synthetic_motion import walking_joints  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runtime():
    return load_retrieval(device="cpu", threads=1)


def walk_features(seed: int, frames: int = 40) -> np.ndarray:
    """(frames - 1, 263) features of a walk whose speed and cadence depend on `seed` (distinct content)."""
    rng = np.random.default_rng(seed)
    joints = walking_joints(SMPL22, frames, speed=float(rng.uniform(0.6, 1.8)), cadence=float(rng.uniform(0.6, 1.2)),
                            turn_rate=float(rng.uniform(-0.5, 0.5)))
    return joints_to_features(joints, SMPL22)[0].astype(np.float32)


def write_clips(folder: Path, seeds: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"walk_{seed:03d}.npy"
        np.save(path, walk_features(seed))
        paths.append(path)
    return paths


def _index(folder: Path) -> dict:
    return json.loads((folder / "index.json").read_text())


# ---------------------------------------------------------------------------------- concurrent adds

# `mogents library add` as a real process, committing after every clip so that the two processes interleave
# their commits as much as they can (150 clips in batches of 32 lost a third of the entries before the fix)
ADD_SCRIPT = """
import sys
import backend.retrieve.library as library
library.COMMIT_EVERY = 1
from backend.cli.main import main
sys.exit(main(["library", "add", sys.argv[1], "--library", sys.argv[2], "--quiet", "--device", "cpu"]))
"""


def _cli_add(source: Path, library: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOGENTS_HOME": str(library.parent / "home")}
    return subprocess.Popen([sys.executable, "-c", ADD_SCRIPT, str(source), str(library)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_adding_to_one_library_keep_every_entry(tmp_path):
    sets = {"a": write_clips(tmp_path / "a", range(0, 16)), "b": write_clips(tmp_path / "b", range(100, 116))}
    library = tmp_path / "library"
    procs = [_cli_add(tmp_path / name, library) for name in sets]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    index = _index(library)
    sources = sorted(e["source"] for e in index["entries"])
    assert sources == sorted(str(p.resolve()) for paths in sets.values() for p in paths)
    embeddings = np.load(library / index["embeddings"])
    assert embeddings.shape == (32, 128)
    assert sorted(p.name for p in library.glob("embeddings-*.npy")) == [index["embeddings"]]
    assert not [p.name for p in library.rglob("*.tmp")]  # no temporary file left behind
    assert all((library / "motions" / f"{e['id']}.npy").is_file() for e in index["entries"])


def test_a_cli_add_beside_a_server_add_keeps_every_entry(tmp_path, runtime):
    """The server's library (one process, its own thread) and a CLI process add to one folder at once."""
    import backend.retrieve.library as library_module

    sets = {"server": write_clips(tmp_path / "server", range(200, 216)),
            "cli": write_clips(tmp_path / "cli", range(300, 316))}
    folder = tmp_path / "library"
    proc = _cli_add(tmp_path / "cli", folder)
    deadline = time.monotonic() + 60
    while not (folder / "index.json").exists() and proc.poll() is None:  # the CLI is committing now
        assert time.monotonic() < deadline, "the CLI add did not start"
        time.sleep(0.01)
    old = library_module.COMMIT_EVERY
    library_module.COMMIT_EVERY = 1
    try:
        report = MotionLibrary(folder).add_folder(tmp_path / "server", runtime)
    finally:
        library_module.COMMIT_EVERY = old
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert len(report.added) + len(report.skipped) == 16
    entries = MotionLibrary(folder).entries()
    assert sorted(e.source for e in entries) == sorted(str(p.resolve()) for paths in sets.values() for p in paths)


# ------------------------------------------------------------------------------------ special files

def _add_in_thread(library: MotionLibrary, folder: Path, runtime, timeout: float = 20.0, **kwargs):
    """add_folder in a daemon thread: (report or None when it is still running after `timeout`, thread)."""
    result: dict = {}

    def add() -> None:
        try:
            result["report"] = library.add_folder(folder, runtime, **kwargs)
        except BaseException as err:  # surfaced by the caller
            result["error"] = err

    thread = threading.Thread(target=add, daemon=True)
    thread.start()
    thread.join(timeout)
    if "error" in result:
        raise result["error"]
    return result.get("report"), thread


def test_a_fifo_and_a_device_symlink_are_reported_not_read(tmp_path, runtime):
    src = tmp_path / "src"
    (good,) = write_clips(src, range(400, 401))
    os.mkfifo(src / "x.bvh")                      # opening it for reading blocks until a writer comes
    os.symlink("/dev/zero", src / "zeros.npy")    # reads never end
    os.symlink(good, src / "link_to_good.npy")    # a link to a regular file is read as that file
    library = MotionLibrary(tmp_path / "library")
    report, thread = _add_in_thread(library, src, runtime)
    assert report is not None, "library add hangs on a FIFO or /dev/zero"
    failed = dict(report.failed)
    assert sorted(failed) == [str(src / "x.bvh"), str(src / "zeros.npy")]
    assert "not a regular file" in failed[str(src / "x.bvh")] and "FIFO" in failed[str(src / "x.bvh")]
    assert "not a regular file" in failed[str(src / "zeros.npy")] and "device" in failed[str(src / "zeros.npy")]
    assert [e.name for e in report.added] == ["link_to_good"] and report.skipped == [str(good)]  # name order


def test_files_over_the_size_cap_are_refused_unread(tmp_path, runtime, monkeypatch):
    import backend.retrieve.importers as importers

    src = tmp_path / "src"
    write_clips(src, range(410, 411))
    with open(src / "huge.bvh", "wb") as fh:  # sparse: no disk space, but a size over the cap
        fh.truncate(importers.MAX_SOURCE_BYTES + 1)
    opened: list[str] = []
    real_open = importers.os.open

    def spy(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(importers.os, "open", spy)
    report = MotionLibrary(tmp_path / "library").add_folder(src, runtime)
    monkeypatch.undo()
    failed = dict(report.failed)
    assert list(failed) == [str(src / "huge.bvh")] and "larger than" in failed[str(src / "huge.bvh")]
    assert str(src / "huge.bvh") not in opened and len(report.added) == 1


# ------------------------------------------------------------------------------------ out-of-range values

def _out_of_range_sources(src: Path) -> dict[str, Path]:
    """Files whose arrays have the right shape but values no motion has (1e30: finite in float32)."""
    from backend.generate.motion import GeneratedMotion, save_motion
    from backend.motion.features import features_to_joints

    src.mkdir(parents=True, exist_ok=True)
    features = walk_features(500)
    huge = features.copy()
    huge[5, 7] = 1e30
    joints = features_to_joints(walk_features(501)).astype(np.float32)
    joints[3, 4, 1] = 1e30
    paths = {"features": src / "huge_features.npy", "joints": src / "huge_joints.npy", "npz": src / "huge.npz"}
    np.save(paths["features"], huge)
    np.save(paths["joints"], joints)
    save_motion(GeneratedMotion.from_features(walk_features(502), 20.0, "a person walks", 0), paths["npz"])
    with np.load(paths["npz"]) as archive:
        arrays = dict(archive)
    arrays["features"] = arrays["features"] * 1e30
    np.savez(paths["npz"], **arrays)
    return paths


def test_out_of_range_values_are_refused_on_every_entry_path(tmp_path, runtime, capsys):
    from backend.cli.main import main
    from backend.errors import MotionInputError
    from backend.server.motion_io import features_array
    from backend.server.schemas import MotionIn
    src = tmp_path / "src"
    bad = _out_of_range_sources(src)
    (good,) = write_clips(src, range(503, 504))
    # the library (what the server's /v1/library/add job runs)
    library = MotionLibrary(tmp_path / "library")
    report = library.add_folder(src, runtime)
    failed = dict(report.failed)
    assert sorted(failed) == sorted(str(p) for p in bad.values()), report.failed
    assert all("beyond" in reason and "not a motion" in reason for reason in failed.values()), failed
    assert [e.name for e in library.entries()] == [good.stem]
    assert library.search_text(runtime, "a person walks", 5)[0].name == good.stem
    # the command line
    code = main(["library", "add", str(src), "--library", str(tmp_path / "cli_library"), "--json", "--quiet",
                 "--device", "cpu"])
    cli = json.loads(capsys.readouterr().out)
    assert code == 1 and cli["entries"] == 1
    assert sorted(f["source"] for f in cli["failed"]) == sorted(str(p) for p in bad.values())
    # a motion query
    huge = walk_features(504)
    huge[0, 0] = 1e30
    with pytest.raises(MotionInputError, match="beyond"):
        library.search_motion(runtime, huge, 3)
    # the HTTP API's motions in request bodies: the same check, the same message
    with pytest.raises(MotionInputError, match=r"motion.features has values beyond ±1e\+06: not a motion"):
        features_array(MotionIn(features=huge.tolist()), 263)
