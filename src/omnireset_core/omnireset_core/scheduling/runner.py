"""What the scheduler drives: a ``StepRunner`` (policy + robot behind it), and
``task_step_validator``, which checks a step's task name and goal index before anything moves.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from omnireset_core.scheduling.plan import ScheduleStep, StepOutcome
from omnireset_core.tasks import TaskDefinition, load_task


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


def task_step_validator(loader: Callable[[str], TaskDefinition] = load_task) -> Callable[[ScheduleStep], None]:
    """A step check for ``Scheduler(validate_step=...)``: the task loads and has the goal index."""

    def validate(step: ScheduleStep) -> None:
        task = loader(step.task)  # raises ValueError naming an unknown task
        if step.goal_index is not None and step.goal_index >= len(task.goal_poses):
            raise ValueError(
                f"goal_index {step.goal_index} out of range: task '{step.task}' has {len(task.goal_poses)} goal pose(s)"
            )

    return validate
