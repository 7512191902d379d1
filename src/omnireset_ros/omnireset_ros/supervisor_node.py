"""supervisor: stuck detection on the arm's joint positions; forces the gripper open for a while.

    python -m omnireset_ros.supervisor_node --ros-args --params-file config/ros/supervisor_node.yaml

Feeds every JOINT_STATES sample (its arm joints, its header stamp) to the core ``StuckDetector``
and publishes GRIPPER_OVERRIDE: true from the sample that triggers, false from the sample that
ends the release, and the current value at ``publish_rate_hz`` in between (so a late subscriber
or a lost message is corrected within one period).

Decisions:
- With ``require_commanding`` (default) samples are only fed while the arm is commanded (the
  controller's TRACKED_TARGET received within ``commanding_timeout_s``) or a release is running:
  an arm resting between episodes, or held because the controller refuses the policy's targets,
  is not "stuck". Skipped samples leave a gap the detector treats as a dropout,
  so the window restarts when commanding resumes.
- The release ends on sample stamps; if joint states stop during a release it is ended by the
  ROS clock ``release_s + max_gap_s`` after the trigger (never a gripper held open forever).
- ``enabled`` is dynamic; disabling ends a running release.
- No JOINT_STATES for ``NO_CONTROLLER_S``: DIAGNOSTICS WARN "no controller".
"""
from __future__ import annotations

import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from omnireset_core.supervision import StuckConfig, StuckDetector
from omnireset_ros.node_main import publish_diagnostics, run_node
from omnireset_ros import params, topics
from omnireset_ros.conversions import ros_now_s, stamp_to_s

DIAGNOSTIC_NAME = "omnireset/supervisor"
NO_CONTROLLER_S = 1.0  # joint states at 100 Hz: a second without one means the controller is gone


