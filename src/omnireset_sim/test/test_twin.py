"""TwinCell / TwinRobot / TwinGripper behaviour and physics stability."""
import time

import mujoco
import numpy as np
import pytest

from omnireset_core.interfaces import HardwareError
from omnireset_sim.assets.robotiq import FINGER_TRAVEL_M, PAD_GEOMS
from omnireset_sim.config import CellConfig, PhysicsConfig
from omnireset_sim.scripted import SCRIPTED_GAINS, grasp_and_lift
from omnireset_sim.twin import TwinCell, TwinGripper, TwinRobot


def make(dt: float = 0.002):
    cell = TwinCell(CellConfig(physics=PhysicsConfig(timestep_s=dt, control_period_s=dt)))
    robot, gripper = TwinRobot(cell), TwinGripper(cell)
    robot.connect()
    gripper.connect()
    return cell, robot, gripper


def test_lockstep_advances_one_period_and_stamps_states():
    cell, robot, _ = make()
    t0 = cell.time_s
    robot.command_torque(np.zeros(6))
    assert cell.time_s == pytest.approx(t0 + 0.002)
    robot.hold_position()
    assert cell.time_s == pytest.approx(t0 + 0.004)
    s1, s2 = robot.read_state(), robot.read_state()
    assert s2.stamp_s >= s1.stamp_s and abs(s1.stamp_s - time.monotonic()) < 1.0
    assert s1.q_rad.shape == (6,) and s1.qd_radps.shape == (6,)


def test_not_connected_raises():
    cell = TwinCell()
    with pytest.raises(HardwareError):
        TwinRobot(cell).read_state()
    with pytest.raises(HardwareError):
        TwinGripper(cell).command(True)


def test_torques_are_clipped_to_ur_limits():
    cell, robot, _ = make()
    robot.command_torque([1000.0, -1000.0, 1000.0, 100.0, -100.0, 100.0])
    force = cell.data.actuator_force[cell.arm_actuator_ids]
    np.testing.assert_allclose(np.abs(force), [150, 150, 150, 28, 28, 28])
    with pytest.raises(ValueError):
        robot.command_torque([np.nan] * 6)


def test_hold_position_resists_a_push_and_torque_mode_does_not():
    """20 N on the flange for 0.5 s: the joint hold keeps the tcp within 5 mm; zero torque does not."""
    def push(hold: bool) -> float:
        cell, robot, _ = make()
        p0 = cell.tcp_pose()[0]
        cell.data.xfrc_applied[cell.model.body("flange").id, :3] = [20.0, 0.0, -20.0]
        for _ in range(250):
            robot.hold_position() if hold else robot.command_torque(np.zeros(6))
        return float(np.linalg.norm(cell.tcp_pose()[0] - p0))

    held, free = push(True), push(False)
    assert held < 0.005, held
    assert free > 0.03, free


def test_command_torque_leaves_hold():
    cell, robot, _ = make()
    robot.hold_position()
    assert robot.holding
    robot.command_torque(np.zeros(6))
    assert not robot.holding


def test_free_running_steps_in_real_time_and_holds_when_commands_stop():
    cell = TwinCell()
    robot = TwinRobot(cell, free_running=True, command_timeout_s=0.05)
    with robot:
        t_wall = time.monotonic()
        for _ in range(50):
            robot.command_torque(np.zeros(6))
            time.sleep(0.002)
        assert not robot.holding
        time.sleep(0.15)
        assert robot.holding  # stale torque -> the arm holds by itself
        rtf = cell.time_s / (time.monotonic() - t_wall)
    assert 0.5 < rtf < 1.2, rtf


def test_gripper_closes_on_nothing_without_detecting():
    cell, robot, gripper = make()
    gripper.command(True)
    for _ in range(400):
        robot.hold_position()
    state = gripper.read_state()
    assert state.closed_cmd and not state.object_detected
    assert state.opening_frac > 0.97


