"""Cell and camera configuration: frozen dataclasses loaded from config/cell.yaml and
config/cameras.yaml; every bad value raises ValueError naming its field.

Poses are in the robot base frame b (UR DH base, z up, table top at z = 0) unless a field says
otherwise; quaternions are (w, x, y, z).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np


from omnireset_core.config import check_finite_vector, check_int, check_positive, check_range, from_dict, read_yaml
from omnireset_core.kinematics.calibration import joint_placements_from_file, robot_kinematics_file

CONFIG_DIR_ENV = "OMNIRESET_CONFIG_DIR"
ROBOTIQ_FORCE_RANGE_N = (20.0, 235.0)
ROBOTIQ_SPEED_RANGE_MPS = (0.02, 0.15)
INTEGRATORS = ("implicitfast", "implicit", "Euler", "RK4")


def _check_quat(name: str, quat) -> None:
    check_finite_vector(name, quat, 4)
    if not math.isclose(math.sqrt(sum(float(v) ** 2 for v in quat)), 1.0, abs_tol=1e-4):
        raise ValueError(f"{name} must be a unit quaternion (w, x, y, z), got {quat!r}")


def _check_vector_min(name: str, value, length: int, low: float) -> None:
    check_finite_vector(name, value, length)
    if any(float(v) < low for v in value):
        raise ValueError(f"{name} must be {length} numbers >= {low}, got {value!r}")


@dataclass(frozen=True)
class PoseConfig:
    pos_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat_wxyz: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)

    def __post_init__(self):
        check_finite_vector("PoseConfig.pos_m", self.pos_m, 3)
        _check_quat("PoseConfig.quat_wxyz", self.quat_wxyz)


@dataclass(frozen=True)
class PhysicsConfig:
    timestep_s: float = 0.002  # 500 Hz; 1/120 s is also supported (see README of the package)
    control_period_s: float = 0.002  # one TwinRobot command advances this much simulated time
    integrator: str = "implicitfast"
    impratio: float = 10.0  # friction-to-normal impedance ratio (elliptic cones): less grasp slip
    solver_iterations: int = 50
    table_friction: float = 0.6

    def __post_init__(self):
        check_range("PhysicsConfig.timestep_s", self.timestep_s, 1e-4, 0.02)
        check_range("PhysicsConfig.control_period_s", self.control_period_s, 1e-4, 0.1)
        steps = self.control_period_s / self.timestep_s
        if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
            raise ValueError(
                f"PhysicsConfig.control_period_s ({self.control_period_s}) must be a whole multiple of "
                f"timestep_s ({self.timestep_s})"
            )
        if self.integrator not in INTEGRATORS:
            raise ValueError(f"PhysicsConfig.integrator must be one of {INTEGRATORS}, got {self.integrator!r}")
        check_positive("PhysicsConfig.impratio", self.impratio)
        check_int("PhysicsConfig.solver_iterations", self.solver_iterations, 1)
        check_range("PhysicsConfig.table_friction", self.table_friction, 0.0, 5.0)

    @property
    def substeps(self) -> int:
        return int(round(self.control_period_s / self.timestep_s))


@dataclass(frozen=True)
class ArmConfig:
    armature_kgm2: tuple[float, ...] = (0.1, 0.1, 0.1, 0.1, 0.1, 0.1)  # reflected rotor inertia
    damping_Nms_per_rad: tuple[float, ...] = (1.0, 1.0, 1.0, 0.2, 0.2, 0.2)  # viscous joint friction
    frictionloss_Nm: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # Coulomb joint friction
    motor_delay_steps: int = 0  # control periods between a torque command and its effect
    # The robot's own kinematics (a ur_calibration YAML), '' = the nominal DH table. load_cell_config
    # takes it from robot.yaml's robot.kinematics_file beside cell.yaml: one file for the twin,
    # the controller and the URDF.
    kinematics_file: str = ""
    # Joint-space hold (the UR's own position control after hold_position()).
    hold_kp_Nm_per_rad: tuple[float, ...] = (3000.0, 3000.0, 3000.0, 300.0, 300.0, 300.0)
    hold_kd_Nms_per_rad: tuple[float, ...] = (150.0, 150.0, 150.0, 15.0, 15.0, 15.0)
    # Tool pointing down, tcp at (0.45, 0, 0.25) m in frame b.
    home_q_rad: tuple[float, ...] = (2.8409, -1.6981, 1.9021, -1.7748, -1.5708, -1.8715)

    def __post_init__(self):
        _check_vector_min("ArmConfig.armature_kgm2", self.armature_kgm2, 6, 0.0)
        _check_vector_min("ArmConfig.damping_Nms_per_rad", self.damping_Nms_per_rad, 6, 0.0)
        _check_vector_min("ArmConfig.frictionloss_Nm", self.frictionloss_Nm, 6, 0.0)
        check_int("ArmConfig.motor_delay_steps", self.motor_delay_steps, 0, 10)
        check_finite_vector("ArmConfig.hold_kp_Nm_per_rad", self.hold_kp_Nm_per_rad, 6, positive=True)
        check_finite_vector("ArmConfig.hold_kd_Nms_per_rad", self.hold_kd_Nms_per_rad, 6, positive=True)
        check_finite_vector("ArmConfig.home_q_rad", self.home_q_rad, 6)
        if not isinstance(self.kinematics_file, str):
            raise ValueError(f"ArmConfig.kinematics_file must be a path string, got {self.kinematics_file!r}")

    def joint_placements(self) -> np.ndarray | None:
        """The kinematic chain of ``kinematics_file`` for ``URKinematics`` and the MJCF; None: nominal."""
        return joint_placements_from_file(self.kinematics_file)


@dataclass(frozen=True)
class GripperConfig:
    grip_force_N: float = 100.0  # Robotiq 2F-85 force setting, 20..235 N
    finger_speed_mps: float = 0.1  # free closing speed of each finger, 20..150 mm/s
    pad_friction: float = 1.5  # silicone pads
    # The fingers are driven through a non-backdrivable screw: the motor's rotor inertia reflects
    # as a large mass on each finger. It also keeps the soft contact penetration at the pads
    # small (MuJoCo's rest penetration scales with force / effective mass).
    drive_reflected_mass_kg: float = 2.0

    def __post_init__(self):
        check_range("GripperConfig.grip_force_N", self.grip_force_N, *ROBOTIQ_FORCE_RANGE_N)
        check_range("GripperConfig.drive_reflected_mass_kg", self.drive_reflected_mass_kg, 0.0, 100.0)
        check_range("GripperConfig.finger_speed_mps", self.finger_speed_mps, *ROBOTIQ_SPEED_RANGE_MPS)
        check_range("GripperConfig.pad_friction", self.pad_friction, 0.1, 5.0)


@dataclass(frozen=True)
class PegConfig:
    """Square peg; frame at the bottom-face centre, z along its length."""

    side_m: float = 0.020
    length_m: float = 0.080
    mass_kg: float = 0.050
    friction: float = 0.6
    initial_pose_b: PoseConfig = PoseConfig((0.45, 0.10, 0.0))

    def __post_init__(self):
        check_range("PegConfig.side_m", self.side_m, 0.005, 0.06)
        check_range("PegConfig.length_m", self.length_m, 0.03, 0.15)
        check_range("PegConfig.mass_kg", self.mass_kg, 0.005, 1.0)
        check_range("PegConfig.friction", self.friction, 0.05, 3.0)


@dataclass(frozen=True)
class HoleConfig:
    """Fixture of four boxes around a square opening; frame at the opening's bottom centre."""

    clearance_m: float = 0.001  # opening side minus peg side (about 0.5 mm per side)
    depth_m: float = 0.040
    outer_side_m: float = 0.080
    friction: float = 0.6
    pose_b: PoseConfig = PoseConfig((0.45, -0.10, 0.0))

    def __post_init__(self):
        check_range("HoleConfig.clearance_m", self.clearance_m, 0.0002, 0.01)
        check_range("HoleConfig.depth_m", self.depth_m, 0.01, 0.1)
        check_range("HoleConfig.outer_side_m", self.outer_side_m, 0.03, 0.3)
        check_range("HoleConfig.friction", self.friction, 0.05, 3.0)


