"""Scripted multi-step schedules (e.g. four-leg table assembly) run by a pure, tick-driven scheduler."""
from omnireset_core.scheduling.schedule import (
    AttemptReport,
    RecoveryHook,
    Schedule,
    ScheduleReport,
    ScheduleStep,
    Scheduler,
    SchedulerState,
    StepReport,
    load_schedule,
)
from omnireset_core.scheduling.task_api import (
    StepOutcome,
    StepRunner,
    StepStatus,
    goal_reached,
    task_step_validator,
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
    "goal_reached",
    "load_schedule",
    "task_step_validator",
]
