"""Small helpers for writing MJCF text: number formatting and rigid transforms."""
from __future__ import annotations

import numpy as np

from omnireset_core.rotations import matrix_to_quat


def fmt(values) -> str:
    """Space-separated numbers at full double precision (the FK test checks 1e-6)."""
    return " ".join(f"{float(v):.17g}" for v in np.ravel(values))


def transform(rot: np.ndarray | None = None, pos=(0.0, 0.0, 0.0)) -> np.ndarray:
    out = np.eye(4)
    if rot is not None:
        out[:3, :3] = rot
    out[:3, 3] = pos
    return out


def rot_x(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_z(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def pose_attrs(T: np.ndarray) -> str:
    """MJCF ``pos``/``quat`` attributes of a 4x4 transform (quat w, x, y, z)."""
    return f'pos="{fmt(T[:3, 3])}" quat="{fmt(matrix_to_quat(np.asarray(T[:3, :3], dtype=float)))}"'


def capsule_between(p0, p1, radius_m: float, extra: str = "") -> str:
    return f'<geom type="capsule" fromto="{fmt(np.r_[p0, p1])}" size="{radius_m:g}" {extra}/>'


def cylinder_between(p0, p1, radius_m: float, extra: str = "") -> str:
    return f'<geom type="cylinder" fromto="{fmt(np.r_[p0, p1])}" size="{radius_m:g}" {extra}/>'


# Contacts: 5 ms time constant (MuJoCo raises it to 2 timesteps at coarse steps, e.g. 16.7 ms
# at 1/120 s) and impedance 0.95..0.99: rigid-ish parts with sub-millimetre rest penetration.
CONTACT_SOLREF = "0.005 1"
CONTACT_SOLIMP = "0.95 0.99 0.001"

# Contact filter bits: static world (table, fixture) | arm links | gripper | free objects.
# Arm and gripper geoms collide with the world and objects only, never with each other.
WORLD_BIT, ARM_BIT, GRIPPER_BIT, OBJECT_BIT = 1, 2, 4, 8
CONTACT_WORLD = f'contype="{WORLD_BIT}" conaffinity="{ARM_BIT | GRIPPER_BIT | OBJECT_BIT}"'
# The floor catches dropped objects only (the arm cannot reach it): no arm-floor pairs to test.
CONTACT_FLOOR = f'contype="{WORLD_BIT}" conaffinity="{OBJECT_BIT}"'
CONTACT_ARM = f'contype="{ARM_BIT}" conaffinity="0"'
CONTACT_GRIPPER = f'contype="{GRIPPER_BIT}" conaffinity="0"'
CONTACT_OBJECT = f'contype="{OBJECT_BIT}" conaffinity="{ARM_BIT | GRIPPER_BIT | OBJECT_BIT}"'
