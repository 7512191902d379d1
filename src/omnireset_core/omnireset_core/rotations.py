"""Rotation helpers written once for numpy and torch (array API), batched over leading axes.

Quaternion order everywhere in this project: (w, x, y, z), scalar first, Hamilton product.
Rotation vectors (axis-angle) are axis * angle in radians.
"""
from __future__ import annotations

import math

import numpy as np
from array_api_compat import array_namespace

_EPS = 1e-9


def quat_mul(q1, q2):
    """Hamilton product q1 * q2 (apply q2 first, then q1)."""
    xp = array_namespace(q1, q2)
    w1, x1, y1, z1 = (q1[..., i] for i in range(4))
    w2, x2, y2, z2 = (q2[..., i] for i in range(4))
    return xp.stack(
        (
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ),
        axis=-1,
    )


def quat_conjugate(q):
    xp = array_namespace(q)
    return xp.concat((q[..., :1], -q[..., 1:]), axis=-1)


def quat_to_rotvec(q):
    """Rotation vector of unit quaternion q, taking the short way round (angle in [0, pi])."""
    xp = array_namespace(q)
    q = xp.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    sin_half = xp.linalg.vector_norm(v, axis=-1, keepdims=True)
    angle = 2.0 * xp.atan2(sin_half, q[..., :1])
    small = sin_half < 1e-7
    gain = xp.where(small, 2.0 / xp.maximum(q[..., :1], _EPS), angle / xp.where(small, 1.0, sin_half))
    return v * gain


def rotvec_to_quat(r):
    xp = array_namespace(r)
    angle = xp.linalg.vector_norm(r, axis=-1, keepdims=True)
    small = angle < 1e-7
    # sin(angle / 2) / angle, with its Taylor limit 1/2 - angle^2/48 near zero.
    gain = xp.where(small, 0.5 - angle * angle / 48.0, xp.sin(angle / 2.0) / xp.where(small, 1.0, angle))
    return xp.concat((xp.cos(angle / 2.0), r * gain), axis=-1)


def quat_to_matrix(q):
    xp = array_namespace(q)
    w, x, y, z = (q[..., i] for i in range(4))
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return xp.stack([xp.stack(r, axis=-1) for r in rows], axis=-2)


def matrix_to_quat(m):
    """Unit quaternion (w >= 0) of rotation matrix m (..., 3, 3); branch-free copysign form."""
    xp = array_namespace(m)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    w = 0.5 * xp.sqrt(xp.maximum(1 + m00 + m11 + m22, 0.0))
    x = 0.5 * xp.sqrt(xp.maximum(1 + m00 - m11 - m22, 0.0))
    y = 0.5 * xp.sqrt(xp.maximum(1 - m00 + m11 - m22, 0.0))
    z = 0.5 * xp.sqrt(xp.maximum(1 - m00 - m11 + m22, 0.0))
    x = xp.where(m[..., 2, 1] - m[..., 1, 2] < 0, -x, x)
    y = xp.where(m[..., 0, 2] - m[..., 2, 0] < 0, -y, y)
    z = xp.where(m[..., 1, 0] - m[..., 0, 1] < 0, -z, z)
    q = xp.stack((w, x, y, z), axis=-1)
    return q / xp.linalg.vector_norm(q, axis=-1, keepdims=True)


def pose_in_frame(frame_pos, frame_quat, pos, quat):
    """(position, unit quaternion) of the pose (pos, quat) in the frame (frame_pos, frame_quat),
    both given in the same parent frame: p = R_F^T (p - p_F), q = q_F^-1 q."""
    xp = array_namespace(frame_pos, pos)
    rel_pos = xp.matmul(xp.matrix_transpose(quat_to_matrix(frame_quat)), (pos - frame_pos)[..., None])[..., 0]
    rel_quat = quat_mul(quat_conjugate(frame_quat), quat)
    return rel_pos, rel_quat / xp.linalg.vector_norm(rel_quat, axis=-1, keepdims=True)


def pose_from_frame(frame_pos, frame_quat, pos, quat):
    """(position, unit quaternion) in the parent frame of the pose (pos, quat) given in the frame
    (frame_pos, frame_quat): p = p_F + R_F p, q = q_F q; the inverse of ``pose_in_frame``."""
    xp = array_namespace(frame_pos, pos)
    out_pos = frame_pos + xp.matmul(quat_to_matrix(frame_quat), pos[..., None])[..., 0]
    out_quat = quat_mul(frame_quat, quat)
    return out_pos, out_quat / xp.linalg.vector_norm(out_quat, axis=-1, keepdims=True)


def quat_error_rotvec(q_target, q_current):
    """Rotation vector (base frame) that rotates q_current onto q_target: log(q_target * q_current^-1)."""
    return quat_to_rotvec(quat_mul(q_target, quat_conjugate(q_current)))


def rpy_to_matrix(rpy):
    """(3, 3) rotation of URDF roll, pitch, yaw [rad]: Rz(yaw) Ry(pitch) Rx(roll) (numpy)."""
    (cr, sr), (cp, sp), (cy, sy) = ((math.cos(a), math.sin(a)) for a in rpy)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def matrix_to_rpy(rot) -> tuple[float, float, float]:
    """URDF roll, pitch, yaw of a rotation matrix: rot = Rz(yaw) Ry(pitch) Rx(roll)."""
    cos_pitch = math.hypot(rot[0, 0], rot[1, 0])
    pitch = math.atan2(-rot[2, 0], cos_pitch)
    if cos_pitch < 1e-9:  # gimbal lock: put the whole turn about z into roll
        return math.atan2(-rot[1, 2], rot[1, 1]), pitch, 0.0
    return math.atan2(rot[2, 1], rot[2, 2]), pitch, math.atan2(rot[1, 0], rot[0, 0])


def pose6_to_matrix(pose6) -> np.ndarray:
    """4x4 transform of a pose written as x, y, z [m] and a rotation vector rx, ry, rz [rad]
    (UR's layout, e.g. a TCP offset)."""
    pose6 = np.asarray(pose6, dtype=float)
    out = np.eye(4)
    out[:3, :3] = quat_to_matrix(rotvec_to_quat(pose6[3:6]))
    out[:3, 3] = pose6[:3]
    return out
