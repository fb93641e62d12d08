"""`mogents retrieve` and `mogents library` in-process: tables, JSON, exit codes, and bad input changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from backend.cli.main import main  # noqa: E402
from backend.retrieve import EVALUATOR_MODEL  # noqa: E402
from tests.backend.test_retrieve_library import BROKEN, GOOD_FILES, LAYOUT_CLIPS, make_corpus, make_sources  # noqa: E402


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    base = tmp_path_factory.mktemp("retrieve_cli")
    corpus = make_corpus(base / "corpus")
    return base / "src", make_sources(base / "src", corpus)


@pytest.fixture(scope="module")
def library(tmp_path_factory, sources) -> Path:
    """A library filled through the CLI once (exit code 1: the broken files are reported)."""
    folder = tmp_path_factory.mktemp("retrieve_cli_lib") / "library"
    assert main(["library", "add", str(sources[0]), "--library", str(folder), "--quiet", "--device", "cpu"]) == 1
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_reports_added_skipped_and_failed(sources, tmp_path, capsys):
    folder = tmp_path / "lib"
    code, out, err = _run(capsys, "library", "add", str(sources[1]["layout"]), "--library", str(folder), "--quiet")
    assert code == 0 and f"added {LAYOUT_CLIPS}, skipped 0" in out and "failed 0" in out
    code, out, err = _run(capsys, "library", "add", str(sources[0]), "--library", str(folder), "--json", "--quiet")
    report = json.loads(out)
    assert code == 1 and len(report["added"]) == GOOD_FILES and len(report["skipped"]) == LAYOUT_CLIPS
    assert sorted(Path(f["source"]).name for f in report["failed"]) == sorted(Path(b).name for b in BROKEN)
    assert report["entries"] == GOOD_FILES + LAYOUT_CLIPS and not report["cancelled"]


def test_retrieve_text_prints_a_ranked_table(library, capsys):
    code, out, _ = _run(capsys, "retrieve", "a person walks forward and waves the left hand", "-k", "3",
                        "--library", str(library))
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split() == ["rank", "score", "id", "name", "caption"] and len(lines) == 4
    assert [ln.split()[0] for ln in lines[1:]] == ["1", "2", "3"]
    scores = [float(ln.split()[1]) for ln in lines[1:]]
    assert scores == sorted(scores, reverse=True)


def test_retrieve_by_video_with_the_default_model(library, tmp_path, capsys):
    clip = tmp_path / "clip.npy"
    np.save(clip, np.random.default_rng(0).integers(0, 256, (12, 72, 64, 3), dtype=np.uint8))
    code, out, _ = _run(capsys, "retrieve", "--video", str(clip), "-k", "3", "--json", "--library", str(library))
    result = json.loads(out)
    assert code == 0 and result["model"] == "mogents-corpus-lavimo" and result["query"] == str(clip)
    scores = [h["score"] for h in result["hits"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)


def test_retrieve_json_and_motion_queries(library, sources, capsys):
    code, out, _ = _run(capsys, "retrieve", "--motion", str(sources[1]["npz"]), "-k", "5", "--json",
                        "--library", str(library))
    result = json.loads(out)
    assert code == 0 and result["model"] == "mogents-corpus-lavimo" and len(result["hits"]) == 5
    top = result["hits"][0]
    assert top["captions"] == ["a prompt stored in the npz"] and top["score"] == pytest.approx(1.0, abs=1e-4)
    code, out, _ = _run(capsys, "retrieve", "--motion", str(sources[1]["sidecar_bvh"]), "--json",
                        "--library", str(library))
    assert code == 0 and json.loads(out)["hits"][0]["name"] == "clip_a"  # the BVH finds its own entry


def test_list_info_and_remove(library, capsys, tmp_path):
    code, out, _ = _run(capsys, "library", "list", "--json", "--library", str(library))
    entries = json.loads(out)
    assert code == 0 and len(entries) == GOOD_FILES + LAYOUT_CLIPS
    code, out, _ = _run(capsys, "library", "list", "--library", str(library))
    assert code == 0 and entries[0]["id"] in out and "caption" in out.splitlines()[0]
    code, out, _ = _run(capsys, "library", "info", "--json", "--library", str(library))
    info = json.loads(out)
    assert info["entries"] == len(entries) and info["model"] == "mogents-corpus-lavimo" and info["bytes"] > 0

    copy = tmp_path / "copy"
    assert main(["library", "add", str(Path(entries[0]["source"])), "--library", str(copy), "--quiet"]) == 0
    only = json.loads(_run(capsys, "library", "list", "--json", "--library", str(copy))[1])[0]["id"]
    code, out, _ = _run(capsys, "library", "remove", only, "--library", str(copy))
    assert code == 0 and f"removed {only}" in out and "0 motions left" in out


@pytest.mark.parametrize("argv, message", [
    (["retrieve", "   "], "search text is empty"),
    (["retrieve", "walk", "-k", "0"], "k must be"),
    (["retrieve", "walk", "--motion", "x.npz"], "exactly one query"),
    (["retrieve"], "exactly one query"),
    (["retrieve", "--motion", "missing.npz"], "not found"),
    (["retrieve", "--motion", "notes.md"], "unsupported query motion type"),
    (["retrieve", "--video", "frames.npy"], "each side must be 16 to 8192"),
    (["retrieve", "--video", "notes.md"], "unsupported video type"),
    (["retrieve", "--video", "frames.npy", "--model", str(EVALUATOR_MODEL)],
     "'mogents-corpus-evaluator' has no video encoder"),
    (["library", "remove", "nope"], "no motion with id 'nope'"),
    (["library", "add", "missing-folder"], "no such file or folder"),
    (["library", "add", "gen", "--split", "test"], "HumanML3D-layout"),
])
def test_bad_input_exits_2_and_changes_nothing(library, sources, argv, message, capsys, monkeypatch):
    monkeypatch.chdir(sources[0])
    np.save(sources[0] / "frames.npy", np.zeros((4, 8, 8, 3), np.uint8))
    before = _snapshot(library)
    code, _, err = _run(capsys, *argv, "--library", str(library))
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert _snapshot(library) == before


def test_empty_default_library_is_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOGENTS_HOME", str(tmp_path / "home"))
    code, _, err = _run(capsys, "retrieve", "a person jumps")
    assert code == 2 and "library is empty" in err and str(tmp_path / "home" / "library") in err
    code, out, _ = _run(capsys, "library", "list")
    assert code == 0 and "empty" in out


def test_add_corpus_synthesises_searchable_clips_once(tmp_path, capsys):
    folder = str(tmp_path / "lib")
    code, out, _ = _run(capsys, "library", "add-corpus", "--clips", "4", "--seed", "3", "--library", folder,
                        "--json", "--quiet")
    report = json.loads(out)
    assert code == 0 and len(report["added"]) == 4 and all(e["kind"] == "humanml3d" for e in report["added"])
    assert all(e["captions"] and e["captions"][0] != "a person moves" for e in report["added"])  # corpus captions
    code, out, _ = _run(capsys, "library", "add-corpus", "--clips", "4", "--seed", "3", "--library", folder,
                        "--json", "--quiet")
    assert code == 0 and not json.loads(out)["added"] and len(json.loads(out)["skipped"]) == 4
    caption = report["added"][0]["captions"][0]
    code, out, _ = _run(capsys, "retrieve", caption, "-k", "1", "--json", "--library", folder)
    assert code == 0 and json.loads(out)["hits"][0]["id"] == report["added"][0]["id"]
    assert main(["library", "add-corpus", "--clips", "0", "--library", folder]) == 2


def test_library_build_indexes_several_sources_and_is_queried_with_its_model(sources, tmp_path, capsys):
    from backend.retrieve.folder import META_FILE
    from backend.retrieve.loader import DEFAULT_MODEL

    index = tmp_path / "index"
    layout, bvh = sources[1]["layout"], sources[0] / "bvh"
    code, out, _ = _run(capsys, "library", "build", str(layout), str(bvh), "--out", str(index), "--json",
                        "--quiet")
    assert code == 0 and (index / "index.json").is_file()
    info = json.loads((index / "index.json").read_text())
    names = {e["source"] for e in info["entries"]}
    assert any("new_joint_vecs" in n for n in names) and any(n.endswith(".bvh") for n in names)
    code, out, _ = _run(capsys, "retrieve", "a person walks forward", "--library", str(index), "-k", "2", "--json")
    assert code == 0 and len(json.loads(out)["hits"]) == 2
    # the same index queried with a different model: a clear error, the index untouched
    other = tmp_path / "other_model"
    import shutil

    shutil.copytree(DEFAULT_MODEL, other)
    meta = json.loads((other / META_FILE).read_text())
    meta["name"] = "another-model"
    (other / META_FILE).write_text(json.dumps(meta))
    before = _snapshot(index)
    code, _, err = _run(capsys, "retrieve", "a person walks", "--library", str(index), "--model", str(other))
    assert code == 2 and "--reembed" in err and _snapshot(index) == before
    code, _, _ = _run(capsys, "retrieve", "a person walks", "--library", str(index), "--model", str(other),
                      "--reembed", "--json")
    assert code == 0 and json.loads((index / "index.json").read_text())["model"] == "another-model"


def test_library_build_refuses_a_non_index_output_folder(sources, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = _run(capsys, "library", "build", str(sources[1]["layout"]), "--out", str(out), "--quiet")
    assert code == 2 and "not a library index" in err and sorted(p.name for p in out.iterdir()) == ["notes.txt"]
