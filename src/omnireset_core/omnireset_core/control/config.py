"""The controller's deploy-time configuration: rate, OSC gains and safety limits, from YAML."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omnireset_core.config import check_range, load_yaml
from omnireset_core.control.osc import OscGains
from omnireset_core.control.safety import SafetyLimits


@dataclass(frozen=True)
class ControllerConfig:
    rate_hz: float = 500.0
    gains: OscGains = field(default_factory=OscGains)
    safety: SafetyLimits = field(default_factory=SafetyLimits)

    def __post_init__(self):
        check_range("ControllerConfig.rate_hz", self.rate_hz, 50.0, 1000.0)


def load_controller_config(path: str | Path) -> ControllerConfig:
    return load_yaml(ControllerConfig, path, section="controller")
