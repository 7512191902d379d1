"""Safety limits of the 500 Hz loop: what makes it hold, and what makes it stop commanding motion."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from omnireset_core.config import check_finite_vector, check_positive, check_range
from omnireset_core.kinematics.ur import URParameters


@dataclass(frozen=True)
class SafetyLimits:
    """Defaults suit a UR7e on a table with the workspace of the peg cell (frame b, metres)."""

    max_target_age_s: float = 0.3  # three 10 Hz policy periods
    max_target_future_s: float = 0.05  # a target stamped later than now + this is refused (clock skew)
    joint_speed_fraction: float = 1.0  # of the robot's rated joint speeds
    joint_limit_margin_rad: float = 0.05
    workspace_min_b_m: tuple[float, float, float] = (-0.2, -0.7, -0.01)
    workspace_max_b_m: tuple[float, float, float] = (0.9, 0.7, 0.8)
    max_target_distance_m: float = 0.3  # a target farther than this from the TCP is rejected

    def __post_init__(self):
        cls = type(self).__name__
        check_positive(f"{cls}.max_target_age_s", self.max_target_age_s)
        check_range(f"{cls}.max_target_future_s", self.max_target_future_s, 0.0, 1.0)
        check_range(f"{cls}.joint_speed_fraction", self.joint_speed_fraction, 0.05, 2.0)
        check_range(f"{cls}.joint_limit_margin_rad", self.joint_limit_margin_rad, 0.0, 0.5)
        check_finite_vector(f"{cls}.workspace_min_b_m", self.workspace_min_b_m, 3)
        check_finite_vector(f"{cls}.workspace_max_b_m", self.workspace_max_b_m, 3)
        if any(lo >= hi for lo, hi in zip(self.workspace_min_b_m, self.workspace_max_b_m)):
            raise ValueError(f"{cls}.workspace_min_b_m must be below workspace_max_b_m on every axis")
        check_positive(f"{cls}.max_target_distance_m", self.max_target_distance_m)


class SafetyMonitor:
    """Checks one robot state; returns the reason to stop commanding motion, or None."""

    def __init__(self, limits: SafetyLimits, params: URParameters):
        self.limits = limits
        self._max_speed = np.asarray(params.max_joint_speed_radps) * limits.joint_speed_fraction
        self._lower = np.asarray(params.joint_lower_rad) + limits.joint_limit_margin_rad
        self._upper = np.asarray(params.joint_upper_rad) - limits.joint_limit_margin_rad
        self._ws_min = np.asarray(limits.workspace_min_b_m)
        self._ws_max = np.asarray(limits.workspace_max_b_m)

    def violation(self, q_rad: np.ndarray, qd_radps: np.ndarray, tcp_pos_b_m: np.ndarray) -> str | None:
        if not (np.all(np.isfinite(q_rad)) and np.all(np.isfinite(qd_radps))):
            return "non-finite joint state"
        fast = np.abs(qd_radps) > self._max_speed
        if fast.any():
            j = int(np.argmax(fast))
            return f"joint {j} speed {qd_radps[j]:+.2f} rad/s beyond limit {self._max_speed[j]:.2f} rad/s"
        out = (q_rad < self._lower) | (q_rad > self._upper)
        if out.any():
            j = int(np.argmax(out))
            return f"joint {j} at {q_rad[j]:+.3f} rad, within {self.limits.joint_limit_margin_rad} rad of its limit"
        outside = (tcp_pos_b_m < self._ws_min) | (tcp_pos_b_m > self._ws_max)
        if outside.any():
            axis = "xyz"[int(np.argmax(outside))]
            return f"TCP {axis} = {tcp_pos_b_m['xyz'.index(axis)]:+.3f} m outside the workspace"
        return None

    def target_problem(self, pos_b_m: np.ndarray, quat_b_wxyz: np.ndarray, tcp_pos_b_m: np.ndarray,
                       age_s: float = 0.0) -> str | None:
        """Why a new target must be refused, or None. ``age_s``: now minus the target's stamp."""
        if not (np.all(np.isfinite(pos_b_m)) and np.all(np.isfinite(quat_b_wxyz))):
            return "non-finite target"
        if not math.isfinite(age_s) or -age_s > self.limits.max_target_future_s:
            return (f"target stamped {-age_s:.3f} s in the future (more than "
                    f"{self.limits.max_target_future_s} s: the sender's clock is ahead)")
        if not math.isclose(float(np.linalg.norm(quat_b_wxyz)), 1.0, abs_tol=1e-3):
            return "target quaternion is not unit length"
        if np.any(pos_b_m < self._ws_min) or np.any(pos_b_m > self._ws_max):
            return "target outside the workspace"
        if np.linalg.norm(pos_b_m - tcp_pos_b_m) > self.limits.max_target_distance_m:
            return f"target more than {self.limits.max_target_distance_m} m from the TCP"
        return None
