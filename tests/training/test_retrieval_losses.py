"""The retrieval objectives and the shared text encoder (training/retrieval/losses.py, text.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from training.retrieval.losses import (
    LearnableTemperature,
    kl_alignment,
    similar_captions,
    soft_targets,
    symmetric_infonce,
)


def test_infonce_matches_hand_computation():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    t = 0.5
    # logits rows: text0 -> [1, 0.6]/t, text1 -> [0, 0.8]/t; columns are the other direction
    l00, l01, l10, l11 = 1 / t, 0.6 / t, 0.0, 0.8 / t
    row = -(l00 - math.log(math.exp(l00) + math.exp(l01))) - (l11 - math.log(math.exp(l10) + math.exp(l11)))
    col = -(l00 - math.log(math.exp(l00) + math.exp(l10))) - (l11 - math.log(math.exp(l01) + math.exp(l11)))
    assert symmetric_infonce(a, b, t).item() == pytest.approx((row / 2 + col / 2) / 2, rel=1e-5)


def test_negative_filtering_drops_excluded_pairs_only():
    torch.manual_seed(0)
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    exclude = torch.zeros(4, 4, dtype=torch.bool)
    exclude[0, 1] = exclude[1, 0] = True
    full = symmetric_infonce(a, b, 0.1)
    filtered = symmetric_infonce(a, b, 0.1, exclude)
    assert filtered.item() < full.item()
    # the diagonal can never be excluded
    assert torch.isfinite(symmetric_infonce(a, b, 0.1, torch.ones(4, 4, dtype=torch.bool)))
    # excluding both off-diagonal entries of a 2x2 leaves only the positives: loss 0
    assert symmetric_infonce(a[:2], b[:2], 0.1, torch.ones(2, 2, dtype=torch.bool)).item() == pytest.approx(0.0)


def test_soft_targets_threshold_and_rows():
    e = F.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), dim=-1)
    t = soft_targets(e, eps=0.8)
    assert torch.allclose(t.sum(1), torch.ones(3))
    assert t[0, 2] == 0 and t[2, 0] == 0 and t[0, 1] > 0
    assert t[2, 2] == 1.0  # a caption similar to nothing targets itself only
    assert similar_captions(e, 0.8).tolist() == [[True, True, False], [True, True, False], [False, False, True]]


def test_kl_alignment_is_lowest_at_the_target():
    e = F.normalize(torch.randn(6, 16, generator=torch.Generator().manual_seed(1)), dim=-1)
    target = torch.eye(6)
    aligned = kl_alignment(e, e, target, 0.01)
    shuffled = kl_alignment(e, e[torch.tensor([1, 0, 2, 3, 4, 5])], target, 0.01)
    assert aligned.item() < 1e-3 < shuffled.item()


def test_learnable_temperature_starts_at_init_and_is_clamped():
    temp = LearnableTemperature(0.07)
    assert temp().item() == pytest.approx(0.07, rel=1e-5)
    with torch.no_grad():
        temp.log_scale.fill_(20.0)
    assert temp().item() == pytest.approx(0.01)
    assert not LearnableTemperature(0.1, learn=False).log_scale.requires_grad


def test_text_encoder_cache_matches_end_to_end_graph():
    from training.retrieval.text import TextEncoderConfig, TokenTextEncoder

    torch.manual_seed(0)
    enc = TokenTextEncoder(TextEncoderConfig(width=32, layers=1, heads=2)).eval()
    texts = ["a person walks forward", "someone jumps twice and then waves with the left hand"]
    with torch.no_grad():
        cached = enc.forward_texts(texts)
        direct = enc(**enc.base.tokenize(texts))
    assert cached.shape == (2, 32)
    assert torch.allclose(cached, direct, atol=1e-5)
    assert not any(p.requires_grad for p in enc.base.parameters())
    assert all(not k.startswith("base.") for k in enc.state_dict())
    sim = enc.base.sentence_embeddings(["a person walks", "a man walks", "a person jumps up"])
    assert torch.allclose(sim.norm(dim=1), torch.ones(3), atol=1e-5)
    assert (sim[0] @ sim[1]) > (sim[0] @ sim[2])


def test_missing_local_base_model_is_a_clear_error(tmp_path):
    from training.retrieval.text import FrozenTextBase

    with pytest.raises(FileNotFoundError, match="text base model folder not found"):
        FrozenTextBase(str(tmp_path / "distilbert"))
