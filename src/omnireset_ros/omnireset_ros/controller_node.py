"""controller: the 500 Hz operational-space ControlLoop over the twin or the real UR7e + 2F-85.

The loop runs on its own thread (started by the loop, paced to real time; on the twin each tick is
one lockstep physics period). This node only feeds it targets, forwards gripper commands and
publishes what the loop measured.

    python -m omnireset_ros.controller_node --ros-args --params-file config/ros/controller_node.yaml
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool
from std_srvs.srv import SetBool, Trigger

from omnireset_core.control.config import load_controller_config
from omnireset_core.control.loop import ControlLoop, LoopMode
from omnireset_core.control.recording import TickRecorder
from omnireset_core.policy.metadata import utc_now_iso
from omnireset_core.interfaces import HardwareError
from omnireset_core.kinematics.robotiq import FINGER_JOINT_NAMES as FINGER_JOINTS
from omnireset_ros.node_main import publish_diagnostics, run_node
from omnireset_ros import params, topics
from omnireset_ros.controller_hardware import (
    TWIN_OBJECTS, Backend, RealBackend, SimBackend, monotonic_to_ros_s, pose6_to_pose,
)
from omnireset_ros.conversions import pose_from_msg, pose_msg, ros_now_s, s_to_stamp, to_monotonic_s

DIAGNOSTIC_NAME = "omnireset/controller"


class ControllerNode(Node):
    def __init__(self):
        super().__init__("controller")

        self.hardware = params.declare(self, "hardware", "sim", "Backend: 'sim' (MuJoCo twin) or 'real' (UR7e + 2F-85)",
                                       choices=("sim", "real"))
        config_dir = params.declare_config_dir(
            self, "Directory of cell.yaml, cameras.yaml, controller.yaml and robot.yaml; '' = the default")
        controller_yaml = params.declare(
            self, "controller_config", "",
            "Controller YAML (rate, OSC gains, safety); '' = <config_dir>/controller.yaml")
        robot_yaml = params.declare(
            self, "robot_config", "", "Hardware YAML for hardware:=real; '' = <config_dir>/robot.yaml")
        self.state_rate_hz = params.declare(
            self, "state_rate_hz", 100.0, "Rate of joint_states, ee_pose and twin object poses [Hz]", 1.0, 500.0)
        diagnostics_rate_hz = params.declare(
            self, "diagnostics_rate_hz", 2.0, "Rate of the diagnostics status [Hz]", 0.1, 50.0)
        robot_ip = params.declare(
            self, "robot_ip", "", "hardware:=real: UR controller address overriding robot.yaml; '' = robot.yaml")
        gripper_poll_hz = params.declare(
            self, "gripper_poll_rate_hz", 10.0, "hardware:=real: finger position polling rate [Hz]", 1.0, 50.0)
        self.record_dir = Path(params.declare(
            self, "record_dir", "outputs/recordings", "Folder the record service writes runs to (relative: the "
            "working directory); each run is <UTC time>.npz with its .json manifest"))
        peg_pose = params.declare(
            self, "sim_peg_pose", Parameter.Type.DOUBLE_ARRAY,
            "hardware:=sim: initial peg pose x y z [m] rx ry rz [rad, rotation vector] in frame base; "
            "unset = cell.yaml")

        self.controller_config = load_controller_config(
            Path(controller_yaml) if controller_yaml else config_dir / "controller.yaml")
        self._config_dir, self._robot_yaml, self._robot_ip = config_dir, robot_yaml, robot_ip
        self._peg_pose = pose6_to_pose(peg_pose) if peg_pose else None
        self._diagnostics_rate_hz, self._gripper_poll_hz = diagnostics_rate_hz, gripper_poll_hz
        self._backend: Backend | None = None  # both made by start()
        self._loop: ControlLoop | None = None

        self._gripper_cmd: bool | None = None  # last GRIPPER_COMMAND, None before the first
        self._gripper_override = False
        self._gripper_applied: bool | None = None  # last state sent to the gripper
        self._frame_refused = 0
        self._frame_refusal: str | None = None  # node-side refusal in force (wrong frame_id)
        self._last_published_tick = -1

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("the controller has not started")
        return self._backend

    @property
    def loop(self) -> ControlLoop:
        if self._loop is None:
            raise RuntimeError("the controller has not started")
        return self._loop

    def start(self) -> None:
        """Connect the hardware, start the loop, then open the topics; everything is released on failure."""
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        cfg = self.controller_config
        if self.hardware == "sim":
            self._backend = SimBackend(self._config_dir, 1.0 / cfg.rate_hz, self._peg_pose)
        else:
            robot_yaml = Path(self._robot_yaml) if self._robot_yaml else self._config_dir / "robot.yaml"
            self._backend = RealBackend(robot_yaml, self._robot_ip)
        self._loop = ControlLoop(self.backend.robot, self.backend.kinematics, cfg.gains, cfg.safety, cfg.rate_hz)

        self.pub_joints = self.create_publisher(JointState, topics.JOINT_STATES, 10)
        self.pub_ee = self.create_publisher(PoseStamped, topics.EE_POSE, 10)
        self.pub_tracked = self.create_publisher(PoseStamped, topics.TRACKED_TARGET, 10)
        self.pub_objects = {}
        if self.hardware == "sim":
            self.pub_objects = {name: self.create_publisher(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=name), 10)
                                for name in TWIN_OBJECTS}
        self.pub_diag = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self.create_subscription(PoseStamped, topics.TARGET_POSE, self._on_target, 10)
        self.create_subscription(Bool, topics.GRIPPER_COMMAND, self._on_gripper_command, 10)
        self.create_subscription(Bool, topics.GRIPPER_OVERRIDE, self._on_gripper_override, 10)
        self.create_service(Trigger, topics.CONTROLLER_RESET_FAULT, self._on_reset_fault)
        self.recorder = TickRecorder(max_ticks=int(120 * cfg.rate_hz))  # two minutes
        self._unsaved = None  # a stopped run whose write failed
        self.loop.on_tick = self.recorder.add
        self.create_service(SetBool, topics.CONTROLLER_RECORD, self._on_record)
        self.create_timer(1.0 / self.state_rate_hz, self._publish_state)
        self.create_timer(1.0 / self._diagnostics_rate_hz, self._publish_diagnostics)
        if isinstance(self.backend, RealBackend):
            self.create_timer(1.0 / self._gripper_poll_hz, self._poll_gripper)

        self.loop.start()
        self.get_logger().info(
            f"controller on {self.backend.description}: {cfg.rate_hz:g} Hz loop, state at {self.state_rate_hz:g} Hz, "
            f"max target age {cfg.safety.max_target_age_s} s")

    # --- inputs ------------------------------------------------------------------------------
    def _on_target(self, msg: PoseStamped) -> None:
        if msg.header.frame_id != topics.BASE_FRAME:
            self._frame_refused += 1
            self._frame_refusal = f"refused target: frame_id {msg.header.frame_id!r} is not {topics.BASE_FRAME!r}"
            self.loop.clear_target()  # as for any refused target: hold where the arm is
            self.get_logger().warn(self._frame_refusal, throttle_duration_sec=2.0)
            return
        pos_b_m, quat_b_wxyz = pose_from_msg(msg)
        problem = self.loop.set_target(pos_b_m, quat_b_wxyz, to_monotonic_s(self, msg.header.stamp))
        self._frame_refusal = None
        if problem is not None:
            self.get_logger().warn(f"refused target: {problem}; holding", throttle_duration_sec=2.0)

    def _on_gripper_command(self, msg: Bool) -> None:
        self._gripper_cmd = bool(msg.data)
        self._apply_gripper()

    def _on_gripper_override(self, msg: Bool) -> None:
        if bool(msg.data) != self._gripper_override:
            self.get_logger().info("gripper override: held open" if msg.data else "gripper override cleared")
        self._gripper_override = bool(msg.data)
        self._apply_gripper()

    def _apply_gripper(self) -> None:
        """Send the wanted state on change only: open while overridden, else the last command."""
        want = False if self._gripper_override else self._gripper_cmd
        if want is None or want == self._gripper_applied:
            return
        try:
            self.backend.gripper.command(want)
        except HardwareError as exc:
            self.get_logger().error(f"gripper command failed: {exc}", throttle_duration_sec=2.0)
            return
        self._gripper_applied = want

    def _on_record(self, request, response):
        """true: start recording every tick; false: stop and write the run (for system identification)."""
        try:
            if request.data:
                self.recorder.start()
                response.success, response.message = True, "recording"
            else:
                cfg = self.controller_config
                if self._unsaved is None:  # else: a run whose write failed, kept for this retry
                    self._unsaved = self.recorder.stop(cfg.rate_hz, cfg.gains, self.backend.description)
                recording = self._unsaved
                base = name = utc_now_iso().replace(":", "")
                k = 1
                while (self.record_dir / f"{name}.npz").exists():  # two runs in one second
                    name, k = f"{base}_{k}", k + 1
                try:
                    path = recording.save(self.record_dir / name)
                except OSError as exc:
                    raise OSError(f"could not write the run to {self.record_dir}: {exc}; it is kept, call the "
                                  "service with false again to retry") from None
                self._unsaved = None
                note = f", ended early by {self.recorder.ended_by}" if self.recorder.ended_by else ""
                response.success, response.message = True, str(path.resolve())
                self.get_logger().info(f"recorded {recording.ticks} ticks to {path}{note}")
        except (RuntimeError, ValueError, OSError) as exc:
            response.success, response.message = False, str(exc)
            self.get_logger().warn(f"record service: {exc}")
        return response

    def _on_reset_fault(self, request, response):
        status = self.loop.status()
        if status is not None and status.mode is LoopMode.FAILED:
            response.success, response.message = False, f"{status.reason}; restart the controller"
            return response
        self.loop.reset_fault()
        self._frame_refusal = None
        response.success, response.message = True, "fault reset: holding the current pose"
        self.get_logger().info("fault reset by service call")
        return response

    def _poll_gripper(self) -> None:
        assert isinstance(self.backend, RealBackend)  # the timer runs on real hardware only
        try:
            self.backend.poll_gripper()
        except HardwareError as exc:
            self.get_logger().error(f"gripper state: {exc}", throttle_duration_sec=5.0)

    # --- outputs -----------------------------------------------------------------------------
    def _publish_state(self) -> None:
        status = self.loop.status()
        if status is None or status.ticks == self._last_published_tick:
            return  # nothing new (not started, or the loop has ended)
        self._last_published_tick = status.ticks
        stamp = s_to_stamp(monotonic_to_ros_s(ros_now_s(self), status.stamp_s))
        travel_m, speed_mps = self.backend.finger_state()
        js = JointState()
        js.header.stamp = stamp
        js.name = [*topics.ARM_JOINTS, *FINGER_JOINTS]
        js.position = [float(v) for v in np.concatenate([status.q_rad, travel_m])]
        js.velocity = [float(v) for v in np.concatenate([status.qd_radps, speed_mps])]
        self.pub_joints.publish(js)
        self.pub_ee.publish(pose_msg(status.tcp_pos_b_m, status.tcp_quat_b_wxyz, stamp, topics.BASE_FRAME))
        if status.mode is LoopMode.TRACKING:
            self.pub_tracked.publish(
                pose_msg(status.target_pos_b_m, status.target_quat_b_wxyz, stamp, topics.BASE_FRAME))
        if self.pub_objects:
            for name, (pos_b_m, quat_b_wxyz) in self.backend.object_poses().items():
                self.pub_objects[name].publish(pose_msg(pos_b_m, quat_b_wxyz, stamp, topics.BASE_FRAME))

    def diagnostic_status(self) -> DiagnosticStatus:
        status = self.loop.status()
        d = DiagnosticStatus(name=DIAGNOSTIC_NAME, hardware_id=self.backend.description)
        if status is None:
            d.level, d.message = DiagnosticStatus.WARN, "control loop starting"
            return d
        mode, reason = status.mode, status.reason
        if mode is LoopMode.HOLDING and self._frame_refusal is not None:
            reason = self._frame_refusal
        if mode in (LoopMode.STOPPED, LoopMode.FAILED):
            d.level = DiagnosticStatus.ERROR
        elif mode is LoopMode.HOLDING and (self._frame_refusal is not None
                                           or (status.hold_cause is not None and status.hold_cause.is_warning)):
            d.level = DiagnosticStatus.WARN
        else:
            d.level = DiagnosticStatus.OK
        d.message = f"{mode.value}: {reason}"
        periods_ms = 1e3 * self.loop.periods_s()
        p50, p99 = (np.percentile(periods_ms, [50, 99]) if periods_ms.size else (float("nan"),) * 2)
        values = {
            "mode": mode.value,
            "reason": reason,
            "ticks": status.ticks,
            "overruns": status.overruns,
            "refused_targets": status.refused_targets + self._frame_refused,
            "period_p50_ms": f"{p50:.3f}",
            "period_p99_ms": f"{p99:.3f}",
            "gripper_closed": self._gripper_applied,
            "gripper_override": self._gripper_override,
        }
        d.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return d

    def _publish_diagnostics(self) -> None:
        publish_diagnostics(self, self.pub_diag, self.diagnostic_status())

    def close(self) -> None:
        """Stop the loop, then release the arm and gripper (the twin's arm / the UR hold their joints)."""
        if self._loop is not None:
            self._loop.stop()
        if self._backend is not None:
            self._backend.close()
        self._loop = self._backend = None



def main(args=None) -> None:
    run_node(ControllerNode, "controller", args)


if __name__ == "__main__":
    main()
