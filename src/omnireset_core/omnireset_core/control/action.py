"""Policy action -> end-effector target, once per policy step, from the measured pose.

Action layout (7): relative pose delta in base frame b (dx, dy, dz, rx, ry, rz), each scaled
per axis, then one gripper value (< 0 closes). The rotation delta is left-multiplied (frame b).
"""
from __future__ import annotations

from array_api_compat import array_namespace, device

from omnireset_core.rotations import quat_mul, rotvec_to_quat


def action_to_target(action, ee_pos_b, ee_quat_b, action_scale):
    """Returns (target_pos_b, target_quat_b, gripper_close) for actions (..., 7)."""
    xp = array_namespace(action, ee_pos_b, ee_quat_b)
    scale = xp.asarray(action_scale, dtype=action.dtype, device=device(action))
    delta = action[..., :6] * scale
    target_pos_b = ee_pos_b + delta[..., :3]
    target_quat_b = quat_mul(rotvec_to_quat(delta[..., 3:]), ee_quat_b)
    return target_pos_b, target_quat_b, action[..., 6] < 0
