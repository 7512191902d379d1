"""Reset-generation settings: frozen dataclasses whose defaults are the paper's values (see
RESEARCH notes in the docs), validated on construction, loadable from YAML.

Positions in metres in frame b (robot base, table top at z = 0), angles in radians.
End-effector orientation of the reaching resets: the approach axis (tcp z) is
Rz(yaw) Ry(pitch) x_b, so pitch = pi/2 points straight down; at (pitch, yaw) = (pi/2, pi) the tcp
frame is (x_b, -y_b, -z_b) and the fingers close along y_b.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from omnireset_core.config import check_int, check_positive, check_range, from_dict, read_yaml

RESET_TYPES = ("reaching", "near_object", "stable_grasp", "near_goal")
RESOLVED_CONFIG_NAME = "generator_config.yaml"


def _check_interval(name: str, value, low: float = -math.inf, high: float = math.inf) -> None:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair [low, high], got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and low <= lo <= hi <= high):
        raise ValueError(f"{name} must be a finite pair with {low} <= low <= high <= {high}, got {value!r}")


def _check_probability(name: str, value) -> None:
    check_range(name, value, 0.0, 1.0)


def _check_optional_positive(name: str, value) -> None:
    if value is not None:
        check_positive(name, value)


@dataclass(frozen=True)
class PhysicsSettings:
    """How candidates are settled. 2 ms keeps the pad squeeze penetration <= 0.4 mm (the twin's
    stability notes), inside the 0.5 mm robot-object bound; 1/120 s does not."""

    timestep_s: float = 0.002
    settle_s: float = 2.0  # every candidate is simulated this long before the checks
    policy_period_s: float = 0.1  # 10 Hz policy: the stillness window is counted in these
    batch_size: int = 256  # candidates per threaded rollout
    num_threads: int = 0  # 0: one per CPU core

    def __post_init__(self):
        check_range("PhysicsSettings.timestep_s", self.timestep_s, 1e-4, 0.02)
        check_range("PhysicsSettings.settle_s", self.settle_s, 0.1, 30.0)
        check_range("PhysicsSettings.policy_period_s", self.policy_period_s, self.timestep_s, 1.0)
        check_int("PhysicsSettings.batch_size", self.batch_size, 1)
        check_int("PhysicsSettings.num_threads", self.num_threads, 0)


@dataclass(frozen=True)
class ValiditySettings:
    """Checks on every settled candidate (penetrations are contact depths in m)."""

    max_joint_speed_factor: float = 2.0  # |qdot| < factor x the arm's speed limits
    max_tilt_from_down_rad: float = math.radians(60.0)  # tcp z within this of -z_b
    still_policy_steps: int = 5  # still at the last this many policy steps
    still_lin_speed_mps: float = 0.01  # insertive object
    still_ang_speed_radps: float = 0.1
    still_joint_speed_radps: float = 0.05  # arm joints
    max_robot_insertive_penetration_m: float = 5e-4
    max_robot_receptive_penetration_m: float = 0.0  # the robot may not touch the fixture
    max_insertive_receptive_penetration_m: float = 1e-3
    max_table_penetration_m: float = 1e-3  # robot or insertive object vs the table
    below_table_tolerance_m: float = 1e-3  # lowest point of the object / robot geoms
    max_spawn_penetration_m: float = 1e-3  # candidates deeper than this are not simulated

    def __post_init__(self):
        check_range("ValiditySettings.max_joint_speed_factor", self.max_joint_speed_factor, 0.01, 100.0)
        check_range("ValiditySettings.max_tilt_from_down_rad", self.max_tilt_from_down_rad, 0.0, math.pi)
        check_int("ValiditySettings.still_policy_steps", self.still_policy_steps, 1)
        for name in ("still_lin_speed_mps", "still_ang_speed_radps", "still_joint_speed_radps"):
            check_positive(f"ValiditySettings.{name}", getattr(self, name))
        for name in ("max_robot_insertive_penetration_m", "max_robot_receptive_penetration_m",
                     "max_insertive_receptive_penetration_m", "max_table_penetration_m",
                     "below_table_tolerance_m", "max_spawn_penetration_m"):
            check_range(f"ValiditySettings.{name}", getattr(self, name), 0.0, 0.05)


@dataclass(frozen=True)
class ReceptiveSettings:
    """Where the fixture stands (on the table, z = 0), for every reset type."""

    x_m: tuple[float, float] = (0.3, 0.55)
    y_m: tuple[float, float] = (-0.1, 0.3)
    yaw_rad: tuple[float, float] = (-math.pi / 12, math.pi / 12)

    def __post_init__(self):
        _check_interval("ReceptiveSettings.x_m", self.x_m)
        _check_interval("ReceptiveSettings.y_m", self.y_m)
        _check_interval("ReceptiveSettings.yaw_rad", self.yaw_rad, -math.pi, math.pi)


@dataclass(frozen=True)
class ReachingSettings:
    """Object dropped from a random pose; tcp at a random pose reached by IK."""

    object_x_m: tuple[float, float] = (0.3, 0.55)
    object_y_m: tuple[float, float] = (-0.1, 0.5)
    object_z_m: tuple[float, float] = (0.0, 0.3)
    ee_x_m: tuple[float, float] = (0.3, 0.7)
    ee_y_m: tuple[float, float] = (-0.4, 0.4)
    ee_z_m: tuple[float, float] = (0.0, 0.5)
    ee_pitch_rad: tuple[float, float] = (math.pi / 4, 3 * math.pi / 4)
    ee_yaw_rad: tuple[float, float] = (math.pi / 2, 3 * math.pi / 2)
    gripper_closed_prob: float = 0.5
    max_drift_m: float | None = None  # the object falls to rest: any drift

    def __post_init__(self):
        for name in ("object_x_m", "object_y_m", "object_z_m", "ee_x_m", "ee_y_m", "ee_z_m"):
            _check_interval(f"ReachingSettings.{name}", getattr(self, name))
        _check_interval("ReachingSettings.ee_pitch_rad", self.ee_pitch_rad, 0.0, math.pi)
        _check_interval("ReachingSettings.ee_yaw_rad", self.ee_yaw_rad, -2 * math.pi, 2 * math.pi)
        _check_probability("ReachingSettings.gripper_closed_prob", self.gripper_closed_prob)
        _check_optional_positive("ReachingSettings.max_drift_m", self.max_drift_m)


@dataclass(frozen=True)
class NearObjectSettings:
    """Object at a resting pose of the reaching set; tcp at a dataset grasp, perturbed."""

    pos_perturb_m: float = 0.02  # uniform +- per axis, tcp frame
    rot_perturb_rad: float = math.pi / 16  # uniform +- per rotation-vector axis, tcp frame
    gripper_closed_prob: float = 0.5
    max_drift_m: float | None = 0.01

    def __post_init__(self):
        check_range("NearObjectSettings.pos_perturb_m", self.pos_perturb_m, 0.0, 0.5)
        check_range("NearObjectSettings.rot_perturb_rad", self.rot_perturb_rad, 0.0, math.pi)
        _check_probability("NearObjectSettings.gripper_closed_prob", self.gripper_closed_prob)
        _check_optional_positive("NearObjectSettings.max_drift_m", self.max_drift_m)


@dataclass(frozen=True)
class StableGraspSettings:
    """Object anywhere in the air, held by an exact dataset grasp, gripper closed."""

    object_x_m: tuple[float, float] = (0.3, 0.55)
    object_y_m: tuple[float, float] = (-0.1, 0.5)
    object_z_m: tuple[float, float] = (0.0, 0.3)
    max_drift_m: float | None = 0.05

    def __post_init__(self):
        for name in ("object_x_m", "object_y_m", "object_z_m"):
            _check_interval(f"StableGraspSettings.{name}", getattr(self, name))
        _check_optional_positive("StableGraspSettings.max_drift_m", self.max_drift_m)


@dataclass(frozen=True)
class NearGoalSettings:
    """Object at a partial-assembly offset from the goal; tcp at a dataset grasp, perturbed."""

    pos_perturb_m: float = 0.01
    rot_perturb_rad: float = math.pi / 32
    gripper_closed_prob: float = 0.5
    max_drift_m: float | None = 0.025
    assembled_fraction: float = 0.5  # of each shard: already assembled within ...
    assembled_threshold_scale: float = 1.5  # ... this multiple of the task's success thresholds

    def __post_init__(self):
        check_range("NearGoalSettings.pos_perturb_m", self.pos_perturb_m, 0.0, 0.5)
        check_range("NearGoalSettings.rot_perturb_rad", self.rot_perturb_rad, 0.0, math.pi)
        _check_probability("NearGoalSettings.gripper_closed_prob", self.gripper_closed_prob)
        _check_optional_positive("NearGoalSettings.max_drift_m", self.max_drift_m)
        _check_probability("NearGoalSettings.assembled_fraction", self.assembled_fraction)
        check_range("NearGoalSettings.assembled_threshold_scale", self.assembled_threshold_scale, 0.1, 100.0)


@dataclass(frozen=True)
class GraspSettings:
    """Antipodal grasps of the free-floating 2F-85 on the insertive object (gravity off, close,
    then gravity on and small random wrenches)."""

    target_count: int = 1000
    num_surface_samples: int = 2000  # antipodal point pairs
    num_orientations: int = 16  # approach directions about each grasp axis
    num_standoffs: int = 32
    standoff_m: tuple[float, float] = (-0.035, 0.015)  # object centre beyond (+) / behind (-) the tcp
    top_bias: float = 1.0  # surface density x (1 + top_bias * normalised height)
    width_margin_m: float = 0.01  # object width <= stroke - margin: >= 5 mm clearance per open pad
    timestep_s: float = 0.002
    close_s: float = 1.0  # gravity off
    shake_s: float = 1.0  # gravity on + random wrenches
    wrench_period_s: float = 0.05  # wrench resampled this often
    shake_force_N: float = 0.5  # uniform +- per axis
    shake_torque_Nm: float = 0.01
    stable_steps: int = 5  # physics steps at the end that must be still
    max_stable_speed_mps: float = 0.01
    max_slip_m: float = 0.005  # object motion in the tcp frame during the shake
    max_slip_rad: float = 0.05
    max_penetration_m: float = 5e-4
    batch_size: int = 256
    max_candidates: int = 200_000

    def __post_init__(self):
        for name in ("target_count", "num_surface_samples", "num_orientations", "num_standoffs", "stable_steps",
                     "batch_size", "max_candidates"):
            check_int(f"GraspSettings.{name}", getattr(self, name), 1)
        _check_interval("GraspSettings.standoff_m", self.standoff_m, -0.2, 0.2)
        check_range("GraspSettings.top_bias", self.top_bias, 0.0, 100.0)
        check_range("GraspSettings.width_margin_m", self.width_margin_m, 0.0, 0.05)
        check_range("GraspSettings.timestep_s", self.timestep_s, 1e-4, 0.02)
        for name in ("close_s", "shake_s", "wrench_period_s"):
            check_range(f"GraspSettings.{name}", getattr(self, name), self.timestep_s, 30.0)
        for name in ("shake_force_N", "shake_torque_Nm"):
            check_range(f"GraspSettings.{name}", getattr(self, name), 0.0, 100.0)
        for name in ("max_stable_speed_mps", "max_slip_m", "max_slip_rad", "max_penetration_m"):
            check_positive(f"GraspSettings.{name}", getattr(self, name))


@dataclass(frozen=True)
class PartialAssemblySettings:
    """Insertive object pushed out of its assembled pose by random wrenches (fixture fixed, no
    robot, gravity off, tiny mass, no friction); kept poses are collision-free and new."""

    target_count: int = 5000
    timestep_s: float = 0.002  # 1/120 s lets the 1 g object sink ~1 mm into soft contacts
    episode_s: float = 4.0
    wrench_period_s: float = 1.0 / 120.0
    force_N: float = 0.005  # uniform +- per axis: ~5 m/s^2 on the 1 g object
    # 0.005 Nm (the reference value) is ~9000 rad/s^2 on the 1 g peg (5.7e-7 kg m^2): it spins
    # out and half the poses collide; 5e-5 Nm accelerates its ends about as much as the force.
    torque_Nm: float = 5e-5
    object_mass_kg: float = 0.001
    min_separation_m: float = 1e-3  # a pose within 1 mm AND 0.01 rad of a kept one is a duplicate
    min_separation_rad: float = 0.01
    max_penetration_m: float = 1e-3
    # At most this many kept poses per episode, drawn along it at random, so the set spreads over
    # many exit paths (a reference run steps thousands of episodes at once and stops early).
    max_poses_per_episode: int = 20
    episodes_per_batch: int = 32
    max_episodes: int = 20_000

    def __post_init__(self):
        for name in ("target_count", "max_poses_per_episode", "episodes_per_batch", "max_episodes"):
            check_int(f"PartialAssemblySettings.{name}", getattr(self, name), 1)
        check_range("PartialAssemblySettings.timestep_s", self.timestep_s, 1e-4, 0.02)
        check_range("PartialAssemblySettings.episode_s", self.episode_s, self.timestep_s, 60.0)
        check_range("PartialAssemblySettings.wrench_period_s", self.wrench_period_s, self.timestep_s * 0.999, 1.0)
        for name in ("force_N", "torque_Nm"):
            check_range(f"PartialAssemblySettings.{name}", getattr(self, name), 0.0, 10.0)
        for name in ("object_mass_kg", "min_separation_m", "min_separation_rad", "max_penetration_m"):
            check_positive(f"PartialAssemblySettings.{name}", getattr(self, name))


@dataclass(frozen=True)
class ResetGenerationConfig:
    task: str = "peg"
    seed: int = 0
    states_per_type: int = 10_000
    shard_size: int = 1000
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    validity: ValiditySettings = field(default_factory=ValiditySettings)
    receptive: ReceptiveSettings = field(default_factory=ReceptiveSettings)
    reaching: ReachingSettings = field(default_factory=ReachingSettings)
    near_object: NearObjectSettings = field(default_factory=NearObjectSettings)
    stable_grasp: StableGraspSettings = field(default_factory=StableGraspSettings)
    near_goal: NearGoalSettings = field(default_factory=NearGoalSettings)
    grasps: GraspSettings = field(default_factory=GraspSettings)
    partial_assemblies: PartialAssemblySettings = field(default_factory=PartialAssemblySettings)

    def __post_init__(self):
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(f"ResetGenerationConfig.task must be a task name, got {self.task!r}")
        check_int("ResetGenerationConfig.seed", self.seed, 0)
        check_int("ResetGenerationConfig.states_per_type", self.states_per_type, 1)
        check_int("ResetGenerationConfig.shard_size", self.shard_size, 1)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("task", "seed", "states_per_type", "shard_size"):
                continue
            expected = type(f.default_factory()) if f.default_factory is not dataclasses.MISSING else None
            if expected is not None and not isinstance(value, expected):
                raise ValueError(f"ResetGenerationConfig.{f.name} must be a mapping of {expected.__name__} fields")

    def type_settings(self, reset_type: str):
        if reset_type not in RESET_TYPES:
            raise ValueError(f"unknown reset type {reset_type!r}; types are {RESET_TYPES}")
        return getattr(self, reset_type)

    def replace(self, **changes) -> "ResetGenerationConfig":
        return dataclasses.replace(self, **changes)


def config_from_dict(data: dict, where: str = "resets") -> ResetGenerationConfig:
    try:
        return from_dict(ResetGenerationConfig, data, where=where)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_config(path: str | Path | None) -> ResetGenerationConfig:
    """Defaults, or the YAML file at ``path`` (any subset of the fields)."""
    if path is None:
        return ResetGenerationConfig()
    path = Path(path)
    return config_from_dict(read_yaml(path), where=path.name)


def config_to_dict(config) -> dict:
    """Plain mapping (lists, not tuples) of a config dataclass: YAML- and JSON-safe."""

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(config))


def write_resolved_config(config: ResetGenerationConfig, folder: str | Path) -> Path:
    """The full configuration used, next to the outputs (written atomically)."""
    from omnireset_core.files import atomic_write_text

    path = Path(folder) / RESOLVED_CONFIG_NAME
    atomic_write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return path
