"""URDF of the UR7e + Robotiq 2F-85, generated from the core's ``URParameters``.

The tree mirrors the twin's MJCF (omnireset_sim.assets): ``link{i}`` (i = 1..6) is DH frame i-1
turned by (q_i + delta_theta_i) about its z axis; each joint origin is the fixed part of the
previous link transform, Tz(d) Tx(a) Rx(alpha), followed by the next joint's calibration offset,
so joint positions equal the controller's readings and the chain's FK equals ``URKinematics``.

    base -> link1 .. link6 -> flange (DH frame 6) -> tool0 (same frame, UR name)
                                                  -> tcp (flange_T_tcp)
                                                  -> gripper -> left_finger, right_finger
    base / flange -> {camera}_optical (optional, from config/cameras.yaml; the images' frame_id)

Finger joints: prismatic, 0 = open, each closing toward the centre line along flange y (the
twin's slide joints; right mimics left). Visuals are simple cylinders and boxes.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from omnireset_core.config import check_finite_vector, read_yaml
from omnireset_core.kinematics.robotiq import FINGER_JOINT_NAMES, FINGER_SPEED_MPS, FINGER_TRAVEL_M, MAX_FORCE_N
from omnireset_core.kinematics.calibration import joint_placements_from_file, robot_kinematics_file
from omnireset_core.kinematics.ur import ARM_JOINT_NAMES, UR7E, URParameters, inertia_matrix
from omnireset_core.kinematics.ur import dh_frames_in_links, dh_joint_placements
from omnireset_core.rotations import matrix_to_rpy, pose6_to_matrix, quat_to_matrix

BASE_LINK = "base"
LINK_NAMES = tuple(f"link{i}" for i in range(1, 7))
FLANGE_LINK, TOOL0_LINK, TCP_LINK, GRIPPER_LINK = "flange", "tool0", "tcp", "gripper"
ARM_JOINTS = ARM_JOINT_NAMES
FINGER_JOINTS = FINGER_JOINT_NAMES
LEFT_FINGER_JOINT, RIGHT_FINGER_JOINT = FINGER_JOINT_NAMES
FINGER_FORCE_N = MAX_FORCE_N
DEFAULT_TCP_Z_M = 0.155  # pad centre along flange z, as in the twin


def camera_frame_name(camera: str) -> str:
    """The frame_id of the camera node's images (omnireset_ros.camera_node)."""
    return f"{camera}_optical"


@dataclass(frozen=True)
class CameraMount:
    """Optical frame (x right, y down, z forward) of one camera in its mount link."""

    name: str
    parent: str  # BASE_LINK or FLANGE_LINK
    pos_m: tuple[float, float, float]
    quat_wxyz: tuple[float, float, float, float]


# --- small transform helpers ------------------------------------------------------------
def _transform(rot=None, pos=(0.0, 0.0, 0.0)) -> np.ndarray:
    out = np.eye(4)
    if rot is not None:
        out[:3, :3] = rot
    out[:3, 3] = pos
    return out


def _num(value: float) -> str:
    """Shortest text that reads back as the same double (-0.0 written as 0)."""
    value = float(value)
    return "0" if value == 0.0 else repr(value)


def _vec(values: Iterable[float]) -> str:
    return " ".join(_num(v) for v in values)


def _origin(T: np.ndarray) -> str:
    return f'<origin xyz="{_vec(T[:3, 3])}" rpy="{_vec(matrix_to_rpy(T[:3, :3]))}"/>'


def _z_to(direction: np.ndarray) -> np.ndarray:
    """A rotation taking +z onto ``direction`` (unit)."""
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, direction)
    s, c = np.linalg.norm(axis), float(np.dot(z, direction))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * K + (1 - c) * K @ K


# --- geometry ---------------------------------------------------------------------------
_ARM_GREY, _DARK = "arm_grey", "gripper_black"


def _cylinder(p0, p1, radius: float, material: str = _ARM_GREY) -> str:
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    length = float(np.linalg.norm(p1 - p0))
    if length < 1e-6:
        return ""
    T = _transform(_z_to((p1 - p0) / length), (p0 + p1) / 2)
    return (f'<visual>{_origin(T)}<geometry><cylinder radius="{_num(radius)}" length="{_num(length)}"/>'
            f'</geometry><material name="{material}"/></visual>')


def _box(center, half_sizes, material: str = _DARK) -> str:
    size = _vec(2 * np.asarray(half_sizes, float))
    return (f'<visual><origin xyz="{_vec(center)}" rpy="0 0 0"/><geometry><box size="{size}"/></geometry>'
            f'<material name="{material}"/></visual>')


