"""``CellState``: what the MDP terms read, as batched torch tensors, independent of the simulator.

Frames: b the robot base (z up, table top z = 0), ee the TCP frame. Quaternions (w, x, y, z).
Every field has a leading batch axis N (one row per environment).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from omnireset_core.rotations import pose_in_frame


@dataclass
class CellState:
    q_arm_rad: torch.Tensor  # (N, 6)
    qd_arm_radps: torch.Tensor  # (N, 6)
    tcp_pos_b_m: torch.Tensor  # (N, 3)
    tcp_quat_b_wxyz: torch.Tensor  # (N, 4)
    tcp_lin_vel_b_mps: torch.Tensor  # (N, 3)
    tcp_ang_vel_b_radps: torch.Tensor  # (N, 3)
    insertive_pos_b_m: torch.Tensor  # (N, 3) object frame origin
    insertive_quat_b: torch.Tensor  # (N, 4)
    insertive_lin_vel_b_mps: torch.Tensor  # (N, 3)
    insertive_ang_vel_b_radps: torch.Tensor  # (N, 3)
    receptive_pos_b_m: torch.Tensor  # (N, 3)
    receptive_quat_b: torch.Tensor  # (N, 4)
    gripper_closed: torch.Tensor  # (N,) bool, the commanded state
    finger_travel_m: torch.Tensor  # (N,) mean finger travel, 0 = open
    action: torch.Tensor  # (N, 7) raw action applied this step
    last_action: torch.Tensor  # (N, 7) raw action of the step before (zeros at an episode start)
    time_left_s: torch.Tensor  # (N,) until the time-out
    max_joint_speed_radps: torch.Tensor  # (6,) joint speed limits

    @property
    def num_envs(self) -> int:
        return self.q_arm_rad.shape[0]

    def to(self, dtype: torch.dtype) -> CellState:
        """Floating-point fields cast to ``dtype`` (bools stay bools)."""
        return CellState(**{f.name: (v.to(dtype) if v.is_floating_point() else v)
                            for f in fields(self) for v in (getattr(self, f.name),)})


def insertive_in_receptive(s: CellState):
    """(position [m], quaternion) of the insertive object in the receptive object's frame."""
    return pose_in_frame(s.receptive_pos_b_m, s.receptive_quat_b, s.insertive_pos_b_m, s.insertive_quat_b)
