"""`mogents eval retrieval`: the TMR protocols and zero-shot family classification for any retrieval model.

The evaluation set is a split of a HumanML3D-layout dataset, ONE pair per clip: the clip's motion and the
first caption line of `texts/ID.txt`. A caption with a time window (start/end seconds, not both 0) crops the
motion (and proportionally the video) to that window, as the text-motion loaders do. Mirrored copies
(`M<id>` next to `<id>`) are near-duplicates of their original, so by default only originals enter the
gallery; otherwise a mirrored copy would be an unfair negative.

Encoders follow `backend.retrieve.runtime.RetrievalRuntime`; `skeleton=` evaluates joints
(`new_joints/ID.npy`) through the optional `encode_joints` (skeleton-agnostic models, e.g. Motion Patches on
a KIT-21 conversion). Caption similarities (threshold and dissimilar protocols) come from the bundled MiniLM;
TMR used all-mpnet-base-v2, which is not available offline, so thresholds are not exactly TMR's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.errors import MotionInputError
from backend.motion.skeleton import get_skeleton
from backend.retrieve.protocols import (
    DEFAULT_THRESHOLDS,
    PROTOCOLS,
    CaptionSimilarity,
    check_protocols,
    check_thresholds,
    family_prompt,
    run_protocols,
    zero_shot_classification,
)
from training.data.layout_reader import check_root, load_captions, load_clip_array, load_features, read_split

FORMAT = "mogents-retrieval-eval"
CAPTION_MODEL = "all-MiniLM-L6-v2 (bundled)"
CAPTION_NOTE = ("caption similarity from the bundled all-MiniLM-L6-v2; TMR used all-mpnet-base-v2 (not available "
                "offline), so threshold and dissimilar-subset numbers are close to, not identical with, TMR's")
ENCODE_CHUNK = 256


@dataclass
class EvalClip:
    """One evaluation pair: frames [start, end) of clip `clip_id` and its caption."""

    clip_id: str
    caption: str
    start: int
    end: int
    frames: int                                  # length of the whole clip
    motion: np.ndarray = field(repr=False)       # (T, D) features or (T, J, 3) joints of the window


# --- model loading ---------------------------------------------------------------------------------------

def load_encoders(path: str | Path, device: str = "auto"):
    """A retrieval runtime: an exported folder (`retrieval.json`) via ONNX Runtime, or a torch `.pt` checkpoint
    via `training.retrieval.encoders.load_torch_encoders`."""
    path = Path(path)
    if path.is_dir():
        from backend.retrieve.loader import load_retrieval

        return load_retrieval(path, device)
    if not path.exists():
        raise MotionInputError("retrieval model not found (expected a folder with retrieval.json or a .pt file)",
                               str(path))
    if path.suffix != ".pt":
        raise MotionInputError("not a retrieval model: expected a folder with retrieval.json or a .pt checkpoint",
                               str(path))
    try:
        from training.retrieval.encoders import load_torch_encoders
    except ImportError as err:
        raise MotionInputError(f"cannot load torch retrieval checkpoints in this checkout "
                               f"(training.retrieval.encoders: {err})", str(path)) from None
    return load_torch_encoders(str(path), device)


def minilm_caption_similarity(device: str = "cpu") -> CaptionSimilarity:
    """captions -> (N, N) cosine similarity of their MiniLM sentence embeddings. The model loads on the first
    call (a run that fails before needs none) and caches each caption's embedding across calls."""
    encoder = []

    def similarity(captions: Sequence[str]) -> np.ndarray:
        if not encoder:
            from training.models.text_encoder import SentenceEncoder

            encoder.append(SentenceEncoder("minilm", device="cuda" if device == "cuda" else "cpu"))
        unique = list(dict.fromkeys(captions))
        where = {c: i for i, c in enumerate(unique)}
        emb = encoder[0].encode(unique).float().numpy()[[where[c] for c in captions]]
        return emb @ emb.T

    return similarity


# --- the evaluation set ----------------------------------------------------------------------------------

def motion_folder(skeleton: str | None) -> str:
    """Where the evaluated motions live: features, or joints for a skeleton-agnostic evaluation."""
    return "new_joints" if skeleton else "new_joint_vecs"


def check_dataset(root: str | Path, split: str, skeleton: str | None = None) -> tuple[Path, list[str]]:
    """The dataset folder and its split's IDs; a missing folder, motion folder or split is a user error."""
    if skeleton is None:
        root = check_root(root)
    else:
        root = Path(root)
        if not root.is_dir():
            raise MotionInputError("dataset folder not found", str(root))
        if not (root / "new_joints").is_dir():
            raise MotionInputError("a --skeleton evaluation needs joints: no new_joints/ folder", str(root))
    return root, read_split(root, split)


def _is_mirror_of_present(root: Path, folder: str, clip_id: str) -> bool:
    # user datasets may name originals "M..." too: only a clip whose unmirrored id exists is a mirrored copy
    return clip_id.startswith("M") and (root / folder / f"{clip_id[1:]}.npy").is_file()


