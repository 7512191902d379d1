"""controller node over real DDS: state topics, tracking, holding on stale/refused targets, gripper."""
import math
import time

import numpy as np
import rclpy.duration
from conftest import CONFIG_DIR, wait_for
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool
from std_srvs.srv import SetBool, Trigger

from omnireset_core.control.config import load_controller_config
from omnireset_core.control.recording import Recording
from omnireset_ros import topics
from omnireset_ros.conversions import pose_from_msg, pose_msg
from omnireset_sim.config import load_cell_config

PARAMS_FILE = CONFIG_DIR / "ros" / "controller_node.yaml"
MAX_TARGET_AGE_S = load_controller_config(CONFIG_DIR / "controller.yaml").safety.max_target_age_s
FINGERS = ("left_finger_joint", "right_finger_joint")


class Recorder:
    """Subscribes the controller's outputs on the probe node; messages kept with arrival times."""

    def __init__(self, probe):
        self.joints, self.ee, self.diag, self.objects = [], [], [], {"peg": [], "peg_hole": []}
        self.tracked = []
        probe.create_subscription(PoseStamped, topics.TRACKED_TARGET,
                                  lambda m: self.tracked.append((time.monotonic(), m)), 50)
        probe.create_subscription(JointState, topics.JOINT_STATES,
                                  lambda m: self.joints.append((time.monotonic(), m)), 50)
        probe.create_subscription(PoseStamped, topics.EE_POSE, lambda m: self.ee.append((time.monotonic(), m)), 50)
        probe.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, self._on_diag, 10)
        for name, store in self.objects.items():
            probe.create_subscription(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=name),
                                      lambda m, s=store: s.append(m), 50)

    def _on_diag(self, msg):
        for status in msg.status:
            if status.name == "omnireset/controller":
                self.diag.append((time.monotonic(), status))

    def ee_pos(self) -> np.ndarray:
        return pose_from_msg(self.ee[-1][1])[0]

    def ee_since(self, t0: float) -> np.ndarray:
        return np.array([pose_from_msg(m)[0] for t, m in list(self.ee) if t >= t0])

    def diag_since(self, t0: float):
        """Latest controller status received after t0 (key/values as a dict), or None."""
        recent = [s for t, s in list(self.diag) if t >= t0]
        if not recent:
            return None
        s = recent[-1]
        return s, {kv.key: kv.value for kv in s.values}

    def fingers(self) -> np.ndarray:
        msg = self.joints[-1][1]
        return np.array([msg.position[list(msg.name).index(n)] for n in FINGERS])


def rate_hz(samples, t0: float, t1: float) -> float:
    """Publishing rate from the header stamps of the messages received between t0 and t1
    (the sender's clock: a late delivery to this probe does not count as a slow publisher)."""
    stamps = sorted(m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for t, m in list(samples) if t0 <= t < t1)
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def start_controller(start_node, probe):
    rec = Recorder(probe)
    node = start_node("controller_node", params_files=[PARAMS_FILE])
    wait_for(lambda: len(rec.ee) > 5 and len(rec.joints) > 5, timeout_s=20.0)
    return node, rec


def test_state_topics_at_100hz_with_object_poses_and_diagnostics(start_node, probe):
    node, rec = start_controller(start_node, probe)
    time.sleep(0.5)
    t0 = time.monotonic()
    time.sleep(2.0)
    t1 = time.monotonic()
    # Never faster than configured; slower only as far as a loaded 2-core machine delays the
    # executor (the loop's own period under load is measured in docs/benchmarks.md).
    assert 50.0 <= rate_hz(rec.joints, t0, t1) <= 120.0
    assert 50.0 <= rate_hz(rec.ee, t0, t1) <= 120.0

    js = rec.joints[-1][1]
    assert list(js.name) == [*topics.ARM_JOINTS, *FINGERS]
    assert len(js.position) == len(js.velocity) == 8
    cell = load_cell_config(CONFIG_DIR / "cell.yaml")
    np.testing.assert_allclose(js.position[:6], cell.arm.home_q_rad, atol=2e-3)  # holding home
    np.testing.assert_allclose(rec.ee_pos(), [0.45, 0.0, 0.25], atol=2e-3)
    assert rec.ee[-1][1].header.frame_id == topics.BASE_FRAME

    # Ground-truth object poses at their configured places, same stamps as the joint states.
    assert len(rec.objects["peg"]) > 50 and len(rec.objects["peg_hole"]) > 50
    peg, hole = rec.objects["peg"][-1], rec.objects["peg_hole"][-1]
    np.testing.assert_allclose(pose_from_msg(peg)[0][:2], cell.peg.initial_pose_b.pos_m[:2], atol=2e-3)
    np.testing.assert_allclose(pose_from_msg(hole)[0], cell.hole.pose_b.pos_m, atol=1e-6)
    joint_stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for _, m in rec.joints}
    assert (peg.header.stamp.sec, peg.header.stamp.nanosec) in joint_stamps

    status, values = wait_for(lambda: rec.diag_since(t0), timeout_s=2.0)
    assert status.level == DiagnosticStatus.OK, status.message
    assert values["mode"] == "holding" and values["reason"] == "no target yet"
    assert int(values["ticks"]) > 200 and int(values["refused_targets"]) == 0  # alive; pacing below
    assert {"overruns", "period_p50_ms", "period_p99_ms"} <= set(values)
    # Pacing, not speed (the period under load is in docs/benchmarks.md): absolute deadlines never
    # wake early, and a loop that wakes late more often than not has counted those overruns.
    p50_ms, p99_ms = float(values["period_p50_ms"]), float(values["period_p99_ms"])
    assert 1.9 <= p50_ms <= p99_ms
    assert p50_ms <= 2.1 or int(values["overruns"]) > 0, values

    assert node.stop() == 0, node.output
    assert "Traceback" not in node.output


