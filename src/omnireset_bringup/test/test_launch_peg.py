"""peg.launch.py brought up for real on the twin (hardware:=sim rviz:=false) with launch_testing:
every node starts, the stack's topics get publishers, joint states, TF and the robot description
flow, and every process exits cleanly on shutdown.

Runs where ROS 2 launch is installed (docker/Dockerfile.deploy: colcon test); skipped elsewhere.
"""
import os
import random
import time
import unittest
from pathlib import Path

import pytest

pytest.importorskip("launch_testing", reason="launch_testing is not on PyPI; runs in docker/Dockerfile.deploy")

import launch_testing  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import launch_testing.markers  # noqa: E402
import rclpy  # noqa: E402
from ament_index_python.packages import PackageNotFoundError, get_package_share_directory  # noqa: E402
from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from omnireset_bringup.urdf import ARM_JOINTS, FINGER_JOINTS  # noqa: E402
from omnireset_ros import topics  # noqa: E402

# Keep this test's DDS traffic on this host and away from other runs; the launched nodes inherit it.
os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("MUJOCO_GL", "egl")

STARTUP_TIMEOUT_S = 90.0  # MuJoCo model build, torch import, checkpoint load
CAMERAS = ("front", "side", "wrist")
PUBLISHED = [
    topics.JOINT_STATES, topics.EE_POSE, topics.DIAGNOSTICS, topics.TARGET_POSE, topics.GRIPPER_COMMAND,
    *(topics.CAMERA_IMAGE.format(name=c) for c in CAMERAS), *(topics.CAMERA_INFO.format(name=c) for c in CAMERAS),
    "tf", "tf_static", "robot_description",
]
NODES = ["controller", "cameras", "policy", "supervisor", "robot_state_publisher"]


def _peg_launch_file() -> Path:
    try:
        return Path(get_package_share_directory("omnireset_bringup")) / "launch" / "peg.launch.py"
    except PackageNotFoundError:
        return Path(__file__).resolve().parents[3] / "launch" / "peg.launch.py"


@pytest.mark.launch_test
@launch_testing.markers.keep_alive
def generate_test_description():
    peg = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(_peg_launch_file())),
        launch_arguments={"hardware": "sim", "rviz": "false"}.items(),
    )
    return LaunchDescription([peg, launch_testing.actions.ReadyToTest()])


class TestPegBringup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.node = rclpy.create_node("test_peg_bringup_probe")

    @classmethod
    def tearDownClass(cls):
        cls.node.destroy_node()
        rclpy.shutdown()

    def _spin_until(self, predicate, timeout_s, what):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.1)
            if predicate():
                return
        self.fail(f"{what} within {timeout_s:g} s")

    def test_every_node_is_up(self):
        def names():
            return {n for n, _ in self.node.get_node_names_and_namespaces()}
        self._spin_until(lambda: set(NODES) <= names(), STARTUP_TIMEOUT_S,
                         f"nodes {sorted(set(NODES) - names())} did not appear")

    def test_stack_topics_have_publishers(self):
        def missing():
            return [t for t in PUBLISHED if self.node.count_publishers("/" + t) == 0]
        self._spin_until(lambda: not missing(), STARTUP_TIMEOUT_S, f"no publisher on {missing()}")

    def test_joint_states_tf_and_robot_description_flow(self):
        joints, tf_children, description = [], set(), []
        self.node.create_subscription(JointState, "/" + topics.JOINT_STATES, joints.append, 10)
        self.node.create_subscription(
            TFMessage, "/tf", lambda m: tf_children.update(t.child_frame_id for t in m.transforms), 10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(String, "/robot_description", lambda m: description.append(m.data), latched)
        self._spin_until(lambda: joints and description and "link1" in tf_children, STARTUP_TIMEOUT_S,
                         "joint_states, /tf (link1) and /robot_description did not all arrive")
        self.assertLessEqual(set(ARM_JOINTS) | set(FINGER_JOINTS), set(joints[-1].name))
        for joint in (*ARM_JOINTS, *FINGER_JOINTS):
            self.assertIn(f'<joint name="{joint}"', description[-1])


@launch_testing.post_shutdown_test()
class TestPegShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
