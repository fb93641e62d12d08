"""The SDPA encoder layer computes what nn.TransformerEncoderLayer computes, with the same weights."""

import pytest

torch = pytest.importorskip("torch")

from training.models.attention import encoder_layer  # noqa: E402
from training.models.transformer2d import MaskTransformer2D, Transformer2DConfig  # noqa: E402


def _pair(dim=32, heads=4, ff=64, short=False):
    torch.manual_seed(0)
    ref = encoder_layer(dim, heads, ff, 0.1, "reference")
    fast = encoder_layer(dim, heads, ff, 0.1, "sdpa", short=short)
    fast.load_state_dict(ref.state_dict())  # same parameter names, so either loads the other's weights
    return ref.eval(), fast.eval()


@pytest.mark.parametrize("short", [False, True])  # fused SDPA kernel, plain matmuls
def test_same_output_with_and_without_a_padding_mask(short):
    ref, fast = _pair(short=short)
    x = torch.randn(3, 10, 32)
    pad = torch.zeros(3, 10, dtype=torch.bool)
    pad[1, 6:] = True
    pad[2, 2:] = True
    with torch.no_grad():
        torch.testing.assert_close(fast(x), ref(x), atol=1e-5, rtol=1e-5)
        a, b = fast(x, src_key_padding_mask=pad), ref(x, src_key_padding_mask=pad)
    torch.testing.assert_close(a[~pad], b[~pad], atol=1e-5, rtol=1e-5)  # PyTorch zeroes padded rows; we don't


@pytest.mark.parametrize("short", [False, True])
def test_padding_keys_are_ignored(short):
    _, fast = _pair(short=short)
    x = torch.randn(1, 8, 32)
    pad = torch.zeros(1, 8, dtype=torch.bool)
    pad[0, 5:] = True
    y = x.clone()
    y[0, 5:] = 100.0  # garbage in the padded positions must not change the real ones
    with torch.no_grad():
        torch.testing.assert_close(fast(x, pad)[0, :5], fast(y, pad)[0, :5])


@pytest.mark.parametrize("short", [False, True])
def test_gradients_match_in_training_without_dropout(short):
    torch.manual_seed(1)
    ref = encoder_layer(16, 2, 32, 0.0, "reference").train()
    fast = encoder_layer(16, 2, 32, 0.0, "sdpa", short=short).train()
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(2, 6, 16)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    keep = ~pad
    ref(x, src_key_padding_mask=pad)[keep].sum().backward()
    fast(x, src_key_padding_mask=pad)[keep].sum().backward()
    for (name, p), q in zip(ref.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_a_reference_checkpoint_loads_into_the_sdpa_transformer():
    base = dict(num_codes=16, num_joints=3, max_frames=6, text_dim=8, dim=16, heads=2, layers=1, ff=32)
    ref = MaskTransformer2D(Transformer2DConfig(**base, attention_impl="reference")).eval()
    fast = MaskTransformer2D(Transformer2DConfig(**base)).eval()
    fast.load_state_dict(ref.state_dict())
    ids = torch.randint(0, 16, (2, 5, 3))
    valid = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    text = torch.randn(2, 8)
    with torch.no_grad():
        a, b = fast(ids, text, valid), ref(ids, text, valid)
    torch.testing.assert_close(a[valid], b[valid], atol=1e-4, rtol=1e-4)