def test_tracks_a_target_then_holds_when_it_goes_stale_or_is_refused(start_node, probe):
    node, rec = start_controller(start_node, probe)
    pub = probe.create_publisher(PoseStamped, topics.TARGET_POSE, 10)
    start = rec.ee_pos()
    quat = pose_from_msg(rec.ee[-1][1])[1]
    goal = start + np.array([0.03, 0.04, 0.0])  # 5 cm away
    sent = {"pos": goal, "frame": topics.BASE_FRAME}

    def send():
        pub.publish(pose_msg(sent["pos"], quat, probe.get_clock().now().to_msg(), sent["frame"]))

    timer = probe.create_timer(0.1, send)  # the 10 Hz policy
    t0 = time.monotonic()
    # Settling takes about 1.5 s of loop time (test_control_loop.py, in lockstep); a loaded machine
    # runs the real-time loop late, so wait on the error rather than on the wall clock.
    try:
        wait_for(lambda: 1e3 * np.linalg.norm(rec.ee_pos() - goal) < 1.0, timeout_s=8.0)
    except TimeoutError:
        raise AssertionError(f"ee {1e3 * np.linalg.norm(rec.ee_pos() - goal):.2f} mm from the target after 8 s")
    time.sleep(max(0.0, 2.0 - (time.monotonic() - t0)))
    status, values = rec.diag_since(time.monotonic() - 0.6)
    assert status.level == DiagnosticStatus.OK and values["mode"] == "tracking"
    tracked = [pose_from_msg(m)[0] for t, m in list(rec.tracked) if t >= time.monotonic() - 1.0]
    assert len(tracked) > 50 and np.allclose(tracked, goal)  # what the loop executes, at 100 Hz

    # The sender stops: after max_target_age the controller holds its pose.
    probe.destroy_timer(timer)
    time.sleep(MAX_TARGET_AGE_S + 0.2)
    t0 = time.monotonic()
    time.sleep(2.0)
    held = rec.ee_since(t0)
    assert len(held) > 150
    assert not [t for t, _ in list(rec.tracked) if t >= t0]  # holding: nothing tracked
    drift_mm = 1e3 * np.linalg.norm(held - held[0], axis=1).max()
    assert drift_mm < 1.0, f"ee moved {drift_mm:.2f} mm while holding"
    status, values = rec.diag_since(t0)
    assert status.level == DiagnosticStatus.WARN
    assert values["mode"] == "holding" and "older than" in values["reason"]

    # A NaN target is refused and the arm holds.
    sent["pos"] = np.array([math.nan, 0.0, 0.2])
    t0 = time.monotonic()
    timer = probe.create_timer(0.1, send)
    time.sleep(1.5)
    held = rec.ee_since(t0)
    assert 1e3 * np.linalg.norm(held - held[0], axis=1).max() < 1.0
    status, values = rec.diag_since(t0 + 0.6)
    assert status.level == DiagnosticStatus.WARN
    assert values["reason"] == "refused target: non-finite target"
    assert int(values["refused_targets"]) >= 5

    # A target in another frame is refused (and counted) too, even one close by.
    sent["pos"], sent["frame"] = held[-1] + [0.0, 0.0, 0.01], "world"
    refused_before = int(values["refused_targets"])
    t0 = time.monotonic()
    time.sleep(1.5)
    probe.destroy_timer(timer)
    time.sleep(0.3)  # a send() already running on the probe's executor thread finishes first
    held = rec.ee_since(t0)
    assert 1e3 * np.linalg.norm(held - held[0], axis=1).max() < 1.0
    status, values = rec.diag_since(t0 + 0.6)
    assert status.level == DiagnosticStatus.WARN and "frame_id 'world'" in values["reason"]
    assert int(values["refused_targets"]) >= refused_before + 5

    # One target stamped 30 s ahead, then silence: refused, not tracked for 30 s.
    future = probe.get_clock().now() + rclpy.duration.Duration(seconds=30.0)
    t0 = time.monotonic()
    pub.publish(pose_msg(held[-1] + [0.0, 0.05, 0.0], quat, future.to_msg(), topics.BASE_FRAME))
    time.sleep(1.5)
    held = rec.ee_since(t0)
    assert 1e3 * np.linalg.norm(held - held[0], axis=1).max() < 1.0
    status, values = rec.diag_since(t0 + 0.6)
    assert status.level == DiagnosticStatus.WARN and "in the future" in values["reason"], values

    assert node.stop() == 0, node.output
    assert "Traceback" not in node.output


