"""`mogents retrieve` and `mogents library`: search a motion library by text, motion or video; manage it.

    mogents retrieve "a person jumps" | --motion FILE | --video FILE [-k 10] [--library DIR] [--json]
    mogents library add FOLDER [--split test] | add-corpus [--clips N] | list | remove ID... | info  [--library DIR]

The library lives in $MOGENTS_HOME/library unless --library is given; the model is the shipped retrieval
model unless --model names another folder. Everything runs in-process.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from ..errors import MotionInputError
from .server_option import add_server_option, wants_server

CAPTION_WIDTH = 70
MAX_CORPUS_CLIPS = 5000


def _library(args: argparse.Namespace):
    if wants_server(args):  # the running server's library, through its API
        from .remote import RemoteLibrary, client_for, no_local_choices

        no_local_choices(args, "library", "model")
        return RemoteLibrary(client_for(args))
    from ..retrieve.library import MotionLibrary

    return MotionLibrary(args.library, reembed=getattr(args, "reembed", False))


def _runtime(args: argparse.Namespace):
    if wants_server(args):
        from .remote import RemoteRetrieval, client_for

        return RemoteRetrieval(client_for(args))
    from ..retrieve.loader import load_retrieval

    return load_retrieval(args.model, args.device)


def _caption(captions) -> str:
    text = captions[0] if captions else ""
    more = f" (+{len(captions) - 1})" if len(captions) > 1 else ""
    if len(text) + len(more) > CAPTION_WIDTH:
        text = text[:CAPTION_WIDTH - len(more) - 3] + "..."
    return text + more


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
    return "\n".join([line(header), *(line(r) for r in rows)])


# ------------------------------------------------------------------------------------------- retrieve

def _query_motion(path: str):
    from ..retrieve.importers import MOTION_SUFFIXES, MotionSource, load_motion

    file = Path(path)
    if not file.is_file():
        raise MotionInputError("query motion file not found", str(file))
    suffix = file.suffix.lower()
    if suffix not in MOTION_SUFFIXES:
        raise MotionInputError(f"unsupported query motion type {suffix or '(none)'!r} "
                               f"(use {', '.join(MOTION_SUFFIXES)})", str(file))
    return load_motion(MotionSource(file, suffix[1:], file.stem)).features


def _query_video(path: str, runtime):
    from ..retrieve.video_input import load_query_video, query_frame_count

    clip = load_query_video(path, n=query_frame_count(runtime))
    for note in clip.notes:
        print(f"note: {note}", file=sys.stderr)
    return clip.frames


def run_retrieve(args: argparse.Namespace) -> int:
    from ..retrieve.library import check_k

    given = [q for q in (args.text, args.motion, args.video) if q is not None]
    if len(given) != 1:
        raise MotionInputError("give exactly one query: TEXT, --motion FILE or --video FILE")
    check_k(args.k)
    library = _library(args)
    if args.text is not None and not args.text.strip():
        raise MotionInputError("the search text is empty")
    features = _query_motion(args.motion) if args.motion is not None else None
    if args.video is not None and not Path(args.video).exists():
        raise MotionInputError("query video file or frame folder not found", args.video)
    runtime = _runtime(args)
    if args.text is not None:
        query, hits = args.text, library.search_text(runtime, args.text, args.k)
    elif features is not None:
        query, hits = args.motion, library.search_motion(runtime, features, args.k)
    else:
        if not runtime.info.has("video"):
            raise MotionInputError(f"the retrieval model {runtime.info.name!r} has no video encoder")
        query, hits = args.video, library.search_video(runtime, _query_video(args.video, runtime), args.k)
    if args.json:
        print(json.dumps({"query": query, "model": runtime.info.name, "library": str(library.folder),
                          "hits": [h.to_json() for h in hits]}, indent=2, ensure_ascii=False))
        return 0
    rows = [(str(h.rank), f"{h.score:.3f}", h.id, h.name, _caption(h.captions)) for h in hits]
    print(_table(("rank", "score", "id", "name", "caption"), rows, {0, 1}))
    return 0


# -------------------------------------------------------------------------------------------- library

def _progress(quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def report(i: int, n: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=n, desc="adding", unit="file", leave=False, file=sys.stderr)
        bar["bar"].update(i - bar["bar"].n)
        if i >= n:
            bar.pop("bar").close()

    return report


def run_library_add(args: argparse.Namespace) -> int:
    from ..retrieve.importers import find_motions

    library = _library(args)
    find_motions(args.path, args.split)  # bad paths fail before the model loads
    return _add(args, library, Path(args.path), args.split)


def run_library_build(args: argparse.Namespace) -> int:
    """A library index from one or more sources (folders in HumanML3D layout, BVH / .npy / .npz files)."""
    from ..retrieve.importers import find_motions
    from ..retrieve.library import MotionLibrary

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not (out / "index.json").is_file():
        raise MotionInputError("--out exists and is not a library index; give a new or empty folder", str(out))
    for src in args.sources:
        find_motions(src, args.split)  # every source is checked before the model loads or anything is written
    library = MotionLibrary(out, reembed=args.reembed)
    status = 0
    for src in args.sources:
        if not args.quiet and not args.json:
            print(f"adding {src}", file=sys.stderr)
        status = max(status, _add(args, library, Path(src), args.split))
    return status


def run_library_add_corpus(args: argparse.Namespace) -> int:
    """Synthesise clips of the procedural corpus (numpy only) into a temporary folder and add them."""
    import tempfile

    if not 1 <= args.clips <= MAX_CORPUS_CLIPS:
        raise MotionInputError(f"--clips must be from 1 to {MAX_CORPUS_CLIPS}, got {args.clips}")
    if args.seed < 0:
        raise MotionInputError(f"--seed must be non-negative, got {args.seed}")
    try:
        from training.corpus.synth import write_corpus
    except ImportError as err:
        raise MotionInputError(f"the procedural corpus needs mogents' training package: {err}") from None
    library = _library(args)
    with tempfile.TemporaryDirectory(prefix="mogents-corpus-") as tmp:
        corpus = write_corpus(Path(tmp) / f"corpus-seed{args.seed}", clips=args.clips, seed=args.seed, workers=1,
                              mirror=False, progress=not args.quiet)
        return _add(args, library, corpus, None)


def _add(args: argparse.Namespace, library, path: Path, split: str | None) -> int:
    runtime = _runtime(args)
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()  # signal handlers only work there
    # Ctrl-C: stop after the current file and keep what was added
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set()) if in_main else None
    try:
        report = library.add_folder(path, runtime, _progress(args.quiet), stop.is_set, split)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    if args.json:
        print(json.dumps({"added": [e.to_json() for e in report.added], "skipped": report.skipped,
                          "failed": [{"source": s, "reason": r} for s, r in report.failed],
                          "cancelled": report.cancelled, "entries": len(library)}, indent=2, ensure_ascii=False))
    else:
        print(f"added {len(report.added)}, skipped {len(report.skipped)} already in the library, "
              f"failed {len(report.failed)}{' (interrupted)' if report.cancelled else ''}; "
              f"{len(library)} motions in {library.folder}")
        for source, reason in report.failed:
            print(f"  failed: {source}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def run_library_list(args: argparse.Namespace) -> int:
    entries = _library(args).entries()
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("the library is empty; add motions with `mogents library add FOLDER`")
        return 0
    rows = [(e.id, e.name, str(e.frames), f"{e.seconds:.1f}", e.kind, _caption(e.captions)) for e in entries]
    print(_table(("id", "name", "frames", "seconds", "kind", "caption"), rows, {2, 3}))
    return 0


def run_library_remove(args: argparse.Namespace) -> int:
    library = _library(args)
    removed = library.remove(args.ids)
    for entry in removed:
        print(f"removed {entry.id} ({entry.name})")
    print(f"{len(library)} motions left in {library.folder}")
    return 0


def run_library_info(args: argparse.Namespace) -> int:
    info = _library(args).info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        print(f"{key:>10}: {value}")
    return 0


def _library_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", help="library folder (default: $MOGENTS_HOME/library)")
    add_server_option(p)


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="retrieval model folder (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("retrieve", help="search the motion library by text, a motion or a video")
    r.add_argument("text", nargs="?", help="what to look for, e.g. \"a person jumps on one leg\"")
    r.add_argument("--motion", help="query motion: .npz (mogents generate), .npy joints/features or .bvh")
    r.add_argument("--video", help="query video: MP4/MOV/MKV/AVI/WebM/GIF, a folder of PNG/JPEG frames or a .npy "
                                   "(N, H, W, 3) uint8; 8 frames are sampled (needs a retrieval model with a video "
                                   "encoder)")
    r.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    r.add_argument("--json", action="store_true", help="print the hits as JSON")
    r.add_argument("--reembed", action="store_true",
                   help="if the library was embedded with another model, re-embed it with this one")
    _library_option(r)
    _model_options(r)
    r.set_defaults(func=run_retrieve)

    lib = sub.add_parser("library", help="manage the motion library (add, list, remove, info)")
    actions = lib.add_subparsers(dest="library_action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="add the motions of a folder or file (.bvh, .npy, .npz, HumanML3D layout); "
                                       "exits 1 when some files could not be read")
    a.add_argument("path", help="folder (searched recursively) or file")
    a.add_argument("--split", help="for a HumanML3D-layout folder: add only this split "
                                   "(train, val, test, all, or another SPLIT.txt)")
    a.add_argument("--json", action="store_true", help="print the report as JSON")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.add_argument("--reembed", action="store_true", help="re-embed the library first if another model built it")
    _library_option(a)
    _model_options(a)
    a.set_defaults(func=run_library_add)
    b = actions.add_parser("build", help="build a library index from folders/files (HumanML3D layout incl. "
                                         "`mogents data import` output, BVH, .npy, .npz); exits 1 when some "
                                         "files could not be read")
    b.add_argument("sources", nargs="+", metavar="SRC", help="folders (searched recursively) or files")
    b.add_argument("--out", required=True, help="index folder to create or extend")
    b.add_argument("--split", help="for HumanML3D-layout folders: only this split "
                                   "(train, val, test, all, or another SPLIT.txt)")
    b.add_argument("--reembed", action="store_true", help="extend an index embedded with another model")
    b.add_argument("--json", action="store_true", help="print the reports as JSON")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_options(b)
    b.set_defaults(func=run_library_build)
    c = actions.add_parser("add-corpus", help="add clips of the procedural motion-language corpus (synthesised "
                                              "now; the same seed gives the same clips, so re-adding skips them)")
    c.add_argument("--clips", type=int, default=300, help="number of clips (default 300)")
    c.add_argument("--seed", type=int, default=1, help="corpus seed (default 1; the shipped models trained on 0)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    _library_option(c)
    _model_options(c)
    c.set_defaults(func=run_library_add_corpus)
    ls = actions.add_parser("list", help="list the library's motions")
    ls.add_argument("--json", action="store_true")
    _library_option(ls)
    ls.set_defaults(func=run_library_list)
    rm = actions.add_parser("remove", help="remove motions by id")
    rm.add_argument("ids", nargs="+", metavar="ID")
    _library_option(rm)
    rm.set_defaults(func=run_library_remove)
    info = actions.add_parser("info", help="library folder, size and embedding model")
    info.add_argument("--json", action="store_true")
    _library_option(info)
    info.set_defaults(func=run_library_info)
