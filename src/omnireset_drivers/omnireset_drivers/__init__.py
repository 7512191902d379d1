"""OmniReset hardware drivers behind the omnireset_core interfaces.

URRtdeRobot (UR arm over ur_rtde, direct torque), RobotiqGripper (Robotiq URCap socket),
RealSenseCamera (pyrealsense2, live or recorded). Vendor libraries are imported on connect.
"""
from omnireset_drivers.hardware_config import HardwareConfig, load_hardware_config
from omnireset_drivers.realsense_camera import RealSenseCamera, RealSenseConfig
from omnireset_drivers.robotiq_socket import RobotiqConfig, RobotiqGripper
from omnireset_drivers.ur_rtde_robot import DirectTorqueSender, TorqueApi, URRtdeConfig, URRtdeRobot, detect_torque_api

__version__ = "0.1.0"

__all__ = [
    "DirectTorqueSender",
    "HardwareConfig",
    "RealSenseCamera",
    "RealSenseConfig",
    "RobotiqConfig",
    "RobotiqGripper",
    "TorqueApi",
    "URRtdeConfig",
    "URRtdeRobot",
    "detect_torque_api",
    "load_hardware_config",
]
