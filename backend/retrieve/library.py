"""The motion library: motions on disk with their embeddings, searchable by text, motion (and later video).

Folder layout (default `$MOGENTS_HOME/library`):
    index.json            entries (id, name, source, sha256, captions, frames, fps, added, model, kind),
                          the embedding model's name and the embeddings file it goes with
    embeddings-N.npy      (entries, embed_dim) float32, row i = entry i, L2-normalised
    motions/ID.npy        (T, 263) float32 features at 20 fps: what `get` returns and re-embedding reads

Every change writes a new embeddings file, then replaces index.json (each through a uniquely named
temporary file and `os.replace`), so index.json always names a complete embeddings file: a crash leaves the
old library or the new one, never a mix. One lock per folder (`folder_lock.FolderLock`: a thread lock plus
flock on `.lock` beside index.json) serialises reads and changes across threads and processes, so two
`mogents library add` runs, or a CLI beside the server, never lose each other's entries; index.json is
re-read whenever it changed on disk, so each sees the other's adds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..errors import MotionInputError
from ..generate.motion import GeneratedMotion
from ..motion.features import features_to_joints
from ..paths import data_home
from .folder_lock import FolderLock, write_atomic
from .importers import FPS, ImportedMotion, MotionSource, find_motions, load_motion, source_digest
from .motion_values import check_motion_values
from .runtime import RetrievalRuntime

FORMAT = "mogents-library"
VERSION = 1
INDEX_FILE = "index.json"
MAX_K = 1000
MAX_QUERY_CHARS = 500
MAX_QUERY_FRAMES = int(120 * FPS)      # a 2-minute motion query
MAX_ENTRY_FRAMES = int(30 * 60 * FPS)  # a 30-minute take
MAX_VIDEO_FRAMES = 10_000
COMMIT_EVERY = 32                      # motions embedded and written together while adding a folder

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

_LOCKS: dict[Path, FolderLock] = {}
_LOCKS_GUARD = threading.Lock()


def _folder_lock(folder: Path) -> FolderLock:
    """The process's one lock object of a folder (re-entrant across this process's library instances)."""
    with _LOCKS_GUARD:
        key = folder.resolve()
        return _LOCKS.setdefault(key, FolderLock(key))


def default_folder() -> Path:
    return data_home() / "library"


@dataclass(frozen=True)
class LibraryEntry:
    id: str
    name: str
    source: str
    sha256: str
    captions: tuple[str, ...]
    frames: int
    fps: float
    added: str
    model: str
    kind: str

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    def to_json(self) -> dict:
        return {**asdict(self), "captions": list(self.captions)}

    @classmethod
    def from_json(cls, d: dict) -> LibraryEntry:
        return cls(id=str(d["id"]), name=str(d["name"]), source=str(d["source"]), sha256=str(d["sha256"]),
                   captions=tuple(str(c) for c in d["captions"]), frames=int(d["frames"]), fps=float(d["fps"]),
                   added=str(d["added"]), model=str(d["model"]), kind=str(d["kind"]))


@dataclass
class AddReport:
    added: list[LibraryEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)              # sources already in the library
    failed: list[tuple[str, str]] = field(default_factory=list)   # (source, reason)
    cancelled: bool = False


@dataclass(frozen=True)
class SearchHit:
    rank: int
    id: str
    name: str
    score: float                 # cosine similarity
    captions: tuple[str, ...]

    def to_json(self) -> dict:
        return {**asdict(self), "captions": list(self.captions)}


@dataclass(frozen=True)
class LibraryMotion:
    """A library motion, ready to apply like a generation."""

    entry: LibraryEntry
    features: np.ndarray         # (T, 263) float32
    fps: float

    @property
    def captions(self) -> tuple[str, ...]:
        return self.entry.captions

    @property
    def joints(self) -> np.ndarray:
        return features_to_joints(self.features).astype(np.float32)

    def to_generated(self) -> GeneratedMotion:
        """The motion as a `GeneratedMotion` (first caption as its prompt), for every path that applies,
        saves or edits generations."""
        return GeneratedMotion.from_features(self.features, self.fps, self.captions[0] if self.captions else "",
                                             0, source="library", library_id=self.entry.id, name=self.entry.name)


@dataclass(frozen=True)
class _State:
    entries: tuple[LibraryEntry, ...]
    embeddings: np.ndarray       # (len(entries), embed_dim)
    model: str | None
    generation: int
    # the same matrix transposed, (embed_dim, entries) contiguous: a query row times it runs about twice as
    # fast as the matrix times a query column (measured on this CPU), which keeps 100k-clip search in budget
    by_dim: np.ndarray | None = None

    def scores(self, query: np.ndarray) -> np.ndarray:
        if self.by_dim is None:
            object.__setattr__(self, "by_dim", np.ascontiguousarray(self.embeddings.T))
        return query @ self.by_dim


_EMPTY = _State((), np.zeros((0, 0), np.float32), None, 0)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _save_npy(path: Path, arr: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)

    write_atomic(path, write)


def _check_within(path: Path, roots: Sequence[Path]) -> None:
    resolved = path.resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        raise MotionInputError(f"outside the library roots ({', '.join(str(r) for r in roots)}); links are "
                               "followed, and this one leads elsewhere", str(path))


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= MAX_K:
        raise MotionInputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return int(k)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (equal scores in index order), without a full sort."""
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.lexsort((top, -scores[top]))]


