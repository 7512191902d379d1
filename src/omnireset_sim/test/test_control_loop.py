"""The core 500 Hz ControlLoop on the twin: tracking, holding, the safety stops from real motion,
the torques reaching the actuators, real time. Its input paths (refused, non-finite and racing
targets, gains beyond the robot) are tested on the core's FakeArm (omnireset_core/test).

Lockstep: each loop.tick() advances the physics by one 2 ms period, and the loop's clock is the
simulation clock, so target ages are in simulated time.
"""
from dataclasses import replace

import numpy as np
import pytest

from omnireset_core.control.config import ControllerConfig, load_controller_config
from omnireset_core.control.loop import ControlLoop, HoldCause, LoopMode
from omnireset_core.control.safety import SafetyLimits
from omnireset_core.kinematics import URKinematics
from omnireset_sim.scripted import SCRIPTED_GAINS, grasp_and_lift
from omnireset_sim.twin import TwinCell, TwinGripper, TwinRobot


@pytest.fixture()
def twin(config_dir):
    cell = TwinCell.from_files(config_dir / "cell.yaml")
    robot = TwinRobot(cell)
    robot.connect()
    yield cell, robot
    robot.disconnect()


def make_loop(cell, robot, limits=SafetyLimits(), gains=None, params=None):
    kin = cell.kinematics if params is None else URKinematics(params, cell.kinematics.flange_T_tcp)
    return ControlLoop(robot, kin, gains or load_controller_config(config_dir_path() / "controller.yaml").gains,
                       limits, clock=lambda: cell.time_s)


def config_dir_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[3] / "config"


def run(loop, seconds, on_tick=None):
    statuses = []
    for _ in range(int(round(seconds * 500))):
        if on_tick is not None:
            on_tick()
        statuses.append(loop.tick())
    return statuses


def test_controller_yaml_matches_the_validated_defaults_used_by_the_script(config_dir):
    config = load_controller_config(config_dir / "controller.yaml")
    assert config == ControllerConfig()
    assert config.gains == SCRIPTED_GAINS


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_10cm_step_settles_within_1mm_in_1p5s_with_under_10pct_overshoot(twin, axis):
    cell, robot = twin
    loop = make_loop(cell, robot)
    start = loop.tick()
    target = start.tcp_pos_b_m.copy()
    target[axis] += 0.10
    pos = []

    def resend():
        loop.set_target(target, start.tcp_quat_b_wxyz, cell.time_s)  # a fresh target every period

    for status in run(loop, 2.0, resend):
        pos.append(status.tcp_pos_b_m)
    pos = np.array(pos)
    err = np.linalg.norm(pos - target, axis=1)
    progress = (pos[:, axis] - start.tcp_pos_b_m[axis]) / 0.10
    assert err[int(1.5 * 500):].max() < 1e-3, f"error after 1.5 s: {err[750:].max() * 1e3:.2f} mm"
    assert progress.max() < 1.10, f"overshoot {100 * (progress.max() - 1):.1f} %"


def peg_in_tcp(cell):
    return cell.object_in_tcp("peg")[0]


def test_holds_pose_with_the_peg_grasped(config_dir):
    cell = TwinCell.from_files(config_dir / "cell.yaml")
    robot, gripper = TwinRobot(cell), TwinGripper(cell)
    with robot, gripper:
        grasp_and_lift(cell, robot, gripper, SCRIPTED_GAINS, lift_m=0.1)
        loop = make_loop(cell, robot)
        first = loop.tick()  # no target: hold where we are
        assert first.hold_cause is HoldCause.NO_TARGET and not first.hold_cause.is_warning
        peg_in_tcp_0 = peg_in_tcp(cell)
        statuses = run(loop, 2.0)
        drift = np.linalg.norm(np.array([s.tcp_pos_b_m for s in statuses]) - first.tcp_pos_b_m, axis=1)
        assert all(s.mode is LoopMode.HOLDING for s in statuses)
        assert drift.max() < 1e-3
        assert np.linalg.norm(peg_in_tcp(cell) - peg_in_tcp_0) < 1e-3
        assert gripper.read_state().object_detected


def test_stale_target_makes_the_arm_hold_the_pose_of_that_moment(twin):
    cell, robot = twin
    loop = make_loop(cell, robot)
    start = loop.tick()
    far = start.tcp_pos_b_m + [0.0, 0.15, 0.0]
    loop.set_target(far, start.tcp_quat_b_wxyz, cell.time_s)  # sent once, never refreshed
    statuses = run(loop, 1.5)
    stale_at = next(i for i, s in enumerate(statuses) if s.mode is LoopMode.HOLDING)
    assert stale_at == pytest.approx(0.3 * 500, abs=2)
    held = statuses[stale_at].target_pos_b_m
    assert "older than 0.3 s" in statuses[-1].reason and statuses[-1].hold_cause is HoldCause.STALE
    assert statuses[0].mode is LoopMode.TRACKING and statuses[0].hold_cause is None
    assert np.linalg.norm(statuses[stale_at].tcp_pos_b_m - held) < 1e-9  # the pose of that moment
    assert np.linalg.norm(statuses[-1].tcp_pos_b_m - far) > 0.02  # it did not keep going
    assert np.linalg.norm(statuses[-1].tcp_pos_b_m - held) < 0.01
    assert np.linalg.norm(statuses[-1].qd_radps) < 0.02  # and it came to rest


