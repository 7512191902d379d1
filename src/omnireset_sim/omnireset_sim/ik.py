"""Damped least-squares inverse kinematics on the analytic model (resets and scripted motions)."""
from __future__ import annotations

import numpy as np

from omnireset_core.kinematics.ur import URKinematics
from omnireset_core.rotations import matrix_to_quat, quat_error_rotvec


def solve_ik(
    kinematics: URKinematics,
    target_pos_b_m,
    target_quat_b_wxyz,
    q_init_rad,
    max_iters: int = 200,
    tol: float = 1e-10,
    damping: float = 1e-4,
) -> np.ndarray:
    """Joint angles putting the tcp at the target pose, started from ``q_init_rad``.

    Raises ValueError if the pose error stays above 1e-6 (out of reach or singular).
    """
    q = np.array(q_init_rad, dtype=float)
    pos = np.asarray(target_pos_b_m, dtype=float)
    quat = np.asarray(target_quat_b_wxyz, dtype=float)
    err = np.inf
    for _ in range(max_iters):
        T, J = kinematics.tcp_pose_and_jacobian(q)
        e = np.r_[pos - T[:3, 3], quat_error_rotvec(quat, matrix_to_quat(T[:3, :3]))]
        err = float(np.linalg.norm(e))
        if err < tol:
            break
        dq = J.T @ np.linalg.solve(J @ J.T + damping * np.eye(6), e)
        q += np.clip(dq, -0.3, 0.3)
    if err > 1e-6:
        raise ValueError(f"IK did not converge: pose error {err:.3g} for target {pos}, {quat}")
    return q