@dataclass(frozen=True)
class CellConfig:
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    arm: ArmConfig = field(default_factory=ArmConfig)
    gripper: GripperConfig = field(default_factory=GripperConfig)
    peg: PegConfig = field(default_factory=PegConfig)
    hole: HoleConfig = field(default_factory=HoleConfig)

    def __post_init__(self):
        for name, cls in (("physics", PhysicsConfig), ("arm", ArmConfig), ("gripper", GripperConfig),
                          ("peg", PegConfig), ("hole", HoleConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"CellConfig.{name} must be a mapping of {cls.__name__} fields")
        if self.hole.outer_side_m <= self.peg.side_m + self.hole.clearance_m + 0.01:
            raise ValueError(
                f"HoleConfig.outer_side_m ({self.hole.outer_side_m}) leaves walls thinner than 5 mm "
                f"around a {self.peg.side_m + self.hole.clearance_m} m opening"
            )
        if self.peg.length_m < self.hole.depth_m + 0.03:
            raise ValueError(
                f"PegConfig.length_m ({self.peg.length_m}) must exceed HoleConfig.depth_m by 30 mm "
                "so the gripper can hold it while inserted"
            )


@dataclass(frozen=True)
class CameraConfig:
    """One pinhole camera.

    Extrinsics are the pose of the optical frame (x right, y down, z forward along the view
    direction) in its mount frame: b for ``mount: world``, the flange (tool0) for ``mount: flange``.
    """

    name: str
    mount: str
    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    pos_m: tuple[float, float, float]
    quat_wxyz: tuple[float, float, float, float]
    rate_hz: float = 10.0
    near_m: float = 0.01
    far_m: float = 5.0

    def __post_init__(self):
        where = f"CameraConfig[{self.name}]"
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"CameraConfig.name must be an identifier, got {self.name!r}")
        if self.mount not in ("world", "flange"):
            raise ValueError(f"{where}.mount must be 'world' or 'flange', got {self.mount!r}")
        for name in ("width_px", "height_px"):
            check_int(f"{where}.{name}", getattr(self, name), 8, 4096)
        check_positive(f"{where}.fx_px", self.fx_px)
        check_positive(f"{where}.fy_px", self.fy_px)
        check_range(f"{where}.cx_px", self.cx_px, 0.0, float(self.width_px))
        check_range(f"{where}.cy_px", self.cy_px, 0.0, float(self.height_px))
        check_finite_vector(f"{where}.pos_m", self.pos_m, 3)
        _check_quat(f"{where}.quat_wxyz", self.quat_wxyz)
        check_range(f"{where}.rate_hz", self.rate_hz, 0.1, 120.0)
        check_positive(f"{where}.near_m", self.near_m)
        if not isinstance(self.far_m, (int, float)) or not self.far_m > self.near_m:
            raise ValueError(f"{where}.far_m must exceed near_m ({self.near_m}), got {self.far_m!r}")

    def resized(self, height_px: int, width_px: int) -> CameraConfig:
        """The same camera at another resolution: focal lengths and principal point scale with
        the image, so the field of view and the picture's content stay the same."""
        sx, sy = width_px / self.width_px, height_px / self.height_px
        return replace(self, width_px=width_px, height_px=height_px, fx_px=self.fx_px * sx, fy_px=self.fy_px * sy,
                       cx_px=self.cx_px * sx, cy_px=self.cy_px * sy)

    @property
    def fovy_deg(self) -> float:
        """Vertical field of view of the pinhole with focal length fy."""
        return math.degrees(2.0 * math.atan(0.5 * self.height_px / self.fy_px))


