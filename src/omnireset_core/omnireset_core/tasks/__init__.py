"""Task definitions as data: the paper's three user inputs plus success thresholds and variants."""
from omnireset_core.tasks.definition import (
    Pose,
    SuccessThresholds,
    TaskDefinition,
    Variant,
    available_tasks,
    load_task,
)
from omnireset_core.tasks.success import assembly_error, goal_reached, is_assembled

__all__ = [
    "Pose",
    "SuccessThresholds",
    "TaskDefinition",
    "Variant",
    "assembly_error",
    "available_tasks",
    "goal_reached",
    "is_assembled",
    "load_task",
]
