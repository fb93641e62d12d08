import pytest

torch = pytest.importorskip("torch")

from training.models.vqvae import MotionVQVAE, VQVAEConfig  # noqa: E402


@pytest.mark.parametrize("cfg,token_shape", [
    (VQVAEConfig(kind="joint2d", width=32, code_dim=16, num_codes=32, joint_down=0), (2, 8, 22, 6)),
    (VQVAEConfig(kind="joint2d", width=32, code_dim=16, num_codes=32, joint_down=2), (2, 8, 6, 6)),
    (VQVAEConfig(kind="body1d", width=32, code_dim=16, num_codes=32), (2, 8, 6)),
    (VQVAEConfig(kind="joint2d", feature_dim=251, width=32, code_dim=16, num_codes=32), (2, 8, 21, 6)),
])
def test_shapes_round_trip(cfg, token_shape):
    torch.manual_seed(0)
    model = MotionVQVAE(cfg)
    x = torch.randn(2, 32, cfg.feature_dim)
    recon, idx, commit = model(x)
    assert recon.shape == x.shape and idx.shape == token_shape and commit.ndim == 0
    model.eval()
    tokens = model.encode(x)
    assert tokens.shape == token_shape
    assert torch.allclose(model.decode(tokens), model(x)[0], atol=1e-5)


def test_joint_tokens_are_local_in_joints():
    """With one token per joint, changing one joint's input channels changes mostly nearby tokens."""
    torch.manual_seed(0)
    model = MotionVQVAE(VQVAEConfig(kind="joint2d", width=16, code_dim=8, num_codes=16, depth=1)).eval()
    x = torch.randn(1, 16, 263)
    y = x.clone()
    y[..., 4 + 19 * 3: 4 + 20 * 3] += 5.0  # move joint 20's ric
    dz = (model.encode_latent(y) - model.encode_latent(x)).abs().sum(dim=(0, 1, 3))
    assert dz[20] > 0 and dz[:10].sum() == 0


def test_a_few_steps_reduce_reconstruction_loss():
    torch.manual_seed(0)
    model = MotionVQVAE(VQVAEConfig(kind="joint2d", width=32, code_dim=16, num_codes=32, quantize_dropout=0.0))
    t = torch.arange(16.0)[None, :, None]
    x = torch.sin(0.3 * t * torch.rand(4, 1, 263) + 6 * torch.rand(4, 1, 263))  # smooth, motion-like
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(40):
        recon, _, commit = model(x)
        loss = torch.nn.functional.smooth_l1_loss(recon, x) + 0.02 * commit
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < 0.7 * losses[0]
