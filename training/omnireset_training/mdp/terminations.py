"""Termination terms ``(state / counters) -> (N,) bool``. No success termination during RL
(the policy must keep the part assembled until the time-out)."""
from __future__ import annotations

import torch

from omnireset_training.mdp.rewards import abnormal_joint_speed_indicator
from omnireset_training.mdp.state import CellState


def time_out(episode_length: torch.Tensor, max_episode_length: int) -> torch.Tensor:
    """Episode reached its length (16 s = 160 policy steps by default); a truncation, not a failure."""
    return episode_length >= max_episode_length


def abnormal_joint_speed(s: CellState, limit_factor: float = 2.0) -> torch.Tensor:
    return abnormal_joint_speed_indicator(s, limit_factor) > 0


def non_finite_state(s: CellState) -> torch.Tensor:
    """Physics blew up: treat like the abnormal-speed failure."""
    values = torch.cat((s.q_arm_rad, s.qd_arm_radps, s.insertive_pos_b_m, s.insertive_lin_vel_b_mps), -1)
    return ~torch.isfinite(values).all(-1)


def insertive_off_table(s: CellState, min_z_m: float | None) -> torch.Tensor:
    """The insertive object's origin below ``min_z_m`` in b (it fell off the table); never if None."""
    if min_z_m is None:
        return torch.zeros(s.num_envs, dtype=torch.bool, device=s.insertive_pos_b_m.device)
    return s.insertive_pos_b_m[:, 2] < min_z_m