def load_eval_clips(root: str | Path, split: str, *, feature_dim: int, fps: float, min_frames: int,
                    include_mirrored: bool = False, skeleton: str | None = None, max_frames: int | None = None,
                    progress: bool = False) -> tuple[list[EvalClip], dict]:
    """The split's pairs and a report of what was left out and why."""
    from tqdm import tqdm

    root, ids = check_dataset(root, split, skeleton)
    folder = motion_folder(skeleton)
    num_joints = get_skeleton(skeleton).num_joints if skeleton else 0
    report = {"listed": len(ids), "mirrored_excluded": 0, "too_short": 0, "no_caption": 0}
    clips: list[EvalClip] = []
    for clip_id in tqdm(ids, desc="load clips", unit="clip", disable=not progress, dynamic_ncols=True):
        if not include_mirrored and _is_mirror_of_present(root, folder, clip_id):
            report["mirrored_excluded"] += 1
            continue
        captions = load_captions(root / "texts" / f"{clip_id}.txt")
        if not captions:
            report["no_caption"] += 1
            continue
        if skeleton:
            motion = load_clip_array(root / "new_joints" / f"{clip_id}.npy", (num_joints, 3), "joints")
        else:
            motion = load_features(root / "new_joint_vecs" / f"{clip_id}.npy", feature_dim)
        cap, start_s, end_s = captions[0]
        a, b = (0, len(motion)) if start_s == 0.0 and end_s == 0.0 else (int(start_s * fps), int(end_s * fps))
        window = motion[a:b][:max_frames] if max_frames else motion[a:b]
        if len(window) < min_frames:
            report["too_short"] += 1
            continue
        clips.append(EvalClip(clip_id, cap.text, a, a + len(window), len(motion), window))
    report["pairs"] = len(clips)
    if not clips:
        raise MotionInputError(f"no usable clips in split {split!r} ({json.dumps(report)})", str(root))
    return clips, report


def load_video(videos_dir: Path, clip: EvalClip) -> np.ndarray:
    """(F, H, W, 3) uint8 frames of the clip's video (`ID.npy` frames or `ID.mp4`), cropped like the motion."""
    npy, mp4 = videos_dir / f"{clip.clip_id}.npy", videos_dir / f"{clip.clip_id}.mp4"
    if npy.is_file():
        try:
            frames = np.load(npy)
        except (OSError, ValueError) as err:
            raise MotionInputError(f"cannot read video frames: {err}", str(npy)) from None
    elif mp4.is_file():
        try:
            from backend.retrieve.video_input import read_video
        except ImportError:
            raise MotionInputError("reading .mp4 videos needs backend.retrieve.video_input, which this checkout "
                                   "lacks; give (F, H, W, 3) uint8 frames as ID.npy", str(mp4)) from None
        frames, _ = read_video(mp4)
    else:
        raise MotionInputError(f"no video for clip {clip.clip_id} (expected {npy.name} or {mp4.name})",
                               str(videos_dir))
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise MotionInputError(f"expected (F, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}", str(npy))
    if (clip.start, clip.end) != (0, clip.frames):
        # the video shows the whole clip: keep the same fraction of it as the caption window keeps
        a = int(clip.start * len(frames) / clip.frames)
        b = max(a + 1, int(round(clip.end * len(frames) / clip.frames)))
        frames = frames[a:b]
    return frames


def read_families(root: Path) -> dict[str, list[str]] | None:
    """{clip id: families} from `corpus_meta.jsonl`, or None when the dataset has none."""
    path = root / "corpus_meta.jsonl"
    if not path.is_file():
        return None
    out: dict[str, list[str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["id"])] = [str(f) for f in row["families"]]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise MotionInputError(f"line {n}: not a JSON object with 'id' and 'families'", str(path)) from None
    return out


# --- encoding --------------------------------------------------------------------------------------------

def _chunks(n: int, desc: str, progress: bool):
    from tqdm import tqdm

    starts = range(0, n, ENCODE_CHUNK)
    return tqdm(starts, desc=desc, total=len(starts), disable=not progress, dynamic_ncols=True)


def encode_pairs(encoders, clips: list[EvalClip], *, skeleton: str | None, videos_dir: Path | None,
                 progress: bool) -> dict[str, np.ndarray]:
    """{"text", "motion"[, "video"]}: (N, E) embeddings, row i for clip i."""
    captions = [c.caption for c in clips]
    text = np.concatenate([encoders.encode_text(captions[s:s + ENCODE_CHUNK])
                           for s in _chunks(len(clips), "encode text", progress)])
    motion_parts = []
    for s in _chunks(len(clips), "encode motion", progress):
        batch = [c.motion for c in clips[s:s + ENCODE_CHUNK]]
        motion_parts.append(encoders.encode_joints(batch, skeleton) if skeleton else encoders.encode_motion(batch))
    out = {"text": text, "motion": np.concatenate(motion_parts)}
    if videos_dir is not None:
        from tqdm import tqdm

        out["video"] = np.concatenate([encoders.encode_video(load_video(videos_dir, c)).reshape(1, -1)
                                       for c in tqdm(clips, desc="encode video", unit="video",
                                                     disable=not progress, dynamic_ncols=True)])
    return out


