"""Runtime supervision of a running policy: stuck detection and input watchdogs (pure, no ROS)."""
from omnireset_core.supervision.stuck import (
    StuckConfig,
    StuckDetector,
    StuckReport,
    SupervisorDecision,
    SupervisorMode,
)
from omnireset_core.supervision.watchdog import (
    NonFiniteGuard,
    StaleInput,
    StalenessWatchdog,
    non_finite_problem,
)

__all__ = [
    "NonFiniteGuard",
    "StaleInput",
    "StalenessWatchdog",
    "StuckConfig",
    "StuckDetector",
    "StuckReport",
    "SupervisorDecision",
    "SupervisorMode",
    "non_finite_problem",
]
