"""policy: runs a policy checkpoint at 10 Hz and sends TCP targets to the controller.

    python -m omnireset_ros.policy_node --ros-args --params-file config/ros/policy_node.yaml

Each tick takes the newest sample of every input (``policy_inputs``; it never waits), steps the
core's ``PolicySession`` (activation, refusals of stale or invalid inputs, history resets after
a gap, deactivation after a controller outage, the supervisor's override; tested without ROS)
and, while it commands, publishes TARGET_POSE and GRIPPER_COMMAND. Steps run while inactive
too, so diagnostics show input health and latency before activation.
- A checkpoint that does not load (missing, corrupted, wrong task or spec) leaves the node up
  with no policy: DIAGNOSTICS says ERROR with the reason, activation is refused with it.
- ``checkpoint`` and ``task`` are dynamic: setting either reloads, deactivating first. Relative
  paths resolve as in ``policy_paths``; the default is the bundled untrained placeholder.
- MARKERS at the policy rate: the last target, the task's goal region(s) and the objects (rviz2).
- An RGB student's frames are encoded as they arrive, on a thread of their own (``BackgroundEncoder``),
  so the executor keeps taking joint states and a tick runs only the head; diagnostics report
  the oldest frame's age at the accepted steps (``frame_age_*_ms``) and each frame's age when its
  features were ready (``frame_pipeline_*_ms``: rendering or capture, transport, encoding).
"""
from __future__ import annotations

import functools

import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from std_msgs.msg import Bool
from std_srvs.srv import SetBool
from visualization_msgs.msg import MarkerArray

from omnireset_core.policy import CheckpointError, PolicyRuntime
from omnireset_core.policy.background import BackgroundEncoder
from omnireset_core.policy.deployment import DeployedPolicy, load_deployed, percentiles_ms, policy_status
from omnireset_core.spec.terms import TERM_SOURCES
from omnireset_core.tasks import load_task
from omnireset_core.tasks.definition import TaskDefinition
from omnireset_ros import topics
from omnireset_ros.conversions import pose_msg, ros_now_s, s_to_stamp
from omnireset_ros.markers import LIFETIME_S, scene_markers
from omnireset_ros.node_main import publish_diagnostics, run_node
from omnireset_ros.policy_inputs import PolicyInputs
from omnireset_ros.policy_params import DYNAMIC, check_dynamic, declare_policy_params
from omnireset_ros.policy_paths import resolve_checkpoint

DIAGNOSTIC_NAME = "omnireset/policy"
LEVELS = {"ok": DiagnosticStatus.OK, "warn": DiagnosticStatus.WARN, "error": DiagnosticStatus.ERROR}


