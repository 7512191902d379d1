"""A UR's own kinematics as ``ur_calibration`` writes them (the layout of ur_description's
``config/<model>/default_kinematics.yaml``): per joint, its origin in the previous link's frame
(x, y, z [m], roll, pitch, yaw [rad], URDF convention R = Rz(yaw) Ry(pitch) Rx(roll)), each joint
turning about its local z, and the controller's calibration ``hash``. Forward kinematics is the
chain of those origins, with no fit to DH parameters (that fit is ill-conditioned).

Frames: the chain starts in UR's ``base_link_inertia`` frame, which is the controller's base
frame b (both are ``base_link`` turned by pi about z); tool0 (the flange, DH frame 6) follows
wrist 3 by the fixed turns of ur_description: rpy (0, -pi/2, -pi/2), then (pi/2, 0, pi/2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnireset_core.config import read_yaml
from omnireset_core.kinematics.ur import URKinematics
from omnireset_core.rotations import rpy_to_matrix

LINKS = ("shoulder", "upper_arm", "forearm", "wrist_1", "wrist_2", "wrist_3")  # the joint after each
_KEYS = ("x", "y", "z", "roll", "pitch", "yaw")


def _origin(x, y, z, roll, pitch, yaw) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = rpy_to_matrix((roll, pitch, yaw)), (x, y, z)
    return T


WRIST3_T_TOOL0 = _origin(0, 0, 0, 0, -math.pi / 2, -math.pi / 2) @ _origin(0, 0, 0, math.pi / 2, 0, math.pi / 2)


@dataclass(frozen=True)
class JointOrigins:
    origins: tuple[tuple[float, ...], ...]  # per joint (x, y, z, roll, pitch, yaw)
    hash: str = ""  # the controller's calibration hash, e.g. "calib_12788084448423163542"

    def __post_init__(self):
        if len(self.origins) != 6 or any(len(o) != 6 or not all(math.isfinite(v) for v in o) for o in self.origins):
            raise ValueError(f"JointOrigins.origins must be 6 x (x, y, z, roll, pitch, yaw) finite numbers, "
                             f"got {self.origins!r}")

    def joint_placements(self) -> np.ndarray:
        """(7, 4, 4) the arm as ``URKinematics`` takes it: each joint's origin in its parent link,
        then tool0 (the flange) in wrist 3."""
        return np.stack([_origin(*o) for o in self.origins] + [WRIST3_T_TOOL0])

    def tool0(self, q_rad) -> np.ndarray:
        """(..., 4, 4) b_T_tool0 at joint angles ``q_rad`` (..., 6)."""
        return URKinematics(joint_placements=self.joint_placements()).tcp_pose(q_rad)


def load_ur_calibration(path: str | Path) -> JointOrigins:
    """The ``kinematics:`` section of a ur_calibration YAML; a missing link or value is named."""
    data = read_yaml(path, "UR calibration")
    kin = data.get("kinematics")
    if not isinstance(kin, dict):
        raise ValueError(f"UR calibration file {path}: no 'kinematics:' mapping")
    origins = []
    for link in LINKS:
        entry = kin.get(link)
        if not isinstance(entry, dict):
            raise ValueError(f"UR calibration file {path}: kinematics.{link} is missing")
        missing = [k for k in _KEYS if not isinstance(entry.get(k), (int, float)) or isinstance(entry.get(k), bool)]
        if missing:
            raise ValueError(f"UR calibration file {path}: kinematics.{link} needs numbers for {missing}")
        origins.append(tuple(float(entry[k]) for k in _KEYS))
    return JointOrigins(tuple(origins), str(kin.get("hash", "")))


def joint_placements_from_file(path: str | Path | None) -> np.ndarray | None:
    """``URKinematics``' ``joint_placements`` from a ur_calibration YAML; None for '' or None
    (then the nominal DH table is used)."""
    return load_ur_calibration(path).joint_placements() if path else None


def robot_kinematics_file(robot_yaml: str | Path) -> str:
    """robot.yaml's ``robot.kinematics_file`` (the robot's ur_calibration YAML), resolved against
    robot.yaml's folder; '' when the file or the key is absent (nominal kinematics)."""
    robot_yaml = Path(robot_yaml)
    if not robot_yaml.is_file():
        return ""
    value = (read_yaml(robot_yaml, "hardware config").get("robot") or {}).get("kinematics_file", "")
    if not isinstance(value, str):
        raise ValueError(f"{robot_yaml.name}: robot.kinematics_file must be a path string, got {value!r}")
    if not value:
        return ""
    resolved = (robot_yaml.parent / value).resolve()
    if not resolved.is_file():
        raise ValueError(f"{robot_yaml.name}: robot.kinematics_file {value!r}: no such file ({resolved})")
    return str(resolved)