def _check_model(encoders, skeleton: str | None, videos_dir: Path | None) -> None:
    info = encoders.info
    for modality in ("text", "motion"):
        if not info.has(modality):
            raise MotionInputError(f"the retrieval model {info.name!r} has no {modality} encoder")
    if videos_dir is not None:
        if not info.has("video"):
            raise MotionInputError(f"video protocols need a model with a video encoder; {info.name!r} has only "
                                   f"{', '.join(sorted(info.modalities))}")
        if not videos_dir.is_dir():
            raise MotionInputError("videos folder not found", str(videos_dir))
    if skeleton:
        try:
            get_skeleton(skeleton)
        except KeyError as err:
            raise MotionInputError(str(err.args[0])) from None
        if not callable(getattr(encoders, "encode_joints", None)):
            raise MotionInputError(f"--skeleton needs a skeleton-agnostic model (with encode_joints); "
                                   f"{info.name!r} encodes only {info.feature_dim}-d features")


# --- the evaluation ---------------------------------------------------------------------------------------

def _zero_shot(encoders, root: Path, clips: list[EvalClip], motion_emb: np.ndarray) -> dict:
    families = read_families(root)
    if families is None:
        return {"skipped": "the dataset has no corpus_meta.jsonl (action families)"}

    def of(clip_id: str) -> list[str]:  # mirrored copies share their original's families
        return families.get(clip_id) or (families.get(clip_id[1:], []) if clip_id.startswith("M") else [])

    picked = [(i, of(c.clip_id)[0]) for i, c in enumerate(clips) if len(of(c.clip_id)) == 1]
    if not picked:
        return {"skipped": "no evaluated clip lists exactly one family"}
    from training.corpus.registry import FAMILIES

    seen = {f for fams in families.values() for f in fams}
    classes = list(FAMILIES) + sorted(seen - set(FAMILIES))
    prompts = [family_prompt(c) for c in classes]
    idx = [i for i, _ in picked]
    result = zero_shot_classification(motion_emb[idx], [f for _, f in picked], encoders.encode_text(prompts),
                                      classes)
    return {**result, "prompts": dict(zip(classes, prompts, strict=True))}


def evaluate_retrieval(encoders, data_root: str | Path, split: str = "test", *,
                       protocols: Sequence[str] = PROTOCOLS, thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                       videos_dir: str | Path | None = None, skeleton: str | None = None,
                       include_mirrored: bool = False, max_frames: int | None = None, seed: int = 0,
                       progress: bool = True, caption_similarity: CaptionSimilarity | None = None,
                       device: str = "cpu") -> dict:
    """Every requested protocol in every direction the model supports, plus zero-shot classification.

    Returns a JSON-able dict: "model", "data", "caption_similarity", "protocols" ({key: {direction: {R@1,
    R@2, R@3, R@5, R@10, MedR}}}), "protocol_info", "zero_shot", "seconds".
    """
    names = check_protocols(protocols)
    thresholds = check_thresholds(thresholds)
    if max_frames is not None and max_frames < 1:
        raise MotionInputError(f"max_frames must be at least 1, got {max_frames}")
    videos = Path(videos_dir) if videos_dir is not None else None
    _check_model(encoders, skeleton, videos)
    root, _ = check_dataset(data_root, split, skeleton)
    info = encoders.info
    clock = {"start": time.perf_counter()}

    clips, report = load_eval_clips(root, split, feature_dim=info.feature_dim, fps=info.fps,
                                    min_frames=info.min_frames, include_mirrored=include_mirrored,
                                    skeleton=skeleton, max_frames=max_frames, progress=progress)
    clock["loaded"] = time.perf_counter()
    emb = encode_pairs(encoders, clips, skeleton=skeleton, videos_dir=videos, progress=progress)
    clock["encoded"] = time.perf_counter()
    needs_captions = bool({"threshold", "dissimilar"} & set(names))
    if needs_captions and caption_similarity is None:
        caption_similarity = minilm_caption_similarity(device)
    result = run_protocols(emb["text"], emb["motion"], [c.caption for c in clips],
                           caption_similarity=caption_similarity, video_emb=emb.get("video"), protocols=names,
                           thresholds=thresholds, seed=seed)
    zero_shot = _zero_shot(encoders, root, clips, emb["motion"]) if "zero_shot" in names else None
    clock["done"] = time.perf_counter()
    return {
        "format": FORMAT,
        "version": 1,
        "model": {"name": info.name, "modalities": sorted(info.modalities), "embed_dim": info.embed_dim},
        "data": {"root": str(root), "split": split, "skeleton": skeleton, "include_mirrored": include_mirrored,
                 "videos": str(videos) if videos else None, "max_frames": max_frames, **report},
        "caption_similarity": {"model": CAPTION_MODEL, "note": CAPTION_NOTE} if needs_captions else None,
        "seed": seed,
        "requested": list(names),
        **result,
        "zero_shot": zero_shot,
        "seconds": {"load": clock["loaded"] - clock["start"], "encode": clock["encoded"] - clock["loaded"],
                    "protocols": clock["done"] - clock["encoded"]},
    }