def test_gripper_command_override_and_reset_fault(start_node, probe):
    node, rec = start_controller(start_node, probe)
    cmd = probe.create_publisher(Bool, topics.GRIPPER_COMMAND, 10)
    override = probe.create_publisher(Bool, topics.GRIPPER_OVERRIDE, 10)
    wait_for(lambda: cmd.get_subscription_count() and override.get_subscription_count())
    assert rec.fingers().max() < 1e-3  # starts open

    cmd.publish(Bool(data=True))
    wait_for(lambda: rec.fingers().min() > 0.04, timeout_s=2.0)  # fully closed: 42.5 mm per finger

    # Override: held open while true, whatever the command says; the command returns when it clears.
    override.publish(Bool(data=True))
    wait_for(lambda: rec.fingers().max() < 1e-3, timeout_s=2.0)
    cmd.publish(Bool(data=True))
    time.sleep(0.8)
    assert rec.fingers().max() < 1e-3
    override.publish(Bool(data=False))
    wait_for(lambda: rec.fingers().min() > 0.04, timeout_s=2.0)

    cmd.publish(Bool(data=False))
    wait_for(lambda: rec.fingers().max() < 1e-3, timeout_s=2.0)

    client = probe.create_client(Trigger, topics.CONTROLLER_RESET_FAULT)
    assert client.wait_for_service(timeout_sec=5.0)
    future = client.call_async(Trigger.Request())
    wait_for(future.done, timeout_s=5.0)
    assert future.result().success

    assert node.stop() == 0, node.output  # SIGINT: loop stopped, twin released, clean exit
    assert "Traceback" not in node.output


def test_the_record_service_writes_the_loop_run_that_sysid_reads(start_node, probe, tmp_path):
    rec = Recorder(probe)
    node = start_node("controller_node", {"record_dir": str(tmp_path / "runs")}, params_files=[PARAMS_FILE])
    wait_for(lambda: len(rec.ee) > 5, timeout_s=20.0)
    client = probe.create_client(SetBool, topics.CONTROLLER_RECORD)
    assert client.wait_for_service(timeout_sec=5.0)

    def call(on: bool):
        future = client.call_async(SetBool.Request(data=on))
        wait_for(future.done, timeout_s=5.0)
        return future.result()

    assert not call(False).success  # nothing to stop
    assert call(True).success and not call(True).success  # already recording
    time.sleep(0.6)
    answer = call(False)
    assert answer.success, answer.message
    recording = Recording.load(answer.message)
    config = load_controller_config(CONFIG_DIR / "controller.yaml")
    assert recording.rate_hz == config.rate_hz and recording.gains == config.gains
    assert recording.ticks >= 0.3 * 0.6 * config.rate_hz, recording.ticks  # a loaded machine ticks slower
    t = recording.arrays["t_s"]
    assert t[0] == 0.0 and np.all(np.diff(t) > 0) and t[-1] < 2.0
    assert np.abs(recording.arrays["q_rad"] - recording.arrays["q_rad"][0]).max() < 0.01  # holding still
    assert answer.message.startswith(str(tmp_path / "runs"))

    # A run that cannot be written is kept: the next stop retries it.
    (tmp_path / "runs").rename(tmp_path / "written")
    (tmp_path / "runs").write_text("a file where the folder should be")
    assert call(True).success
    time.sleep(0.2)
    failed = call(False)
    assert not failed.success and "it is kept" in failed.message, failed.message
    (tmp_path / "runs").unlink()
    retried = call(False)
    assert retried.success and Recording.load(retried.message).ticks >= 0.3 * 0.2 * config.rate_hz, retried.message
    assert node.stop() == 0, node.output


def test_real_hardware_unreachable_exits_with_one_clear_line(start_node):
    node = start_node("controller_node", params={"hardware": "real", "robot_ip": "127.0.0.1"})
    t0 = time.monotonic()
    rc = node.proc.wait(timeout=15.0)
    node.stop()
    assert rc != 0
    assert time.monotonic() - t0 < 15.0
    out = node.output
    assert "Traceback" not in out
    assert "127.0.0.1" in out and "unreachable" in out and "Check:" in out

