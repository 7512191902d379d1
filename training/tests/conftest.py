
import pytest
import torch

from omnireset_core.kinematics.ur import UR7E
from omnireset_training.mdp.state import CellState
from omnireset_training.toy_resets import make_toy_resets


@pytest.fixture(scope="session")
def toy_resets():
    """Tiny reset datasets of the peg task in the reset generator's format (geometry + IK)."""
    return make_toy_resets(8, seed=0)


def make_state(n: int = 3, **overrides) -> CellState:
    """A CellState at rest: TCP 0.3 m above the origin pointing down, peg and hole assembled at x 0.5."""
    def rows(*values):
        return torch.tensor(values, dtype=torch.float64).expand(n, len(values)).clone()

    fields = dict(
        q_arm_rad=rows(0.0, -1.5, 1.5, -1.5, -1.5, 0.0), qd_arm_radps=torch.zeros(n, 6, dtype=torch.float64),
        tcp_pos_b_m=rows(0.0, 0.0, 0.3), tcp_quat_b_wxyz=rows(0.0, 1.0, 0.0, 0.0),
        tcp_lin_vel_b_mps=torch.zeros(n, 3, dtype=torch.float64), tcp_ang_vel_b_radps=torch.zeros(n, 3, dtype=torch.float64),
        insertive_pos_b_m=rows(0.5, 0.0, 0.0), insertive_quat_b=rows(1.0, 0.0, 0.0, 0.0),
        insertive_lin_vel_b_mps=torch.zeros(n, 3, dtype=torch.float64),
        insertive_ang_vel_b_radps=torch.zeros(n, 3, dtype=torch.float64),
        receptive_pos_b_m=rows(0.5, 0.0, 0.0), receptive_quat_b=rows(1.0, 0.0, 0.0, 0.0),
        gripper_closed=torch.zeros(n, dtype=torch.bool), finger_travel_m=torch.zeros(n, dtype=torch.float64),
        action=torch.zeros(n, 7, dtype=torch.float64), last_action=torch.zeros(n, 7, dtype=torch.float64),
        time_left_s=torch.full((n,), 16.0, dtype=torch.float64),
        max_joint_speed_radps=torch.tensor(UR7E.max_joint_speed_radps, dtype=torch.float64),
    )
    fields.update(overrides)
    return CellState(**fields)


@pytest.fixture
def state():
    return make_state()
