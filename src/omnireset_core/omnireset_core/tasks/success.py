"""Assembly error and success, written once for numpy and torch (batched over leading axes)."""
from __future__ import annotations

from array_api_compat import array_namespace, device

from omnireset_core.rotations import quat_conjugate, quat_mul, quat_to_matrix
from omnireset_core.tasks.definition import Pose, SuccessThresholds, TaskDefinition


def assembly_error(insertive_pos_rcv_m, insertive_quat_rcv, goal: Pose):
    """(position error [m], tilt [rad]) of the insertive object against one goal pose.

    Both in the receptive frame. Tilt is |roll| + |pitch| of the rotation from the goal frame to
    the insertive frame; yaw about the goal's z is ignored.
    """
    xp = array_namespace(insertive_pos_rcv_m, insertive_quat_rcv)
    dev, dtype = device(insertive_pos_rcv_m), insertive_pos_rcv_m.dtype
    goal_pos = xp.asarray(goal.pos_m, dtype=dtype, device=dev)
    goal_quat = xp.asarray(goal.quat_wxyz, dtype=dtype, device=dev)
    pos_err = xp.linalg.vector_norm(insertive_pos_rcv_m - goal_pos, axis=-1)
    rel = quat_to_matrix(quat_mul(quat_conjugate(goal_quat), insertive_quat_rcv))
    roll = xp.atan2(rel[..., 2, 1], rel[..., 2, 2])
    pitch = xp.asin(xp.clip(-rel[..., 2, 0], -1.0, 1.0))
    return pos_err, xp.abs(roll) + xp.abs(pitch)


def is_assembled(insertive_pos_rcv_m, insertive_quat_rcv, goals: tuple[Pose, ...], thresholds: SuccessThresholds,
                 scale: float = 1.0):
    """True where the object is within ``scale`` x the thresholds of any goal pose."""
    xp = array_namespace(insertive_pos_rcv_m)
    done = None
    for goal in goals:
        pos_err, tilt = assembly_error(insertive_pos_rcv_m, insertive_quat_rcv, goal)
        ok = (pos_err < scale * thresholds.max_pos_error_m) & (tilt < scale * thresholds.max_tilt_rad)
        done = ok if done is None else xp.logical_or(done, ok)
    return done


def goal_reached(task: TaskDefinition, goal_index: int | None, insertive_pos_rcv_m, insertive_quat_rcv,
                 scale: float = 1.0) -> bool:
    """The task's success criterion for one goal pose (``goal_index``) or any of them (None)."""
    goals = task.goal_poses if goal_index is None else (task.goal_poses[goal_index],)
    return bool(is_assembled(insertive_pos_rcv_m, insertive_quat_rcv, goals, task.success, scale=scale))
