"""cameras: rgb8 images + camera_info of the cell's cameras, from the twin or RealSense devices.

sim: a TwinCell of this node's own mirrors the controller's published joint states and object
poses and renders them; each image carries the stamp of the joint state it shows. real: the
newest RealSense frame of each camera, stamped with its capture time. DIAGNOSTICS
("omnireset/cameras", 1 Hz) WARNs naming the cameras with no new frame for ``STALL_PERIODS``
periods (a stalled device, or no joint states for the twin to render).

    python -m omnireset_ros.camera_node --ros-args --params-file config/ros/camera_node.yaml
"""
from __future__ import annotations

import array
import functools
import time
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, JointState

from omnireset_core.policy.metadata import DEFAULT_CAMERAS
from omnireset_core.interfaces import CameraIntrinsics
from omnireset_ros.node_main import publish_diagnostics, run_node
from omnireset_ros import params, topics
from omnireset_ros.camera_sources import RealSource, SimSource
from omnireset_ros.conversions import pose_from_msg, ros_now_s, s_to_stamp
from omnireset_sim.assets.objects import TWIN_OBJECTS

INTRINSICS_TOLERANCE = 0.02  # relative difference device vs cameras.yaml that earns a warning
STALL_PERIODS = 5  # a camera without a new frame for this many periods is reported as stalled
DIAGNOSTIC_NAME = "omnireset/cameras"


def camera_info_msg(intr: CameraIntrinsics, stamp, frame_id: str) -> CameraInfo:
    msg = CameraInfo()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.width, msg.height = intr.width_px, intr.height_px
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    fx, fy, cx, cy = float(intr.fx_px), float(intr.fy_px), float(intr.cx_px), float(intr.cy_px)
    msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def image_msg(rgb, stamp, frame_id: str) -> Image:
    msg = Image()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, 3 * msg.width
    msg.data = array.array("B", rgb.tobytes())  # array('B') skips the per-element field check
    return msg


