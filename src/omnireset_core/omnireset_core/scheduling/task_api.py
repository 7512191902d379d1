"""What the scheduler drives: a ``StepRunner`` (policy + robot behind it) and its outcomes.

Also two helpers tying steps to task definitions: ``goal_reached`` (the success criterion a
runner evaluates on its latest state) and ``task_step_validator`` (checks a step's task name and
goal index before anything moves).
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from omnireset_core.tasks import TaskDefinition, is_assembled, load_task

if TYPE_CHECKING:
    from omnireset_core.scheduling.schedule import ScheduleStep


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


@runtime_checkable
class StepRunner(Protocol):
    """Runs one attempt of a step at a time. Calls never block; the scheduler polls."""

    def start(self, step: ScheduleStep) -> None:
        """Begin an attempt: load ``step.checkpoint_path``, target ``step.task``/``goal_index``."""

    def is_complete(self) -> bool:
        """True once the attempt has ended: the task's success criterion holds on the latest
        state, or the runner gave up on its own (then ``result()`` says FAILED and why)."""

    def result(self) -> StepOutcome:
        """The verdict of an attempt for which ``is_complete()`` returned True."""

    def cancel(self) -> None:
        """Stop the attempt now (timeout or schedule cancelled); leave the robot safe."""


def goal_reached(task: TaskDefinition, goal_index: int | None, insertive_pos_rcv_m, insertive_quat_rcv,
                 scale: float = 1.0) -> bool:
    """The task's success criterion for one goal pose (``goal_index``) or any of them (None)."""
    goals = task.goal_poses if goal_index is None else (task.goal_poses[goal_index],)
    return bool(is_assembled(insertive_pos_rcv_m, insertive_quat_rcv, goals, task.success, scale=scale))


def task_step_validator(loader: Callable[[str], TaskDefinition] = load_task) -> Callable[[ScheduleStep], None]:
    """A step check for ``Scheduler(validate_step=...)``: the task loads and has the goal index."""

    def validate(step: ScheduleStep) -> None:
        task = loader(step.task)  # raises ValueError naming an unknown task
        if step.goal_index is not None and step.goal_index >= len(task.goal_poses):
            raise ValueError(
                f"goal_index {step.goal_index} out of range: task '{step.task}' has {len(task.goal_poses)} goal pose(s)"
            )

    return validate
