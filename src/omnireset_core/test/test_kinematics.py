import numpy as np
import pytest

from omnireset_core.kinematics import UR7E, DHCalibration, URKinematics
from omnireset_core.rotations import matrix_to_quat, quat_error_rotvec


def test_zero_configuration_matches_ur_dh_table():
    b_T_flange = URKinematics(UR7E).tcp_pose(np.zeros(6))
    # Stretched-out arm: x = a2 + a3, y = -(d4 + d6), z = d1 - d5.
    np.testing.assert_allclose(b_T_flange[:3, 3], [-0.8172, -0.2329, 0.0628], atol=1e-12)


def test_jacobian_matches_finite_differences_with_tool_offset():
    tool = np.eye(4)
    tool[:3, 3] = [0.01, -0.02, 0.17]
    kin = URKinematics(UR7E, flange_T_tcp=tool)
    rng = np.random.default_rng(0)
    for q in rng.uniform(-np.pi, np.pi, size=(20, 6)):
        T, J = kin.tcp_pose_and_jacobian(q)
        eps = 1e-7
        for j in range(6):
            dq = np.zeros(6)
            dq[j] = eps
            T2 = kin.tcp_pose(q + dq)
            np.testing.assert_allclose((T2[:3, 3] - T[:3, 3]) / eps, J[:3, j], atol=1e-5)
            w = quat_error_rotvec(matrix_to_quat(T2[:3, :3]), matrix_to_quat(T[:3, :3])) / eps
            np.testing.assert_allclose(w, J[3:, j], atol=1e-5)


def test_batched_equals_single():
    kin = URKinematics()
    q = np.random.default_rng(1).uniform(-3, 3, size=(7, 6))
    T, J = kin.tcp_pose_and_jacobian(q)
    for i in range(7):
        Ti, Ji = kin.tcp_pose_and_jacobian(q[i])
        np.testing.assert_allclose(T[i], Ti, atol=1e-14)
        np.testing.assert_allclose(J[i], Ji, atol=1e-14)


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
def test_torch_batch_stays_in_torch_and_equals_numpy(dtype_name):
    """Training's batched worlds call the same FK in torch, on the tensors' device and dtype."""
    torch = pytest.importorskip("torch")
    tool = np.eye(4)
    tool[:3, 3] = [0.0, 0.0, 0.17]
    kin = URKinematics(UR7E, flange_T_tcp=tool)
    q = np.random.default_rng(2).uniform(-3, 3, size=(9, 6))
    T, J = kin.tcp_pose_and_jacobian(q)
    dtype = getattr(torch, dtype_name)
    Tt, Jt = kin.tcp_pose_and_jacobian(torch.as_tensor(q, dtype=dtype))
    assert isinstance(Tt, torch.Tensor) and Tt.dtype == dtype and Jt.dtype == dtype and Tt.device.type == "cpu"
    tol = 1e-12 if dtype_name == "float64" else 2e-5
    np.testing.assert_allclose(Tt.numpy(), T, atol=tol)
    np.testing.assert_allclose(Jt.numpy(), J, atol=tol)
    np.testing.assert_allclose(kin.tcp_pose(torch.as_tensor(q)).numpy(), T, atol=1e-12)


def test_calibration_deltas_move_the_flange_as_expected():
    q = np.array([0.1, -1.2, 1.4, -1.7, -1.57, 0.3])
    nominal = URKinematics(UR7E).tcp_pose(q)
    shifted = URKinematics(UR7E.calibrated(DHCalibration(delta_d_m=(0.002, 0, 0, 0, 0, 0)))).tcp_pose(q)
    # d1 translates everything after joint 1 along base z.
    np.testing.assert_allclose(shifted[:3, 3] - nominal[:3, 3], [0, 0, 0.002], atol=1e-12)
    turned = URKinematics(UR7E.calibrated(DHCalibration(delta_theta_rad=(0.05, 0, 0, 0, 0, 0)))).tcp_pose(q)
    np.testing.assert_allclose(turned, URKinematics(UR7E).tcp_pose(q + [0.05, 0, 0, 0, 0, 0]), atol=1e-12)


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="delta_a_m"):
        DHCalibration(delta_a_m=(0.0,) * 5)
    with pytest.raises(ValueError, match="6 joint angles"):
        URKinematics().tcp_pose(np.zeros(5))


def test_batched_ik_reaches_reachable_poses_and_flags_the_rest():
    from omnireset_core.kinematics.ik import solve_ik_batch

    kin = URKinematics(UR7E)
    home = np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0])
    q_true = home + np.random.default_rng(0).uniform(-0.4, 0.4, (6, 6))
    T = kin.tcp_pose(q_true)
    targets = np.concatenate((T[:, :3, 3], matrix_to_quat(T[:, :3, :3])), axis=1)
    targets[5, :3] = (3.0, 0.0, 0.5)  # 3 m away: out of reach
    q, ok = solve_ik_batch(kin, targets, home)
    assert ok.tolist() == [True] * 5 + [False]
    T_sol = kin.tcp_pose(q[:5])
    np.testing.assert_allclose(T_sol[:, :3, 3], targets[:5, :3], atol=1e-6)
    np.testing.assert_allclose(quat_error_rotvec(targets[:5, 3:], matrix_to_quat(T_sol[:, :3, :3])), 0.0, atol=1e-6)
