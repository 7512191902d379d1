"""Reward terms ``<quantity>_<kernel>(state, **params) -> (N,)``, unscaled; weights live in
``RewardWeights`` (the paper's appendix A.1). The total is dt * sum(weight * term), as Isaac Lab's
reward manager does, so the weights mean "per second".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from omnireset_core.config import check_positive
from omnireset_core.tasks import TaskDefinition, assembly_error, is_assembled
from omnireset_training.mdp.state import CellState, insertive_in_receptive


def action_l2(s: CellState) -> torch.Tensor:
    return s.action.square().sum(-1)


def action_rate_l2(s: CellState) -> torch.Tensor:
    return (s.action - s.last_action).square().sum(-1)


def joint_vel_l2(s: CellState) -> torch.Tensor:
    return s.qd_arm_radps.square().sum(-1)


def abnormal_joint_speed_indicator(s: CellState, limit_factor: float = 2.0) -> torch.Tensor:
    """1 where any arm joint is faster than ``limit_factor`` x its speed limit."""
    too_fast = s.qd_arm_radps.abs() > limit_factor * s.max_joint_speed_radps
    return too_fast.any(-1).to(s.qd_arm_radps.dtype)


def reaching_tanh(s: CellState, std_m: float = 1.0) -> torch.Tensor:
    """1 - tanh(|p_tcp - p_insertive| / std): TCP to the insertive object's frame origin."""
    dist = torch.linalg.vector_norm(s.tcp_pos_b_m - s.insertive_pos_b_m, dim=-1)
    return 1.0 - torch.tanh(dist / std_m)


def assembly_distance_exp(s: CellState, task: TaskDefinition, pos_scale_m: float = 1.0,
                          tilt_scale_rad: float = 1.0) -> torch.Tensor:
    """mean(exp(-(|roll| + |pitch|) / tilt_scale), exp(-|dxyz| / pos_scale)) between the assembled
    frames, best goal pose. The paper's scales are 1 m / 1 rad."""
    pos_rcv, quat_rcv = insertive_in_receptive(s)
    values = []
    for goal in task.goal_poses:
        pos_err, tilt = assembly_error(pos_rcv, quat_rcv, goal)
        values.append(0.5 * (torch.exp(-tilt / tilt_scale_rad) + torch.exp(-pos_err / pos_scale_m)))
    return torch.stack(values).amax(0)


def success_indicator(s: CellState, task: TaskDefinition) -> torch.Tensor:
    """The core's success test (position and tilt thresholds, yaw ignored)."""
    pos_rcv, quat_rcv = insertive_in_receptive(s)
    return is_assembled(pos_rcv, quat_rcv, task.goal_poses, task.success).to(s.q_arm_rad.dtype)


@dataclass(frozen=True)
class RewardWeights:
    """Paper appendix A.1; multiplied by the policy period (0.1 s) when summed."""

    action_l2: float = -1e-4
    action_rate_l2: float = -1e-3
    joint_vel_l2: float = -1e-2
    abnormal_joint_speed: float = -100.0
    reaching: float = 0.1
    assembly_distance: float = 0.1
    success: float = 1.0


@dataclass(frozen=True)
class RewardParams:
    reaching_std_m: float = 1.0
    abnormal_speed_factor: float = 2.0  # x the joint speed limits
    assembly_pos_scale_m: float = 1.0  # length of the assembly kernel exp(-|dxyz| / scale)
    assembly_tilt_scale_rad: float = 1.0

    def __post_init__(self):
        for name in ("reaching_std_m", "abnormal_speed_factor", "assembly_pos_scale_m", "assembly_tilt_scale_rad"):
            check_positive(f"RewardParams.{name}", getattr(self, name))


def reward_terms(s: CellState, task: TaskDefinition, params: RewardParams = RewardParams()) -> dict[str, torch.Tensor]:
    """Every unscaled term by its weight name, each (N,)."""
    return {
        "action_l2": action_l2(s),
        "action_rate_l2": action_rate_l2(s),
        "joint_vel_l2": joint_vel_l2(s),
        "abnormal_joint_speed": abnormal_joint_speed_indicator(s, params.abnormal_speed_factor),
        "reaching": reaching_tanh(s, params.reaching_std_m),
        "assembly_distance": assembly_distance_exp(s, task, params.assembly_pos_scale_m,
                                                   params.assembly_tilt_scale_rad),
        "success": success_indicator(s, task),
    }


def total_reward(terms: dict[str, torch.Tensor], weights: RewardWeights, dt_s: float) -> torch.Tensor:
    w = asdict(weights)
    return dt_s * sum(w[name] * value for name, value in terms.items())
