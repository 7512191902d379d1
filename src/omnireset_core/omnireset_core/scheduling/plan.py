"""What a schedule is: its steps (``ScheduleStep``, ``Schedule``, read from YAML by
``load_schedule``) and how an attempt at a step ends (``StepStatus``, ``StepOutcome``).
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnireset_core.config import check_int, check_positive, check_range, from_dict, read_yaml

class StepStatus(str, enum.Enum):
    PENDING = "pending"  # not reached yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the runner gave up (or raised)
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # never run: the schedule aborted or was cancelled before it


@dataclass(frozen=True)
class StepOutcome:
    """A runner's verdict on a finished attempt: SUCCEEDED or FAILED, with a detail for the log."""

    status: StepStatus
    detail: str = ""


ON_FAILURE = ("abort", "continue")


def _check_name(field: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")


@dataclass(frozen=True)
class ScheduleStep:
    name: str
    checkpoint_path: str  # passed to the runner as written; the runner resolves relative paths
    task: str  # a task name the runner (and the validator) understands
    timeout_s: float  # per attempt
    goal_index: int | None = None  # which of the task's goal poses; None: any
    max_retries: int = 0  # extra attempts after the first
    on_failure: str | None = None  # "abort" | "continue"; None: the schedule's

    def __post_init__(self):
        cls = type(self).__name__
        _check_name(f"{cls}.name", self.name)
        _check_name(f"{cls}.checkpoint_path", self.checkpoint_path)
        _check_name(f"{cls}.task", self.task)
        check_positive(f"{cls}.timeout_s", self.timeout_s)
        if self.goal_index is not None:
            check_int(f"{cls}.goal_index", self.goal_index, 0)
        check_int(f"{cls}.max_retries", self.max_retries, 0)
        if self.on_failure is not None and self.on_failure not in ON_FAILURE:
            raise ValueError(f"{cls}.on_failure must be one of {ON_FAILURE} or null, got {self.on_failure!r}")


@dataclass(frozen=True)
class Schedule:
    name: str
    steps: tuple[ScheduleStep, ...]
    on_failure: str = "abort"  # when a step has used all its attempts
    recovery: str | None = None  # name of a hook given to the Scheduler, run after a failed attempt
    recovery_pause_s: float = 0.0  # wait after the hook before the next attempt or step

    def __post_init__(self):
        cls = type(self).__name__
        _check_name(f"{cls}.name", self.name)
        if not isinstance(self.steps, tuple) or not self.steps:
            raise ValueError(f"{cls}.steps must be a non-empty tuple of ScheduleStep")
        for i, step in enumerate(self.steps):
            if not isinstance(step, ScheduleStep):
                raise ValueError(f"{cls}.steps[{i}] must be a ScheduleStep, got {type(step).__name__}")
        names = [s.name for s in self.steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"{cls}.steps: duplicate step name(s) {dupes}")
        if self.on_failure not in ON_FAILURE:
            raise ValueError(f"{cls}.on_failure must be one of {ON_FAILURE}, got {self.on_failure!r}")
        if self.recovery is not None:
            _check_name(f"{cls}.recovery", self.recovery)
        check_range(f"{cls}.recovery_pause_s", self.recovery_pause_s, 0.0, 3600.0)

    @classmethod
    def from_mapping(cls, data: Any, where: str = "schedule") -> "Schedule":
        """YAML layout: the Schedule fields, ``steps`` as a list of step mappings, and an optional
        ``step_defaults`` mapping merged under every step."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
        top = {f.name for f in dataclasses.fields(cls)} | {"step_defaults"}
        unknown = sorted(set(data) - top)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown}; expected some of {sorted(top)}")
        step_fields = {f.name: f for f in dataclasses.fields(ScheduleStep)}
        defaults = data.get("step_defaults") or {}
        if not isinstance(defaults, dict) or set(defaults) - set(step_fields):
            raise ValueError(f"{where}: step_defaults must be a mapping of step fields {sorted(step_fields)}, "
                             f"got {defaults!r}")
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise ValueError(f"{where}: steps must be a non-empty list of step mappings")
        required = [n for n, f in step_fields.items()
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        steps = []
        for i, raw in enumerate(raw_steps):
            label = f"{where}: steps[{i}]"
            if not isinstance(raw, dict):
                raise ValueError(f"{label} must be a mapping, got {type(raw).__name__}")
            merged = {**defaults, **raw}
            missing = [n for n in required if n not in merged]
            if missing:
                raise ValueError(f"{label}: missing field(s) {missing}")
            try:
                steps.append(from_dict(ScheduleStep, merged))
            except ValueError as exc:
                raise ValueError(f"{label} ({merged.get('name')!r}): {exc}") from None
        fields = {k: v for k, v in data.items() if k not in ("steps", "step_defaults")}
        try:
            return cls(steps=tuple(steps), **fields)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        except TypeError:  # only a missing name can get here
            raise ValueError(f"{where}: missing field 'name'") from None


def load_schedule(path: str | Path) -> Schedule:
    path = Path(path)
    return Schedule.from_mapping(read_yaml(path, "schedule"), where=path.name)
