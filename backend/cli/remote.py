"""`--server [URL]`: the same commands, run by a running `mogents serve` instead of in-process.

The commands stay as they are: with --server they get stand-ins for the objects they would build locally
(`RemoteGenerator` for the generator, `RemoteLibrary` / `RemoteRetrieval` for the motion library and the
retrieval model) that forward each call to the HTTP API and return the same kinds of objects, so the
checks before and the files and tables after are produced by the same code either way.

Without a URL the address and token come from the server's state file (`config_home()/server.json`);
with one, the token is MOGENTS_TOKEN, else the state file's (when it names that URL), else the
per-installation token. Server errors become `error: server: ...` (exit 2).
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..client import Client, ClientError
from ..errors import MotionInputError

Progress = Callable[[str, int, int], None]


def client_for(args: argparse.Namespace) -> Client:
    from ..server.state import TOKEN_ENV, read_state, token_file_path

    with server_errors():
        if not args.server:
            return Client.from_state_file()
        token = os.environ.get(TOKEN_ENV)
        if token is None:
            state = read_state()
            if state is not None and str(state.get("url", "")).rstrip("/") == args.server.rstrip("/"):
                token = state.get("token")
        if token is None and token_file_path().is_file():
            token = token_file_path().read_text(encoding="utf-8").strip()
        return Client(args.server, token)


@contextmanager
def server_errors() -> Iterator[None]:
    """Client errors as user errors: the CLI prints them and exits 2."""
    try:
        yield
    except ClientError as err:
        raise MotionInputError(f"server: {err.message}") from None


def follow(events: Iterator[dict[str, Any]], progress: Progress | None) -> dict[str, Any]:
    """The result event of a stream, feeding the progress events to `progress`."""
    with server_errors():
        for event in events:
            if event["event"] == "progress" and progress is not None:
                progress(event["stage"], event["step"], event["total"])
            elif event["event"] == "result":
                return event
            elif event["event"] == "error":
                raise MotionInputError(f"server: {event['error']}")
    raise MotionInputError("server: the stream ended without a result")


def motion_from_json(data: dict[str, Any]):
    """A `GeneratedMotion` from the API's motion JSON (arrays exactly as the server had them)."""
    from ..generate.motion import GeneratedMotion

    return GeneratedMotion(np.asarray(data["features"], np.float32), np.asarray(data["joints"], np.float32),
                           float(data["fps"]), str(data["prompt"]), int(data["seed"]), dict(data.get("meta") or {}))


def _motion_json(motion) -> dict[str, Any]:
    return {"features": motion.features, "fps": motion.fps, "prompt": motion.prompt, "seed": motion.seed}


# ------------------------------------------------------------------------------------------ generator

class RemoteGenerator:
    """What `mogents generate | edit | compose` use of a `Generator`, answered by the server."""

    def __init__(self, client: Client):
        from ..motion.skeleton import SMPL22

        self.client = client
        self.skeleton = SMPL22  # the server's generators are SMPL-22; it checks names and shapes itself

    def _run(self, path: str, body: dict[str, Any], progress: Progress | None) -> dict[str, Any]:
        if progress is None:
            with server_errors():
                return self.client.request("POST", path, body)
        return follow(self.client.stream(path, body), progress)

    @staticmethod
    def _options(options) -> dict[str, Any]:
        if options is None:
            return {}
        return {"steps": options.steps, "cfg": options.cfg_scale, "temperature": options.temperature,
                "top_k": options.top_k}

    @staticmethod
    def _control(constraints) -> dict[str, Any]:
        return {} if constraints is None else constraints.to_json()

    def generate(self, prompt: str, seconds: float | None = None, seed: int = 0, samples: int = 1, options=None,
                 progress: Progress | None = None, raw: bool = False, constraints=None) -> list:
        result = self._run("/v1/generate", {"prompt": prompt, "seconds": seconds, "seed": seed, "samples": samples,
                                            "raw": raw, **self._options(options), **self._control(constraints)},
                           progress)
        return [motion_from_json(m) for m in result["motions"]]

    def edit(self, motion, prompt: str, frames: tuple[int, int] | None = None, joints: list[int] | None = None,
             seed: int = 0, options=None, blend: int | None = None, progress: Progress | None = None,
             raw: bool = False, constraints=None, method: str = "auto") -> tuple:
        from dataclasses import fields

        from ..generate.generator import EditReport

        names = [self.skeleton.joint_names[j] for j in joints] if joints else None
        body = {"motion": _motion_json(motion), "prompt": prompt, "frames": list(frames) if frames else None,
                "joints": names, "seed": seed, "raw": raw, "method": method, **self._options(options),
                **self._control(constraints)}
        result = self._run("/v1/edit", body, progress)
        report = result["report"]
        known = {f.name for f in fields(EditReport)}
        return motion_from_json(result["motion"]), EditReport(**{k: v for k, v in report.items() if k in known})

    def compose(self, prompts: list[str], seconds: list[float | None] | None = None, seed: int = 0, options=None,
                progress: Progress | None = None, raw: bool = False):
        body = {"prompts": prompts, "seconds": seconds, "seed": seed, "raw": raw, **self._options(options)}
        return motion_from_json(self._run("/v1/compose", body, progress)["motion"])


# ---------------------------------------------------------------------------------- library, retrieval

