import numpy as np
import pytest

from backend.motion import rotations as R


@pytest.fixture
def quats():
    rng = np.random.default_rng(0)
    return R.normalize(rng.normal(size=(50, 4)))


def test_quat_matrix_round_trip(quats):
    back = R.matrix_to_quat(R.quat_to_matrix(quats))
    # q and -q are the same rotation
    assert np.allclose(np.abs(np.sum(back * quats, axis=-1)), 1.0, atol=1e-9)


def test_qrot_matches_matrix(quats):
    v = np.random.default_rng(1).normal(size=(50, 3))
    assert np.allclose(R.qrot(quats, v), np.einsum("nij,nj->ni", R.quat_to_matrix(quats), v))


def test_qmul_composes_rotations(quats):
    a, b = quats[:25], quats[25:]
    v = np.ones((25, 3))
    assert np.allclose(R.qrot(R.qmul(a, b), v), R.qrot(a, R.qrot(b, v)))
    assert np.allclose(R.qmul(a, R.qinv(a)), R.qidentity((25,)), atol=1e-12)


def test_cont6d_round_trip(quats):
    m = R.quat_to_matrix(quats)
    assert np.allclose(R.cont6d_to_matrix(R.quat_to_cont6d(quats)), m, atol=1e-9)


def test_axis_angle_round_trip(quats):
    aa = R.quat_to_axis_angle(quats)
    assert np.all(np.linalg.norm(aa, axis=-1) <= np.pi + 1e-9)
    back = R.axis_angle_to_quat(aa)
    assert np.allclose(np.abs(np.sum(back * quats, axis=-1)), 1.0, atol=1e-9)


def test_qbetween_maps_u_to_v_including_opposite():
    rng = np.random.default_rng(2)
    u = rng.normal(size=(20, 3))
    v = rng.normal(size=(20, 3))
    v[0] = -u[0]  # antiparallel case
    v[1] = u[1] * 3.0  # parallel case
    q = R.qbetween(u, v)
    assert np.allclose(R.qrot(q, R.normalize(u)), R.normalize(v), atol=1e-9)


def test_euler_round_trip_bvh_orders():
    rng = np.random.default_rng(3)
    angles = rng.uniform(-80, 80, size=(10, 3))
    for order in ("ZXY", "XYZ", "ZYX", "YXZ"):
        m = R.euler_to_matrix(angles, order)
        assert np.allclose(R.matrix_to_euler(m, order), angles, atol=1e-6)
    # intrinsic ZXY = Rz @ Rx @ Ry
    m = R.euler_to_matrix(np.array([30.0, 40.0, 50.0]), "ZXY")
    rz = R.euler_to_matrix(np.array([30.0, 0, 0]), "ZXY")
    rx = R.euler_to_matrix(np.array([0, 40.0, 0]), "ZXY")
    ry = R.euler_to_matrix(np.array([0, 0, 50.0]), "ZXY")
    assert np.allclose(m, rz @ rx @ ry)


def test_qcontinuous_removes_sign_flips(quats):
    q = np.repeat(quats[:1], 10, axis=0)
    q[3::2] *= -1
    out = R.qcontinuous(q)
    assert np.all(np.sum(out[1:] * out[:-1], axis=-1) > 0)