def test_joint_speed_violation_stops_commanding_and_latches(twin):
    cell, robot = twin
    loop = make_loop(cell, robot, SafetyLimits(joint_speed_fraction=0.1))  # 0.31 rad/s
    start = loop.tick()
    target = start.tcp_pos_b_m + [0.0, 0.2, 0.0]

    def resend():
        loop.set_target(target, start.tcp_quat_b_wxyz, cell.time_s)

    statuses = run(loop, 1.0, resend)
    stop = next(i for i, s in enumerate(statuses) if s.mode is LoopMode.STOPPED)
    assert "joint" in statuses[stop].reason and "speed" in statuses[stop].reason
    assert robot.holding
    after = statuses[stop:]
    assert all(s.mode is LoopMode.STOPPED and not np.any(s.tau_Nm) for s in after)
    assert np.abs(after[-1].qd_radps).max() < 0.01  # the robot's own hold brought it to rest
    loop.reset_fault()
    resumed = run(loop, 0.2)
    assert resumed[-1].mode is LoopMode.HOLDING and not robot.holding


def test_joint_limit_violation_stops(twin):
    cell, robot = twin
    q0, _ = cell.joint_state()
    upper = list(cell.params.joint_upper_rad)
    upper[0] = q0[0] + 0.1  # base joint limit 0.1 rad (+0.05 margin) from where it stands
    params = replace(cell.params, joint_upper_rad=tuple(upper))
    loop = make_loop(cell, robot, params=params)
    start = loop.tick()
    # A sideways target (about base z, counter-clockwise) turns the base joint towards +q0.
    direction = start.tcp_pos_b_m / np.linalg.norm(start.tcp_pos_b_m)
    sideways = np.cross([0.0, 0.0, 1.0], direction) * 0.15

    def resend():
        loop.set_target(start.tcp_pos_b_m + sideways, start.tcp_quat_b_wxyz, cell.time_s)

    statuses = run(loop, 1.5, resend)
    stopped = [s for s in statuses if s.mode is LoopMode.STOPPED]
    assert stopped and "joint 0" in stopped[0].reason and "limit" in stopped[0].reason
    assert cell.joint_state()[0][0] < upper[0]


def test_workspace_violation_from_a_push_stops(twin):
    cell, robot = twin
    limits = SafetyLimits(workspace_max_b_m=(0.9, 0.7, 0.30))  # TCP starts at z = 0.25
    loop = make_loop(cell, robot, limits)
    wrist = cell.model.body("link6").id

    def push_up():
        with cell.lock:
            cell.data.xfrc_applied[wrist, 2] = 400.0 if cell.time_s < 0.4 else 0.0

    statuses = run(loop, 1.0, push_up)
    stopped = [s for s in statuses if s.mode is LoopMode.STOPPED]
    assert stopped and "outside the workspace" in stopped[0].reason
    assert stopped[0].tcp_pos_b_m[2] > 0.30
    assert robot.holding


def test_torques_are_clipped_before_they_leave(twin):
    cell, robot = twin
    gains = replace(SCRIPTED_GAINS, torque_limit_Nm=(5.0, 5.0, 5.0, 1.0, 1.0, 1.0), max_pos_error_m=0.3)
    loop = make_loop(cell, robot, gains=gains)
    start = loop.tick()
    loop.set_target(start.tcp_pos_b_m + [0.0, 0.0, -0.2], start.tcp_quat_b_wxyz, cell.time_s)
    status = loop.tick()
    assert np.all(np.abs(status.tau_Nm) <= [5, 5, 5, 1, 1, 1])
    assert np.isclose(np.abs(status.tau_Nm[:3]).max(), 5.0)  # it really was clipped
    with cell.lock:
        sent = cell.data.ctrl[cell.arm_actuator_ids].copy()
    np.testing.assert_allclose(sent, status.tau_Nm)


def test_real_time_thread_tracks_and_a_lost_connection_ends_the_loop(config_dir):
    import time

    cell = TwinCell.from_files(config_dir / "cell.yaml")
    robot = TwinRobot(cell)
    robot.connect()
    loop = ControlLoop(robot, cell.kinematics, SCRIPTED_GAINS)  # wall clock, real time
    loop.start()
    try:
        time.sleep(0.1)
        start = loop.status()
        target = start.tcp_pos_b_m + [0.0, 0.0, 0.03]
        for _ in range(15):  # a 10 Hz sender for 1.5 s
            loop.set_target(target, start.tcp_quat_b_wxyz)
            time.sleep(0.1)
        tracked = loop.status()
        assert tracked.mode is LoopMode.TRACKING
        assert np.linalg.norm(tracked.tcp_pos_b_m - target) < 1e-3
        assert tracked.ticks > 500
        robot.disconnect()  # the link drops
        time.sleep(0.05)
        assert loop.status().mode is LoopMode.FAILED
        assert "connection lost" in loop.status().reason
    finally:
        loop.stop()
