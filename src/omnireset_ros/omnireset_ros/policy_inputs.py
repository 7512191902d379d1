"""The latest sample of every input the policy node reads: joint states, the measured TCP pose,
the task's object poses, camera frames and the supervisor's gripper override. Never waits for
one; a step takes whatever is newest and the runtime judges its age."""
from __future__ import annotations

import functools
import time
from collections import deque

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.subscription import Subscription
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool

from omnireset_core.kinematics.robotiq import FINGER_JOINT_NAMES as FINGER_JOINTS
from omnireset_core.policy import PolicyInputError, StaleInputError
from omnireset_core.policy.session import LATENCY_WINDOW
from omnireset_ros import topics
from omnireset_ros.conversions import pose_from_msg, ros_now_s, stamp_to_s
from omnireset_ros.policy_observation import StampedJoints, StampedPose, build_terms, rgb_frame


class PolicyInputs:
    """Camera frames: each decoded frame goes to ``on_frame(camera, stamp_s, rgb)`` (the node's
    background encoder), which hands it back with ``frame_ready`` once encoded; a step takes the
    newest ready frame. Without ``on_frame`` a decoded frame is ready at once."""

    def __init__(self, node: Node, cameras: tuple[str, ...], override_timeout_s: float):
        self.node, self.override_timeout_s = node, override_timeout_s
        self.on_frame = None
        self.frame_latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)  # stamp to ready: render, DDS, encode
        self.joints: StampedJoints | None = None
        self.ee: StampedPose | None = None
        self.objects: dict[str, StampedPose | None] = {}
        self.frames: dict[str, tuple[float, np.ndarray] | PolicyInputError] = {}  # newest ready, or why unusable
        self._override = (False, -np.inf)  # (value, time.monotonic() of receipt)
        self._object_subs: list[Subscription] = []
        node.create_subscription(JointState, topics.JOINT_STATES, self._on_joints, qos_profile_sensor_data)
        node.create_subscription(PoseStamped, topics.EE_POSE, self._on_ee, qos_profile_sensor_data)
        node.create_subscription(Bool, topics.GRIPPER_OVERRIDE, self._on_override, 10)
        for cam in cameras:
            node.create_subscription(Image, topics.CAMERA_IMAGE.format(name=cam),
                                     functools.partial(self._on_image, cam), 1)

    def watch_objects(self, insertive: str, receptive: str) -> None:
        """Subscribe to the twin poses of a task's objects (again only if they changed)."""
        if list(self.objects) == [insertive, receptive]:
            return
        for sub in self._object_subs:
            self.node.destroy_subscription(sub)
        self.objects = {insertive: None, receptive: None}
        self._object_subs = [
            self.node.create_subscription(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=name),
                                          functools.partial(self._on_object, name), qos_profile_sensor_data)
            for name in (insertive, receptive)]

    def override_active(self) -> bool:
        value, received = self._override
        return value and time.monotonic() - received <= self.override_timeout_s

    def for_step(self, runtime):
        """(observation terms, camera frames) for ``runtime.step``; raises StaleInputError for an
        input never received."""
        insertive, receptive = self.objects.values()
        obs = build_terms([t.name for t in runtime.caller_terms], self.joints, self.ee, insertive, receptive)
        frames = {}
        for cam in runtime.cameras:
            frame = self.frames.get(cam)
            if isinstance(frame, PolicyInputError):
                raise type(frame)(str(frame), frame.inputs)  # a new one each step: no growing traceback
            if frame is not None:
                frames[cam] = frame
        if self.ee is None:
            raise StaleInputError("stale policy input: 'ee_pose' never received", ("ee_pose",))
        missing = [f"camera/{c}" for c in runtime.cameras if c not in frames]
        if missing:
            raise StaleInputError(f"stale policy input: {', '.join(repr(m) for m in missing)} never received",
                                  tuple(missing))
        return obs, frames

    def frame_ready(self, cam: str, frame) -> None:
        """(stamp_s, rgb) or the PolicyInputError of ``cam``'s newest frame; any thread."""
        self.frames[cam] = frame
        if not isinstance(frame, PolicyInputError):
            self.frame_latency_ms.append(1e3 * (ros_now_s(self.node) - frame[0]))

    def _on_image(self, cam: str, msg: Image) -> None:
        try:
            frame = (stamp_to_s(msg.header.stamp), rgb_frame(cam, msg.encoding, msg.height, msg.width, msg.step, msg.data))
        except PolicyInputError as exc:
            self.frames[cam] = exc
            return
        if self.on_frame is None:
            self.frame_ready(cam, frame)
        else:
            self.on_frame(cam, *frame)

    def _on_joints(self, msg: JointState) -> None:
        index = {name: i for i, name in enumerate(msg.name)}
        try:
            q = np.array([msg.position[index[n]] for n in topics.ARM_JOINTS], dtype=np.float64)
        except (KeyError, IndexError):
            self.node.get_logger().warn(f"joint_states without the arm joints {topics.ARM_JOINTS}: ignored",
                                        throttle_duration_sec=5.0)
            return
        try:
            fingers = np.array([msg.position[index[n]] for n in FINGER_JOINTS], dtype=np.float64)
        except (KeyError, IndexError):
            fingers = None  # a policy that reads the finger travel then reports it as never received
        self.joints = StampedJoints(stamp_to_s(msg.header.stamp), q, fingers)

    def _on_ee(self, msg: PoseStamped) -> None:
        if self._frame_ok(msg, "ee_pose"):
            self.ee = StampedPose(stamp_to_s(msg.header.stamp), *pose_from_msg(msg))

    def _on_object(self, name: str, msg: PoseStamped) -> None:
        if name in self.objects and self._frame_ok(msg, name):
            self.objects[name] = StampedPose(stamp_to_s(msg.header.stamp), *pose_from_msg(msg))

    def _frame_ok(self, msg: PoseStamped, what: str) -> bool:
        if msg.header.frame_id == topics.BASE_FRAME:
            return True
        self.node.get_logger().warn(f"{what} in frame {msg.header.frame_id!r}, expected {topics.BASE_FRAME!r}: "
                                    "ignored", throttle_duration_sec=5.0)
        return False

    def _on_override(self, msg: Bool) -> None:
        self._override = (bool(msg.data), time.monotonic())
