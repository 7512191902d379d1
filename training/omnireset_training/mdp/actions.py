"""The OSC action of both backends: the core's law with per-environment gains, batched in torch."""
from __future__ import annotations

import torch

from omnireset_core.control.osc import clip_pose_error


def osc_gains(kp_nominal: torch.Tensor, kp_scale: torch.Tensor, damping_ratio: torch.Tensor):
    """Per-env (kp, kd) (N, 6) from the nominal kp (6,), the randomised scales (N, 2) for the
    position and rotation groups, and the damping ratios (6,): kd = 2 zeta sqrt(kp)."""
    kp = kp_nominal * kp_scale.repeat_interleave(3, dim=1)
    return kp, 2.0 * torch.sqrt(kp) * damping_ratio


def osc_torque_per_env(jacobian_b, qd_radps, error, kp, kd, gains):
    """The core's ``osc_torque`` with per-environment gains kp, kd (N, 6):
    tau = J^T (kp * clip(e) - kd * J qd), clipped to the torque limits."""
    ee_vel_b = (jacobian_b @ qd_radps[..., None])[..., 0]
    wrench = kp * clip_pose_error(error, gains.max_pos_error_m, gains.max_rot_error_rad) - kd * ee_vel_b
    tau = (jacobian_b.transpose(-1, -2) @ wrench[..., None])[..., 0]
    limit = torch.as_tensor(gains.torque_limit_Nm, dtype=tau.dtype, device=tau.device)
    return torch.clamp(tau, -limit, limit)