def _inertial(mass_kg: float, com, inertia) -> str:
    """``inertia``: principal moments (3,) or a full (3, 3) tensor about the COM, link axes."""
    full = np.asarray(inertia, dtype=float)
    full = np.diag(full) if full.ndim == 1 else full
    return (f'<inertial><origin xyz="{_vec(com)}" rpy="0 0 0"/><mass value="{_num(mass_kg)}"/>'
            f'<inertia ixx="{_num(full[0, 0])}" ixy="{_num(full[0, 1])}" ixz="{_num(full[0, 2])}" '
            f'iyy="{_num(full[1, 1])}" iyz="{_num(full[1, 2])}" izz="{_num(full[2, 2])}"/></inertial>')


def _link(name: str, body: str = "") -> str:
    return f'<link name="{name}">{body}</link>' if body else f'<link name="{name}"/>'


def _fixed_joint(name: str, parent: str, child: str, T: np.ndarray) -> str:
    return f'<joint name="{name}" type="fixed"><parent link="{parent}"/><child link="{child}"/>{_origin(T)}</joint>'


# --- the model --------------------------------------------------------------------------
def generate_urdf(params: URParameters = UR7E, flange_T_tcp: np.ndarray | None = None,
                  cameras: Sequence[CameraMount] = (), robot_name: str = "omnireset_ur7e",
                  joint_placements: np.ndarray | None = None) -> str:
    """URDF text of the arm with gripper, TCP and optional camera frames. The joint origins are
    ``joint_placements`` (the robot's calibration file, ``calibration.JointOrigins``) or the DH
    table's; links' masses and inertias are placed by the DH table.

    ``flange_T_tcp`` (4x4) defaults to the 2F-85 pad centre, 0.155 m along flange z.
    """
    if flange_T_tcp is None:
        flange_T_tcp = _transform(pos=(0.0, 0.0, DEFAULT_TCP_Z_M))
    flange_T_tcp = np.asarray(flange_T_tcp, dtype=float)
    if flange_T_tcp.shape != (4, 4) or not np.all(np.isfinite(flange_T_tcp)):
        raise ValueError(f"flange_T_tcp must be a finite 4x4 matrix, got {flange_T_tcp!r}")
    placements = dh_joint_placements(params) if joint_placements is None else joint_placements
    fixed = dh_frames_in_links(params, joint_placements)
    parts = [
        '<material name="arm_grey"><color rgba="0.7 0.72 0.75 1"/></material>',
        '<material name="gripper_black"><color rgba="0.15 0.15 0.15 1"/></material>',
        _link(BASE_LINK, _cylinder((0, 0, 0), (0, 0, 0.085), 0.0745, _DARK)),
    ]
    parent = BASE_LINK
    for i in range(6):
        child_T = placements[i + 1]
        radius = 0.06 if i < 3 else 0.045
        # A housing about the joint axis and a strut to the next joint's origin.
        visual = _cylinder((0, 0, -0.06), (0, 0, 0.06), radius) + _cylinder((0, 0, 0), child_T[:3, 3], radius * 0.8)
        com = fixed[i][:3, :3] @ np.asarray(params.link_com_m[i]) + fixed[i][:3, 3]  # COM is given in DH frame i
        if params.link_inertia_kgm2 is not None:  # published, in DH frame i: turned into the link frame
            inertia = fixed[i][:3, :3] @ inertia_matrix(params.link_inertia_kgm2[i]) @ fixed[i][:3, :3].T
        else:
            inertia = np.diag(np.full(3, params.link_mass_kg[i] * 0.01))  # nominal; the twin carries the dynamics
        parts.append(_link(LINK_NAMES[i], _inertial(params.link_mass_kg[i], com, inertia) + visual))
        parts.append(
            f'<joint name="{ARM_JOINTS[i]}" type="revolute"><parent link="{parent}"/>'
            f'<child link="{LINK_NAMES[i]}"/>{_origin(placements[i])}<axis xyz="0 0 1"/>'
            f'<limit lower="{_num(params.joint_lower_rad[i])}" upper="{_num(params.joint_upper_rad[i])}" '
            f'effort="{_num(params.torque_limit_Nm[i])}" velocity="{_num(params.max_joint_speed_radps[i])}"/></joint>'
        )
        parent = LINK_NAMES[i]
    parts += [
        _link(FLANGE_LINK), _fixed_joint("flange_joint", LINK_NAMES[5], FLANGE_LINK, placements[6]),
        _link(TOOL0_LINK), _fixed_joint("tool0_joint", FLANGE_LINK, TOOL0_LINK, np.eye(4)),
        _link(TCP_LINK), _fixed_joint("tcp_joint", FLANGE_LINK, TCP_LINK, flange_T_tcp),
        _link(GRIPPER_LINK, _inertial(0.78, (0, 0, 0.06), (1.2e-3, 9.2e-4, 7.9e-4))
              + _cylinder((0, 0, 0), (0, 0, 0.012), 0.0375, _DARK)
              + _box((0, 0, 0.061), (0.03, 0.045, 0.049))),
        _fixed_joint("gripper_joint", FLANGE_LINK, GRIPPER_LINK, np.eye(4)),
    ]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        joint = f"{side}_finger_joint"
        pad_y = sign * (FINGER_TRAVEL_M + 0.004)
        body = (_inertial(0.06, (0, sign * 0.052, 0.14), (2e-5, 2e-5, 1e-5))
                + _box((0, pad_y + sign * 0.010, 0.134), (0.011, 0.006, 0.032))
                + _box((0, pad_y, DEFAULT_TCP_Z_M), (0.011, 0.004, 0.011), _ARM_GREY))
        mimic = f'<mimic joint="{LEFT_FINGER_JOINT}" multiplier="1" offset="0"/>' if side == "right" else ""
        parts += [
            _link(f"{side}_finger", body),
            f'<joint name="{joint}" type="prismatic"><parent link="{GRIPPER_LINK}"/><child link="{side}_finger"/>'
            f'<origin xyz="0 0 0" rpy="0 0 0"/><axis xyz="0 {_num(-sign)} 0"/>'
            f'<limit lower="0" upper="{_num(FINGER_TRAVEL_M)}" effort="{_num(FINGER_FORCE_N)}" '
            f'velocity="{_num(FINGER_SPEED_MPS)}"/>{mimic}</joint>',
        ]
    for cam in cameras:
        if cam.parent not in (BASE_LINK, FLANGE_LINK):
            raise ValueError(f"camera {cam.name!r}: parent must be {BASE_LINK!r} or {FLANGE_LINK!r}, "
                             f"got {cam.parent!r}")
        T = _transform(quat_to_matrix(np.asarray(cam.quat_wxyz, dtype=float)), cam.pos_m)
        frame = camera_frame_name(cam.name)
        parts += [_link(frame), _fixed_joint(f"{frame}_joint", cam.parent, frame, T)]
    body = "\n  ".join(p for p in parts)
    return f'<?xml version="1.0"?>\n<robot name={quoteattr(robot_name)}>\n  {body}\n</robot>\n'