class MotionLibrary:
    """`reembed`: when a different retrieval model is used than the one the stored embeddings came from,
    re-embed every stored motion (True; the server's managed library) or refuse with a clear error (False;
    an index built for one model, queried from the command line)."""

    def __init__(self, folder: str | Path | None = None, reembed: bool = True):
        self.folder = Path(folder) if folder is not None else default_folder()
        self.reembed = reembed
        if self.folder.exists() and not self.folder.is_dir():
            raise MotionInputError("the library path exists and is not a folder", str(self.folder))
        self._lock = _folder_lock(self.folder)
        self._state = _EMPTY
        self._stamp: tuple[int, ...] | None = None

    # ----------------------------------------------------------------------------------- on disk

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_FILE

    def _motion_path(self, entry_id: str) -> Path:
        return self.folder / "motions" / f"{entry_id}.npy"

    def _read(self) -> _State:
        """The state on disk, re-read only when index.json changed since the last read."""
        with self._lock.hold():
            try:
                st = self.index_path.stat()
            except FileNotFoundError:
                self._state, self._stamp = _EMPTY, None
                return self._state
            # every commit replaces index.json: a new inode, even within the clock's resolution
            stamp = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            if stamp != self._stamp:
                self._state, self._stamp = self._parse(), stamp
            return self._state

    def _damaged(self, reason: str) -> MotionInputError:
        return MotionInputError(f"the library index is damaged ({reason}); move the folder away to start afresh",
                                str(self.index_path))

    def _parse(self) -> _State:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise self._damaged(f"unreadable JSON: {err}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise MotionInputError(f"not a motion library index (format is not {FORMAT!r})", str(self.index_path))
        if int(data.get("version", 0)) > VERSION:
            raise MotionInputError(f"written by a newer mogents (version {data.get('version')})",
                                   str(self.index_path))
        try:
            entries = tuple(LibraryEntry.from_json(e) for e in data["entries"])
            generation = int(data["generation"])
            model = data.get("model")
            name = str(data["embeddings"])
        except (KeyError, TypeError, ValueError) as err:
            raise self._damaged(f"missing or bad field {err}") from None
        if Path(name).name != name:
            raise self._damaged(f"bad embeddings file name {name!r}")
        try:
            embeddings = np.load(self.folder / name, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise self._damaged(f"cannot read {name}: {err}") from None
        if embeddings.ndim != 2 or len(embeddings) != len(entries):
            raise self._damaged(f"{name} holds {embeddings.shape} for {len(entries)} entries")
        return _State(entries, embeddings.astype(np.float32, copy=False), model, generation)

    def _commit(self, entries: Sequence[LibraryEntry], embeddings: np.ndarray, model: str | None) -> None:
        """Write a new embeddings file and the index naming it; then drop embeddings files no longer named."""
        with self._lock.hold(create=True):
            old = self._read()
            generation = old.generation + 1
            emb_name = f"embeddings-{generation}.npy"
            _save_npy(self.folder / emb_name, np.asarray(embeddings, np.float32))
            index = {"format": FORMAT, "version": VERSION, "model": model,
                     "embed_dim": int(embeddings.shape[1]) if embeddings.ndim == 2 else 0,
                     "generation": generation, "embeddings": emb_name,
                     "entries": [e.to_json() for e in entries]}
            text = json.dumps(index, indent=1, ensure_ascii=False) + "\n"
            write_atomic(self.index_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            for stale in self.folder.glob("embeddings-*.npy"):
                if stale.name != emb_name:
                    stale.unlink(missing_ok=True)
            self._stamp = None
            self._read()

    # -------------------------------------------------------------------------------------- reading

    def entries(self) -> list[LibraryEntry]:
        return list(self._read().entries)

    def __len__(self) -> int:
        return len(self._read().entries)

    @property
    def model(self) -> str | None:
        """Name of the retrieval model the stored embeddings come from (None while empty)."""
        return self._read().model

    def _entry(self, entry_id: str) -> LibraryEntry:
        for entry in self._read().entries:
            if entry.id == entry_id:
                return entry
        raise MotionInputError(f"no motion with id {entry_id!r} in the library", str(self.folder))

    def _features(self, entry: LibraryEntry) -> np.ndarray:
        path = self._motion_path(entry.id)
        try:
            features = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise MotionInputError(f"cannot read the stored motion of {entry.id} ({err}); remove it with "
                                   f"`mogents library remove {entry.id}`", str(path)) from None
        return np.asarray(features, np.float32)

    def get(self, entry_id: str) -> LibraryMotion:
        """Features, fps and captions of an entry (`.joints` gives positions), to apply like a generation."""
        entry = self._entry(entry_id)
        return LibraryMotion(entry, self._features(entry), entry.fps)

    def info(self) -> dict:
        state = self._read()
        frames = sum(e.frames for e in state.entries)
        size = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) if self.folder.is_dir() else 0
        return {"folder": str(self.folder), "entries": len(state.entries), "model": state.model,
                "embed_dim": int(state.embeddings.shape[1]) if state.entries else None, "frames": frames,
                "seconds": round(frames / FPS, 1), "bytes": size}

    # -------------------------------------------------------------------------------------- changes

    def _ensure_model(self, runtime: RetrievalRuntime) -> _State:
        """The state, re-embedded from the stored features first if another model made its embeddings."""
        with self._lock.hold():
            state = self._read()
            name = runtime.info.name
            if state.model == name or not state.entries:
                return state
            if not self.reembed:
                raise MotionInputError(
                    f"this index was built with the retrieval model {state.model!r}, not {name!r}: query it with "
                    f"that model, or pass --reembed to re-embed its {len(state.entries)} motions with this one",
                    str(self.folder))
            motions = [self._features(e) for e in state.entries]
            embeddings = runtime.encode_motion(motions) if motions else np.zeros((0, runtime.info.embed_dim))
            entries = [LibraryEntry(**{**asdict(e), "model": name}) for e in state.entries]
            self._commit(entries, embeddings, name)
            return self._read()

    def _new_id(self, sha: str, taken: set[str]) -> str:
        for n in range(12, len(sha) + 1):
            if sha[:n] not in taken:
                return sha[:n]
        raise MotionInputError(f"cannot make an id for sha256 {sha}")

    def _store(self, batch: list[tuple[MotionSource, str, ImportedMotion]], runtime: RetrievalRuntime,
               report: AddReport) -> None:
        """Embed a batch of read motions and commit them (those another add stored meanwhile are skipped)."""
        if not batch:
            return
        embeddings = runtime.encode_motion([m.features for _, _, m in batch])
        with self._lock.hold(create=True):
            state = self._ensure_model(runtime)
            known = {e.sha256 for e in state.entries}
            taken = {e.id for e in state.entries}
            entries, rows = list(state.entries), [state.embeddings] if state.entries else []
            for (source, sha, motion), emb in zip(batch, embeddings, strict=True):
                if sha in known:
                    report.skipped.append(str(source.path))
                    continue
                entry = LibraryEntry(id=self._new_id(sha, taken), name=source.name, source=str(source.path.resolve()),
                                     sha256=sha, captions=tuple(motion.captions), frames=len(motion.features),
                                     fps=FPS, added=_now(), model=runtime.info.name, kind=source.kind)
                (self.folder / "motions").mkdir(parents=True, exist_ok=True)
                _save_npy(self._motion_path(entry.id), motion.features)
                known.add(sha)
                taken.add(entry.id)
                entries.append(entry)
                rows.append(emb[None])
                report.added.append(entry)
            if len(entries) > len(state.entries):
                self._commit(entries, np.concatenate(rows).astype(np.float32), runtime.info.name)

    def _read_source(self, source: MotionSource, runtime: RetrievalRuntime) -> ImportedMotion:
        motion = load_motion(source)
        frames = len(motion.features)
        if motion.features.ndim != 2 or motion.features.shape[1] != runtime.info.feature_dim:
            raise MotionInputError(f"features of shape {motion.features.shape}; the retrieval model takes "
                                   f"(T, {runtime.info.feature_dim})", str(source.path))
        check_motion_values(motion.features, "the feature array", (runtime.info.feature_dim,), str(source.path))
        if frames < runtime.info.min_frames or frames > MAX_ENTRY_FRAMES:
            raise MotionInputError(f"{frames} frames at {FPS:g} fps; the library takes "
                                   f"{runtime.info.min_frames} to {MAX_ENTRY_FRAMES}", str(source.path))
        return motion

    def add_folder(self, path: str | Path, runtime: RetrievalRuntime, progress: Progress | None = None,
                   cancel: Cancel | None = None, split: str | None = None,
                   roots: Sequence[Path] | None = None) -> AddReport:
        """Add every motion under `path` (see `importers.find_motions`) that is not in the library yet.

        A source whose content (sha256) is already stored is skipped unread; a broken one goes into
        `failed` with the reason; only regular files are read (a FIFO or a device is reported, not opened).
        `progress(i, n)` after each source; `cancel()` returning True stops before the next source (or
        while hashing a big one), keeping what was added. Motions are embedded and committed in batches.
        With `roots` (resolved folders; the server's --library-root), a source whose real path (links
        followed) lies outside all of them is reported as failed, unread.
        """
        sources = find_motions(path, split)  # raises before anything changes when there is nothing to add
        if not runtime.info.has("motion"):
            raise MotionInputError(f"the retrieval model {runtime.info.name!r} has no motion encoder")
        self._ensure_model(runtime)
        known = {e.sha256 for e in self._read().entries}
        report = AddReport()
        batch: list[tuple[MotionSource, str, ImportedMotion]] = []
        for i, source in enumerate(sources):
            if cancel is not None and cancel():
                report.cancelled = True
                break
            try:
                if roots is not None:
                    _check_within(source.path, roots)
                sha = source_digest(source.path, cancel)
                if sha is None:  # cancelled while reading
                    report.cancelled = True
                    break
                if sha in known:
                    report.skipped.append(str(source.path))
                else:
                    batch.append((source, sha, self._read_source(source, runtime)))
                    known.add(sha)
            except MotionInputError as err:
                report.failed.append((str(source.path), str(err).removeprefix(f"{source.path}: ")))
            except Exception as err:  # a foreign file must not stop the batch; the reason is reported
                report.failed.append((str(source.path), f"{type(err).__name__}: {err}"))
            if len(batch) >= COMMIT_EVERY:
                self._store(batch, runtime, report)
                batch = []
            if progress is not None:
                progress(i + 1, len(sources))
        self._store(batch, runtime, report)
        return report

    def remove(self, ids: Iterable[str]) -> list[LibraryEntry]:
        """Remove entries by id; an unknown id changes nothing and raises. Returns the removed entries."""
        wanted = list(dict.fromkeys([ids] if isinstance(ids, str) else ids))
        if not wanted:
            raise MotionInputError("no ids given to remove")
        with self._lock.hold():
            state = self._read()
            present = {e.id for e in state.entries}
            unknown = [i for i in wanted if i not in present]
            if unknown:
                raise MotionInputError(f"no motion with id {', '.join(map(repr, unknown))} in the library",
                                       str(self.folder))
            drop = set(wanted)
            keep = [i for i, e in enumerate(state.entries) if e.id not in drop]
            removed = [e for e in state.entries if e.id in drop]
            self._commit([state.entries[i] for i in keep], state.embeddings[keep], state.model if keep else None)
            for entry in removed:  # only after the index stopped naming them
                self._motion_path(entry.id).unlink(missing_ok=True)
            return removed

    # -------------------------------------------------------------------------------------- search

    def _search(self, runtime: RetrievalRuntime, k: int, embed: Callable[[], np.ndarray]) -> list[SearchHit]:
        k = check_k(k)
        if not self._read().entries:
            raise MotionInputError("the library is empty; add motions first (`mogents library add FOLDER`)",
                                   str(self.folder))
        state = self._ensure_model(runtime)
        query = np.asarray(embed(), np.float32).reshape(-1)
        scores = state.scores(query)
        order = top_k(scores, k)
        return [SearchHit(rank + 1, state.entries[i].id, state.entries[i].name, float(scores[i]),
                          state.entries[i].captions) for rank, i in enumerate(order)]

    def search_text(self, runtime: RetrievalRuntime, text: str, k: int = 10) -> list[SearchHit]:
        if not isinstance(text, str) or not text.strip():
            raise MotionInputError("the search text is empty")
        text = " ".join(text.split())
        if len(text) > MAX_QUERY_CHARS:
            raise MotionInputError(f"the search text has {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
        if not runtime.info.has("text"):
            raise MotionInputError(f"the retrieval model {runtime.info.name!r} has no text encoder")
        return self._search(runtime, k, lambda: runtime.encode_text([text]))

    def search_motion(self, runtime: RetrievalRuntime, features: np.ndarray, k: int = 10) -> list[SearchHit]:
        """Rank the library by similarity to a motion given as features (T, 263) at 20 fps."""
        features = np.asarray(features)
        dim, low = runtime.info.feature_dim, runtime.info.min_frames
        if features.ndim != 2 or features.shape[1] != dim:
            raise MotionInputError(f"the query motion must be features of shape (T, {dim}), got {features.shape}")
        if not low <= len(features) <= MAX_QUERY_FRAMES:
            raise MotionInputError(f"the query motion has {len(features)} frames; {low} to {MAX_QUERY_FRAMES} "
                                   f"({MAX_QUERY_FRAMES / FPS:g} s) are searchable")
        check_motion_values(features, "the query motion")
        return self._search(runtime, k, lambda: runtime.encode_motion([features.astype(np.float32)]))

    def search_video(self, runtime: RetrievalRuntime, frames: np.ndarray, k: int = 10) -> list[SearchHit]:
        """Rank the library by similarity to a reference video, RGB frames (N, H, W, 3) uint8."""
        if not runtime.info.has("video"):
            raise MotionInputError(f"the retrieval model {runtime.info.name!r} has no video encoder")
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise MotionInputError(f"the video must be RGB frames (N, H, W, 3) uint8, got {frames.shape} "
                                   f"{frames.dtype}")
        if not 1 <= len(frames) <= MAX_VIDEO_FRAMES:
            raise MotionInputError(f"the video has {len(frames)} frames; 1 to {MAX_VIDEO_FRAMES} are searchable")
        return self._search(runtime, k, lambda: runtime.encode_video(frames))
