"""scheduler: runs a multi-step schedule (YAML) by switching the policy node's checkpoint per step.

    python -m omnireset_ros.scheduler_node --ros-args --params-file config/ros/scheduler_node.yaml \
        -p schedule:=config/schedules/four_leg.yaml

The core ``Scheduler`` is ticked at ``rate_hz`` with the ROS clock; ``scheduler_runner.RosStepRunner``
starts each attempt (deactivate, set checkpoint + task, activate) and judges it. Every step
outcome is logged and the report is published on SCHEDULE_STATUS (std_msgs/String, JSON;
transient-local, so a late subscriber gets the latest) on every change and at 1 Hz.

- ``checkpoints`` (launch arguments leg1_checkpoint..) replaces steps' checkpoint paths.
- A schedule that does not load or validate (file, YAML, fields, unknown task, goal index, unknown
  recovery hook) is a start-up error: one line, exit code 1, nothing moves.
- Ticking starts once the policy node's services answer; not within ``wait_for_policy_s``: exit 1.
- Recovery hook ``open_gripper_and_back_off``: deactivates the policy, commands the gripper open
  and, during the schedule's recovery pause, sends the TCP pose measured at the hook raised by
  ``back_off_m`` along z of b as the target.
- Real hardware (``success_from_twin: false``): no success perception yet, so every attempt ends
  at its timeout (logged at start).
- SIGINT cancels a running schedule and deactivates the policy before exiting. When the
  schedule is done the node stays up with its final report.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import sys

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import Bool, String

from omnireset_core.scheduling import (
    Schedule, Scheduler, SchedulerState, ScheduleReport, load_schedule, task_step_validator,
)
from omnireset_ros.node_main import check_parameters_declared, init_or_exit
from omnireset_ros import params, topics
from omnireset_ros.conversions import pose_from_msg, pose_msg, ros_now_s, s_to_stamp
from omnireset_ros.policy_paths import resolve
from omnireset_ros.scheduler_runner import RosStepRunner

BACK_OFF_HOOK = "open_gripper_and_back_off"


def report_dict(report: ScheduleReport) -> dict:
    data = dataclasses.asdict(report)
    data["succeeded"] = report.succeeded
    data["summary"] = report.summary()
    return data


def with_checkpoints(schedule: Schedule, overrides) -> Schedule:
    """``schedule`` with step i's checkpoint_path replaced by ``overrides[i]`` where that is non-empty."""
    if not overrides:
        return schedule
    if len(overrides) != len(schedule.steps):
        raise ValueError(f"parameter checkpoints has {len(overrides)} entries, schedule '{schedule.name}' has "
                         f"{len(schedule.steps)} steps")
    steps = tuple(dataclasses.replace(step, checkpoint_path=path) if path else step
                  for step, path in zip(schedule.steps, overrides))
    return dataclasses.replace(schedule, steps=steps)


def _json_default(value):
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"not JSON serialisable: {value!r}")


