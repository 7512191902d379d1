"""Damped least-squares inverse kinematics on the analytic model, batched (reset generation,
fixtures, scripted motions)."""
from __future__ import annotations

import numpy as np

from omnireset_core.kinematics.ur import URKinematics
from omnireset_core.rotations import matrix_to_quat, quat_error_rotvec


def solve_ik_batch(kinematics: URKinematics, tcp_pose_b, q_seeds_rad, iters: int = 150, tol: float = 1e-8,
                   accept_err: float = 1e-5, damping: float = 1e-4, max_step_rad: float = 0.3
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Damped least squares for many tcp targets at once, from each seed in turn until solved.

    Returns (q_rad (N, 6), ok (N,)): ok where the pose error (m + rad) is below ``accept_err``
    and the joints are within the arm's limits.
    """
    target = np.asarray(tcp_pose_b, dtype=float)
    n = target.shape[0]
    q_out = np.zeros((n, 6))
    ok = np.zeros(n, dtype=bool)
    lo = np.asarray(kinematics.params.joint_lower_rad)
    hi = np.asarray(kinematics.params.joint_upper_rad)
    for seed in np.atleast_2d(np.asarray(q_seeds_rad, dtype=float)):
        todo = np.flatnonzero(~ok)
        if todo.size == 0:
            break
        q = np.tile(seed, (todo.size, 1))
        pos, quat = target[todo, :3], target[todo, 3:]
        err = np.full(todo.size, np.inf)
        for _ in range(iters):
            T, J = kinematics.tcp_pose_and_jacobian(q)
            e = np.concatenate((pos - T[:, :3, 3], quat_error_rotvec(quat, matrix_to_quat(T[:, :3, :3]))), axis=1)
            err = np.linalg.norm(e, axis=1)
            active = err > tol
            if not active.any():
                break
            Ja = J[active]
            JJt = Ja @ np.swapaxes(Ja, 1, 2) + damping * np.eye(6)
            dq = (np.swapaxes(Ja, 1, 2) @ np.linalg.solve(JJt, e[active][..., None]))[..., 0]
            q[active] += np.clip(dq, -max_step_rad, max_step_rad)
        good = (err <= accept_err) & np.all((q >= lo) & (q <= hi), axis=1)
        q_out[todo[good]] = q[good]
        ok[todo[good]] = True
    return q_out, ok