# --- configuration files ------------------------------------------------------------------
def flange_T_tcp_from_robot_yaml(path: str | Path) -> np.ndarray:
    """4x4 flange -> TCP from ``robot.tcp_offset_m_rad`` (x y z, rotation vector) of config/robot.yaml."""
    robot = read_yaml(path).get("robot") or {}
    offset = robot.get("tcp_offset_m_rad", (0.0, 0.0, DEFAULT_TCP_Z_M, 0.0, 0.0, 0.0))
    check_finite_vector(f"{Path(path).name}: robot.tcp_offset_m_rad", offset, 6)
    return pose6_to_matrix(offset)


def cameras_from_yaml(path: str | Path) -> tuple[CameraMount, ...]:
    """Camera mounts of config/cameras.yaml (``mount: world`` -> base, ``mount: flange`` -> flange)."""
    cams = read_yaml(path).get("cameras") or {}
    out = []
    for name, cam in cams.items():
        mount = cam.get("mount")
        if mount not in ("world", "flange"):
            raise ValueError(f"{Path(path).name}: cameras.{name}.mount must be 'world' or 'flange', got {mount!r}")
        ext = cam.get("extrinsics") or {}
        pos, quat = ext.get("pos_m", ()), ext.get("quat_wxyz", ())
        check_finite_vector(f"{Path(path).name}: cameras.{name}.extrinsics.pos_m", pos, 3)
        check_finite_vector(f"{Path(path).name}: cameras.{name}.extrinsics.quat_wxyz", quat, 4)
        quat = np.asarray(quat, dtype=float)
        x, y, z = (float(v) for v in pos)
        w, qx, qy, qz = (float(v) for v in quat / np.linalg.norm(quat))
        out.append(CameraMount(name, BASE_LINK if mount == "world" else FLANGE_LINK, (x, y, z), (w, qx, qy, qz)))
    return tuple(out)


def urdf_from_config(config_dir: str | Path, params: URParameters = UR7E) -> str:
    """The URDF for a config directory: TCP and kinematics file from robot.yaml, camera frames
    from cameras.yaml."""
    config_dir = Path(config_dir)
    cameras_yaml = config_dir / "cameras.yaml"
    cameras = cameras_from_yaml(cameras_yaml) if cameras_yaml.is_file() else ()
    robot_yaml = config_dir / "robot.yaml"
    return generate_urdf(params, flange_T_tcp_from_robot_yaml(robot_yaml), cameras,
                         joint_placements=joint_placements_from_file(robot_kinematics_file(robot_yaml)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="omnireset-urdf", description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, default=None,
                        help="directory with robot.yaml and cameras.yaml (default: the installed config)")
    parser.add_argument("--output", "-o", type=Path, default=None, help="write here instead of stdout")
    args = parser.parse_args(argv)
    config_dir = args.config_dir
    if config_dir is None:
        from omnireset_bringup import default_config_dir
        config_dir = default_config_dir()
    try:
        text = urdf_from_config(config_dir)
    except ValueError as exc:
        print(f"omnireset-urdf: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
