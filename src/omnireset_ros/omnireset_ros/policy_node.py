"""policy: runs a policy checkpoint at 10 Hz and sends end-effector targets to the controller.

    python -m omnireset_ros.policy_node --ros-args --params-file config/ros/policy_node.yaml

Each tick takes the LATEST sample of every input (it never waits for one), builds the
observation of the checkpoint's metadata, steps ``PolicyRuntime`` and, while activated and not
overridden by the supervisor, publishes TARGET_POSE and GRIPPER_COMMAND. The runtime is stepped
while deactivated too (nothing is published), so diagnostics show input health and step latency
before activation.

Decisions:
- A checkpoint that does not load (missing, corrupted, wrong task or spec) leaves the node up
  with no policy: DIAGNOSTICS says ERROR with the reason, activation is refused with it.
- Activation, refused steps (nothing is published; DIAGNOSTICS WARN names the input(s) and
  ages), history resets after a gap (``history_reset_gap_s``, 0.3 s), deactivation after an
  outage once commanding (``deactivate_after_s``, 1.5 s: the controller died or restarted) and
  the supervisor's GRIPPER_OVERRIDE (true within ``override_timeout_s``: no targets, the runtime
  not stepped, a reset history afterwards) are the core's ``PolicySession``
  (``omnireset_core.policy.session``, tested without ROS); this node feeds it and publishes.
- ``checkpoint`` and ``task`` are dynamic: setting either reloads; reloading while active
  deactivates first (the caller, e.g. the scheduler, activates again).
- Relative checkpoint paths resolve as documented in ``policy_paths`` (working directory, source
  tree root, installed share dir); the default is the bundled untrained placeholder.
- MARKERS at the policy rate: the last target sent, the task's goal region(s) on the receptive
  object and the objects, for rviz2 (``markers``).
"""
from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np
import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool
from std_srvs.srv import SetBool
from visualization_msgs.msg import MarkerArray

from omnireset_core.policy import (
    CheckpointError,
    ExpectedSpec,
    InputAgeLimits,
    PolicyInputError,
    PolicyRuntime,
    StaleInputError,
    VisionSpec,
)
from omnireset_core.policy.scripted import SCRIPTED_NOTE
from omnireset_core.policy.session import PolicySession, SessionLimits
from omnireset_core.spec.contract import ActionSpec, default_actor_observation
from omnireset_core.tasks import load_task
from omnireset_core.tasks.definition import TaskDefinition
from omnireset_ros.node_main import publish_diagnostics, run_node
from omnireset_ros import params, topics
from omnireset_ros.conversions import pose_from_msg, pose_msg, ros_now_s, s_to_stamp, stamp_to_s
from omnireset_ros.controller_hardware import FINGER_JOINTS
from omnireset_ros.markers import LIFETIME_S, scene_markers
from omnireset_ros.policy_observation import (
    StampedJoints,
    StampedPose,
    build_terms,
    rgb_frame,
    unsupported_terms,
)
from omnireset_ros.policy_paths import DEFAULT_CHECKPOINT, is_placeholder, resolve

DIAGNOSTIC_NAME = "omnireset/policy"
DYNAMIC = ("checkpoint", "task")
LATENCY_WINDOW = 300  # steps kept for the latency percentiles (30 s at 10 Hz)


