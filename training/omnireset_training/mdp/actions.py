"""Per-environment OSC gains of both backends (the law itself is the core's ``osc_torque``)."""
from __future__ import annotations

import torch


def osc_gains(kp_nominal: torch.Tensor, kp_scale: torch.Tensor, damping_ratio: torch.Tensor):
    """Per-env (kp, kd) (N, 6) from the nominal kp (6,), the randomised scales (N, 2) for the
    position and rotation groups, and the damping ratios (6,): kd = 2 zeta sqrt(kp)."""
    kp = kp_nominal * kp_scale.repeat_interleave(3, dim=1)
    return kp, 2.0 * torch.sqrt(kp) * damping_ratio
