"""supervisor node over real DDS, on joint traces recorded from the MuJoCo twin under the core OSC:
the TCP pressed into the table (stalls) and a slow traverse (moves); and beside the real
controller node, whose held arm is not stuck.

The probe replays a trace at 100 Hz as JOINT_STATES stamped with the ROS clock and plays the
controller's part: TRACKED_TARGET with each sample except while GRIPPER_OVERRIDE is true (the
policy stops commanding, so the controller stops tracking).
"""
import math
import time

import numpy as np
import pytest
from conftest import CONFIG_DIR, wait_for
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from omnireset_ros import topics
from omnireset_ros.conversions import pose_msg, s_to_stamp

TRACE_RATE_HZ = 100.0


@pytest.fixture(scope="module")
def traces():
    """Arm joint positions at 100 Hz: 'moving' (4 s slow traverse along x) and 'stalled' (descent
    until the fingers press on the table, then 4.5 s pressing)."""
    from omnireset_sim.scripted import SCRIPTED_GAINS, TOOL_DOWN_QUAT, OscDriver
    from omnireset_sim.twin import TwinCell, TwinRobot

    cell = TwinCell()
    robot = TwinRobot(cell)
    robot.connect()
    driver = OscDriver(robot, cell.kinematics, SCRIPTED_GAINS, robot.control_period_s)
    every = round(1.0 / TRACE_RATE_HZ / robot.control_period_s)
    q_rad: list[np.ndarray] = []

    def record(_status):
        q_rad.append(cell.joint_state()[0].copy())

    pos, _ = driver.tcp_pose()
    driver.move_to(pos + [0.12, 0.0, 0.0], TOOL_DOWN_QUAT, speed_mps=0.03, settle_s=0.0, on_tick=record)
    n_moving = len(q_rad)
    driver.move_to([pos[0] + 0.12, pos[1], -0.005], TOOL_DOWN_QUAT, speed_mps=0.25, settle_s=4.5, on_tick=record)
    robot.disconnect()
    q = np.array(q_rad)
    moving, stalled = q[:n_moving:every], q[n_moving::every]
    # the recording is what the tests claim it is
    window = int(2.0 * TRACE_RATE_HZ)
    assert min(np.ptp(moving[i:i + window], axis=0).max() for i in range(len(moving) - window)) > 0.01
    assert np.ptp(stalled[-window:], axis=0).max() < 0.002
    return {"moving": moving, "stalled": stalled}


class Replay:
    def __init__(self, probe, trace):
        self.probe, self.trace = probe, trace
        self.pub_joints = probe.create_publisher(JointState, topics.JOINT_STATES, 10)
        self.pub_tracked = probe.create_publisher(PoseStamped, topics.TRACKED_TARGET, 10)
        self.overrides = []  # (time.monotonic(), value) of every GRIPPER_OVERRIDE change
        self.diags = []
        self._override = False
        probe.create_subscription(Bool, topics.GRIPPER_OVERRIDE, self._on_override, 10)
        probe.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, self._on_diag, 10)

    def _on_override(self, msg):
        if bool(msg.data) != self._override or not self.overrides:
            self.overrides.append((time.monotonic(), bool(msg.data)))
        self._override = bool(msg.data)

    def _on_diag(self, msg):
        self.diags += [{kv.key: kv.value for kv in s.values} for s in msg.status if s.name == "omnireset/supervisor"]

    def run(self):
        """Publish the whole trace in real time; returns time.monotonic() at its start."""
        start = deadline = time.monotonic()
        for k, q in enumerate(self.trace):
            stamp = s_to_stamp(self.probe.get_clock().now().nanoseconds * 1e-9)
            msg = JointState(name=[*topics.ARM_JOINTS, "left_finger_joint", "right_finger_joint"])
            msg.header.stamp = stamp
            msg.position = [*q.tolist(), 0.0, 0.0]
            self.pub_joints.publish(msg)
            if not self._override:  # the controller tracks the policy's target unless overridden
                self.pub_tracked.publish(pose_msg([0.5, 0.0, 0.1], [0.0, 1.0, 0.0, 0.0], stamp, topics.BASE_FRAME))
            deadline += 1.0 / TRACE_RATE_HZ
            time.sleep(max(0.0, deadline - time.monotonic()))
        return start


def wait_until_subscribed(probe_pub, node, timeout_s=15.0):
    wait_for(lambda: probe_pub.get_subscription_count() > 0 or node.proc.poll() is not None, timeout_s)
    assert node.proc.poll() is None, node.output