class PolicyNode(Node):
    def __init__(self):
        super().__init__("policy")
        core_limits = InputAgeLimits()
        p = lambda *a, **k: params.declare(self, *a, **k)  # noqa: E731
        p("checkpoint", DEFAULT_CHECKPOINT, "Policy checkpoint (TorchScript + metadata). Relative paths are tried "
          "against the working directory, the workspace root, then share/omnireset_ros. Dynamic: setting it "
          "reloads (deactivating first).", read_only=False)
        p("task", "peg", "Task name (omnireset_core.tasks) or task YAML path; the checkpoint must be for it and "
          "its objects' twin poses are observed. Dynamic, like checkpoint.", read_only=False)
        self.kind = p("kind", "state", "Expected policy kind: 'state' (PPO expert) or 'rgb' (student)",
                      choices=("state", "rgb"))
        self.rate_hz = p("rate_hz", 10.0, "Policy step rate [Hz]; must equal the checkpoint's policy_rate_hz",
                         1.0, 100.0)
        self.limits = InputAgeLimits(
            observation_s=p("max_observation_age_s", core_limits.observation_s,
                            "Oldest usable observation term sample at a step [s]", 0.001, 10.0),
            frame_s=p("max_frame_age_s", 0.15, "Oldest usable camera frame at a step [s]: one 10 Hz camera "
                      "period plus rendering/transport", 0.001, 10.0),
            ee_pose_s=p("max_ee_pose_age_s", 0.05, "Oldest usable measured TCP pose at a step [s] (the target is "
                        "built from it): five 100 Hz periods, room for the DDS hop and executor latency", 0.001, 10.0))
        core_session = SessionLimits()
        self.session_limits = SessionLimits(
            history_reset_gap_s=p(
                "history_reset_gap_s", core_session.history_reset_gap_s, "After refused steps, resume from a reset "
                "history if the last accepted step is older than this [s] (the controller has held the arm since, "
                "at 0.3 s); else keep it", 0.0, 60.0),
            deactivate_after_s=p(
                "deactivate_after_s", core_session.deactivate_after_s, "Refused steps for longer than this after an "
                "accepted step since activation deactivate the node (a controller that died or restarted): "
                "resuming needs an activation [s]", 0.2, 60.0))
        self.autostart = p("autostart", False, "Activate as soon as the checkpoint has loaded")
        self.override_timeout_s = p("override_timeout_s", 0.5, "A true GRIPPER_OVERRIDE counts for this long "
                                    "after it was received [s] (the supervisor repeats it at 10 Hz)", 0.05, 10.0)
        self.cameras = tuple(p("cameras", ["front", "side", "wrist"], "kind rgb: camera names, in the order the "
                               "checkpoint expects"))
        self.image_hw = tuple(p("image_hw_px", [224, 224], "kind rgb: image height and width [px]"))
        self.frames_per_camera = p("frames_per_camera", 5, "kind rgb: frames stacked per camera", 1, 100)
        self.proprio_terms = tuple(p("rgb_proprio_terms", ["last_action", "joint_pos", "ee_pose_b"],
                                     "kind rgb: proprioceptive observation terms (names of the actor contract)"))
        torch.set_num_threads(p("torch_threads", 1, "torch intra-op threads", 1, 64))

        # latest samples (ROS-clock stamps)
        self._joints: StampedJoints | None = None
        self._ee: StampedPose | None = None
        self._objects: dict[str, StampedPose | None] = {}
        self._images: dict[str, Image] = {}
        self._override = (False, -np.inf)  # (value, time.monotonic() of receipt)

        self.session: PolicySession | None = None  # the loaded runtime, with activation, refusals, override
        self.load_error = "not loaded yet"
        self.placeholder = self.scripted = False
        self.notes = ""
        self.task_name = ""
        self.publish_count = 0
        self.task_def: TaskDefinition | None = None
        self._last_target = None  # (ROS time, pos_b_m, quat_b_wxyz) of the last target sent
        self._latency_ms: collections.deque[float] = collections.deque(maxlen=LATENCY_WINDOW)
        self._object_subs = []

        self.pub_target = self.create_publisher(PoseStamped, topics.TARGET_POSE, 10)
        self.pub_gripper = self.create_publisher(Bool, topics.GRIPPER_COMMAND, 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self.pub_markers = self.create_publisher(MarkerArray, topics.MARKERS, 10)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joints, qos_profile_sensor_data)
        self.create_subscription(PoseStamped, topics.EE_POSE, self._on_ee, qos_profile_sensor_data)
        self.create_subscription(Bool, topics.GRIPPER_OVERRIDE, self._on_override, 10)
        if self.kind == "rgb":
            for cam in self.cameras:
                self.create_subscription(Image, topics.CAMERA_IMAGE.format(name=cam),
                                         lambda msg, cam=cam: self._images.__setitem__(cam, msg), 1)
        self.create_service(SetBool, topics.POLICY_ACTIVATE, self._on_activate)
        self.add_on_set_parameters_callback(self._check_dynamic)
        self.add_post_set_parameters_callback(self._on_dynamic_set)

        self._load()
        if self.autostart and self.session is not None:
            self._activate()
        self.create_timer(1.0 / self.rate_hz, self._tick)
        self.create_timer(1.0 / self.rate_hz, self._publish_markers)
        self.create_timer(1.0, self._publish_diagnostics)

    # --- checkpoint ------------------------------------------------------------------------
    def _expected(self, task_name: str) -> ExpectedSpec:
        action = ActionSpec(policy_rate_hz=self.rate_hz)
        if self.kind == "rgb":
            try:
                proprio = default_actor_observation().select(self.proprio_terms)
            except ValueError as exc:
                raise CheckpointError(f"rgb_proprio_terms: {exc}") from None
            vision = VisionSpec(cameras=self.cameras, image_hw=self.image_hw, frames_per_camera=self.frames_per_camera)
            return ExpectedSpec.rgb(proprio, task=task_name, vision=vision, action=action)
        return ExpectedSpec(kind=self.kind, observation=default_actor_observation(), task=task_name, action=action)

    def _load(self) -> None:
        """(Re)load checkpoint + task from the parameters; on failure keep no policy and say why."""
        checkpoint = self.get_parameter("checkpoint").value
        task = self.get_parameter("task").value
        self.session, self.placeholder, self.scripted, self.notes = None, False, False, ""
        path, tried = resolve(checkpoint)
        try:
            try:
                task_def = load_task(task)
            except ValueError as exc:
                raise CheckpointError(f"task: {exc}") from None
            self._watch_objects(task_def.insertive_object, task_def.receptive_object)
            self.task_name, self.task_def = task_def.name, task_def
            expected = self._expected(task_def.name)
            if not path.is_file() and tried != [Path(checkpoint).expanduser()]:  # relative: say where we looked
                raise CheckpointError(f"checkpoint file not found: {checkpoint} (looked in: "
                                      f"{', '.join(str(t) for t in tried)})")
            runtime = PolicyRuntime.load(path, expected, self.limits)
            unsupported = unsupported_terms(t.name for t in runtime.caller_terms)
            if unsupported:
                raise CheckpointError(f"{path}: observation term(s) {unsupported} are not produced by this node")
        except Exception as exc:  # CheckpointError; ValueError: a bad kind or vision parameter; anything else
            self.load_error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            self.get_logger().error(f"checkpoint not loaded, activation refused: {self.load_error}")
            self._publish_diagnostics()
            return
        self.session, self.load_error = PolicySession(runtime, self.session_limits), ""
        md = runtime.metadata
        self.notes, self.placeholder = md.notes, is_placeholder(md.notes)
        self.scripted = md.notes.startswith(SCRIPTED_NOTE)
        self.get_logger().info(f"loaded {md.kind} policy for task '{md.task}' from {path} "
                               f"(created {md.created_utc}, {md.train_config_hash[:19]})")
        if self.placeholder or self.scripted:
            self.get_logger().warn(md.notes)
        elif md.notes:
            self.get_logger().info(f"checkpoint notes: {md.notes}")
        self._publish_diagnostics()

    def _watch_objects(self, insertive: str, receptive: str) -> None:
        if list(self._objects) == [insertive, receptive]:
            return
        for sub in self._object_subs:
            self.destroy_subscription(sub)
        self._objects = {insertive: None, receptive: None}
        self._object_subs = [
            self.create_subscription(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=name),
                                     lambda msg, name=name: self._on_object(name, msg), qos_profile_sensor_data)
            for name in (insertive, receptive)]

    def _check_dynamic(self, parameters) -> SetParametersResult:
        for param in parameters:
            if param.name in DYNAMIC and (not isinstance(param.value, str) or not param.value.strip()):
                return SetParametersResult(successful=False, reason=f"{param.name} must be a non-empty string")
        return SetParametersResult(successful=True)

    def _on_dynamic_set(self, parameters) -> None:
        changed = [p.name for p in parameters if p.name in DYNAMIC]
        if not changed:
            return
        if self.active:
            self.session.deactivate()
            self.get_logger().info(f"{', '.join(changed)} changed: deactivated to reload")
        self._load()

    # --- inputs ----------------------------------------------------------------------------
    def _on_joints(self, msg: JointState) -> None:
        index = {name: i for i, name in enumerate(msg.name)}
        try:
            q = np.array([msg.position[index[n]] for n in topics.ARM_JOINTS], dtype=np.float64)
        except (KeyError, IndexError):
            self.get_logger().warn(f"joint_states without the arm joints {topics.ARM_JOINTS}: ignored",
                                   throttle_duration_sec=5.0)
            return
        try:
            fingers = np.array([msg.position[index[n]] for n in FINGER_JOINTS], dtype=np.float64)
        except (KeyError, IndexError):
            fingers = None  # a policy that reads the finger travel then reports it as never received
        self._joints = StampedJoints(stamp_to_s(msg.header.stamp), q, fingers)

    def _on_ee(self, msg: PoseStamped) -> None:
        if self._frame_ok(msg, "ee_pose"):
            self._ee = StampedPose(stamp_to_s(msg.header.stamp), *pose_from_msg(msg))

    def _on_object(self, name: str, msg: PoseStamped) -> None:
        if name in self._objects and self._frame_ok(msg, name):
            self._objects[name] = StampedPose(stamp_to_s(msg.header.stamp), *pose_from_msg(msg))

    def _frame_ok(self, msg: PoseStamped, what: str) -> bool:
        if msg.header.frame_id == topics.BASE_FRAME:
            return True
        self.get_logger().warn(f"{what} in frame {msg.header.frame_id!r}, expected {topics.BASE_FRAME!r}: ignored",
                               throttle_duration_sec=5.0)
        return False

    def _on_override(self, msg: Bool) -> None:
        self._override = (bool(msg.data), time.monotonic())

    def _override_active(self) -> bool:
        value, received = self._override
        return value and time.monotonic() - received <= self.override_timeout_s

    # --- activation ------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.session is not None and self.session.active

    def _activate(self) -> None:
        self.session.activate(ros_now_s(self))
        self.get_logger().info("activated: commanding")

    def _on_activate(self, request, response):
        if request.data:
            if self.session is None:
                response.success, response.message = False, self.load_error
                self.get_logger().warn(f"activation refused: {self.load_error}")
            elif self.active:
                response.success, response.message = True, "already active"
            else:
                self._activate()
                response.success, response.message = True, "activated"
        else:
            if self.active:
                self.get_logger().info("deactivated: not commanding")
                self.session.deactivate()
            response.success, response.message = True, "deactivated"
        self._publish_diagnostics()
        return response

    # --- the policy step -------------------------------------------------------------------
    def _tick(self) -> None:
        if self.session is None:
            return
        try:
            result = self.session.tick(ros_now_s(self), self._step, self._override_active())
        except Exception as exc:  # the module itself failed: the policy is unusable until reloaded
            self.session = None
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
            self.pub_target.publish(pose_msg(command.target_pos_b, command.target_quat_b, stamp, topics.BASE_FRAME))
            self.pub_gripper.publish(Bool(data=bool(command.gripper_close)))
            self.publish_count += 1
            self._last_target = (ros_now_s(self), command.target_pos_b, command.target_quat_b)

    def _step(self, now_s: float):
        rt = self.session.runtime
        insertive, receptive = self._objects.values()
        obs = build_terms([t.name for t in rt.caller_terms], self._joints, self._ee, insertive, receptive)
        frames = {}
        for cam in rt.cameras:
            msg = self._images.get(cam)
            if msg is not None:
                frames[cam] = (stamp_to_s(msg.header.stamp),
                               rgb_frame(cam, msg.encoding, msg.height, msg.width, msg.step, msg.data))
        if self._ee is None:
            raise StaleInputError("stale policy input: 'ee_pose' never received", ("ee_pose",))
        missing = [f"camera/{c}" for c in rt.cameras if c not in frames]
        if missing:
            raise StaleInputError(f"stale policy input: {', '.join(repr(m) for m in missing)} never received",
                                   tuple(missing))
        start = time.perf_counter()
        command = rt.step(now_s, obs, frames, self._ee.pos_m, self._ee.quat_wxyz, self._ee.stamp_s)
        self._latency_ms.append(1e3 * (time.perf_counter() - start))
        return command

    def _publish_markers(self) -> None:
        if self.task_def is None:
            return
        now_s = ros_now_s(self)
        target = None
        if self._last_target is not None and now_s - self._last_target[0] <= LIFETIME_S:
            target = self._last_target[1:]
        objects = {name: (p.pos_m, p.quat_wxyz) for name, p in self._objects.items() if p is not None}
        self.pub_markers.publish(scene_markers(s_to_stamp(now_s), self.task_def, target, objects))

    # --- diagnostics -----------------------------------------------------------------------
    def diagnostic_status(self) -> DiagnosticStatus:
        d = DiagnosticStatus(name=DIAGNOSTIC_NAME, hardware_id="policy")
        session = self.session
        refusal = session.refusal if session is not None else None
        if session is None:
            d.level, d.message = DiagnosticStatus.ERROR, f"no policy: {self.load_error}"
        elif refusal is not None:
            d.level, d.message = refusal_status(refusal)
        elif session.overridden:
            d.level, d.message = DiagnosticStatus.OK, "overridden by the supervisor"
        elif self.placeholder:
            d.level, d.message = DiagnosticStatus.WARN, "placeholder checkpoint, not trained"
        elif self.scripted:
            d.level, d.message = DiagnosticStatus.OK, ("active" if self.active else "loaded, inactive") + \
                " (scripted reference, not learned)"
        else:
            d.level, d.message = DiagnosticStatus.OK, "active" if self.active else "loaded, inactive"
        lat = np.asarray(self._latency_ms)
        p50, p99 = np.percentile(lat, [50, 99]) if lat.size else (float("nan"),) * 2
        values = {
            "loaded": self.session is not None,
            "placeholder": self.placeholder,
            "scripted": self.scripted,
            "active": self.active,
            "overridden": session is not None and session.overridden,
            "checkpoint": self.get_parameter("checkpoint").value,
            "task": self.task_name,
            "kind": self.kind,
            "load_error": self.load_error,
            "refused_inputs": ",".join(refusal.inputs) if refusal is not None else "",
            "last_refusal": session.last_refusal if session is not None else "",
            "refusals": session.refusals if session is not None else 0,
            "step_latency_p50_ms": f"{p50:.3f}",
            "step_latency_p99_ms": f"{p99:.3f}",
            "publish_count": self.publish_count,
            "notes": self.notes,
        }
        d.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return d

    def _publish_diagnostics(self) -> None:
        publish_diagnostics(self, self.pub_diag, self.diagnostic_status())


ROBOT_STATE_INPUTS = ("obs/joint_pos", "obs/finger_travel", "obs/ee_pose_b", "ee_pose")  # the controller's


def refusal_status(refusal: PolicyInputError) -> tuple[bytes, str]:
    """Diagnostics level and message of a refused step, saying whose fault it is."""
    if refusal.inputs == ("action",):
        return DiagnosticStatus.ERROR, f"policy output refused: {refusal}"
    if any(name in ROBOT_STATE_INPUTS for name in refusal.inputs):
        return DiagnosticStatus.WARN, f"no controller (robot state not fresh): inputs refused: {refusal}"
    return DiagnosticStatus.WARN, f"inputs refused: {refusal}"


def main(args=None) -> None:
    run_node(PolicyNode, "policy", args)


if __name__ == "__main__":
    main()
