"""Keys, order, shapes, frames, units, history, action scale and rates: written once.

Frames: ``b`` robot base (UR DH base, z up, table top at z = 0); ``ee`` the TCP frame;
``rcv`` the receptive object's frame. Poses in observations are (x, y, z [m], rotation vector
[rad]). Quaternions, where they appear, are (w, x, y, z).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from omnireset_core.config import check_finite_vector, check_int, check_positive

SPEC_VERSION = "2"  # 2: the actor reads the finger travel
QUAT_ORDER = "wxyz"
ACTION_DIM = 7  # (dx, dy, dz, rx, ry, rz) in frame b, then the gripper value (< 0 closes)


@dataclass(frozen=True)
class ActionSpec:
    scale: tuple[float, ...] = (0.02, 0.02, 0.02, 0.02, 0.02, 0.2)  # m, m, m, rad, rad, rad per unit
    policy_rate_hz: float = 10.0
    control_rate_hz: float = 500.0
    # The gripper changes state once this many consecutive actions ask for the other state
    # (control.action.switch_gripper); 1: every action decides, as the authors.
    gripper_switch_steps: int = 1

    def __post_init__(self):
        check_finite_vector("ActionSpec.scale", self.scale, 6, positive=True)
        check_int("ActionSpec.gripper_switch_steps", self.gripper_switch_steps, 1, 100)
        check_positive("ActionSpec.policy_rate_hz", self.policy_rate_hz)
        check_positive("ActionSpec.control_rate_hz", self.control_rate_hz)


@dataclass(frozen=True)
class ObservationTerm:
    name: str
    dim: int
    description: str


@dataclass(frozen=True)
class ObservationSpec:
    terms: tuple[ObservationTerm, ...]
    history: int = 5  # steps stacked, oldest first

    @property
    def step_dim(self) -> int:
        return sum(t.dim for t in self.terms)

    @property
    def dim(self) -> int:
        return self.step_dim * self.history

    def select(self, names, history: int | None = None) -> ObservationSpec:
        """The terms ``names`` in that order (e.g. a student's proprioception); ValueError naming
        unknown ones."""
        by_name = {t.name: t for t in self.terms}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"unknown term(s) {unknown}; known {sorted(by_name)}")
        return ObservationSpec(terms=tuple(by_name[n] for n in names),
                               history=self.history if history is None else history)

    def to_dict(self) -> dict:
        return asdict(self)


def default_actor_observation() -> ObservationSpec:
    """The actor's observation of the paper (no velocities), per history step in this order."""
    return ObservationSpec(
        terms=(
            ObservationTerm("last_action", 7, "previous raw policy action"),
            ObservationTerm("joint_pos", 6, "arm joint positions [rad]"),
            ObservationTerm("finger_travel", 1, "mean travel of the two gripper fingers [m], 0 = open"),
            ObservationTerm("ee_pose_b", 6, "TCP pose in frame b"),
            ObservationTerm("insertive_pose_ee", 6, "insertive object pose in the TCP frame"),
            ObservationTerm("receptive_pose_ee", 6, "receptive object pose in the TCP frame"),
            ObservationTerm("insertive_pose_rcv", 6, "insertive object pose in the receptive frame"),
        )
    )
