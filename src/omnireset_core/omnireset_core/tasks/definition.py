"""A task is data: which object goes where (goal poses), where things start (workspace), and
when it counts as done (thresholds). The YAML files beside this module are the shipped tasks.

Object frames: origin at the object's bottom-face centre, z up, unless the task says otherwise.
Goal poses are the insertive object's pose in the receptive object's frame when assembled; a
task with symmetric solutions lists several.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from omnireset_core.config import check_finite_vector, check_positive, read_yaml

TASK_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Pose:
    pos_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat_wxyz: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)

    def __post_init__(self):
        check_finite_vector("Pose.pos_m", self.pos_m, 3)
        check_finite_vector("Pose.quat_wxyz", self.quat_wxyz, 4)
        if not math.isclose(math.hypot(*self.quat_wxyz), 1.0, abs_tol=1e-6):
            raise ValueError(f"Pose.quat_wxyz must be a unit quaternion, got {self.quat_wxyz}")


@dataclass(frozen=True)
class SuccessThresholds:
    max_pos_error_m: float
    max_tilt_rad: float  # |roll| + |pitch| between the assembled frames; yaw is ignored

    def __post_init__(self):
        check_positive("SuccessThresholds.max_pos_error_m", self.max_pos_error_m)
        check_positive("SuccessThresholds.max_tilt_rad", self.max_tilt_rad)


@dataclass(frozen=True)
class Variant:
    """Start distribution around the nominal placements: half-ranges (uniform +-) in frame b."""

    insertive_xy_half_range_m: tuple[float, float]
    insertive_yaw_half_range_rad: float
    receptive_xy_half_range_m: tuple[float, float]
    receptive_yaw_half_range_rad: float

    def __post_init__(self):
        for name in ("insertive_xy_half_range_m", "receptive_xy_half_range_m"):
            check_finite_vector(f"Variant.{name}", getattr(self, name), 2)
            if min(getattr(self, name)) < 0:
                raise ValueError(f"Variant.{name} must be non-negative, got {getattr(self, name)}")
        for name in ("insertive_yaw_half_range_rad", "receptive_yaw_half_range_rad"):
            if not (0.0 <= getattr(self, name) <= math.pi):
                raise ValueError(f"Variant.{name} must be within [0, pi], got {getattr(self, name)}")


@dataclass(frozen=True)
class TaskDefinition:
    name: str
    description: str
    insertive_object: str
    receptive_object: str
    goal_poses: tuple[Pose, ...]  # insertive in receptive frame, assembled
    success: SuccessThresholds
    insertive_nominal_b: Pose  # where the insertive object starts, before the variant's spread
    receptive_nominal_b: Pose
    variants: dict[str, Variant]

    def __post_init__(self):
        if not self.goal_poses:
            raise ValueError(f"TaskDefinition.goal_poses of task '{self.name}' is empty")
        if not self.variants:
            raise ValueError(f"TaskDefinition.variants of task '{self.name}' is empty")

    def variant(self, name: str) -> Variant:
        try:
            return self.variants[name]
        except KeyError:
            raise ValueError(f"task '{self.name}' has no variant '{name}'; it has {sorted(self.variants)}") from None

    @classmethod
    def from_mapping(cls, data: dict, where: str) -> "TaskDefinition":
        data = dict(data)
        try:
            data["goal_poses"] = tuple(Pose(**p) for p in data["goal_poses"])
            data["success"] = SuccessThresholds(**data["success"])
            data["insertive_nominal_b"] = Pose(**data["insertive_nominal_b"])
            data["receptive_nominal_b"] = Pose(**data["receptive_nominal_b"])
            data["variants"] = {k: Variant(**v) for k, v in data["variants"].items()}
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{where}: malformed task definition: {exc}") from None


def available_tasks() -> list[str]:
    return sorted(p.stem for p in TASK_DIR.glob("*.yaml"))


def load_task(name_or_path: str | Path) -> TaskDefinition:
    """A shipped task by name ('peg') or a task YAML file by path."""
    path = Path(name_or_path)
    if path.suffix != ".yaml":
        path = TASK_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ValueError(f"unknown task '{name_or_path}'; shipped tasks: {available_tasks()}")
    return TaskDefinition.from_mapping(read_yaml(path), where=str(path))
