import pytest

torch = pytest.importorskip("torch")

from training.models.joint_map import features_to_joint_map, joint_map_to_features  # noqa: E402


@pytest.mark.parametrize("dim,joints", [(263, 22), (251, 21)])
def test_joint_map_round_trip_is_exact(dim, joints):
    x = torch.randn(3, 17, dim)
    m = features_to_joint_map(x)
    assert m.shape == (3, 17, joints, 12)
    assert torch.equal(joint_map_to_features(m), x)


def test_joint_tokens_hold_their_own_joint():
    x = torch.zeros(1, 2, 263)
    x[..., 4 + 19 * 3: 4 + 20 * 3] = 1.0  # ric of joint 20 (l_wrist)
    m = features_to_joint_map(x)
    assert m[0, 0, 20, :3].eq(1).all() and m[0, 0, :20].abs().sum() == 0 and m[0, 0, 21].abs().sum() == 0
    x = torch.zeros(1, 2, 263)
    x[..., 259:263] = 1.0  # contacts go to the root token
    assert features_to_joint_map(x)[0, 0, 0, 7:11].eq(1).all()


def test_unknown_dim_is_rejected():
    with pytest.raises(ValueError, match="263 or 251"):
        features_to_joint_map(torch.zeros(1, 2, 100))