class SchedulerNode(Node):
    def __init__(self):
        super().__init__("scheduler")
        p = lambda *a, **k: params.declare(self, *a, **k)  # noqa: E731
        schedule_param = p("schedule", "", "Schedule YAML (omnireset_core.scheduling layout); relative paths are "
                           "tried against the working directory, the source tree root, then share/omnireset_ros")
        policy_node = p("policy_node", "policy", "Name of the policy node whose checkpoint/task parameters are set")
        rate_hz = p("rate_hz", 10.0, "Scheduler tick rate [Hz]", 1.0, 100.0)
        success_from_twin = p("success_from_twin", True, "Judge success from the twin's ground-truth object poses; "
                              "false on real hardware (attempts then end at their timeout)")
        max_pose_age_s = p("max_object_pose_age_s", 0.5, "Object poses older than this are not used [s]", 0.01, 10.0)
        service_timeout_s = p("service_timeout_s", 5.0, "Longest wait for a policy service answer [s]", 0.1, 60.0)
        self.wait_for_policy_s = p("wait_for_policy_s", 30.0, "Exit with an error if the policy node's services "
                                   "are not up within this long after start [s]", 0.1, 3600.0)
        overrides = p("checkpoints", Parameter.Type.STRING_ARRAY, "Per-step checkpoint overrides, one entry per "
                      "schedule step in order; an empty entry keeps the schedule's. Unset: the schedule's")
        self.back_off_m = p("back_off_m", 0.05, "Recovery hook: raise the TCP this much along z of b [m]", 0.0, 0.3)

        if not schedule_param:
            raise ValueError("parameter 'schedule' is not set (a schedule YAML path)")
        path, _ = resolve(schedule_param)
        self.schedule = with_checkpoints(load_schedule(path), overrides)  # ValueError naming the problem
        self.runner = RosStepRunner(self, policy_node, success_from_twin, max_pose_age_s, service_timeout_s)
        self.scheduler = Scheduler(self.schedule, self.runner, hooks={BACK_OFF_HOOK: self._open_and_back_off},
                                   validate_step=task_step_validator())
        self.exit_code: int | None = None
        self._started_wait_s = ros_now_s(self)
        self._now_s = self._started_wait_s
        self._ticking = False
        self._last_key = None
        self._ee: PoseStamped | None = None
        self._back_off_target: tuple[np.ndarray, np.ndarray] | None = None  # (pos_b_m, quat_b_wxyz) while recovering

        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.pub_status = self.create_publisher(String, topics.SCHEDULE_STATUS, latched)
        self.pub_target = self.create_publisher(PoseStamped, topics.TARGET_POSE, 10)
        self.pub_gripper = self.create_publisher(Bool, topics.GRIPPER_COMMAND, 10)
        self.create_subscription(PoseStamped, topics.EE_POSE, self._on_ee, qos_profile_sensor_data)
        self.create_timer(1.0 / rate_hz, self._tick)
        self.create_timer(1.0, lambda: self._publish_status(force=True))
        steps = ", ".join(f"{s.name} ({s.task}, {s.checkpoint_path}, {s.timeout_s:g} s, {s.max_retries} retries)"
                          for s in self.schedule.steps)
        self.get_logger().info(f"schedule '{self.schedule.name}' from {path}: {steps}")
        if not success_from_twin:
            self.get_logger().warn("success_from_twin is false: success needs object perception on real hardware, "
                                   "which is not available; every attempt ends at its timeout")

    def _on_ee(self, msg: PoseStamped) -> None:
        self._ee = msg

    # --- ticking ---------------------------------------------------------------------------
    def _tick(self) -> None:
        now_s = max(ros_now_s(self), self._now_s)  # the scheduler's clock must not go back
        self._now_s = now_s
        if not self._ticking:
            if self.runner.services_ready():
                self._ticking = True
                self.get_logger().info(f"policy node '{self.runner.policy_node}' is up: starting")
            elif now_s - self._started_wait_s > self.wait_for_policy_s:
                self.get_logger().fatal(f"policy node '{self.runner.policy_node}' not reachable within "
                                        f"{self.wait_for_policy_s} s: giving up")
                self.exit_code = 1
                return
            else:
                return
        if self.scheduler.done:
            return
        before = self.scheduler.report()
        self.scheduler.tick(now_s)
        after = self.scheduler.report()
        self._log_changes(before, after)
        if self.scheduler.state != SchedulerState.RECOVERING:
            self._back_off_target = None
        elif self._back_off_target is not None:
            stamp = s_to_stamp(now_s)
            self.pub_target.publish(pose_msg(*self._back_off_target, stamp, topics.BASE_FRAME))
        self._publish_status()

    def _log_changes(self, before: ScheduleReport, after: ScheduleReport) -> None:
        for old, new in zip(before.steps, after.steps):
            for i, attempt in enumerate(new.attempts):
                was = old.attempts[i] if i < len(old.attempts) else None
                if was is None:
                    self.get_logger().info(f"step '{new.name}' attempt {attempt.number}: started")
                if attempt.ended_s is not None and (was is None or was.ended_s is None):
                    text = (f"step '{new.name}' attempt {attempt.number}: {attempt.status.value} after "
                            f"{attempt.duration_s:.1f} s ({attempt.detail})")
                    if attempt.status.value == "succeeded":  # rclpy needs one severity per call site
                        self.get_logger().info(text)
                    else:
                        self.get_logger().warn(text)
        if after.state != before.state and self.scheduler.done:
            self.runner.deactivate()  # the schedule is over: the policy stops commanding
            if after.succeeded:
                self.get_logger().info(f"schedule {after.summary()}")
            else:
                self.get_logger().warn(f"schedule {after.summary()}")

    def _publish_status(self, force: bool = False) -> None:
        report = self.scheduler.report()
        key = (report.state, tuple((s.status, len(s.attempts)) for s in report.steps))
        if not force and key == self._last_key:
            return
        self._last_key = key
        self.pub_status.publish(String(data=json.dumps(report_dict(report), default=_json_default)))

    # --- recovery --------------------------------------------------------------------------
    def _open_and_back_off(self, step, attempt) -> None:
        self.runner.deactivate()
        self.pub_gripper.publish(Bool(data=False))
        if self._ee is None:
            self.get_logger().warn(f"recovery after '{step.name}': gripper opened; no TCP pose, no back-off")
            return
        pos_b_m, quat_b_wxyz = pose_from_msg(self._ee)
        pos_b_m[2] += self.back_off_m
        self._back_off_target = (pos_b_m, quat_b_wxyz)
        self.get_logger().info(f"recovery after '{step.name}': gripper opened, backing off {self.back_off_m} m up")

    def cancel(self) -> None:
        if self._ticking and not self.scheduler.done:
            self.scheduler.cancel(max(ros_now_s(self), self._now_s))
            self.get_logger().warn(f"cancelled: {self.scheduler.report().summary()}")
            self._publish_status()


def main(args=None) -> None:
    # SIGINT stays a KeyboardInterrupt so the schedule can be cancelled (policy deactivated) first.
    init_or_exit("scheduler", args, SignalHandlerOptions.SIGTERM)
    try:
        node = SchedulerNode()
        check_parameters_declared(node)
    except (ValueError, ParameterException) as exc:
        rclpy.logging.get_logger("scheduler").fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        sys.exit(1)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and node.exit_code is None:
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        node.cancel()
        deadline = node.get_clock().now().nanoseconds * 1e-9 + 1.0
        while not node.runner.deactivation_done() and node.get_clock().now().nanoseconds * 1e-9 < deadline:
            executor.spin_once(timeout_sec=0.05)
    except ExternalShutdownException:
        pass
    finally:
        code = node.exit_code or 0
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