def _squeeze_force_N(cell) -> float:
    m, d = cell.model, cell.data
    pad_ids = {m.geom(n).id for n in PAD_GEOMS}
    total, f6 = 0.0, np.zeros(6)
    for i in range(d.ncon):
        c = d.contact[i]
        if c.geom1 in pad_ids or c.geom2 in pad_ids:
            mujoco.mj_contactForce(m, d, i, f6)
            total += f6[0]
    return total / 2  # two pads


@pytest.mark.parametrize("dt, hold_s", [(0.002, 5.0), (1 / 120, 3.0)], ids=["500Hz", "120Hz"])
def test_grasp_lift_and_hold_is_stable(dt, hold_s):
    """Grasp the peg, lift 10 cm with the core OSC law, hold: finite, peg stays in hand, no drift."""
    cell, robot, gripper = make(dt)
    peg_z0 = cell.object_pose("peg")[0][2]
    drv = grasp_and_lift(cell, robot, gripper, SCRIPTED_GAINS, lift_m=0.1)
    state = gripper.read_state()
    assert state.object_detected
    assert state.opening_frac == pytest.approx((0.085 - 0.020) / 2 / FINGER_TRAVEL_M, abs=0.03)
    assert _squeeze_force_N(cell) == pytest.approx(cell.config.gripper.grip_force_N, rel=0.1)
    drv.hold(1.0)  # let the end of the lift settle; drift is measured from here
    tcp0_pos_b_m = cell.tcp_pose()[0]
    peg_in_tcp0_m = cell.object_in_tcp("peg")[0]
    tcp_drift = slip = qd_max = 0.0
    for _ in range(int(round(hold_s / dt))):
        drv.tick(drv.target_pos_b_m, drv.target_quat_b_wxyz)
        assert np.all(np.isfinite(cell.data.qpos)) and np.all(np.isfinite(cell.data.qvel))
        tcp_drift = max(tcp_drift, np.linalg.norm(cell.tcp_pose()[0] - tcp0_pos_b_m))
        slip = max(slip, np.linalg.norm(cell.object_in_tcp("peg")[0] - peg_in_tcp0_m))
        qd_max = max(qd_max, np.abs(cell.joint_state()[1]).max())
    assert cell.object_pose("peg")[0][2] - peg_z0 == pytest.approx(0.1, abs=0.005)
    assert tcp_drift < 1e-4, tcp_drift  # measured ~5 um at both rates
    assert slip < 1e-4, slip  # measured ~10 um
    assert qd_max < 5e-3, qd_max


def test_joint_hold_with_grasped_peg_at_120hz():
    cell, robot, gripper = make(1 / 120)
    grasp_and_lift(cell, robot, gripper, SCRIPTED_GAINS, lift_m=0.1)
    q0, _ = cell.joint_state()
    peg0 = cell.object_pose("peg")[0]
    for _ in range(360):  # 3 s
        robot.hold_position()
    q1, qd1 = cell.joint_state()
    assert np.abs(q1 - q0).max() < 2e-3 and np.abs(qd1).max() < 1e-2
    assert np.linalg.norm(cell.object_pose("peg")[0] - peg0) < 2e-3


def test_mass_matrix_and_object_poses():
    cell = TwinCell()
    M = cell.mass_matrix()
    assert M.shape == (6, 6) and np.allclose(M, M.T) and np.all(np.linalg.eigvalsh(M) > 0)
    assert np.all(np.diag(M) >= 0.1)  # armature included
    cell.set_object_pose("peg_hole", (0.5, -0.2, 0.0), (np.cos(0.2), 0.0, 0.0, np.sin(0.2)))
    cell.set_object_pose("peg", (0.5, -0.2, 0.0), (np.cos(0.2), 0.0, 0.0, np.sin(0.2)))
    pos, quat = cell.relative_pose("peg", "peg_hole")
    np.testing.assert_allclose(pos, 0.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(quat), [1, 0, 0, 0], atol=1e-12)
    with pytest.raises(ValueError):
        cell.set_object_pose("table", (0, 0, 0), (1, 0, 0, 0))