class SupervisorNode(Node):
    def __init__(self):
        super().__init__("supervisor")
        d = StuckConfig()
        p = lambda *a, **k: params.declare(self, *a, **k)  # noqa: E731
        self.config = StuckConfig(  # ValueError naming the field if the combination is inconsistent
            window_s=p("window_s", d.window_s, "Window over which joint displacement is measured [s]", 0.1, 60.0),
            threshold_rad=p("threshold_rad", d.threshold_rad,
                            "Stuck when the window's max joint displacement (max - min per joint) is below [rad]",
                            1e-6, 1.0),
            release_s=p("release_s", d.release_s, "How long the gripper is held open [s]", 0.05, 60.0),
            settle_s=p("settle_s", d.settle_s, "After a release, samples are ignored this long [s]", 0.0, 3600.0),
            max_gap_s=p("max_gap_s", d.max_gap_s, "A larger gap between samples restarts the window [s]; "
                        "at most window_s", 0.001, 60.0))
        p("enabled", True, "Run the detector; false publishes no override", read_only=False)
        self.require_commanding = p("require_commanding", True, "Only watch while the policy sends targets")
        self.commanding_timeout_s = p("commanding_timeout_s", 0.5, "The arm counts as commanded this long "
                                      "after the controller's last TRACKED_TARGET [s]", 0.05, 10.0)
        publish_rate_hz = p("publish_rate_hz", 10.0, "Repeat rate of GRIPPER_OVERRIDE [Hz]", 1.0, 100.0)
        diagnostics_rate_hz = p("diagnostics_rate_hz", 1.0, "Rate of the diagnostics status [Hz]", 0.1, 10.0)

        self.detector = StuckDetector(self.config)
        self.override = False
        self._last_target = -np.inf  # time.monotonic() of the last TRACKED_TARGET
        self._last_displacement_rad: float | None = None
        self._missing_joints_logged = False
        self._last_joints = -np.inf  # time.monotonic() of the last JOINT_STATES

        self.pub_override = self.create_publisher(Bool, topics.GRIPPER_OVERRIDE, 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joints, qos_profile_sensor_data)
        self.create_subscription(PoseStamped, topics.TRACKED_TARGET, self._on_target, 10)
        self.add_post_set_parameters_callback(self._on_params_set)
        self.create_timer(1.0 / publish_rate_hz, self._repeat)
        self.create_timer(1.0 / diagnostics_rate_hz, self._publish_diagnostics)
        c = self.config
        self.get_logger().info(
            f"stuck rule: displacement < {c.threshold_rad} rad over {c.window_s} s -> gripper open {c.release_s} s "
            f"(settle {c.settle_s} s){'; only while the controller tracks a target' if self.require_commanding else ''}")

    @property
    def enabled(self) -> bool:
        return bool(self.get_parameter("enabled").value)

    def _on_target(self, msg: PoseStamped) -> None:
        self._last_target = time.monotonic()

    def _commanding(self) -> bool:
        return time.monotonic() - self._last_target <= self.commanding_timeout_s

    def _on_joints(self, msg: JointState) -> None:
        self._last_joints = time.monotonic()
        if not self.enabled:
            return
        if self.require_commanding and not self.override and not self._commanding():
            return
        index = {name: i for i, name in enumerate(msg.name)}
        try:
            q_rad = [msg.position[index[n]] for n in topics.ARM_JOINTS]
        except (KeyError, IndexError):
            if not self._missing_joints_logged:
                self.get_logger().error(f"joint_states without the arm joints {topics.ARM_JOINTS}: ignored")
                self._missing_joints_logged = True
            return
        decision = self.detector.update(stamp_to_s(msg.header.stamp), q_rad)
        if decision.displacement_rad is not None:
            self._last_displacement_rad = decision.displacement_rad
        if decision.override_gripper_open and not self.override:
            n = self.detector.report().interventions
            self.get_logger().warn(f"intervention {n}: {decision.reason}")
            self._set_override(True)
        elif not decision.override_gripper_open and self.override:
            self.get_logger().info(f"release ended at stamp {decision.stamp_s:.3f} s; watching again after "
                                   f"{self.config.settle_s} s settle + {self.config.window_s} s window")
            self._set_override(False)

    def _set_override(self, value: bool) -> None:
        self.override = value
        self.pub_override.publish(Bool(data=value))
        self._publish_diagnostics()

    def _end_release(self, why: str) -> None:
        self.detector.reset()  # counts the release up to the last sample
        self.get_logger().warn(f"release ended: {why}")
        self._set_override(False)

    def _repeat(self) -> None:
        if self.override:
            trigger_s = self.detector.report().last_trigger_s
            if ros_now_s(self) - trigger_s > self.config.release_s + self.config.max_gap_s:
                self._end_release("joint states stopped during the release; ended by the clock")
                return
        self.pub_override.publish(Bool(data=self.override))

    def _on_params_set(self, parameters) -> None:
        for param in parameters:
            if param.name == "enabled":
                self.get_logger().info(f"stuck detection {'enabled' if param.value else 'disabled'}")
                if not param.value and self.override:
                    self._end_release("detection disabled")
                elif not param.value:
                    self.detector.reset()

    def diagnostic_status(self) -> DiagnosticStatus:
        r = self.detector.report()
        d = DiagnosticStatus(name=DIAGNOSTIC_NAME, hardware_id="supervisor")
        if self.override:
            d.level, d.message = DiagnosticStatus.WARN, "stuck: gripper held open"
        elif not self.enabled:
            d.level, d.message = DiagnosticStatus.OK, "disabled"
        elif (since_joints_s := time.monotonic() - self._last_joints) > NO_CONTROLLER_S:
            d.level = DiagnosticStatus.WARN
            d.message = (f"no controller: no joint_states for {since_joints_s:.1f} s" if np.isfinite(since_joints_s)
                         else "no controller: joint_states never received")
        else:
            watching = not self.require_commanding or self._commanding()
            d.level, d.message = DiagnosticStatus.OK, "watching" if watching else "idle: the controller tracks no target"
        displacement = self._last_displacement_rad
        values = {
            "enabled": self.enabled,
            "override": self.override,
            "interventions": r.interventions,
            "last_trigger_s": "" if r.last_trigger_s is None else f"{r.last_trigger_s:.3f}",
            "total_override_s": f"{r.total_override_s:.3f}",
            "last_displacement_rad": "" if displacement is None else f"{displacement:.6f}",
            "rejected_samples": r.rejected_samples,
            "nonfinite_samples": r.nonfinite_samples,
        }
        d.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return d

    def _publish_diagnostics(self) -> None:
        publish_diagnostics(self, self.pub_diag, self.diagnostic_status())


def main(args=None) -> None:
    run_node(SupervisorNode, "supervisor", args)


if __name__ == "__main__":
    main()
