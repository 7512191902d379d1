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

    def tool0(self, q_rad) -> np.ndarray:
        """(..., 4, 4) b_T_tool0 at joint angles ``q_rad`` (..., 6)."""
        q = np.asarray(q_rad, dtype=float)
        if q.shape[-1] != 6:
            raise ValueError(f"expected 6 joint angles, got shape {q.shape}")
        T = np.broadcast_to(np.eye(4), q.shape[:-1] + (4, 4)).copy()
        for i, origin in enumerate(self.origins):
            c, s = np.cos(q[..., i]), np.sin(q[..., i])
            turn = np.zeros(q.shape[:-1] + (4, 4))
            turn[..., 0, 0], turn[..., 0, 1], turn[..., 1, 0], turn[..., 1, 1] = c, -s, s, c
            turn[..., 2, 2] = turn[..., 3, 3] = 1.0
            T = T @ _origin(*origin) @ turn
        return T @ WRIST3_T_TOOL0


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
