import pytest

torch = pytest.importorskip("torch")

from training.models.masking import bert_corrupt, sample_mask  # noqa: E402
from training.models.transformer2d import MaskTransformer2D, Transformer2DConfig  # noqa: E402


def small(**kw):
    base = dict(num_codes=16, num_joints=5, max_frames=8, text_dim=12, dim=32, heads=4, layers=1, ff=64,
                dropout=0.0)
    base.update(kw)
    return Transformer2DConfig(**base)


def test_mask_respects_lengths_and_masks_whole_frames():
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([8, 3])
    m = sample_mask(lengths, 8, 5, generator=g, ratio=torch.tensor([0.5, 0.5]))
    assert not m[1, 3:].any()
    assert m[0].all(dim=1).sum() == 4  # round(8 * 0.5) whole frames
    assert m[0].sum() == 4 * 5 + 10    # then half of the 20 remaining tokens
    full = sample_mask(lengths, 8, 5, generator=g, ratio=torch.tensor([1.0, 1.0]))
    assert full[0].all() and full[1, :3].all()


def test_bert_corruption_only_touches_chosen_positions():
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 16, (4, 8, 5), generator=g)
    m = sample_mask(torch.tensor([8, 8, 8, 8]), 8, 5, generator=g)
    out = bert_corrupt(ids, m, mask_id=16, num_codes=16, generator=g)
    assert torch.equal(out[~m], ids[~m])
    frac = (out[m] == 16).float().mean()
    assert 0.6 < frac < 0.95


def test_padding_does_not_leak_into_valid_outputs():
    torch.manual_seed(0)
    model = MaskTransformer2D(small()).eval()
    ids = torch.randint(0, 16, (1, 8, 5))
    valid = torch.tensor([[True] * 5 + [False] * 3])
    text = torch.randn(1, 12)
    a = model(ids, text, valid)
    ids2 = ids.clone()
    ids2[:, 5:] = torch.randint(0, 16, (1, 3, 5))
    b = model(ids2, text, valid)
    # spatial attention never crosses frames, 2D and temporal attention ignore padded frames
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-5)
    assert a.shape == (1, 8, 5, 16)


@pytest.mark.parametrize("attention", [("2d",), ("spatial", "temporal"), ("2d", "spatial", "temporal")])
def test_learns_text_conditioned_tokens(attention):
    """Two texts, two token maps: after a short fit the argmax decodes each map from its text."""
    torch.manual_seed(0)
    cfg = small(attention=attention, cond_drop=0.0)
    model = MaskTransformer2D(cfg)
    text = torch.randn(2, 12)
    target = torch.randint(0, 16, (2, 8, 5))
    valid = torch.ones(2, 8, dtype=torch.bool)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    masked = torch.full_like(target, cfg.mask_id)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(masked, text, valid).reshape(-1, 16), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    pred = model(masked, text, valid).argmax(-1)
    assert (pred == target).float().mean() > 0.95