class PolicyNode(Node):
    def __init__(self):
        super().__init__("policy")
        node_params = declare_policy_params(self)
        self.config, self.params_error = node_params.config, node_params.error
        torch.set_num_threads(node_params.torch_threads)
        cameras = self.config.vision.cameras if self.config.kind == "rgb" else ()
        self.policy: DeployedPolicy | None = None  # the loaded session (runtime, activation, refusals, override)
        self.inputs = PolicyInputs(self, cameras, self.config.override_timeout_s)
        # RGB: frames are encoded on the encoder's thread as they arrive; a step uses the newest ready one.
        self.encoder = BackgroundEncoder(self._runtime, self.inputs.frame_ready)
        self.inputs.on_frame = self.encoder.submit
        self.load_error = "not loaded yet"
        self.task_def: TaskDefinition | None = None
        self.publish_count = 0
        self._last_target = None  # (ROS time, pos_b_m, quat_b_wxyz) of the last target sent

        self.pub_target = self.create_publisher(PoseStamped, topics.TARGET_POSE, 10)
        self.pub_gripper = self.create_publisher(Bool, topics.GRIPPER_COMMAND, 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self.pub_markers = self.create_publisher(MarkerArray, topics.MARKERS, 10)
        self.create_service(SetBool, topics.POLICY_ACTIVATE, self._on_activate)
        self.add_on_set_parameters_callback(check_dynamic)
        self.add_post_set_parameters_callback(self._on_dynamic_set)

        self._load()
        if node_params.autostart and self.policy is not None:
            self._on_activate(SetBool.Request(data=True), SetBool.Response())
        self.create_timer(1.0 / self.config.rate_hz, self._tick)
        self.create_timer(1.0 / self.config.rate_hz, self._publish_markers)
        self.create_timer(1.0, self._publish_diagnostics)

    def _runtime(self):
        """The loaded runtime or None; read once (the encoder thread calls this while a reload may run)."""
        policy = self.policy
        return policy.session.runtime if policy is not None else None

    @property
    def active(self) -> bool:
        return self.policy is not None and self.policy.session.active

    def _load(self) -> None:
        """(Re)load checkpoint + task from the parameters; on failure keep no policy and say why."""
        self.policy = None
        try:
            try:
                self.task_def = load_task(self.get_parameter("task").value)
            except ValueError as exc:
                raise CheckpointError(f"task: {exc}") from None
            self.inputs.watch_objects(self.task_def.insertive_object, self.task_def.receptive_object)
            if self.params_error:
                raise CheckpointError(self.params_error)
            path = resolve_checkpoint(self.get_parameter("checkpoint").value)
            self.policy = load_deployed(path, self.task_def.name, self.config, TERM_SOURCES)
        except Exception as exc:  # CheckpointError, not found; anything else the file's code raised
            self.load_error = str(exc) if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {exc}"
            self.get_logger().error(f"checkpoint not loaded, activation refused: {self.load_error}")
        else:
            self.load_error = ""
            md = self.policy.session.runtime.metadata
            self.get_logger().info(f"loaded {md.kind} policy for task '{md.task}' from {path} "
                                   f"(created {md.created_utc}, {md.train_config_hash[:19]})")
            if self.policy.provenance != "learned":  # rclpy needs one severity per call site
                self.get_logger().warn(md.notes)
            elif md.notes:
                self.get_logger().info(f"checkpoint notes: {md.notes}")
        self._publish_diagnostics()

    def _on_dynamic_set(self, parameters) -> None:
        changed = [p.name for p in parameters if p.name in DYNAMIC]
        if not changed:
            return
        if self.policy is not None and self.policy.session.active:
            self.policy.session.deactivate()
            self.get_logger().info(f"{', '.join(changed)} changed: deactivated to reload")
        self._load()

    def _on_activate(self, request, response):
        if not request.data:
            if self.active:
                self.get_logger().info("deactivated: not commanding")
                self.policy.session.deactivate()
            response.success, response.message = True, "deactivated"
        elif self.policy is None:
            response.success, response.message = False, self.load_error
            self.get_logger().warn(f"activation refused: {self.load_error}")
        else:
            response.success, response.message = True, "already active" if self.active else "activated"
            if not self.active:
                self.policy.session.activate(ros_now_s(self))
                self.get_logger().info("activated: commanding")
        self._publish_diagnostics()
        return response

    def _tick(self) -> None:
        if self.policy is None:
            return
        try:
            step = functools.partial(self._step, self.policy.session.runtime)
            result = self.policy.session.tick(ros_now_s(self), step, self.inputs.override_active())
        except Exception as exc:  # the module itself failed: the policy is unusable until reloaded
            self.policy = None
            self.load_error = f"policy step failed, reload to retry: {type(exc).__name__}: {exc}"
            self.get_logger().error(f"{self.load_error}; deactivated")
            self._publish_diagnostics()
            return
        log = self.get_logger()
        for notice in result.notices:  # rclpy needs one severity per call site
            if notice.level == "error":
                log.error(notice.text)
            elif notice.level == "warn":
                log.warn(notice.text)
            else:
                log.info(notice.text)
        if result.changed:
            self._publish_diagnostics()
        command = result.command
        if command is not None:
            stamp = s_to_stamp(command.stamp_s)
            self.pub_target.publish(pose_msg(command.target_pos_b_m, command.target_quat_b_wxyz, stamp, topics.BASE_FRAME))
            self.pub_gripper.publish(Bool(data=bool(command.gripper_close)))
            self.publish_count += 1
            self._last_target = (ros_now_s(self), command.target_pos_b_m, command.target_quat_b_wxyz)

    def _step(self, runtime: PolicyRuntime, now_s: float):
        obs, frames = self.inputs.for_step(runtime)
        ee = self.inputs.ee
        return runtime.step(now_s, obs, frames, ee.pos_m, ee.quat_wxyz, ee.stamp_s)

    def _publish_markers(self) -> None:
        if self.task_def is None:
            return
        now_s = ros_now_s(self)
        target = None
        if self._last_target is not None and now_s - self._last_target[0] <= LIFETIME_S:
            target = self._last_target[1:]
        objects = {name: (p.pos_m, p.quat_wxyz) for name, p in self.inputs.objects.items() if p is not None}
        self.pub_markers.publish(scene_markers(s_to_stamp(now_s), self.task_def, target, objects))

    def diagnostic_status(self) -> DiagnosticStatus:
        level, message, values = policy_status(self.policy, self.load_error)
        values.update(percentiles_ms("frame_pipeline", self.inputs.frame_latency_ms))
        values.update(checkpoint=self.get_parameter("checkpoint").value, kind=self.config.kind,
                      task=self.task_def.name if self.task_def is not None else "", publish_count=self.publish_count)
        return DiagnosticStatus(name=DIAGNOSTIC_NAME, hardware_id="policy", level=LEVELS[level], message=message,
                                values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])

    def _publish_diagnostics(self) -> None:
        publish_diagnostics(self, self.pub_diag, self.diagnostic_status())

    def close(self) -> None:
        self.encoder.close()


def main(args=None) -> None:
    run_node(PolicyNode, "policy", args)


if __name__ == "__main__":
    main()
