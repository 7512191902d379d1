"""The control law: its shape, its limits, and numpy (500 Hz path) vs torch (training path) parity."""
import math

import numpy as np
import pytest

from omnireset_core.control.action import action_to_target
from omnireset_core.control.osc import OscGains, clip_pose_error, osc_torque, pose_error, scaled_gains, track_target
from omnireset_core.kinematics import URKinematics
from omnireset_core.rotations import matrix_to_quat, quat_to_matrix, rotvec_to_quat


def recorded_states(n=64, seed=0):
    """Joint states along random arm poses with the TCP targets a policy would send."""
    rng = np.random.default_rng(seed)
    kin = URKinematics()
    q = rng.uniform(-np.pi, np.pi, size=(n, 6))
    qd = rng.normal(scale=0.5, size=(n, 6))
    T, J = kin.tcp_pose_and_jacobian(q)
    pos, quat = T[:, :3, 3], matrix_to_quat(T[:, :3, :3])
    target_pos = pos + rng.normal(scale=0.05, size=(n, 3))
    target_quat = matrix_to_quat(quat_to_matrix(rotvec_to_quat(rng.normal(scale=0.3, size=(n, 3)))) @ T[:, :3, :3])
    return J, qd, pos, quat, target_pos, target_quat


def test_kd_is_twice_sqrt_kp_times_damping_ratio():
    g = OscGains(kp_pos=(400.0, 900.0, 100.0), kp_rot=(25.0, 16.0, 4.0), damping_ratio_pos=0.5, damping_ratio_rot=2.0)
    np.testing.assert_allclose(g.kd, (20.0, 30.0, 10.0, 20.0, 16.0, 8.0))


def test_clip_keeps_direction_and_limits_norm():
    e = np.array([0.3, -0.4, 0.0, 0.0, 0.6, 0.8])
    c = clip_pose_error(e, 0.05, 0.3)
    np.testing.assert_allclose(c, [0.03, -0.04, 0, 0, 0.18, 0.24], atol=1e-12)
    small = np.array([0.001, 0, 0, 0, 0, 0.01])
    np.testing.assert_array_equal(clip_pose_error(small, 0.05, 0.3), small)


def test_torque_equals_law_and_respects_limits():
    J, qd, pos, quat, tpos, tquat = recorded_states()
    g = OscGains()
    tau = osc_torque(J, qd, pose_error(pos, quat, tpos, tquat), g)
    e = clip_pose_error(pose_error(pos, quat, tpos, tquat), g.max_pos_error_m, g.max_rot_error_rad)
    wrench = np.array(g.kp) * e - np.array(g.kd) * np.einsum("nij,nj->ni", J, qd)
    expected = np.clip(np.einsum("nji,nj->ni", J, wrench), -np.array(g.torque_limit_Nm), g.torque_limit_Nm)
    np.testing.assert_allclose(tau, expected, atol=1e-9)
    assert np.all(np.abs(tau) <= np.array(g.torque_limit_Nm) + 1e-12)


def test_numpy_single_robot_and_torch_batch_agree_on_recorded_states():
    torch = pytest.importorskip("torch")
    J, qd, pos, quat, tpos, tquat = recorded_states(256, seed=5)
    g = OscGains(kp_pos=(200.0,) * 3, kp_rot=(3.0,) * 3, damping_ratio_pos=3.0)
    batch = osc_torque(*(torch.as_tensor(x) for x in (J, qd)),
                       pose_error(*(torch.as_tensor(x) for x in (pos, quat, tpos, tquat))), g).numpy()
    for i in range(0, 256, 17):
        single = osc_torque(J[i], qd[i], pose_error(pos[i], quat[i], tpos[i], tquat[i]), g)
        np.testing.assert_allclose(batch[i], single, rtol=1e-10, atol=1e-10)
    batch32 = osc_torque(*(torch.as_tensor(x, dtype=torch.float32) for x in (J, qd)),
                         pose_error(*(torch.as_tensor(x, dtype=torch.float32) for x in (pos, quat, tpos, tquat))), g)
    np.testing.assert_allclose(batch32.numpy(), batch, atol=1e-3)


