"""The observation/action contract shared by training, export and deployment."""
from omnireset_core.spec.contract import (
    ACTION_DIM,
    QUAT_ORDER,
    SPEC_VERSION,
    ActionSpec,
    ObservationSpec,
    ObservationTerm,
    default_actor_observation,
)

__all__ = [
    "ACTION_DIM",
    "QUAT_ORDER",
    "SPEC_VERSION",
    "ActionSpec",
    "ObservationSpec",
    "ObservationTerm",
    "default_actor_observation",
]
