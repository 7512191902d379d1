"""config/robot.yaml -> driver configs: sections ``robot``, ``gripper``, ``cameras`` (role -> settings)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


from omnireset_core.config import from_dict, read_yaml
from omnireset_core.kinematics.calibration import robot_kinematics_file

from omnireset_drivers.realsense_camera import RealSenseConfig
from omnireset_drivers.robotiq_socket import RobotiqConfig
from omnireset_drivers.ur_rtde_robot import URRtdeConfig


@dataclass(frozen=True)
class HardwareConfig:
    robot: URRtdeConfig
    gripper: RobotiqConfig
    cameras: tuple[RealSenseConfig, ...]

    def camera(self, name: str) -> RealSenseConfig:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise ValueError(f"no camera '{name}'; configured: {[c.name for c in self.cameras]}")


def hardware_config_from_dict(data: dict, where: str = "robot.yaml") -> HardwareConfig:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping with sections robot, gripper, cameras")
    unknown = sorted(set(data) - {"robot", "gripper", "cameras"})
    if unknown:
        raise ValueError(f"{where}: unknown section(s) {unknown}; expected robot, gripper, cameras")
    robot = from_dict(URRtdeConfig, data.get("robot") or {}, f"{where}:robot")
    gripper_data = dict(data.get("gripper") or {})
    gripper_data.setdefault("host", robot.robot_ip)  # the URCap server runs on the robot controller
    gripper = from_dict(RobotiqConfig, gripper_data, f"{where}:gripper")
    cameras_data = data.get("cameras") or {}
    if not isinstance(cameras_data, dict):
        raise ValueError(f"{where}:cameras must map a camera name to its settings")
    cameras = []
    for name, cam in cameras_data.items():
        if not isinstance(cam, dict):
            raise ValueError(f"{where}:cameras.{name} must be a mapping")
        if "name" in cam:
            raise ValueError(f"{where}:cameras.{name}: the name is the key; remove 'name'")
        if isinstance(cam.get("serial"), int):
            raise ValueError(f"{where}:cameras.{name}.serial must be quoted (a string), got {cam['serial']!r}")
        cameras.append(from_dict(RealSenseConfig, {"name": str(name), **cam}, f"{where}:cameras.{name}"))
    return HardwareConfig(robot, gripper, tuple(cameras))


def load_hardware_config(path: str | Path) -> HardwareConfig:
    """robot.yaml, with ``robot.kinematics_file`` resolved against its folder (and checked to exist)."""
    path = Path(path)
    hw = hardware_config_from_dict(read_yaml(path), path.name)
    return replace(hw, robot=replace(hw.robot, kinematics_file=robot_kinematics_file(path)))