def test_a_stalled_trace_opens_the_gripper_for_one_second(probe, start_node, traces):
    replay = Replay(probe, traces["stalled"])
    node = start_node("supervisor_node", params_files=[CONFIG_DIR / "ros" / "supervisor_node.yaml"])
    wait_until_subscribed(replay.pub_joints, node)
    wait_for(lambda: replay.overrides, 5.0)  # the 10 Hz repeat of "false" reaches the probe
    start = replay.run()
    changes = [(t - start, v) for t, v in replay.overrides if t >= start]
    assert [v for _, v in changes] == [True, False], (changes, node.output)
    (t_on, _), (t_off, _) = changes
    assert abs((t_off - t_on) - 1.0) <= 0.15, changes
    assert t_on >= 2.0  # not before a full 2 s window of stillness
    assert "intervention 1: stuck: max joint displacement" in node.output
    wait_for(lambda: replay.diags and replay.diags[-1]["interventions"] == "1", 2.0)
    assert abs(float(replay.diags[-1]["total_override_s"]) - 1.0) <= 0.05


def test_a_moving_trace_never_triggers(probe, start_node, traces):
    replay = Replay(probe, traces["moving"])
    node = start_node("supervisor_node")
    wait_until_subscribed(replay.pub_joints, node)
    wait_for(lambda: replay.overrides, 5.0)
    start = replay.run()
    time.sleep(0.2)
    assert [v for t, v in replay.overrides if t >= start] in ([], [False]), replay.overrides
    wait_for(lambda: replay.diags and float(replay.diags[-1]["last_displacement_rad"] or 0) > 0.01, 2.0)
    assert replay.diags[-1]["interventions"] == "0"
    assert "intervention" not in node.output


def test_an_inconsistent_config_is_refused_at_start(start_node):
    node = start_node("supervisor_node", {"window_s": 0.4, "max_gap_s": 0.5})
    assert node.proc.wait(20.0) == 1
    assert "StuckConfig.max_gap_s (0.5) must not exceed window_s (0.4)" in node.output
    assert "Traceback" not in node.output


def test_refused_targets_hold_the_arm_and_are_not_stuck(probe, start_node):
    """The policy streams targets the real controller refuses (NaN): the arm holds still for
    longer than the window, and the supervisor, watching what the controller executes, stays idle
    instead of forcing the gripper open."""
    overrides, diags = [], []
    probe.create_subscription(Bool, topics.GRIPPER_OVERRIDE, lambda m: overrides.append(bool(m.data)), 10)
    probe.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, lambda m: diags.extend(
        {"name": st.name, "message": st.message, **{kv.key: kv.value for kv in st.values}} for st in m.status), 10)
    controller = start_node("controller_node", params_files=[CONFIG_DIR / "ros" / "controller_node.yaml"])
    supervisor = start_node("supervisor_node", params_files=[CONFIG_DIR / "ros" / "supervisor_node.yaml"])
    pub = probe.create_publisher(PoseStamped, topics.TARGET_POSE, 10)
    wait_until_subscribed(pub, controller)
    wait_for(lambda: overrides, 10.0)
    send = lambda: pub.publish(pose_msg([math.nan, 0.0, 0.2], [0.0, 1.0, 0.0, 0.0],  # noqa: E731
                                        probe.get_clock().now().to_msg(), topics.BASE_FRAME))
    timer = probe.create_timer(0.1, send)  # a 10 Hz policy
    time.sleep(4.0)  # twice the 2 s window
    probe.destroy_timer(timer)
    controller_diag = [d for d in diags if d["name"] == "omnireset/controller"][-1]
    supervisor_diag = [d for d in diags if d["name"] == "omnireset/supervisor"][-1]
    assert "refused target" in controller_diag["reason"] and int(controller_diag["refused_targets"]) >= 20
    assert not any(overrides), supervisor.output
    assert supervisor_diag["interventions"] == "0" and supervisor_diag["message"].startswith("idle"), supervisor_diag
    assert "intervention" not in supervisor.output


def test_without_joint_states_it_reports_no_controller(probe, start_node):
    diags = []
    probe.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, lambda m: diags.extend(
        s.message for s in m.status if s.name == "omnireset/supervisor"), 10)
    node = start_node("supervisor_node")
    wait_for(lambda: diags, 10.0)
    assert diags[-1] == "no controller: joint_states never received", (diags, node.output)
