"""Scripted multi-step schedules (e.g. four-leg table assembly) run by a pure, tick-driven scheduler.

Three layers, each importing only the ones before it: ``plan`` (steps, schedules, outcomes, YAML
loading), ``runner`` (the ``StepRunner`` protocol the scheduler drives), ``scheduler``.
"""
from omnireset_core.scheduling.plan import (
    Schedule,
    ScheduleStep,
    StepOutcome,
    StepStatus,
    load_schedule,
)
from omnireset_core.scheduling.runner import StepRunner, task_step_validator
from omnireset_core.scheduling.scheduler import (
    AttemptReport,
    RecoveryHook,
    ScheduleReport,
    Scheduler,
    SchedulerState,
    StepReport,
)

__all__ = [
    "AttemptReport",
    "RecoveryHook",
    "Schedule",
    "ScheduleReport",
    "ScheduleStep",
    "Scheduler",
    "SchedulerState",
    "StepOutcome",
    "StepReport",
    "StepRunner",
    "StepStatus",
    "load_schedule",
    "task_step_validator",
]