class CameraNode(Node):
    def __init__(self):
        super().__init__("cameras")
        from omnireset_sim.config import CamerasConfig, load_cameras_config

        self.hardware = params.declare(self, "hardware", "sim", "Source: 'sim' (twin renders) or 'real' (RealSense)",
                                       choices=("sim", "real"))
        self.names = list(params.declare(self, "cameras", list(DEFAULT_CAMERAS), "Cameras to publish"))
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f"parameter cameras must list distinct camera names, got {self.names}")
        rate_hz = params.declare(self, "rate_hz", 10.0, "Image + camera_info rate per camera [Hz]", 0.5, 60.0)
        config_dir = params.declare_config_dir(self, "Directory of cell.yaml, cameras.yaml and robot.yaml; '' = the default")
        cameras_yaml = params.declare(
            self, "cameras_config", "", "Camera intrinsics/extrinsics YAML; '' = <config_dir>/cameras.yaml")
        cell_yaml = params.declare(
            self, "cell_config", "", "hardware:=sim: twin cell YAML; '' = <config_dir>/cell.yaml")
        robot_yaml = params.declare(
            self, "robot_config", "", "hardware:=real: serials and stream settings; '' = <config_dir>/robot.yaml")
        playback = {n: params.declare(self, f"{n}.playback_file", "",
                                      f"hardware:=real: recording (.bag/.db3) played as camera {n}; '' = live")
                    for n in self.names}
        image_hw = tuple(params.declare(self, "image_hw_px", [0, 0], "hardware:=sim: render every camera at this "
                                        "(height, width) [px], intrinsics scaled with it (an RGB student trained "
                                        "at that size); [0, 0] = the sizes in cameras.yaml"))
        cameras_yaml = Path(cameras_yaml) if cameras_yaml else config_dir / "cameras.yaml"

        # camera_info K comes from cameras.yaml in both modes (the intrinsics the policy was trained with).
        cameras_config = load_cameras_config(cameras_yaml)
        if image_hw != (0, 0):
            if len(image_hw) != 2 or not all(16 <= v <= 4096 for v in image_hw):
                raise ValueError(f"parameter image_hw_px must be [height, width] in 16..4096 or [0, 0], got {list(image_hw)}")
            if self.hardware != "sim":
                raise ValueError("parameter image_hw_px is for hardware:=sim; a real camera's size is set in cameras.yaml")
            cameras_config = CamerasConfig(tuple(c.resized(*image_hw) for c in cameras_config.cameras))
        self._cameras_config = cameras_config
        self.intrinsics = {}
        for n in self.names:
            c = cameras_config[n] if n in cameras_config.names else None
            if c is None:
                raise ValueError(f"camera {n!r} is not in {cameras_yaml} (has {', '.join(cameras_config.names)})")
            self.intrinsics[n] = CameraIntrinsics(c.width_px, c.height_px, c.fx_px, c.fy_px, c.cx_px, c.cy_px)

        self._cell_yaml = Path(cell_yaml) if cell_yaml else config_dir / "cell.yaml"
        self._robot_yaml = Path(robot_yaml) if robot_yaml else config_dir / "robot.yaml"
        self._playback = playback
        self._rate_hz = rate_hz
        self.sim: SimSource | None = None
        self.real: RealSource | None = None
        self._started_s = time.monotonic()
        self._last_frame_s = {n: None for n in self.names}  # time.monotonic() of each camera's last image
        self._stall_reason = ""

    def start(self) -> None:
        """Open the image source, then the topics; the source is released on failure."""
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        if self.hardware == "sim":
            sim = self.sim = SimSource(self.names, self._cell_yaml, self._cameras_config)
            self.create_subscription(JointState, topics.JOINT_STATES, functools.partial(self._on_joint_state, sim), 10)
            for obj in TWIN_OBJECTS:
                self.create_subscription(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=obj),
                                         functools.partial(self._on_object_pose, sim, obj), 10)
        else:
            self.real = RealSource(self.names, self._robot_yaml, self._playback, self._on_camera_error)
            self._check_device_intrinsics(self.real)
        self.pub_image = {n: self.create_publisher(Image, topics.CAMERA_IMAGE.format(name=n), 5) for n in self.names}
        self.pub_info = {n: self.create_publisher(CameraInfo, topics.CAMERA_INFO.format(name=n), 5) for n in self.names}
        self.pub_diag = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, 10)
        self.create_timer(1.0 / self._rate_hz, self._publish)
        self.create_timer(1.0, self._publish_diagnostics)
        self.get_logger().info(f"cameras {', '.join(self.names)} from {self.hardware} at {self._rate_hz:g} Hz")

    @staticmethod
    def _on_joint_state(sim: SimSource, msg: JointState) -> None:
        sim.on_joint_state(msg.header.stamp, msg.name, msg.position)

    @staticmethod
    def _on_object_pose(sim: SimSource, name: str, msg: PoseStamped) -> None:
        sim.on_object_pose(name, *pose_from_msg(msg))

    def _on_camera_error(self, text: str) -> None:
        self.get_logger().error(text, throttle_duration_sec=5.0)

    def _check_device_intrinsics(self, real: RealSource) -> None:
        for n in self.names:
            dev, cfg = real.device_intrinsics(n), self.intrinsics[n]
            if (dev.width_px, dev.height_px) != (cfg.width_px, cfg.height_px):
                raise ValueError(f"camera {n}: device delivers {dev.width_px}x{dev.height_px} px, "
                                 f"cameras.yaml says {cfg.width_px}x{cfg.height_px}")
            pairs = ((dev.fx_px, cfg.fx_px), (dev.fy_px, cfg.fy_px), (dev.cx_px, cfg.cx_px), (dev.cy_px, cfg.cy_px))
            if any(abs(a - b) > INTRINSICS_TOLERANCE * b for a, b in pairs):
                self.get_logger().warn(f"camera {n}: device intrinsics {dev} differ from cameras.yaml {cfg}; "
                                       "camera_info publishes cameras.yaml's")

    def _publish(self) -> None:
        if self.sim is not None:
            out = self.sim.render()
            if out is None:
                since = self.sim.state_received_s
                what = ("no joint_states received yet" if since is None
                        else f"no new joint_states for {time.monotonic() - since:.1f} s")
                self._stall_reason = f"{what} on {topics.JOINT_STATES}"
                self.get_logger().warn(f"{self._stall_reason}: publishing no images", throttle_duration_sec=5.0)
                return
            stamp, frames = out
            items = [(n, rgb, stamp) for n, rgb in frames.items()]
        else:
            assert self.real is not None  # made by _start
            now_ros_s, now_s = ros_now_s(self), time.monotonic()
            items = [(n, f.rgb, s_to_stamp(now_ros_s - (now_s - f.stamp_s))) for n, f in self.real.new_frames().items()]
        for name, rgb, stamp in items:
            frame_id = f"{name}_optical"
            self.pub_image[name].publish(image_msg(rgb, stamp, frame_id))
            self.pub_info[name].publish(camera_info_msg(self.intrinsics[name], stamp, frame_id))
            self._last_frame_s[name] = time.monotonic()

    def diagnostic_status(self) -> DiagnosticStatus:
        now_s, limit_s = time.monotonic(), STALL_PERIODS / self._rate_hz
        ages = {n: now_s - (t if t is not None else self._started_s) for n, t in self._last_frame_s.items()}
        stalled = [n for n, age in ages.items() if age > limit_s]
        d = DiagnosticStatus(name=DIAGNOSTIC_NAME, hardware_id=f"cameras ({self.hardware})")
        if stalled:
            d.level = DiagnosticStatus.WARN
            d.message = f"stalled: {', '.join(stalled)} without a new frame for more than {limit_s:g} s"
            if self.sim is not None and self._stall_reason:
                d.message += f" ({self._stall_reason})"
        else:
            d.level, d.message = DiagnosticStatus.OK, "streaming"
        d.values = [KeyValue(key=f"{n}_frame_age_s", value=f"{age:.2f}") for n, age in ages.items()]
        return d

    def _publish_diagnostics(self) -> None:
        publish_diagnostics(self, self.pub_diag, self.diagnostic_status())

    def close(self) -> None:
        for source in (self.sim, self.real):
            if source is not None:
                source.close()
        self.sim = self.real = None



def main(args=None) -> None:
    run_node(CameraNode, "cameras", args)


if __name__ == "__main__":
    main()
