"""The motion library on the shipped retrieval model: adding every source kind, incremental re-adds, broken
files, removal, persistence, cancellation, crash safety, model changes, search and its input checks.

`source_folder` and `corpus` are shared with tests/backend/test_retrieve_cli.py.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from backend.data.exporter import write_bvh  # noqa: E402
from backend.errors import MotionInputError  # noqa: E402
from backend.generate.motion import GeneratedMotion, save_motion  # noqa: E402
from backend.motion.features import features_to_joints  # noqa: E402
from backend.retrieve import MotionLibrary, load_retrieval  # noqa: E402
from backend.retrieve.folder import META_FILE  # noqa: E402
from backend.retrieve.library import MAX_QUERY_FRAMES  # noqa: E402
from tests.fixtures.humanml_layout import write_humanml_layout  # noqa: E402

GOOD_FILES = 5        # two BVH, .npy joints, .npy features, .npz
LAYOUT_CLIPS = 8      # the fixture HumanML3D layout: 7 clips + 1 mirrored copy
BROKEN = ("broken/bad.bvh", "broken/nan.npy")


def make_corpus(root: Path, clips: int = 12, seed: int = 123) -> Path:
    """A procedural corpus (HumanML3D layout) the shipped model never saw (it was trained on seed 0)."""
    from training.corpus.synth import write_corpus

    return write_corpus(root, clips=clips, seed=seed, workers=1, progress=False)


def corpus_clip(corpus: Path, clip_id: str) -> tuple[np.ndarray, list[str]]:
    features = np.load(corpus / "new_joint_vecs" / f"{clip_id}.npy")
    captions = [ln.split("#")[0] for ln in (corpus / "texts" / f"{clip_id}.txt").read_text().splitlines() if ln]
    return features, captions


def make_sources(root: Path, corpus: Path) -> dict[str, Path]:
    """A folder with every kind of source (and two broken files); returns the notable paths."""
    feats = {i: corpus_clip(corpus, f"{i:06d}")[0] for i in range(5)}
    paths = {"sidecar_bvh": root / "bvh" / "clip_a.bvh", "stem_bvh": root / "bvh" / "jump_high_02.bvh",
             "joints": root / "joints" / "clip_c.npy", "features": root / "features" / "clip_d.npy",
             "npz": root / "gen" / "clip_e.npz", "layout": root / "dataset"}
    write_bvh(paths["sidecar_bvh"], features_to_joints(feats[0]), fps=20.0)
    paths["sidecar_bvh"].with_suffix(".txt").write_text("a caption from the sidecar file\nand a second one\n")
    write_bvh(paths["stem_bvh"], features_to_joints(feats[1]), fps=30.0)  # resampled to 20 fps on import
    paths["joints"].parent.mkdir(parents=True)
    np.save(paths["joints"], features_to_joints(feats[2]).astype(np.float32))
    paths["features"].parent.mkdir(parents=True)
    np.save(paths["features"], feats[3])
    save_motion(GeneratedMotion.from_features(feats[4], 20.0, "a prompt stored in the npz", 0), paths["npz"])
    write_humanml_layout(paths["layout"])
    (root / "broken").mkdir()
    (root / BROKEN[0]).write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    nan_joints = features_to_joints(feats[0]).astype(np.float32)
    nan_joints[5, 3] = np.nan
    np.save(root / BROKEN[1], nan_joints)
    (root / "notes.md").write_text("not a motion")  # ignored
    return paths


@pytest.fixture(scope="module")
def runtime():
    """The shipped default (LAVIMO: text, motion and video queries)."""
    return load_retrieval(device="cpu", threads=1)


@pytest.fixture(scope="module")
def text_only():
    """The shipped evaluator model: no video encoder."""
    from backend.retrieve import EVALUATOR_MODEL

    return load_retrieval(EVALUATOR_MODEL, device="cpu", threads=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("retrieve_corpus") / "corpus")


@pytest.fixture(scope="module")
def sources(tmp_path_factory, corpus) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("retrieve_sources")
    return root, make_sources(root, corpus)


@pytest.fixture(scope="module")
def filled(tmp_path_factory, sources, runtime):
    """(library, first AddReport, progress calls) of the whole source folder added once."""
    library = MotionLibrary(tmp_path_factory.mktemp("retrieve_lib") / "library")
    calls: list[tuple[int, int]] = []
    report = library.add_folder(sources[0], runtime, progress=lambda i, n: calls.append((i, n)))
    return library, report, calls


SHIPPED_DIM = 128  # the default retrieval model's embedding size (LAVIMO latent)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_consistent(folder: Path) -> MotionLibrary:
    """A fresh instance reads a complete library: one embedding row and one stored motion per entry."""
    library = MotionLibrary(folder)
    entries = library.entries()
    index = json.loads((folder / "index.json").read_text())
    embeddings = np.load(folder / index["embeddings"])
    assert embeddings.shape == (len(entries), SHIPPED_DIM)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    assert all((folder / "motions" / f"{e.id}.npy").is_file() for e in entries)
    assert len({e.sha256 for e in entries}) == len(entries)
    assert sorted(p.name for p in folder.glob("embeddings-*.npy")) == [index["embeddings"]]
    return library


# ------------------------------------------------------------------------------------------- adding

def test_add_reads_every_source_kind_and_reports_broken_files(filled, sources):
    library, report, calls = filled
    root, paths = sources
    assert len(report.added) == GOOD_FILES + LAYOUT_CLIPS and not report.skipped and not report.cancelled
    failed = dict(report.failed)
    assert sorted(failed) == sorted(str(root / b) for b in BROKEN), report.failed
    assert "NaN" in failed[str(root / BROKEN[1])] or "non-finite" in failed[str(root / BROKEN[1])]
    assert failed[str(root / BROKEN[0])]  # a reason is given
    by_source = {e.source: e for e in library.entries()}
    assert by_source[str(paths["sidecar_bvh"])].captions == ("a caption from the sidecar file", "and a second one")
    assert by_source[str(paths["stem_bvh"])].captions == ("jump high",)
    assert by_source[str(paths["npz"])].captions == ("a prompt stored in the npz",)
    assert by_source[str(paths["joints"])].kind == "npy" and by_source[str(paths["npz"])].kind == "npz"
    layout = [e for e in library.entries() if e.kind == "humanml3d"]
    assert len(layout) == LAYOUT_CLIPS
    walk = next(e for e in layout if e.name == "000001")
    assert walk.captions[0] == "a person walks forward and waves the left hand."
    assert calls[-1] == (GOOD_FILES + LAYOUT_CLIPS + len(BROKEN),) * 2
    assert [i for i, _ in calls] == list(range(1, len(calls) + 1))
    _assert_consistent(library.folder)


def test_bvh_import_resamples_to_20_fps(filled, sources, corpus):
    library, _, _ = filled
    entry = next(e for e in library.entries() if e.source == str(sources[1]["stem_bvh"]))
    frames = len(corpus_clip(corpus, "000001")[0])  # joint frames written to the BVH, declared 30 fps
    expected = int(np.floor((frames - 1) / 30 * 20 + 1e-6))  # joints at 20 fps, minus one for features
    assert entry.frames == expected and entry.fps == 20.0


def test_readding_skips_everything_and_changes_nothing(filled, sources, runtime):
    library, first, _ = filled
    before = _snapshot(library.folder)
    report = library.add_folder(sources[0], runtime)
    assert not report.added and len(report.skipped) == len(first.added)
    assert len(report.failed) == len(BROKEN)  # broken files are read again (and fail again)
    assert _snapshot(library.folder) == before


def test_get_returns_features_joints_and_captions(filled, sources):
    library, _, _ = filled
    entry = next(e for e in library.entries() if e.source == str(sources[1]["features"]))
    motion = library.get(entry.id)
    np.testing.assert_array_equal(motion.features, np.load(sources[1]["features"]))
    assert motion.joints.shape == (entry.frames, 22, 3) and motion.fps == 20.0
    generated = motion.to_generated()  # applies like a generation
    assert generated.prompt == entry.captions[0] and generated.meta["library_id"] == entry.id
    np.testing.assert_allclose(generated.joints, motion.joints, atol=1e-6)
    with pytest.raises(MotionInputError, match="no motion with id"):
        library.get("feedfacecafe")


def test_persistence_across_instances(filled, runtime):
    library, _, _ = filled
    again = _assert_consistent(library.folder)
    assert again.entries() == library.entries() and again.model == runtime.info.name
    text = "a person walks forward"
    assert again.search_text(runtime, text, 5) == library.search_text(runtime, text, 5)


def test_added_files_are_embedded_incrementally(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    first = library.add_folder(sources[1]["layout"], runtime, split="train")
    assert len(first.added) == 6 and not first.failed  # the fixture's train split
    emb_before = {e.id: row for e, row in zip(library.entries(), _embeddings(library), strict=True)}
    second = library.add_folder(sources[1]["layout"], runtime)
    assert len(second.skipped) == 6 and len(second.added) == LAYOUT_CLIPS - 6
    for entry, row in zip(library.entries(), _embeddings(library), strict=True):
        if entry.id in emb_before:
            np.testing.assert_array_equal(row, emb_before[entry.id])  # stored rows are kept, not recomputed


def _embeddings(library: MotionLibrary) -> np.ndarray:
    index = json.loads(library.index_path.read_text())
    return np.load(library.folder / index["embeddings"])


def test_duplicate_content_under_two_names_is_added_once(tmp_path, sources, runtime):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(sources[1]["features"], src / "one.npy")
    shutil.copy(sources[1]["features"], src / "two.npy")
    report = MotionLibrary(tmp_path / "lib").add_folder(src, runtime)
    assert [e.name for e in report.added] == ["one"] and report.skipped == [str(src / "two.npy")]


def test_bad_paths_raise_before_anything_changes(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    with pytest.raises(MotionInputError, match="no such file"):
        library.add_folder(tmp_path / "missing", runtime)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MotionInputError, match="no .bvh"):
        library.add_folder(empty, runtime)
    with pytest.raises(MotionInputError, match="split file for 'holdout' not found; this folder has: .*test"):
        library.add_folder(sources[1]["layout"], runtime, split="holdout")
    with pytest.raises(MotionInputError, match="a split is a name"):  # no path reaches outside the folder
        library.add_folder(sources[1]["layout"], runtime, split="../test")
    with pytest.raises(MotionInputError, match="HumanML3D-layout"):
        library.add_folder(sources[1]["joints"].parent, runtime, split="test")
    assert not library.folder.exists()
    library.add_folder(sources[1]["features"], runtime)
    with pytest.raises(MotionInputError, match="no .bvh"):  # its own stored motions are not new motions
        library.add_folder(library.folder.parent, runtime)


# ------------------------------------------------------------------------------- cancel, crash, lock

def test_cancel_midway_keeps_a_consistent_index(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    seen: list[int] = []
    report = library.add_folder(sources[1]["layout"], runtime, progress=lambda i, n: seen.append(i),
                                cancel=lambda: len(seen) >= 3)
    assert report.cancelled and len(report.added) == 3 and seen == [1, 2, 3]
    assert len(_assert_consistent(library.folder).entries()) == 3
    rest = library.add_folder(sources[1]["layout"], runtime)
    assert len(rest.skipped) == 3 and len(rest.added) == LAYOUT_CLIPS - 3


def test_a_crash_while_writing_the_index_leaves_the_old_library(tmp_path, sources, runtime, monkeypatch):
    import backend.retrieve.folder_lock as library_module

    library = MotionLibrary(tmp_path / "lib")
    library.add_folder(sources[1]["features"], runtime)
    before = library.entries()
    real_replace = library_module.os.replace

    def crash_on_index(src, dst):
        if Path(dst).name == "index.json":
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(library_module.os, "replace", crash_on_index)
    with pytest.raises(OSError, match="disk full"):
        library.add_folder(sources[1]["joints"], runtime)
    monkeypatch.undo()
    fresh = MotionLibrary(library.folder)
    assert fresh.entries() == before
    assert fresh.search_text(runtime, "walk", 1)[0].id == before[0].id


def test_concurrent_adds_in_threads_keep_every_motion(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    errors: list[BaseException] = []

    def add(path: Path) -> None:
        try:
            MotionLibrary(library.folder).add_folder(path, runtime)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=add, args=(sources[1][k],)) for k in ("layout", "features", "npz")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(_assert_consistent(library.folder).entries()) == LAYOUT_CLIPS + 2


# ------------------------------------------------------------------------------------ remove, model

def test_remove_drops_entries_and_unknown_ids_change_nothing(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    library.add_folder(sources[1]["layout"], runtime)
    before = _snapshot(library.folder)
    victim = library.entries()[2]
    with pytest.raises(MotionInputError, match="'nope'"):
        library.remove([victim.id, "nope"])
    assert _snapshot(library.folder) == before
    removed = library.remove([victim.id, victim.id])
    assert removed == [victim] and victim.id not in {e.id for e in library.entries()}
    assert not (library.folder / "motions" / f"{victim.id}.npy").exists()
    assert all(h.id != victim.id for h in library.search_text(runtime, victim.captions[0], 10))
    _assert_consistent(library.folder)
    with pytest.raises(MotionInputError, match="no ids"):
        library.remove([])


def test_another_model_reembeds_from_the_stored_features(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    library.add_folder(sources[1]["layout"], runtime)
    old = _embeddings(library)
    renamed = tmp_path / "renamed_model"
    shutil.copytree(runtime.folder, renamed)
    meta = json.loads((renamed / META_FILE).read_text())
    meta["name"] = "renamed-model"
    (renamed / META_FILE).write_text(json.dumps(meta))
    other = load_retrieval(renamed, device="cpu", threads=1)
    hits = library.search_text(other, "a person walks", 3)
    assert library.model == "renamed-model" and {e.model for e in library.entries()} == {"renamed-model"}
    np.testing.assert_allclose(_embeddings(library), old, atol=1e-5)  # same weights: same embeddings again
    assert [h.id for h in hits] == [h.id for h in library.search_text(runtime, "a person walks", 3)]
    assert library.model == runtime.info.name


def test_an_index_of_another_model_is_refused_without_reembed(tmp_path, sources, runtime):
    built = MotionLibrary(tmp_path / "lib")
    built.add_folder(sources[1]["layout"], runtime)
    before = _snapshot(built.folder)
    renamed = tmp_path / "renamed_model"
    shutil.copytree(runtime.folder, renamed)
    meta = json.loads((renamed / META_FILE).read_text())
    meta["name"] = "renamed-model"
    (renamed / META_FILE).write_text(json.dumps(meta))
    strict = MotionLibrary(tmp_path / "lib", reembed=False)
    with pytest.raises(MotionInputError, match="built with the retrieval model .* not 'renamed-model'.*--reembed"):
        strict.search_text(load_retrieval(renamed, device="cpu", threads=1), "a person walks", 3)
    assert _snapshot(built.folder) == before  # nothing rewritten
    assert strict.search_text(runtime, "a person walks", 3)  # its own model still works


def test_retrieval_bench_tables(runtime):
    from backend.retrieve.bench import bench_encoders, bench_search

    enc = bench_encoders(runtime, repeats=1)
    assert [r[0] for r in enc][:2] == ["text, 1 caption", "text, 64 captions"]
    assert all(ms > 0 and per_s > 0 for _, ms, per_s in enc)
    search = bench_search(runtime, library_size=500, repeats=2)
    assert len(search) == 3 and all(ms > 0 for _, ms in search)


# ------------------------------------------------------------------------------------------- search

def test_search_ranks_by_cosine_similarity(filled, runtime):
    library, _, _ = filled
    hits = library.search_text(runtime, "a person walks forward", k=100)
    assert len(hits) == len(library) and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 + 1e-5 for s in scores)
    query = runtime.encode_text(["a person walks forward"])[0]
    top = library.get(hits[0].id)
    assert hits[0].score == pytest.approx(float(runtime.encode_motion([top.features])[0] @ query), abs=1e-4)


def test_video_search_ranks_the_whole_library_by_the_video_embedding(filled, runtime):
    library, _, _ = filled
    frames = np.random.default_rng(4).integers(0, 256, (12, 80, 96, 3), dtype=np.uint8)
    hits = library.search_video(runtime, frames, k=100)
    assert len(hits) == len(library) and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    query = runtime.encode_video(frames)[0]
    expected = sorted(((float(runtime.encode_motion([library.get(e.id).features])[0] @ query), e.id)
                       for e in library.entries()), reverse=True)
    assert [h.id for h in hits[:3]] == [i for _, i in expected[:3]]
    assert hits[0].score == pytest.approx(expected[0][0], abs=1e-4)


def test_a_stored_motion_finds_itself_first(filled, runtime):
    library, _, _ = filled
    for entry in library.entries()[:4]:
        hits = library.search_motion(runtime, library.get(entry.id).features, k=3)
        assert hits[0].id == entry.id and hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_search_input_errors(filled, runtime, text_only, tmp_path):
    library, _, _ = filled
    feats = library.get(library.entries()[0].id).features
    bad = [
        (lambda: library.search_text(runtime, "   ", 5), "empty"),
        (lambda: library.search_text(runtime, "walk " * 200, 5), "limit is 500"),
        (lambda: library.search_text(runtime, "walk", 0), "k must be"),
        (lambda: library.search_text(runtime, "walk", 1001), "k must be"),
        (lambda: library.search_text(runtime, "walk", 2.5), "k must be"),
        (lambda: library.search_motion(runtime, feats[:, :100], 5), r"shape \(T, 263\)"),
        (lambda: library.search_motion(runtime, feats[:runtime.info.min_frames - 1], 5), "frames"),
        (lambda: library.search_motion(runtime, np.resize(feats, (MAX_QUERY_FRAMES + 1, 263)), 5), "frames"),
        (lambda: library.search_motion(runtime, np.where(np.arange(len(feats))[:, None] == 3, np.nan, feats), 5),
         "NaN"),
        (lambda: library.search_video(text_only, np.zeros((8, 64, 64, 3), np.uint8), 5),
         "the retrieval model 'mogents-corpus-evaluator' has no video encoder"),
        (lambda: library.search_video(runtime, np.zeros((8, 64, 64, 3), np.float32), 5), "uint8"),
        (lambda: library.search_video(runtime, np.zeros((0, 64, 64, 3), np.uint8), 5), "1 to"),
        (lambda: MotionLibrary(tmp_path / "empty").search_text(runtime, "walk", 5), "library is empty"),
    ]
    for n, (call, message) in enumerate(bad):
        with pytest.raises(MotionInputError, match=message):
            call()
            pytest.fail(f"case {n} did not raise")
    assert len(library.search_text(runtime, "walk", 1000)) == len(library)  # k above the size: everything


def test_damaged_index_is_reported(tmp_path, sources, runtime):
    library = MotionLibrary(tmp_path / "lib")
    library.add_folder(sources[1]["features"], runtime)
    index = json.loads(library.index_path.read_text())
    np.save(library.folder / index["embeddings"], np.zeros((3, SHIPPED_DIM), np.float32))
    with pytest.raises(MotionInputError, match="damaged"):
        MotionLibrary(library.folder).entries()
    library.index_path.write_text("{ not json")
    with pytest.raises(MotionInputError, match="damaged"):
        MotionLibrary(library.folder).entries()


def test_default_folder_is_under_mogents_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MOGENTS_HOME", str(tmp_path / "home"))
    assert MotionLibrary().folder == tmp_path / "home" / "library"
    assert MotionLibrary().info()["entries"] == 0


def test_a_custom_split_file_of_the_layout_is_read(tmp_path, sources, runtime):
    layout = tmp_path / "layout"
    shutil.copytree(sources[1]["layout"], layout)
    ids = (layout / "test.txt").read_text().split()[:1] + (layout / "train.txt").read_text().split()[:1]
    (layout / "test_eval.txt").write_text("\n".join(ids) + "\n")  # e.g. every 12th test line, as the v2 eval uses
    report = MotionLibrary(tmp_path / "lib").add_folder(layout, runtime, split="test_eval")
    assert sorted(e.name for e in report.added) == sorted(ids)