def test_per_world_gains_equal_one_law_per_world():
    J, qd, pos, quat, tpos, tquat = recorded_states(8, seed=3)
    rng = np.random.default_rng(3)
    kp_pos, kp_rot = rng.uniform(500, 1500, (8, 3)), rng.uniform(20, 80, (8, 3))
    base = OscGains()
    worlds = [OscGains(kp_pos=tuple(kp_pos[i]), kp_rot=tuple(kp_rot[i])) for i in range(8)]
    kp = np.array([g.kp for g in worlds])
    kd = np.array([g.kd for g in worlds])
    batch = osc_torque(J, qd, pose_error(pos, quat, tpos, tquat), base, kp=kp, kd=kd)
    for i, g in enumerate(worlds):
        np.testing.assert_allclose(batch[i], osc_torque(J[i], qd[i], pose_error(pos[i], quat[i], tpos[i], tquat[i]), g),
                                   rtol=1e-12, atol=1e-9)
    assert not np.allclose(batch, osc_torque(J, qd, pose_error(pos, quat, tpos, tquat), base))


def test_track_target_is_the_law_on_the_pose_error_in_numpy_and_torch():
    torch = pytest.importorskip("torch")
    J, qd, pos, quat, tpos, tquat = recorded_states(32, seed=11)
    g = OscGains()
    tau = track_target(pos, quat, J, qd, tpos, tquat, g)
    np.testing.assert_allclose(tau, osc_torque(J, qd, pose_error(pos, quat, tpos, tquat), g), atol=0.0)
    batch = track_target(*(torch.as_tensor(x) for x in (pos, quat, J, qd, tpos, tquat)), g).numpy()
    np.testing.assert_allclose(batch, tau, rtol=1e-10, atol=1e-10)
    kp = np.tile(np.array(g.kp) * 2.0, (32, 1))
    assert not np.allclose(track_target(pos, quat, J, qd, tpos, tquat, g, kp=kp, kd=np.array(g.kd)), tau)


def test_track_target_pushes_towards_the_target_and_brakes_motion():
    """With J = I: a target 1 cm ahead in x at rest gives +x force only; moving at the target, only
    damping against the motion."""
    g = OscGains()
    J, rest = np.eye(6), np.zeros(6)
    quat = np.array([0.0, 1.0, 0.0, 0.0])
    tau = track_target(np.zeros(3), quat, J, rest, np.array([0.01, 0.0, 0.0]), quat, g)
    assert tau[0] == pytest.approx(g.kp[0] * 0.01) and np.allclose(tau[1:], 0.0)
    moving = np.array([0.0, 0.1, 0.0, 0.0, 0.0, 0.0])
    tau = track_target(np.zeros(3), quat, J, moving, np.zeros(3), quat, g)
    assert tau[1] == pytest.approx(-g.kd[1] * 0.1) and np.allclose(np.delete(tau, 1), 0.0)


def test_scaled_gains_are_the_gains_of_scaled_stiffness():
    base = OscGains()
    scale = np.array([[1.0, 1.0], [0.8, 1.2], [1.2, 0.9]])
    kp, kd = scaled_gains(base, scale)
    for row, (s_pos, s_rot) in enumerate(scale):
        g = OscGains(kp_pos=tuple(s_pos * k for k in base.kp_pos), kp_rot=tuple(s_rot * k for k in base.kp_rot))
        np.testing.assert_allclose(kp[row], g.kp, rtol=1e-12)
        np.testing.assert_allclose(kd[row], g.kd, rtol=1e-12)
    torch = pytest.importorskip("torch")
    kp_t, kd_t = scaled_gains(base, torch.as_tensor(scale))
    np.testing.assert_allclose(kp_t.numpy(), kp, rtol=1e-12)
    np.testing.assert_allclose(kd_t.numpy(), kd, rtol=1e-12)


def test_action_to_target_scales_and_left_multiplies():
    pos = np.array([0.4, 0.1, 0.2])
    quat = rotvec_to_quat(np.array([math.pi, 0.0, 0.0]))  # gripper pointing down
    scale = (0.02, 0.02, 0.02, 0.02, 0.02, 0.2)
    tpos, tquat, close = action_to_target(np.array([1.0, -0.5, 0.0, 0.0, 0.0, 1.0, -1.0]), pos, quat, scale)
    np.testing.assert_allclose(tpos, [0.42, 0.09, 0.2])
    # 0.2 rad about base z applied on the left: the TCP's x axis turns about base z.
    expected = quat_to_matrix(rotvec_to_quat(np.array([0, 0, 0.2]))) @ quat_to_matrix(quat)
    np.testing.assert_allclose(quat_to_matrix(tquat), expected, atol=1e-12)
    assert bool(close)
    _, _, close = action_to_target(np.zeros(7), pos, quat, scale)
    assert not bool(close)


@pytest.mark.parametrize("field,value", [("kp_pos", (1.0, -1.0, 1.0)), ("damping_ratio_rot", 0.0),
                                         ("max_pos_error_m", float("nan")), ("torque_limit_Nm", (1.0,) * 5)])
def test_bad_gains_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        OscGains(**{field: value})
