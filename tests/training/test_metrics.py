"""Generation metrics (numpy): FID, R-precision, MM-Dist, Diversity, MultiModality, intervals, MPJPE."""

from __future__ import annotations

import numpy as np
import pytest

from training.eval.metrics import (
    activation_stats,
    diversity,
    euclidean_distance_matrix,
    fid_from_embeddings,
    frechet_distance,
    matching_score,
    mean_and_interval,
    mpjpe,
    multimodality,
    r_precision,
)


def test_distance_matrix_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    brute = np.array([[np.linalg.norm(x - y) for y in b] for x in a])
    np.testing.assert_allclose(euclidean_distance_matrix(a, b), brute, atol=1e-10)
    assert np.all(np.diag(euclidean_distance_matrix(a, a)) < 1e-6)


def test_frechet_distance_identical_is_zero_and_diagonal_case_matches_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 8))
    mu, sigma = activation_stats(x)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    # diagonal Gaussians: |d|^2 + sum(a + b - 2 sqrt(ab))
    a, b = rng.uniform(0.5, 2.0, 8), rng.uniform(0.5, 2.0, 8)
    shift = rng.normal(size=8)
    expected = shift @ shift + np.sum(a + b - 2 * np.sqrt(a * b))
    assert frechet_distance(np.zeros(8), np.diag(a), shift, np.diag(b)) == pytest.approx(expected, rel=1e-8)


def test_fid_grows_with_mean_shift():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(2000, 6))
    same = rng.normal(size=(2000, 6))
    fids = [fid_from_embeddings(same + s, ref) for s in (0.0, 0.5, 1.0, 2.0)]
    assert fids[0] < 0.05
    assert fids == sorted(fids)
    # a shift of s in every one of 6 dims adds about 6 s^2
    assert fids[3] == pytest.approx(6 * 4.0, rel=0.05)


def test_fid_with_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 32))
    value = fid_from_embeddings(x, x)
    assert np.isfinite(value) and value < 1e-3


def test_r_precision_perfect_and_chance():
    rng = np.random.default_rng(4)
    emb = rng.normal(size=(32 * 4, 16))
    np.testing.assert_allclose(r_precision(emb, emb), [1.0, 1.0, 1.0])
    text, motion = rng.normal(size=(32 * 300, 16)), rng.normal(size=(32 * 300, 16))
    top = r_precision(text, motion, top_k=3)
    np.testing.assert_allclose(top, [1 / 32, 2 / 32, 3 / 32], atol=0.01)
    assert top[0] <= top[1] <= top[2]
    # the last partial batch is dropped, so adding fewer than 32 rows changes nothing
    np.testing.assert_allclose(r_precision(text[:32 * 10 + 5], motion[:32 * 10 + 5]),
                               r_precision(text[:320], motion[:320]))
    with pytest.raises(ValueError):
        r_precision(text[:10], motion[:10])


def test_matching_score_is_mean_pair_distance():
    text = np.zeros((3, 2))
    motion = np.array([[3.0, 4.0], [0.0, 1.0], [0.0, 2.0]])
    assert matching_score(text, motion) == pytest.approx((5 + 1 + 2) / 3)


def test_diversity_on_a_line_and_scaling():
    line = np.arange(3000, dtype=float)[:, None]
    # two independent permutation draws: E|i - j| = (N^2 - 1) / (3N) for uniform i, j
    value = diversity(line, pairs=3000, rng=np.random.default_rng(0))
    assert value == pytest.approx(3000 / 3, rel=0.05)
    pts = np.random.default_rng(5).normal(size=(400, 8))
    assert diversity(np.ones((50, 4)), 300, np.random.default_rng(0)) == 0.0
    assert diversity(2 * pts, 300, np.random.default_rng(1)) == pytest.approx(
        2 * diversity(pts, 300, np.random.default_rng(1)))


def test_multimodality_measures_spread_within_a_text_only():
    rng = np.random.default_rng(6)
    base = rng.normal(size=(20, 1, 8)) * 10.0  # very different texts
    assert multimodality(np.repeat(base, 30, axis=1), 10, np.random.default_rng(0)) == 0.0
    noise = rng.normal(size=(20, 30, 8))
    spread = multimodality(noise, 10, np.random.default_rng(0))
    assert multimodality(base + noise, 10, np.random.default_rng(0)) == pytest.approx(spread)
    assert multimodality(base + 3 * noise, 10, np.random.default_rng(0)) == pytest.approx(3 * spread)
    with pytest.raises(ValueError):
        multimodality(noise[:, :1], 10)


def test_mean_and_interval():
    mean, half = mean_and_interval([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert half == pytest.approx(1.96 * np.std([1, 2, 3, 4]) / 2)
    assert mean_and_interval([5.0]) == (5.0, 0.0)


def test_mpjpe_root_alignment_and_units():
    rng = np.random.default_rng(7)
    true = rng.normal(size=(10, 22, 3))
    moved = true + rng.normal(size=(10, 1, 3))  # a per-frame translation of the whole body
    assert mpjpe(moved, true) == pytest.approx(0.0, abs=1e-9)
    assert mpjpe(moved, true, root_aligned=False) > 100.0
    bent = true.copy()
    bent[:, 5, 0] += 0.01  # 1 cm on one of 22 joints
    assert mpjpe(bent, true) == pytest.approx(10.0 / 22)
    assert mpjpe(bent, true, scale=1.0) == pytest.approx(0.01 / 22)
