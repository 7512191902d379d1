"""Policy action -> end-effector target, once per policy step, from the measured pose.

Action layout (7): relative pose delta in base frame b (dx, dy, dz, rx, ry, rz), each scaled
per axis, then one gripper value (< 0 closes). The rotation delta is left-multiplied (frame b).
With ``ActionSpec.gripper_switch_steps`` = n > 1 the gripper changes state only once n
consecutive actions ask for the other state (``switch_gripper``): a release is a decision held
for n steps, not one sample of the exploration noise.
"""
from __future__ import annotations

from array_api_compat import array_namespace, device

from omnireset_core.rotations import quat_mul, rotvec_to_quat


def action_to_target(action, tcp_pos_b_m, tcp_quat_b_wxyz, action_scale):
    """Returns (target_pos_b_m, target_quat_b_wxyz, gripper_close) for actions (..., 7)."""
    xp = array_namespace(action, tcp_pos_b_m, tcp_quat_b_wxyz)
    scale = xp.asarray(action_scale, dtype=action.dtype, device=device(action))
    delta = action[..., :6] * scale
    target_pos_b_m = tcp_pos_b_m + delta[..., :3]
    target_quat_b_wxyz = quat_mul(rotvec_to_quat(delta[..., 3:]), tcp_quat_b_wxyz)
    return target_pos_b_m, target_quat_b_wxyz, action[..., 6] < 0


def switch_gripper(close_asked, closed, asks, steps: int):
    """The gripper state after one action: returns (closed, asks) for ``close_asked`` (the action's
    ``gripper_close``), the state ``closed`` before it and ``asks``, the count of consecutive
    actions so far that asked for the other state. The state changes once ``asks`` reaches
    ``steps``; the count restarts then, and whenever an action agrees with the state."""
    xp = array_namespace(close_asked, closed, asks)
    asks = xp.where(close_asked != closed, asks + 1, xp.zeros_like(asks))
    switch = asks >= steps
    return xp.where(switch, close_asked, closed), xp.where(switch, xp.zeros_like(asks), asks)
