"""The controller node's backends: the MuJoCo twin (lockstep) or the real UR7e + Robotiq 2F-85.

Both give a connected Robot and Gripper, the arm kinematics of that TCP, and finger joint states
in the twin's convention (travel per finger in metres, 0 = open).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from omnireset_core.interfaces import Gripper, HardwareError, Robot
from omnireset_core.kinematics.calibration import joint_placements_from_file
from omnireset_core.kinematics.ur import UR7E, URKinematics
from omnireset_core.rotations import pose6_to_matrix, rotvec_to_quat
from omnireset_sim.assets.objects import TWIN_OBJECTS
from omnireset_core.kinematics.robotiq import FINGER_TRAVEL_M


class Backend:
    robot: Robot
    gripper: Gripper
    kinematics: URKinematics
    description: str

    def finger_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(travel_m, speed_mps) of both fingers."""
        raise NotImplementedError

    def object_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Ground-truth (pos_b_m, quat_b_wxyz) per object; empty on real hardware."""
        return {}

    def close(self) -> None:
        for device in (self.robot, self.gripper):
            try:
                device.disconnect()
            except Exception:  # keep releasing the rest
                pass


class SimBackend(Backend):
    """TwinCell + lockstep TwinRobot: every control tick advances physics by one loop period."""

    def __init__(self, config_dir: Path, control_period_s: float, peg_pose_b=None):
        from omnireset_sim.config import load_cameras_config, load_cell_config
        from omnireset_sim.twin import TwinCell, TwinGripper, TwinRobot

        # Same model as the camera node's (cameras included), so qpos layouts agree.
        self.cell = TwinCell(load_cell_config(config_dir / "cell.yaml"),
                             load_cameras_config(config_dir / "cameras.yaml"))
        if peg_pose_b is not None:
            self.cell.reset(peg_pose=peg_pose_b)
        self.robot = TwinRobot(self.cell, control_period_s=control_period_s)
        self.gripper = TwinGripper(self.cell)
        self.kinematics = self.cell.kinematics
        self.description = f"MuJoCo twin ({config_dir / 'cell.yaml'})"
        self.robot.connect()
        self.gripper.connect()

    def finger_state(self):
        return self.cell.finger_travel()

    def object_poses(self):
        with self.cell.lock:
            return {name: self.cell.object_pose(name) for name in TWIN_OBJECTS}


def robot_kinematics(robot_cfg) -> URKinematics:
    """The controller's FK on the real robot: its calibration file (``kinematics_file``) or the
    nominal UR7e, with the TCP of ``tcp_offset_m_rad``."""
    return URKinematics(UR7E, pose6_to_matrix(robot_cfg.tcp_offset_m_rad),
                        joint_placements_from_file(robot_cfg.kinematics_file))


class RealBackend(Backend):
    """URRtdeRobot (direct torque) + RobotiqGripper (URCap socket), from robot.yaml."""

    def __init__(self, robot_yaml: Path, robot_ip: str = ""):
        from omnireset_drivers import RobotiqGripper, URRtdeRobot, load_hardware_config

        hw = load_hardware_config(robot_yaml)
        robot_cfg, gripper_cfg = hw.robot, hw.gripper
        if robot_ip:
            # The Robotiq URCap server runs on the robot controller: follow the override there too.
            if gripper_cfg.host == robot_cfg.robot_ip:
                gripper_cfg = dataclasses.replace(gripper_cfg, host=robot_ip)
            robot_cfg = dataclasses.replace(robot_cfg, robot_ip=robot_ip)
        self.kinematics = robot_kinematics(robot_cfg)
        self.robot = URRtdeRobot(robot_cfg)
        self.gripper = RobotiqGripper(gripper_cfg)
        self.description = f"UR7e at {robot_cfg.robot_ip}, Robotiq at {gripper_cfg.host}:{gripper_cfg.port}"
        self._travel_m = np.zeros(2)
        self._speed_mps = np.zeros(2)
        self._polled_s: float | None = None
        self.robot.connect()
        try:
            self.gripper.connect()
        except BaseException:
            self.robot.disconnect()
            raise

    def poll_gripper(self) -> None:
        """Read the finger position (two socket round trips); speed by finite difference."""
        try:
            state = self.gripper.read_state()
        except HardwareError:
            self._speed_mps = np.zeros(2)
            raise
        travel = np.full(2, state.opening_frac * FINGER_TRAVEL_M)
        if self._polled_s is not None and state.stamp_s > self._polled_s:
            self._speed_mps = (travel - self._travel_m) / (state.stamp_s - self._polled_s)
        self._travel_m, self._polled_s = travel, state.stamp_s

    def finger_state(self):
        return self._travel_m.copy(), self._speed_mps.copy()


def pose6_to_pose(values) -> tuple[np.ndarray, np.ndarray]:
    """[x y z rx ry rz] (m, rotation vector in rad) -> (pos_m, quat_wxyz)."""
    v = np.asarray(values, dtype=float)
    if v.shape != (6,) or not np.all(np.isfinite(v)):
        raise ValueError(f"a pose must be 6 finite numbers x y z rx ry rz, got {list(values)}")
    return v[:3], rotvec_to_quat(v[3:])


def monotonic_to_ros_s(ros_now_s: float, stamp_s: float) -> float:
    """A time.monotonic() stamp as ROS-clock seconds: ROS now minus its age."""
    return ros_now_s - (time.monotonic() - stamp_s)