@dataclass(frozen=True)
class CamerasConfig:
    cameras: tuple[CameraConfig, ...]

    def __post_init__(self):
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise ValueError(f"CamerasConfig.cameras has duplicate names: {names}")

    def __getitem__(self, name: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"no camera named {name!r}; have {self.names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)


def config_dir() -> Path:
    """$OMNIRESET_CONFIG_DIR, else the first ``config/`` holding cell.yaml above this module
    (source tree, or the workspace's install/) or above the working directory."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env)
    for start in (Path(__file__).resolve(), Path.cwd().resolve() / "_"):
        for parent in start.parents:
            if (parent / "config" / "cell.yaml").is_file():
                return parent / "config"
    raise ValueError(f"cannot find config/cell.yaml above {__file__} or the working directory; set {CONFIG_DIR_ENV}")


def cell_config_from_dict(data: dict, where: str = "cell") -> CellConfig:
    try:
        return from_dict(CellConfig, data, where=where)
    except TypeError as exc:  # wrong field types reaching a constructor
        raise ValueError(f"{where}: {exc}") from None


def load_cell_config(path: str | Path | None = None, dynamics: str | Path | None = None) -> CellConfig:
    """cell.yaml (default: the workspace's); ``dynamics``: a file with an ``arm:`` section (e.g. the
    joint dynamics identified by ``omnireset-train sysid-identify``) whose fields replace the cell's."""
    path = Path(path) if path is not None else config_dir() / "cell.yaml"
    data = read_yaml(path)
    arm = dict(data.get("arm") or {})
    own = arm.get("kinematics_file")
    if isinstance(own, str) and own:  # a cell.yaml of its own robot: relative to cell.yaml
        arm["kinematics_file"] = own = str((path.parent / own).resolve())
    robots = robot_kinematics_file(path.parent / "robot.yaml")
    if robots and own and robots != own:
        raise ValueError(f"{path.name}: arm.kinematics_file {own} and robot.yaml's robot.kinematics_file {robots} "
                         "name different files; name the robot's calibration in robot.yaml only")
    if robots:
        arm["kinematics_file"] = robots
    data = {**data, "arm": arm} if arm else data
    if dynamics is not None:
        overlay = read_yaml(dynamics, "joint dynamics")
        if set(overlay) != {"arm"} or not isinstance(overlay["arm"], dict):
            raise ValueError(f"{dynamics}: expected one 'arm:' mapping of ArmConfig fields, got {sorted(overlay)}")
        data = {**data, "arm": {**(data.get("arm") or {}), **overlay["arm"]}}
    return cell_config_from_dict(data, where=path.name if dynamics is None else f"{path.name} + {Path(dynamics).name}")


def cameras_config_from_dict(data: dict, where: str = "cameras") -> CamerasConfig:
    cams = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cams, dict) or not cams:
        raise ValueError(f"{where}: 'cameras' must be a non-empty mapping of name -> camera")
    out = []
    for name, spec in cams.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: cameras.{name} must be a mapping")
        flat = {"name": name}
        for key, value in spec.items():
            if key in ("intrinsics", "extrinsics") and isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        try:
            out.append(from_dict(CameraConfig, flat, where=f"{where}:cameras.{name}"))
        except TypeError as exc:
            raise ValueError(f"{where}: cameras.{name}: {exc}") from None
    return CamerasConfig(tuple(out))


def load_cameras_config(path: str | Path | None = None) -> CamerasConfig:
    path = Path(path) if path is not None else config_dir() / "cameras.yaml"
    return cameras_config_from_dict(read_yaml(path), where=path.name)
