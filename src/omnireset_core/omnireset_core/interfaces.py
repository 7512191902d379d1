"""Hardware-neutral robot, gripper and camera interfaces; every sample carries a timestamp.

Timestamps are ``time.monotonic()`` seconds on the host that read the sample. Backends: the
MuJoCo twin (omnireset_sim) and real hardware (omnireset_drivers).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np


class HardwareError(RuntimeError):
    """A device could not be reached or stopped answering; the message says which and why."""


@dataclass(frozen=True)
class JointState:
    stamp_s: float
    q_rad: np.ndarray  # (6,)
    qd_radps: np.ndarray  # (6,)


@dataclass(frozen=True)
class GripperState:
    stamp_s: float
    opening_frac: float  # 0 = fully open, 1 = fully closed
    closed_cmd: bool  # the last command sent
    object_detected: bool


@dataclass(frozen=True)
class CameraIntrinsics:
    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float


@dataclass(frozen=True)
class Frame:
    stamp_s: float
    rgb: np.ndarray  # (H, W, 3) uint8
    camera: str


class Robot(abc.ABC):
    """A torque-controlled 6-DoF arm whose controller compensates gravity."""

    @abc.abstractmethod
    def connect(self) -> None: ...

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Stop commanding torques and release the arm to a safe, braked or position-held state."""

    @abc.abstractmethod
    def read_state(self) -> JointState: ...

    @abc.abstractmethod
    def command_torque(self, tau_Nm: np.ndarray) -> None:
        """Send joint torques for one control period (on top of gravity compensation)."""

    @abc.abstractmethod
    def hold_position(self) -> None:
        """Hold the joints where they are by the robot's own means, for one control period.

        The control loop calls this every period while it must not command motion. The first call
        after torque commands leaves torque control (a real UR falls back to position control) and
        anchors the hold at the current joints; further calls keep holding (the twin advances its
        physics by one period under the hold). ``command_torque`` resumes torque control.
        """

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.disconnect()


class Gripper(abc.ABC):
    """A binary parallel gripper (open / close at a set force)."""

    @abc.abstractmethod
    def connect(self) -> None: ...

    @abc.abstractmethod
    def disconnect(self) -> None: ...

    @abc.abstractmethod
    def command(self, close: bool) -> None: ...

    @abc.abstractmethod
    def read_state(self) -> GripperState: ...

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.disconnect()


class Camera(abc.ABC):
    """An RGB camera delivering the latest frame."""

    name: str

    @abc.abstractmethod
    def connect(self) -> None: ...

    @abc.abstractmethod
    def disconnect(self) -> None: ...

    @abc.abstractmethod
    def read(self) -> Frame:
        """The latest frame; raises HardwareError if none arrives within the camera's timeout."""

    @property
    @abc.abstractmethod
    def intrinsics(self) -> CameraIntrinsics: ...

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.disconnect()
