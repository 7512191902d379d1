"""The ControlLoop's input and failure paths on the core's FakeArm (no physics engine): refused
targets, a refusal racing a tick, torque clipping, gains beyond the robot, a lost link. The
loop's physical behaviour (settling, holding a grasp, safety stops from real motion) is tested
on the MuJoCo twin in omnireset_sim/test/test_control_loop.py."""
import time
from dataclasses import replace

import numpy as np
import pytest

from omnireset_core.control.config import ControllerConfig
from omnireset_core.control.fake_robot import FakeArm
from omnireset_core.control.loop import ControlLoop, HoldCause, LoopMode
from omnireset_core.control.safety import SafetyLimits
from omnireset_core.interfaces import HardwareError
from omnireset_core.kinematics import URKinematics

HOME_Q_RAD = (2.8409, -1.6981, 1.9021, -1.7748, -1.5708, -1.8715)  # config/cell.yaml: TCP tool down
GAINS = ControllerConfig().gains


@pytest.fixture
def arm():
    robot = FakeArm(HOME_Q_RAD)
    robot.connect()
    yield robot
    robot.disconnect()


def make_loop(robot, gains=GAINS, clock=None, limits=SafetyLimits()):
    return ControlLoop(robot, URKinematics(), gains, limits, clock=clock or robot.clock)


def run(loop, seconds):
    return [loop.tick() for _ in range(int(round(seconds * 500)))]


def test_the_fake_tracks_a_small_step_and_holds_when_the_target_goes_stale(arm):
    loop = make_loop(arm)
    start = loop.tick()
    target = start.tcp_pos_b_m + [0.0, 0.02, 0.0]
    loop.set_target(target, start.tcp_quat_b_wxyz, arm.time_s)
    statuses = run(loop, 0.29)
    assert all(s.mode is LoopMode.TRACKING for s in statuses)
    moved = statuses[-1].tcp_pos_b_m - start.tcp_pos_b_m
    assert moved[1] > 0.002 and np.abs(moved[[0, 2]]).max() < 0.3 * moved[1]  # towards it
    later = run(loop, 0.1)
    assert later[-1].mode is LoopMode.HOLDING and later[-1].hold_cause is HoldCause.STALE
    assert np.linalg.norm(later[-1].target_pos_b_m - statuses[-1].tcp_pos_b_m) < 0.005  # where it was then


def test_a_target_stamped_in_the_future_is_refused_and_the_arm_holds(arm):
    loop = make_loop(arm)
    start = loop.tick()
    problem = loop.set_target(start.tcp_pos_b_m + [0.0, 0.05, 0.0], start.tcp_quat_b_wxyz, arm.time_s + 30.0)
    assert problem is not None and "30.000 s in the future" in problem
    statuses = run(loop, 0.5)
    assert all(s.mode is LoopMode.HOLDING for s in statuses)
    assert statuses[-1].refused_targets == 1 and statuses[-1].hold_cause is HoldCause.REFUSED
    assert np.abs(arm.q_rad - HOME_Q_RAD).max() < 1e-4  # did not move
    assert loop.set_target(start.tcp_pos_b_m, start.tcp_quat_b_wxyz, arm.time_s + 0.04) is None  # clock skew
    assert loop.tick().mode is LoopMode.TRACKING


def test_a_refusal_that_arrives_during_a_tick_is_reported_not_overwritten(arm):
    loop = make_loop(arm)
    start = loop.tick()
    loop.clear_target()
    command_torque = arm.command_torque

    def refuse_mid_tick(tau):  # the executor thread delivers a future-stamped target while the tick runs
        command_torque(tau)
        arm.command_torque = command_torque
        loop.set_target(start.tcp_pos_b_m, start.tcp_quat_b_wxyz, arm.time_s + 30.0)

    arm.command_torque = refuse_mid_tick
    assert loop.tick().reason == "target cleared"  # read before the refusal
    after = run(loop, 0.05)
    assert after[-1].hold_cause is HoldCause.REFUSED and "in the future" in after[-1].reason, after[-1].reason


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_target_is_refused_and_the_arm_holds_where_it_was(arm, bad):
    loop = make_loop(arm)
    start = loop.tick()
    loop.set_target(start.tcp_pos_b_m + [0.02, 0, 0], start.tcp_quat_b_wxyz, arm.time_s)
    run(loop, 0.1)
    assert loop.set_target([0.4, bad, 0.3], start.tcp_quat_b_wxyz, arm.time_s) == "non-finite target"
    at_refusal = loop.tick()
    statuses = run(loop, 0.3)
    assert statuses[-1].mode is LoopMode.HOLDING and statuses[-1].hold_cause.is_warning
    assert np.linalg.norm(statuses[-1].target_pos_b_m - at_refusal.tcp_pos_b_m) < 1e-9
    assert all(np.all(np.isfinite(s.tau_Nm)) for s in statuses)


