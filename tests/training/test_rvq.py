import pytest

torch = pytest.importorskip("torch")

from training.models.rvq import EMACodebook, ResidualVQ  # noqa: E402


def clustered(n=2048, dim=8, centres=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(centres, dim, generator=g) * 3
    return c[torch.randint(0, centres, (n,), generator=g)] + 0.05 * torch.randn(n, dim, generator=g)


def test_codebook_learns_clusters_and_resets_dead_codes():
    torch.manual_seed(0)
    book = EMACodebook(num_codes=32, dim=8, decay=0.8)
    x = clustered()
    book.train()
    for _ in range(30):
        book(x)
    book.eval()
    q, idx = book(x)
    assert (q - x).pow(2).mean() < 0.05  # every cluster got a code
    assert book.perplexity(idx) > 12


def test_more_residual_layers_reconstruct_better_and_decode_matches():
    torch.manual_seed(0)
    x = torch.randn(4, 50, 6, 16)  # a (B, T, J, D) token map
    rvq = ResidualVQ(num_quantizers=4, num_codes=64, dim=16, dropout_prob=0.0)
    rvq.train()
    for _ in range(20):
        rvq(x)
    rvq.eval()
    idx = rvq.encode(x)
    assert idx.shape == (4, 50, 6, 4)
    errors = [(rvq.decode(idx[..., :q]) - x).pow(2).mean().item() for q in range(1, 5)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.5 * errors[0]
    quantised, fwd_idx, commit = rvq(x)
    assert torch.equal(fwd_idx, idx)
    assert torch.allclose(quantised, rvq.decode(idx), atol=1e-5)


def test_straight_through_gradient_and_dropout_marks_unused_layers():
    torch.manual_seed(1)
    rvq = ResidualVQ(num_quantizers=6, num_codes=16, dim=4, dropout_prob=1.0)
    rvq.train()
    x = torch.randn(64, 4, requires_grad=True)
    seen_partial = False
    for _ in range(10):
        quantised, idx, commit = rvq(x)
        seen_partial |= bool((idx[:, -1] == -1).all())
    assert seen_partial
    quantised.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))
    assert commit.item() >= 0
