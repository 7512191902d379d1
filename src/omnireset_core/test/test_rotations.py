import numpy as np
import pytest

from omnireset_core.rotations import (
    matrix_to_quat,
    pose6_to_matrix,
    pose_from_frame,
    pose_in_frame,
    quat_error_rotvec,
    quat_mul,
    quat_to_matrix,
    quat_to_rotvec,
    rotvec_to_quat,
)


def random_quats(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def test_rotvec_round_trip_including_tiny_angles():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(200, 3)) * rng.choice([1e-9, 1e-4, 1.0, 3.0], size=(200, 1))
    r = r[np.linalg.norm(r, axis=-1) < np.pi - 1e-3]
    np.testing.assert_allclose(quat_to_rotvec(rotvec_to_quat(r)), r, atol=1e-12)


def test_matrix_quat_round_trip_sign_canonical():
    q = random_quats(np.random.default_rng(1), 500)
    q = np.where(q[:, :1] < 0, -q, q)
    np.testing.assert_allclose(matrix_to_quat(quat_to_matrix(q)), q, atol=1e-9)


def test_quat_mul_composes_like_matrices():
    rng = np.random.default_rng(2)
    a, b = random_quats(rng, 50), random_quats(rng, 50)
    np.testing.assert_allclose(quat_to_matrix(quat_mul(a, b)), quat_to_matrix(a) @ quat_to_matrix(b), atol=1e-12)


def test_error_rotvec_rotates_current_onto_target():
    rng = np.random.default_rng(3)
    current, target = random_quats(rng, 50), random_quats(rng, 50)
    err = quat_error_rotvec(target, current)
    assert np.all(np.linalg.norm(err, axis=-1) <= np.pi + 1e-9)
    np.testing.assert_allclose(
        quat_to_matrix(quat_mul(rotvec_to_quat(err), current)), quat_to_matrix(target), atol=1e-9
    )


@pytest.mark.parametrize("fn", [quat_to_rotvec, quat_to_matrix])
def test_numpy_and_torch_agree(fn):
    torch = pytest.importorskip("torch")
    q = random_quats(np.random.default_rng(4), 64)
    np.testing.assert_allclose(fn(torch.as_tensor(q)).numpy(), fn(q), atol=1e-12)


def _homogeneous(pos, quat):
    T = np.zeros(pos.shape[:-1] + (4, 4))
    T[..., :3, :3], T[..., :3, 3], T[..., 3, 3] = quat_to_matrix(quat), pos, 1.0
    return T


def test_pose_in_frame_is_the_inverse_frame_transform_times_the_pose():
    rng = np.random.default_rng(5)
    frame_pos, pos = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    frame_quat, quat = random_quats(rng, 40), random_quats(rng, 40)
    rel_pos, rel_quat = pose_in_frame(frame_pos, frame_quat, pos, 1.7 * quat)  # a non-unit input
    expected = np.linalg.inv(_homogeneous(frame_pos, frame_quat)) @ _homogeneous(pos, quat)
    np.testing.assert_allclose(rel_pos, expected[:, :3, 3], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(rel_quat, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(rel_quat), expected[:, :3, :3], atol=1e-12)
    single = pose_in_frame(frame_pos[3], frame_quat[3], pos[3], quat[3])
    np.testing.assert_allclose(single[0], rel_pos[3], atol=1e-12)
    torch = pytest.importorskip("torch")
    batch_t = pose_in_frame(*(torch.as_tensor(x) for x in (frame_pos, frame_quat, pos, 1.7 * quat)))
    np.testing.assert_allclose(batch_t[0].numpy(), rel_pos, atol=1e-12)
    np.testing.assert_allclose(batch_t[1].numpy(), rel_quat, atol=1e-12)


def test_pose_from_frame_undoes_pose_in_frame_in_numpy_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    f_pos, f_quat = rng.normal(size=(32, 3)), rotvec_to_quat(rng.normal(size=(32, 3)))
    pos, quat = rng.normal(size=(32, 3)), rotvec_to_quat(rng.normal(size=(32, 3)))
    rel = pose_in_frame(f_pos, f_quat, pos, quat)
    back_pos, back_quat = pose_from_frame(f_pos, f_quat, *rel)
    np.testing.assert_allclose(back_pos, pos, atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(back_quat * quat, -1)), 1.0, atol=1e-12)  # same rotation
    t_pos, _ = pose_from_frame(*(torch.as_tensor(x) for x in (f_pos, f_quat, *rel)))
    np.testing.assert_allclose(t_pos.numpy(), back_pos, atol=1e-12)
    # A frame shifted 1 m along x and turned 90 deg about z maps its (1, 0, 0) to (1, 1, 0).
    p, _ = pose_from_frame(np.array([1.0, 0.0, 0.0]), rotvec_to_quat(np.array([0.0, 0.0, np.pi / 2])),
                           np.array([1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(p, [1.0, 1.0, 0.0], atol=1e-12)


def test_a_ur_pose6_becomes_its_transform():
    T = pose6_to_matrix([0.1, -0.2, 0.155, 0.0, 0.0, np.pi / 2])  # a quarter turn about z
    np.testing.assert_allclose(T, [[0, -1, 0, 0.1], [1, 0, 0, -0.2], [0, 0, 1, 0.155], [0, 0, 0, 1]], atol=1e-12)