def test_a_push_past_the_joint_speed_limit_stops_on_the_robots_hold_and_latches(arm):
    loop = make_loop(arm, limits=SafetyLimits(joint_speed_fraction=0.1))  # 0.31 rad/s
    run(loop, 0.05)
    arm.external_Nm[0] = 60.0  # a shove on the base joint
    statuses = run(loop, 0.5)
    arm.external_Nm[:] = 0.0
    stop = next(i for i, s in enumerate(statuses) if s.mode is LoopMode.STOPPED)
    assert "joint" in statuses[stop].reason and "speed" in statuses[stop].reason
    after = run(loop, 0.5)
    assert all(s.mode is LoopMode.STOPPED and not np.any(s.tau_Nm) for s in after) and arm.holding
    assert np.abs(after[-1].qd_radps).max() < 0.01  # the robot's own hold brought it to rest
    loop.reset_fault()
    assert run(loop, 0.05)[-1].mode is LoopMode.HOLDING and not arm.holding


def test_torques_are_clipped_before_they_leave(arm):
    gains = replace(GAINS, torque_limit_Nm=(5.0, 5.0, 5.0, 1.0, 1.0, 1.0), max_pos_error_m=0.3)
    loop = make_loop(arm, gains)
    start = loop.tick()
    loop.set_target(start.tcp_pos_b_m + [0.0, 0.0, -0.2], start.tcp_quat_b_wxyz, arm.time_s)
    status = loop.tick()
    assert np.all(np.abs(status.tau_Nm) <= [5, 5, 5, 1, 1, 1])
    assert np.isclose(np.abs(status.tau_Nm[:3]).max(), 5.0)  # it really was clipped
    np.testing.assert_array_equal(arm.last_torque_Nm, status.tau_Nm)  # what the robot received


def test_gains_above_the_robot_limits_are_refused(arm):
    with pytest.raises(ValueError, match="torque_limit_Nm"):
        make_loop(arm, replace(GAINS, torque_limit_Nm=(200.0,) * 6))


def test_a_lost_link_ends_the_real_time_loop_and_a_lockstep_tick_raises(arm):
    loop = make_loop(arm, clock=time.monotonic)
    loop.start()
    try:
        deadline = time.monotonic() + 5.0
        while (loop.status() is None or loop.status().ticks < 50) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loop.status().mode is not LoopMode.FAILED
        arm.drop_link()
        while loop.status().mode is not LoopMode.FAILED and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loop.status().mode is LoopMode.FAILED and "connection lost" in loop.status().reason
    finally:
        loop.stop()
    with pytest.raises(HardwareError, match="connection lost"):
        make_loop(arm).tick()


def test_a_recorded_run_round_trips_and_a_safety_stop_ends_it(arm, tmp_path):
    from omnireset_core.control.recording import Recording, TickRecorder

    loop = make_loop(arm, limits=SafetyLimits(joint_speed_fraction=0.1))
    recorder = TickRecorder()
    loop.on_tick = recorder.add
    start = loop.tick()
    recorder.start()
    loop.set_target(start.tcp_pos_b_m + [0.0, 0.01, 0.0], start.tcp_quat_b_wxyz, arm.time_s)
    run(loop, 0.2)
    recording = recorder.stop(500.0, GAINS, "fake arm")
    assert recording.ticks == 100 and not recorder.recording
    np.testing.assert_allclose(np.diff(recording.arrays["t_s"]), 0.002)
    loaded = Recording.load(recording.save(tmp_path / "run"))
    assert loaded.ticks == 100 and loaded.gains == GAINS and loaded.source == "fake arm" and loaded.excitation is None
    np.testing.assert_array_equal(loaded.arrays["tau_Nm"], recording.arrays["tau_Nm"])

    recorder.start()
    run(loop, 0.02)
    arm.external_Nm[0] = 60.0  # a shove: the loop stops, the rows end there
    run(loop, 0.5)
    arm.external_Nm[:] = 0.0
    assert not recorder.recording and recorder.ended_by.startswith("the loop stopped: safety stop")
    cut = recorder.stop(500.0, GAINS, "fake arm")
    assert 10 <= cut.ticks < 250
    with pytest.raises(RuntimeError, match="not recording"):
        recorder.stop(500.0, GAINS, "fake arm")


def test_a_lost_link_ends_a_recording_with_the_reason(arm):
    from omnireset_core.control.recording import TickRecorder

    loop = make_loop(arm, clock=time.monotonic)
    recorder = TickRecorder()
    loop.on_tick = recorder.add
    recorder.start()
    loop.start()
    try:
        deadline = time.monotonic() + 5.0
        while (loop.status() is None or loop.status().ticks < 20) and time.monotonic() < deadline:
            time.sleep(0.01)
        arm.drop_link()
        while recorder.recording and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loop.stop()
    assert recorder.ended_by.startswith("the loop stopped: robot connection lost"), recorder.ended_by
    with pytest.raises(RuntimeError, match="is waiting: stop it first"):
        recorder.start()
    assert recorder.stop(500.0, GAINS, "fake arm").ticks >= 20
