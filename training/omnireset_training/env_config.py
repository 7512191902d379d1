"""Environment configuration: one dataclass tree with the defaults, validated, YAML round trip."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

from omnireset_core.config import check_int, check_positive, check_range
from omnireset_core.control.osc import OscGains
from omnireset_core.spec.contract import ActionSpec
from omnireset_training.mdp.rewards import RewardParams, RewardWeights
from omnireset_training.reset_source import RESET_TYPES


def _check_interval(name: str, value, low: float = 0.0) -> None:
    if len(value) != 2 or not all(math.isfinite(v) for v in value) or not low <= value[0] <= value[1]:
        raise ValueError(f"{name} must be an interval (min, max) with {low} <= min <= max, got {value!r}")


@dataclass(frozen=True)
class RandomizationConfig:
    """Per-episode physics randomisation (drawn again at every reset of a world).

    Frictions are MuJoCo sliding coefficients; MuJoCo takes the larger of the two geoms in a
    contact (PhysX averages), so the ranges sit around the twin's nominal values instead of the
    authors' PhysX ranges (robot 0.3-1.2, insertive 1.0-2.0, receptive 0.2-0.6, table 0.3-0.6),
    which under "max" would make every peg-hole contact as sticky as the peg.
    """

    enabled: bool = True
    robot_friction: tuple[float, float] = (0.3, 1.2)  # arm and gripper links, not the pads
    pad_friction: tuple[float, float] = (1.0, 2.0)
    insertive_friction: tuple[float, float] = (0.4, 0.8)
    receptive_friction: tuple[float, float] = (0.4, 0.8)
    table_friction: tuple[float, float] = (0.3, 0.6)
    insertive_mass_kg: tuple[float, float] = (0.02, 0.2)  # absolute, as the authors
    robot_mass_scale: tuple[float, float] = (0.7, 1.3)
    osc_kp_scale: tuple[float, float] = (0.8, 1.2)  # per axis group (position, rotation); kd follows sqrt

    def __post_init__(self):
        for name in ("robot_friction", "pad_friction", "insertive_friction", "receptive_friction",
                     "table_friction", "insertive_mass_kg", "robot_mass_scale", "osc_kp_scale"):
            _check_interval(f"RandomizationConfig.{name}", getattr(self, name))


@dataclass(frozen=True)
class EnvConfig:
    num_envs: int = 256
    task: str = "peg"
    physics_dt_s: float = 1.0 / 120.0
    decimation: int = 12  # physics steps per policy step: 10 Hz policy
    episode_length_s: float = 16.0
    action: ActionSpec = field(default_factory=ActionSpec)
    # The deployment controller's gains (the core default), so the exported metadata matches
    # what the 500 Hz loop runs. The authors' stage-1 gains were kp (200 | 3), ratio (3 | 1).
    gains: OscGains = field(default_factory=OscGains)
    action_clip: float = 10.0  # raw action bound, a guard only (the policy mean stays far inside)
    reset_probabilities: dict = field(default_factory=lambda: {t: 0.25 for t in RESET_TYPES})
    rewards: RewardWeights = field(default_factory=RewardWeights)
    reward_params: RewardParams = field(default_factory=RewardParams)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    # End an episode (a failure) when the insertive object falls below this height [m] in b, i.e.
    # off the table. None: no such termination (the paper).
    insertive_min_z_m: float | None = None
    # Processes stepping the worlds (parallel_physics); 0: one per CPU core, 1: this process only.
    physics_workers: int = 0
    success_window: int = 100  # episodes per reset type in the logged success rate
    seed: int = 0

    def __post_init__(self):
        check_int("EnvConfig.num_envs", self.num_envs, 1)
        check_range("EnvConfig.physics_dt_s", self.physics_dt_s, 1e-4, 0.02)
        check_int("EnvConfig.decimation", self.decimation, 1)
        check_positive("EnvConfig.episode_length_s", self.episode_length_s)
        check_positive("EnvConfig.action_clip", self.action_clip)
        unknown = sorted(set(self.reset_probabilities) - set(RESET_TYPES))
        if unknown:
            raise ValueError(f"EnvConfig.reset_probabilities: unknown type(s) {unknown}; types are {RESET_TYPES}")
        if sum(self.reset_probabilities.values()) <= 0 or min(self.reset_probabilities.values()) < 0:
            raise ValueError(f"EnvConfig.reset_probabilities must be >= 0, not all 0: {self.reset_probabilities}")
        check_int("EnvConfig.physics_workers", self.physics_workers, 0)

    @property
    def step_dt_s(self) -> float:
        return self.physics_dt_s * self.decimation

    @property
    def max_episode_length(self) -> int:
        return int(round(self.episode_length_s / self.step_dt_s))

    @property
    def workers(self) -> int:
        """Physics worker processes for ``num_envs`` worlds (at most one per world)."""
        return min(self.num_envs, self.physics_workers or (os.cpu_count() or 1))

    def to_dict(self) -> dict:
        return asdict(self)