@dataclass(frozen=True)
class RemoteRetrievalInfo:
    name: str
    modalities: frozenset[str]

    def has(self, modality: str) -> bool:
        return modality in self.modalities


class RemoteRetrieval:
    """Stands in for the retrieval runtime: the server's model, as its health reports it."""

    def __init__(self, client: Client):
        with server_errors():
            health = client.health()
        model = next((m for m in health["models"] if m.get("kind") == "retrieval"), None)
        if model is None:
            problem = next((p["error"] for p in health.get("model_problems", []) if p["name"] == "retrieval"),
                           "not loaded")
            raise MotionInputError(f"server: no retrieval model is loaded ({problem})")
        self.info = RemoteRetrievalInfo(model["name"], frozenset(model.get("modalities", ())))


class RemoteLibrary:
    """What `mogents retrieve | library` use of a `MotionLibrary`, answered by the server's library."""

    def __init__(self, client: Client):
        self.client = client

    def _listing(self) -> dict[str, Any]:
        with server_errors():
            return self.client.library()

    @property
    def folder(self) -> Path:
        return Path(self._listing()["info"]["folder"])

    def entries(self) -> list:
        from ..retrieve.library import LibraryEntry

        return [LibraryEntry.from_json(e) for e in self._listing()["entries"]]

    def __len__(self) -> int:
        return len(self._listing()["entries"])

    def info(self) -> dict[str, Any]:
        return self._listing()["info"]

    @staticmethod
    def _hits(result: dict[str, Any]) -> list:
        from ..retrieve.library import SearchHit

        return [SearchHit(h["rank"], h["id"], h["name"], h["score"], tuple(h["captions"])) for h in result["hits"]]

    def search_text(self, runtime, text: str, k: int = 10) -> list:
        with server_errors():
            return self._hits(self.client.retrieve(text=text, k=k))

    def search_motion(self, runtime, features: np.ndarray, k: int = 10) -> list:
        with server_errors():
            return self._hits(self.client.retrieve(motion={"features": np.asarray(features, np.float32)}, k=k))

    def search_video(self, runtime, frames: np.ndarray, k: int = 10) -> list:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(frames), allow_pickle=False)
        with server_errors():
            return self._hits(self.client.retrieve(video=buffer.getvalue(), k=k))

    def add_folder(self, path: str | Path, runtime, progress: Callable[[int, int], None] | None = None,
                   cancel: Callable[[], bool] | None = None, split: str | None = None):
        from ..retrieve.library import AddReport, LibraryEntry

        with server_errors():
            # the server runs on this machine but in another working directory
            job = self.client.library_add(Path(path).resolve(), split)
            while job["status"] not in ("done", "failed", "cancelled"):
                time.sleep(0.1)
                if cancel is not None and cancel():
                    self.client.cancel_job(job["id"])
                job = self.client.job(job["id"])
                if progress is not None and job["progress"]["total"]:
                    progress(job["progress"]["step"], job["progress"]["total"])
        if job["status"] == "failed":
            raise MotionInputError(f"server: {job.get('error', 'adding the folder failed')}")
        result = job.get("result") or {"added": [], "skipped": [], "failed": []}
        return AddReport(added=[LibraryEntry.from_json(e) for e in result["added"]], skipped=result["skipped"],
                         failed=[(f["source"], f["reason"]) for f in result["failed"]],
                         cancelled=job["status"] == "cancelled")

    def remove(self, ids) -> list:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            raise MotionInputError("no ids given to remove")
        known = {e.id: e for e in self.entries()}
        unknown = [i for i in wanted if i not in known]
        if unknown:  # nothing changes when any id is wrong, as in-process
            raise MotionInputError(f"no motion with id {', '.join(map(repr, unknown))} in the library",
                                   str(self.folder))
        with server_errors():
            for entry_id in wanted:
                self.client.library_remove(entry_id)
        return [known[i] for i in wanted]


def no_local_choices(args: argparse.Namespace, *names: str) -> None:
    """Options that pick local files make no sense with --server: the server has its own."""
    given = [f"--{n}" for n in names if getattr(args, n, None)]
    if given:
        raise MotionInputError(f"{', '.join(given)} cannot be used with --server (the server uses its own; "
                               f"see `mogents serve --help`)")


# ------------------------------------------------------------------------------------------ retarget

class RemoteRetargetResult:
    """The parts of a `RetargetResult` that `mogents retarget` writes and reports, from the API's JSON."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.warnings: list[str] = data["warnings"]
        self.frames: int = data["frames"]
        self.rotations: dict[str, Any] = data["rotations"]
        self.scale: float = data["scale"]
        self.root_bone: str = data["root_bone"]

    def to_dict(self) -> dict[str, Any]:
        return self.data


def remote_retarget(client: Client, armature: dict[str, Any], joints: np.ndarray, bone_map: dict[str, Any] | None,
                    preset: str, options) -> RemoteRetargetResult:
    with server_errors():
        data = client.retarget(armature, {"joints": np.asarray(joints, np.float64), "fps": options.fps},
                               bone_map=bone_map, preset=None if bone_map is not None else preset,
                               root_motion=options.root_motion, scale=options.scale,
                               foot_cleanup=options.foot_cleanup, fps=options.fps)
    return RemoteRetargetResult(data)
