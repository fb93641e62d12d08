"""TMR retrieval protocols and zero-shot classification against rankings worked out by hand.

With one-hot motion embeddings, the text-motion similarity matrix is the text embedding matrix itself, so
each test writes the similarity it wants directly.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import MotionInputError
from backend.retrieve.metrics import (
    batched_metrics,
    normalize_caption,
    retrieval_metrics,
    same_caption_positives,
    threshold_positives,
)
from backend.retrieve.protocols import (
    check_protocols,
    check_thresholds,
    dissimilar_subset,
    family_prompt,
    run_protocols,
    zero_shot_classification,
)

# rows: text queries, columns: motions (true pair on the diagonal)
SIM = np.array([
    [0.9, 0.1, 0.2, 0.0],   # t0: true 0.9, best           -> rank 1
    [0.5, 0.4, 0.6, 0.1],   # t1: true 0.4 < 0.5, 0.6      -> rank 3
    [0.3, 0.3, 0.3, 0.3],   # t2: all tied                 -> rank 1 (ties count for the query)
    [0.8, 0.7, 0.2, 0.1],   # t3: true 0.1 < 0.8, 0.7, 0.2 -> rank 4
])
# m2t (columns as queries): m0 rank 1; m1 0.4 < 0.7 -> 2; m2 0.3 < 0.6 -> 2; m3 0.1 < 0.3 (tie 0.1) -> 2
MOTION = np.eye(4)
CAPTION_SIM = np.array([
    [1.0, 0.2, 0.1, 0.9],
    [0.2, 1.0, 0.85, 0.3],
    [0.1, 0.85, 1.0, 0.1],
    [0.9, 0.3, 0.1, 1.0],
])
CAPTIONS = ["a person walks.", "someone jumps", "Someone  jumps!", "a person runs"]


def _table(r1, r2, r3, r5, r10, medr):
    return {"R@1": r1, "R@2": r2, "R@3": r3, "R@5": r5, "R@10": r10, "MedR": medr}


def _run(protocols, **kw):
    return run_protocols(SIM, MOTION, CAPTIONS, caption_similarity=lambda caps: CAPTION_SIM, protocols=protocols,
                         **kw)


def test_all_protocol_matches_hand_ranks():
    out = _run(["all"])["protocols"]["all"]
    assert out["t2m"] == _table(50.0, 50.0, 75.0, 100.0, 100.0, 2.0)   # ranks 1, 3, 1, 4
    assert out["m2t"] == _table(25.0, 100.0, 100.0, 100.0, 100.0, 2.0)  # ranks 1, 2, 2, 2


def test_threshold_protocol_counts_similar_captions_and_keeps_the_true_pair():
    out = _run(["threshold"], thresholds=(0.95, 0.8))
    # 0.95: only the diagonal counts, so it equals "all"
    assert out["protocols"]["threshold_0.95"] == _run(["all"])["protocols"]["all"]
    # 0.8: t0 and t3 accept m0 or m3, t1 and t2 accept m1 or m2 -> every text finds a positive first
    t08 = out["protocols"]["threshold_0.8"]
    assert t08["t2m"] == _table(100.0, 100.0, 100.0, 100.0, 100.0, 1.0)
    # m2t: m0 best positive t0 0.9 -> 1; m1 t1 0.4 < t3 0.7 -> 2; m2 t1 0.6 -> 1; m3 t3 0.1 < t2 0.3 -> 2
    assert t08["m2t"] == _table(50.0, 100.0, 100.0, 100.0, 100.0, 1.5)
    assert out["protocol_info"]["threshold_0.8"]["mean_positives_per_query"] == 2.0


def test_threshold_positives_boundary_is_inclusive_and_diagonal_always_counts():
    pos = threshold_positives(CAPTION_SIM, 0.85)
    assert pos.tolist() == [[True, False, False, True], [False, True, True, False],
                            [False, True, True, False], [True, False, False, True]]
    assert np.array_equal(threshold_positives(np.full((3, 3), -0.5), 0.99), np.eye(3, dtype=bool))
    with pytest.raises(ValueError, match="square"):
        threshold_positives(np.ones((2, 3)), 0.5)


def test_same_caption_protocol_counts_identical_normalised_captions():
    assert normalize_caption("Someone  jumps!") == normalize_caption("someone jumps") == "someone jumps"
    pos = same_caption_positives(CAPTIONS)
    assert pos.sum() == 6 and pos[1, 2] and pos[2, 1] and not pos[0, 3]
    out = _run(["same_caption"])
    table = out["protocols"]["same_caption"]
    # t1 and t2 accept m1 or m2: ranks 1, 1, 1, 4; m2t: m1 best t1 0.4 < 0.7 -> 2, m2 t1 0.6 -> 1: 1, 2, 1, 2
    assert table["t2m"] == _table(75.0, 75.0, 75.0, 100.0, 100.0, 1.0)
    assert table["m2t"] == _table(50.0, 100.0, 100.0, 100.0, 100.0, 1.5)
    assert out["protocol_info"]["same_caption"]["pairs_sharing_a_caption"] == 2


HAND_SIM = np.array([
    [1.0, 0.9, 0.2, 0.3, 0.8],
    [0.9, 1.0, 0.4, 0.1, 0.7],
    [0.2, 0.4, 1.0, 0.5, 0.6],
    [0.3, 0.1, 0.5, 1.0, 0.0],
    [0.8, 0.7, 0.6, 0.0, 1.0],
])


def test_dissimilar_subset_greedy_order_by_hand():
    # from 0: lowest max-similarity is 2 (0.2); then max(S0, S2) -> 3 (0.5); then 4 (0.8) before 1 (0.9)
    assert dissimilar_subset(HAND_SIM, 5, start=0).tolist() == [0, 2, 3, 4, 1]
    # from 1: 3 (0.1); max(S1, S3) -> 2 (0.5); then 4 (0.7) before 0 (0.9)
    assert dissimilar_subset(HAND_SIM, 3, start=1).tolist() == [1, 3, 2]
    assert dissimilar_subset(HAND_SIM, 100, start=4).tolist()[:2] == [4, 3]  # size capped at N
    # ties go to the lowest index
    assert dissimilar_subset(np.eye(4), 4, start=2).tolist() == [2, 0, 1, 3]


def test_dissimilar_subset_is_seeded_and_avoids_near_duplicates():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 8))
    emb = np.concatenate([emb, emb + 1e-3])  # every caption has a near-twin
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    a, b = dissimilar_subset(sim, 20, seed=7), dissimilar_subset(sim, 20, seed=7)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 20
    assert len({i % 30 for i in a.tolist()}) == 20  # never both twins
    starts = {int(dissimilar_subset(sim, 1, seed=s)[0]) for s in range(10)}
    assert len(starts) > 1


def test_dissimilar_protocol_is_all_on_the_reported_subset():
    rng = np.random.default_rng(1)
    text, motion = rng.normal(size=(12, 6)), rng.normal(size=(12, 6))
    caps = [f"caption {i}" for i in range(12)]
    csim = np.corrcoef(rng.normal(size=(12, 5)))
    out = run_protocols(text, motion, caps, caption_similarity=lambda c: csim, protocols=["dissimilar"],
                        dissimilar_size=5, seed=3)
    idx = out["protocol_info"]["dissimilar"]["indices"]
    assert idx == dissimilar_subset(csim, 5, seed=3).tolist() and out["protocol_info"]["dissimilar"]["gallery"] == 5
    assert out["protocols"]["dissimilar"] == retrieval_metrics(text[idx], motion[idx])


def test_batches_protocol_and_its_skip_on_small_sets():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(70, 16))
    noisy = emb + rng.normal(scale=2.0, size=emb.shape)
    caps = [str(i) for i in range(70)]
    out = run_protocols(emb, noisy, caps, protocols=["batches"], seed=4)
    assert out["protocols"]["batches"] == batched_metrics(emb, noisy, 32, seed=4)
    assert out["protocol_info"]["batches"] == {"gallery": 32, "batches": 2, "seed": 4}
    perfect = run_protocols(np.eye(64), np.eye(64), [str(i) for i in range(64)], protocols=["batches"])
    assert perfect["protocols"]["batches"]["t2m"] == _table(100.0, 100.0, 100.0, 100.0, 100.0, 1.0)
    small = _run(["all", "batches"])
    assert "batches" not in small["protocols"] and "32 pairs" in small["protocol_info"]["batches"]["skipped"]


def test_video_directions_use_the_same_protocols():
    video = SIM[[1, 0, 2, 3]]  # videos 0 and 1 swapped: v0 ranks m1 (0.4) below m0, m2
    out = run_protocols(SIM, MOTION, CAPTIONS, caption_similarity=lambda c: CAPTION_SIM, video_emb=video,
                        protocols=["all", "threshold"], thresholds=[0.8])
    assert set(out["protocols"]["all"]) == {"t2m", "m2t", "v2m", "m2v"}
    # v2m ranks: v0 true m0 0.5 < 0.6 -> 2; v1 true m1 0.1 < 0.9, 0.2 -> 3; v2 -> 1; v3 -> 4
    assert out["protocols"]["all"]["v2m"] == _table(25.0, 50.0, 75.0, 100.0, 100.0, 2.5)
    assert out["protocols"]["all"]["t2m"] == _run(["all"])["protocols"]["all"]["t2m"]
    assert set(out["protocols"]["threshold_0.8"]) == {"t2m", "m2t", "v2m", "m2v"}


def test_bad_protocol_requests_are_clear_errors():
    with pytest.raises(MotionInputError, match="unknown protocol.*fancy"):
        check_protocols(["all", "fancy"])
    with pytest.raises(MotionInputError, match="no protocol"):
        check_protocols([" "])
    assert check_protocols(["batches", "all"]) == ("all", "batches")
    with pytest.raises(MotionInputError, match="thresholds"):
        check_thresholds([1.5])
    with pytest.raises(ValueError, match="caption_similarity"):
        run_protocols(SIM, MOTION, CAPTIONS, protocols=["threshold"])
    with pytest.raises(ValueError, match="captions"):
        run_protocols(SIM, MOTION, CAPTIONS[:3], protocols=["all"])
    with pytest.raises(ValueError, match="differ in shape"):
        run_protocols(SIM[:3], MOTION, CAPTIONS, protocols=["all"])


def test_zero_shot_by_hand():
    classes = ["walk", "jump", "wave"]
    motion = np.array([
        [0.9, 0.1, 0.0],   # walk -> walk
        [0.2, 0.8, 0.1],   # walk -> jump (true class second)
        [0.1, 0.7, 0.2],   # jump -> jump
        [0.5, 0.5, 0.0],   # jump, tied with walk -> counts as jump
        [0.3, 0.2, 0.4],   # wave -> wave
    ])
    labels = ["walk", "walk", "jump", "jump", "wave"]
    out = zero_shot_classification(motion, labels, np.eye(3), classes)
    assert out["top1"] == 80.0 and out["top5"] == 100.0 and out["clips"] == 5
    assert out["balanced_top1"] == pytest.approx((50.0 + 100.0 + 100.0) / 3)
    assert out["confusion"] == {"walk": {"walk": 1, "jump": 1}, "jump": {"jump": 2}, "wave": {"wave": 1}}
    assert out["per_class"]["walk"] == {"clips": 2, "top1": 50.0}
    assert zero_shot_classification(motion, labels, np.eye(3), classes, top_k=1)["top1"] == 80.0
    with pytest.raises(ValueError, match="not among the classes"):
        zero_shot_classification(motion, ["walk"] * 4 + ["fly"], np.eye(3), classes)


def test_family_prompts():
    assert family_prompt("walk") == "a person walks"
    assert family_prompt("jumping_jacks") == "a person does jumping jacks"
    assert family_prompt("turn_in_place") == "a person turns in place"
    assert family_prompt("back_flip") == "a person back flip"
