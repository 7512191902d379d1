"""The scheduler's ``StepRunner`` over ROS: drives the policy node through its activation service
and its ``checkpoint``/``task`` parameters, and judges success from the twin's object poses.

An attempt goes through phases, each a non-blocking service call checked on every poll:
deactivate the policy -> set ``checkpoint`` and ``task`` atomically (the policy node reloads
once) -> activate -> running. A call that is refused, fails or is not answered within
``service_timeout_s`` ends the attempt as FAILED with the reason (the scheduler then retries or
gives up per the schedule).

Success (``success_from_twin``): the insertive object's pose in the receptive object's frame,
from TWIN_OBJECT_POSE samples stamped after the attempt started running and not older than
``max_object_pose_age_s``, passes ``goal_reached`` for the step's task and goal index. Without
it (real hardware: no object perception yet) an attempt only ends at its timeout.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import qos_profile_sensor_data
from rclpy.task import Future
from std_srvs.srv import SetBool

from omnireset_core.rotations import pose_in_frame
from omnireset_core.scheduling import ScheduleStep, StepOutcome, StepStatus
from omnireset_core.tasks import TaskDefinition, goal_reached, load_task
from omnireset_ros import topics
from omnireset_ros.conversions import pose_from_msg, ros_now_s, stamp_to_s


@dataclass(frozen=True)
class StampedPose:
    stamp_s: float  # ROS clock
    pos_b_m: np.ndarray
    quat_b_wxyz: np.ndarray


class RosStepRunner:
    def __init__(self, node: Node, policy_node: str, success_from_twin: bool, max_object_pose_age_s: float,
                 service_timeout_s: float):
        self.node, self.policy_node = node, policy_node
        self.success_from_twin = success_from_twin
        self.max_object_pose_age_s = max_object_pose_age_s
        self.service_timeout_s = service_timeout_s
        self.activate_client = node.create_client(SetBool, topics.POLICY_ACTIVATE)
        self.param_client = AsyncParameterClient(node, policy_node)
        self.poses: dict[str, StampedPose] = {}
        self._pose_subs: dict[str, object] = {}
        self.step: ScheduleStep | None = None
        self.task: TaskDefinition | None = None
        self.phase = "idle"  # idle | deactivating | configuring | activating | running | ended
        self._pending: tuple[Future, str, float] | None = None  # (future, what, time.monotonic() deadline)
        self._outcome: StepOutcome | None = None
        self._running_since_s = float("inf")  # ROS time the policy was activated for this attempt
        self._cancel_future: Future | None = None

    def services_ready(self) -> bool:
        return self.activate_client.service_is_ready() and self.param_client.services_are_ready()

    # --- StepRunner ------------------------------------------------------------------------
    def start(self, step: ScheduleStep) -> None:
        self.step, self.task = step, load_task(step.task)
        self._outcome, self._pending = None, None
        self._running_since_s = float("inf")
        for name in (self.task.insertive_object, self.task.receptive_object):
            if name not in self._pose_subs:
                self._pose_subs[name] = self.node.create_subscription(
                    PoseStamped, topics.TWIN_OBJECT_POSE.format(name=name),
                    functools.partial(self._on_pose, name), qos_profile_sensor_data)
        self.phase = "deactivating"
        self._call(self.activate_client, SetBool.Request(data=False), "deactivate")

    def is_complete(self) -> bool:
        self._advance()
        if self._outcome is None and self.phase == "running" and self.success_from_twin and self._goal_reached():
            _, task = self._attempt()
            self._end(StepStatus.SUCCEEDED, f"goal reached ({task.insertive_object} in {task.receptive_object}, twin poses)")
        return self._outcome is not None

    def result(self) -> StepOutcome:
        if self._outcome is None:
            raise RuntimeError("result() of an attempt that has not ended")
        return self._outcome

    def cancel(self) -> None:
        self._pending = None
        self.phase = "ended"
        self.deactivate()

    # --- helpers ---------------------------------------------------------------------------
    def deactivate(self) -> None:
        """Ask the policy node to stop commanding (fire and forget; the future is kept)."""
        if self.activate_client.service_is_ready():
            self._cancel_future = self.activate_client.call_async(SetBool.Request(data=False))

    def deactivation_done(self) -> bool:
        return self._cancel_future is None or self._cancel_future.done()

    def _on_pose(self, name: str, msg: PoseStamped) -> None:
        if msg.header.frame_id == topics.BASE_FRAME:
            self.poses[name] = StampedPose(stamp_to_s(msg.header.stamp), *pose_from_msg(msg))

    def _attempt(self) -> tuple[ScheduleStep, TaskDefinition]:
        if self.step is None or self.task is None:
            raise RuntimeError("no attempt has started")
        return self.step, self.task

    def _goal_reached(self) -> bool:
        step, task = self._attempt()
        insertive = self.poses.get(task.insertive_object)
        receptive = self.poses.get(task.receptive_object)
        if insertive is None or receptive is None:
            return False
        oldest_ok_s = max(self._running_since_s, ros_now_s(self.node) - self.max_object_pose_age_s)
        if min(insertive.stamp_s, receptive.stamp_s) < oldest_ok_s:
            return False
        pos, quat = pose_in_frame(receptive.pos_b_m, receptive.quat_b_wxyz, insertive.pos_b_m, insertive.quat_b_wxyz)
        return goal_reached(task, step.goal_index, pos, quat)

    def _call(self, client, request, what: str) -> None:
        if not client.service_is_ready():
            self._end(StepStatus.FAILED, f"policy node '{self.policy_node}' unreachable: no {what} service")
            return
        self._pending = (client.call_async(request), what, time.monotonic() + self.service_timeout_s)

    def _end(self, status: StepStatus, detail: str) -> None:
        self._outcome, self.phase, self._pending = StepOutcome(status, detail), "ended", None

    def _advance(self) -> None:
        """Move the attempt's set-up on when its pending call has answered."""
        if self._pending is None:
            return
        future, what, deadline = self._pending
        if not future.done():
            if time.monotonic() > deadline:
                self._end(StepStatus.FAILED, f"policy node did not answer '{what}' within {self.service_timeout_s} s")
            return
        self._pending = None
        try:
            response = future.result()
        except Exception as exc:  # the call itself failed
            self._end(StepStatus.FAILED, f"policy '{what}' call failed: {exc!r}")
            return
        if what == "deactivate":
            self.phase = "configuring"
            step, _ = self._attempt()
            future = self.param_client.set_parameters_atomically([
                Parameter("checkpoint", value=step.checkpoint_path), Parameter("task", value=step.task)])
            self._pending = (future, "set checkpoint and task", time.monotonic() + self.service_timeout_s)
        elif what == "set checkpoint and task":
            if not response.result.successful:
                self._end(StepStatus.FAILED, f"policy refused checkpoint/task: {response.result.reason}")
                return
            self.phase = "activating"
            self._call(self.activate_client, SetBool.Request(data=True), "activate")
        elif what == "activate":
            if not response.success:
                self._end(StepStatus.FAILED, f"policy activation refused: {response.message}")
                return
            self.phase = "running"
            self._running_since_s = ros_now_s(self.node)
