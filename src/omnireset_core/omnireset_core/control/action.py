"""Policy action -> end-effector target, once per policy step, from the measured pose.

Action layout (7): relative pose delta in base frame b (dx, dy, dz, rx, ry, rz), each scaled
per axis, then one gripper value (< 0 closes). The rotation delta is left-multiplied (frame b).
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
