"""TMR retrieval protocols (REFERENCE.md §3) and zero-shot action classification, on precomputed embeddings.

An evaluation set is N pairs: row i of the text (and video) embeddings describes row i of the motion
embeddings, with caption i. Every protocol reports R@1/2/3/5/10 and MedR in both directions (t2m and m2t;
v2m and m2v when video embeddings are given), through `metrics.ranks` / `metrics.recall_table`:

- "all": the whole set is the gallery;
- "same_caption": "all", but pairs whose normalised captions are identical count as hits (Motion Patches'
  variant: a clip and its mirrored copy often share a caption);
- "threshold": "all", but a retrieved item counts when its caption's similarity to the query's caption is
  >= thr (TMR 0.95, LAVIMO 0.8); the true pair always counts;
- "dissimilar": "all" on a subset of 100 mutually dissimilar pairs. The papers at hand only say "100
  sampled pairs, each pair distinctly dissimilar" (LAVIMO, following TMR; TMR's own text is not in
  /work/shared/papers). We select them greedily (farthest-point): start from a seeded random pair, then
  repeatedly add the pair whose highest caption similarity to the pairs chosen so far is lowest;
- "batches": seeded batches of 32 pairs, each its own gallery, averaged (Guo et al.).

Caption similarities come from a function passed in (the evaluator uses a sentence model), so this module
stays numpy-only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import MotionInputError
from .metrics import (
    batched_metrics,
    retrieval_metrics,
    same_caption_positives,
    threshold_positives,
)

RETRIEVAL_PROTOCOLS = ("all", "same_caption", "threshold", "dissimilar", "batches")
PROTOCOLS = (*RETRIEVAL_PROTOCOLS, "zero_shot")
DEFAULT_THRESHOLDS = (0.95, 0.8)
DISSIMILAR_SIZE = 100
BATCH_SIZE = 32
DIRECTIONS = {"text": ("t2m", "m2t"), "video": ("v2m", "m2v")}

# captions -> (N, N) similarity of every caption to every other
CaptionSimilarity = Callable[[Sequence[str]], np.ndarray]


def check_protocols(names: Sequence[str]) -> tuple[str, ...]:
    """The requested protocol names, in canonical order; unknown or no names are a user error."""
    names = [n.strip() for n in names if n.strip()]
    unknown = sorted(set(names) - set(PROTOCOLS))
    if unknown:
        raise MotionInputError(f"unknown protocol(s) {', '.join(unknown)}; choose from {', '.join(PROTOCOLS)}")
    if not names:
        raise MotionInputError(f"no protocol requested; choose from {', '.join(PROTOCOLS)}")
    return tuple(p for p in PROTOCOLS if p in names)


def check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(t) for t in thresholds)
    if not out or not all(-1.0 < t <= 1.0 for t in out):
        raise MotionInputError(f"caption-similarity thresholds must lie in (-1, 1], got {list(thresholds)}")
    return out


def threshold_key(threshold: float) -> str:
    return f"threshold_{threshold:g}"


def dissimilar_subset(caption_sim: np.ndarray, size: int = DISSIMILAR_SIZE, seed: int = 0,
                      start: int | None = None) -> np.ndarray:
    """Indices of `min(size, N)` mutually dissimilar pairs, in the order chosen: greedy farthest-point from
    `start` (default: a random pair drawn with `seed`); ties go to the lowest index."""
    sim = np.asarray(caption_sim, np.float64)
    n = len(sim)
    if sim.shape != (n, n) or n == 0:
        raise ValueError(f"caption similarity must be a non-empty square matrix, got shape {sim.shape}")
    if size < 1:
        raise ValueError(f"the dissimilar subset needs a size of at least 1, got {size}")
    first = int(np.random.default_rng(seed).integers(n)) if start is None else int(start)
    chosen = [first]
    closest = sim[first].copy()  # each candidate's highest similarity to the chosen set
    closest[first] = np.inf
    while len(chosen) < min(size, n):
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, sim[nxt])
        closest[chosen] = np.inf
    return np.array(chosen)


def _both_ways(query: np.ndarray, motion: np.ndarray, names: tuple[str, str],
               positives: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    table = retrieval_metrics(query, motion, positives)
    return {names[0]: table["t2m"], names[1]: table["m2t"]}


def _batched_both_ways(query: np.ndarray, motion: np.ndarray, names: tuple[str, str], batch_size: int,
                       seed: int) -> dict[str, dict[str, float]]:
    table = batched_metrics(query, motion, batch_size=batch_size, seed=seed)
    return {names[0]: table["t2m"], names[1]: table["m2t"]}


def _checked_embeddings(text_emb, motion_emb, video_emb, captions) -> dict[str, np.ndarray]:
    motion = np.asarray(motion_emb, np.float64)
    if motion.ndim != 2 or len(motion) == 0:
        raise ValueError(f"motion embeddings must be (N, E) with N >= 1, got shape {motion.shape}")
    queries = {"text": np.asarray(text_emb, np.float64)}
    if video_emb is not None:
        queries["video"] = np.asarray(video_emb, np.float64)
    for kind, q in queries.items():
        if q.shape != motion.shape:
            raise ValueError(f"{kind} and motion embeddings differ in shape: {q.shape} vs {motion.shape}")
    if len(captions) != len(motion):
        raise ValueError(f"{len(captions)} captions for {len(motion)} pairs")
    return queries


def run_protocols(text_emb: np.ndarray, motion_emb: np.ndarray, captions: Sequence[str], *,
                  caption_similarity: CaptionSimilarity | None = None, video_emb: np.ndarray | None = None,
                  protocols: Sequence[str] = RETRIEVAL_PROTOCOLS, thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                  dissimilar_size: int = DISSIMILAR_SIZE, batch_size: int = BATCH_SIZE,
                  seed: int = 0) -> dict[str, dict]:
    """{"protocols": {key: {direction: {R@k..., MedR}}}, "protocol_info": {key: {...}}}.

    Keys: "all", "same_caption", "threshold_<thr>" per threshold, "dissimilar", "batches". A protocol that
    cannot run on this set (fewer pairs than one batch) is left out of "protocols" and says why in its info.
    "zero_shot" in `protocols` is ignored here (see `zero_shot_classification`).
    """
    names = [p for p in check_protocols(protocols) if p != "zero_shot"]
    queries = _checked_embeddings(text_emb, motion_emb, video_emb, captions)
    motion = np.asarray(motion_emb, np.float64)
    n = len(motion)
    caption_sim = None
    if {"threshold", "dissimilar"} & set(names):
        if caption_similarity is None:
            raise ValueError("the threshold and dissimilar protocols need a caption_similarity function")
        caption_sim = np.asarray(caption_similarity(list(captions)), np.float64)
        if caption_sim.shape != (n, n):
            raise ValueError(f"caption similarity has shape {caption_sim.shape}, expected {(n, n)}")

    results: dict[str, dict] = {}
    info: dict[str, dict] = {}

    def each_modality(positives=None, idx=None) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for kind, query in queries.items():
            q, m = (query, motion) if idx is None else (query[idx], motion[idx])
            out.update(_both_ways(q, m, DIRECTIONS[kind], positives))
        return out

    for name in names:
        if name == "all":
            results["all"], info["all"] = each_modality(), {"gallery": n}
        elif name == "same_caption":
            pos = same_caption_positives(list(captions))
            results["same_caption"] = each_modality(pos)
            info["same_caption"] = {"gallery": n, "pairs_sharing_a_caption": int(pos.sum() - n)}
        elif name == "threshold":
            for thr in check_thresholds(thresholds):
                pos = threshold_positives(caption_sim, thr)
                results[threshold_key(thr)] = each_modality(pos)
                info[threshold_key(thr)] = {"gallery": n, "threshold": thr,
                                            "mean_positives_per_query": float(pos.sum(axis=1).mean())}
        elif name == "dissimilar":
            idx = dissimilar_subset(caption_sim, dissimilar_size, seed)
            sub = caption_sim[np.ix_(idx, idx)]
            off = sub[~np.eye(len(idx), dtype=bool)]
            results["dissimilar"] = each_modality(idx=idx)
            info["dissimilar"] = {"gallery": int(len(idx)), "requested": dissimilar_size, "seed": seed,
                                  "max_caption_similarity": float(off.max()) if off.size else None,
                                  "indices": idx.tolist()}
        elif name == "batches":
            if n < batch_size:
                info["batches"] = {"skipped": f"needs at least {batch_size} pairs, the set has {n}"}
                continue
            out: dict[str, dict[str, float]] = {}
            for kind, query in queries.items():
                out.update(_batched_both_ways(query, motion, DIRECTIONS[kind], batch_size, seed))
            results["batches"] = out
            info["batches"] = {"gallery": batch_size, "batches": n // batch_size, "seed": seed}
    return {"protocols": results, "protocol_info": info}


# --- zero-shot classification of action families -------------------------------------------------------------

# "a person {phrase}" for every family of the procedural corpus (training/corpus/registry.py FAMILIES)
FAMILY_PHRASES = {
    "walk": "walks", "jog": "jogs", "run": "runs", "sneak": "sneaks", "walk_backward": "walks backward",
    "side_step": "steps sideways", "turn_in_place": "turns in place", "walk_arc": "walks in a curve",
    "spin": "spins around", "hop": "hops on one leg", "skip": "skips", "jump_forward": "jumps forward",
    "jump_up": "jumps up", "jumping_jacks": "does jumping jacks", "wave": "waves", "raise_arms": "raises the arms",
    "point": "points", "clap": "claps", "punch": "punches", "throw": "throws", "reach": "reaches out",
    "salute": "salutes", "kick": "kicks", "squat": "squats", "lunge": "lunges", "knee_raise": "raises a knee",
    "stomp": "stomps", "balance": "balances on one leg", "bow": "bows", "stretch": "stretches",
    "crouch": "crouches", "sit_floor": "sits down on the floor", "dance": "dances", "idle": "stands still",
    # corpus v2
    "arm_circles": "circles the arms", "baseball_pitch": "pitches a baseball", "baseball_swing": "swings a bat",
    "basketball_dribble": "dribbles a basketball", "basketball_shot": "shoots a basketball",
    "beckon": "beckons someone over", "box_cross": "throws a cross punch", "box_guard": "holds a boxing guard",
    "box_hook": "throws a hook punch", "box_jab": "throws a jab", "box_uppercut": "throws an uppercut",
    "carry": "carries a box", "cartwheel": "does a cartwheel", "catch": "catches a ball",
    "check_watch": "checks the watch", "crawl": "crawls on hands and knees", "disco": "dances disco",
    "drink": "drinks from a cup", "drunk_walk": "walks like a drunk", "eat": "eats", "facepalm": "facepalms",
    "forward_roll": "does a forward roll", "golf_swing": "swings a golf club", "hip_hop": "dances hip hop",
    "jump_rope": "jumps rope", "kneel": "kneels down", "lie_down": "lies down", "limp": "limps",
    "look_around": "looks around", "march": "marches", "nod": "nods", "open_door": "opens a door",
    "phone_call": "talks on the phone", "pick_up": "picks something up", "pocket_walk": "walks with hands in pockets",
    "pull": "pulls something", "push": "pushes something", "put_down": "puts something down",
    "roundhouse_kick": "does a roundhouse kick", "salsa": "dances salsa", "scratch_head": "scratches the head",
    "shake_head": "shakes the head", "shrug": "shrugs", "side_kick": "kicks to the side",
    "sit_chair": "sits down on a chair", "stairs_down": "walks down the stairs", "stairs_up": "walks up the stairs",
    "step_box": "steps up onto a box", "stop_sign": "signals stop with a hand", "stumble": "stumbles",
    "tennis": "swings a tennis racket", "texting": "texts on a phone", "throw_underhand": "throws underhand",
    "tiptoe": "tiptoes", "toe_touch": "touches the toes", "torso_twist": "twists the torso",
    "twist_dance": "dances the twist", "waltz": "waltzes", "yoga": "does a yoga pose",
    "zombie_walk": "walks like a zombie",
}


def family_prompt(family: str) -> str:
    """"a person walks" for "walk"; a family missing from the table reads as its name with spaces."""
    return f"a person {FAMILY_PHRASES.get(family, family.replace('_', ' '))}"


def zero_shot_classification(motion_emb: np.ndarray, labels: Sequence[str], class_emb: np.ndarray,
                             classes: Sequence[str], top_k: int = 5) -> dict:
    """Each motion is given the class whose prompt embedding scores highest.

    Returns top-1 / top-k accuracy and balanced accuracy (mean top-1 recall over the classes that occur), in
    percent, with per-class counts and the confusion counts {true: {predicted: n}}. Ties count in the true
    class's favour, as in retrieval.
    """
    motion, cls = np.asarray(motion_emb, np.float64), np.asarray(class_emb, np.float64)
    classes = list(classes)
    if len(set(classes)) != len(classes) or cls.ndim != 2 or len(cls) != len(classes):
        raise ValueError(f"class embeddings {cls.shape} must match {len(classes)} distinct class names")
    if motion.ndim != 2 or len(motion) != len(labels) or len(motion) == 0 or motion.shape[1] != cls.shape[1]:
        raise ValueError(f"motion embeddings {motion.shape} must be (M >= 1, {cls.shape[1]}) with one label each")
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise ValueError(f"labels not among the classes: {', '.join(unknown)}")
    truth = np.array([classes.index(lbl) for lbl in labels])
    scores = motion @ cls.T
    true_score = scores[np.arange(len(truth)), truth]
    rank = 1 + (scores > true_score[:, None]).sum(axis=1)
    pred = np.where(rank == 1, truth, scores.argmax(axis=1))
    confusion: dict[str, dict[str, int]] = {}
    per_class: dict[str, dict[str, float]] = {}
    for c in sorted(set(truth.tolist())):
        mine = truth == c
        got, counts = np.unique(pred[mine], return_counts=True)
        most_first = np.argsort(-counts, kind="stable")
        confusion[classes[c]] = {classes[got[j]]: int(counts[j]) for j in most_first}
        per_class[classes[c]] = {"clips": int(mine.sum()), "top1": float(100.0 * np.mean(pred[mine] == c))}
    k = min(top_k, len(classes))
    return {
        "clips": int(len(truth)),
        "classes": classes,
        "top1": float(100.0 * np.mean(rank == 1)),
        f"top{top_k}": float(100.0 * np.mean(rank <= k)),
        "balanced_top1": float(np.mean([v["top1"] for v in per_class.values()])),
        "per_class": per_class,
        "confusion": confusion,
    }
