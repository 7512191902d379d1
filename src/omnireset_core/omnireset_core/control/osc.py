"""Operational-space torque law, written once for numpy (one robot, 500 Hz) and torch (batched).

    tau = J^T (Kp * clip(e) - Kd * J qdot),   Kd = 2 sqrt(Kp) * zeta,   |tau_i| <= tau_max_i

e = (target position - position, rotation vector of target * current^-1), both in base frame b.
Gravity is compensated outside this law: by the UR controller under direct torque, by the twin.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from array_api_compat import array_namespace, device

from omnireset_core.config import check_finite_vector, check_positive
from omnireset_core.rotations import quat_error_rotvec


@dataclass(frozen=True)
class OscGains:
    """Per-axis task-space gains (x, y, z | rx, ry, rz) and limits.

    Defaults: the sim-to-real stiffness of the OmniReset authors (Kp 1000 N/m, 50 Nm/rad) with a
    translational damping ratio of 3. The law has no inertia matrix and the UR7e's task-space
    mass at the TCP is 6-10 kg, so ratio 1 leaves the arm underdamped (effective ratio ~0.3,
    measured in the twin); 3 is about critical (docs/control.md).
    """

    kp_pos: tuple[float, float, float] = (1000.0, 1000.0, 1000.0)
    kp_rot: tuple[float, float, float] = (50.0, 50.0, 50.0)
    damping_ratio_pos: float = 3.0
    damping_ratio_rot: float = 1.0
    max_pos_error_m: float = 0.05
    max_rot_error_rad: float = 0.3
    torque_limit_Nm: tuple[float, ...] = (150.0, 150.0, 150.0, 28.0, 28.0, 28.0)

    def __post_init__(self):
        cls = type(self).__name__
        check_finite_vector(f"{cls}.kp_pos", self.kp_pos, 3, positive=True)
        check_finite_vector(f"{cls}.kp_rot", self.kp_rot, 3, positive=True)
        check_finite_vector(f"{cls}.torque_limit_Nm", self.torque_limit_Nm, 6, positive=True)
        for name in ("damping_ratio_pos", "damping_ratio_rot", "max_pos_error_m", "max_rot_error_rad"):
            check_positive(f"{cls}.{name}", getattr(self, name))

    @property
    def kp(self) -> tuple[float, ...]:
        return tuple(self.kp_pos) + tuple(self.kp_rot)

    @property
    def damping_ratio(self) -> tuple[float, ...]:
        return (self.damping_ratio_pos,) * 3 + (self.damping_ratio_rot,) * 3

    @property
    def kd(self) -> tuple[float, ...]:
        return tuple(2.0 * math.sqrt(k) * z for k, z in zip(self.kp, self.damping_ratio))


@functools.lru_cache(maxsize=128)
def _constant(values: tuple, xp, dev, dtype):
    """``values`` as an array of ``xp`` on ``dev``, made once: on a GPU a host-to-device copy per
    control step would stall the step (and rule out CUDA-graph capture)."""
    out = xp.asarray(values, dtype=dtype, device=dev)
    if hasattr(out, "flags"):  # numpy: shared between calls, so read-only
        out.flags.writeable = False
    return out


def scaled_gains(gains: OscGains, kp_scale):
    """Per-world stiffness and damping (kp, kd), each (..., 6): ``gains``' stiffness times the
    scales ``kp_scale`` (..., 2) of the position and the rotation axes (the training's OSC gain
    randomisation), damping ``2 zeta sqrt(kp)`` with the gains' ratios, as ``OscGains.kd``."""
    xp = array_namespace(kp_scale)

    def vec(values):
        return _constant(tuple(values), xp, device(kp_scale), kp_scale.dtype)

    per_axis = xp.concat((kp_scale[..., :1],) * 3 + (kp_scale[..., 1:2],) * 3, axis=-1)
    kp = vec(gains.kp) * per_axis
    return kp, 2.0 * xp.sqrt(kp) * vec(gains.damping_ratio)


def pose_error(pos_b_m, quat_b_wxyz, target_pos_b_m, target_quat_b_wxyz):
    """(..., 6) task-space error (m, rad) from the current pose to the target, in frame b."""
    xp = array_namespace(pos_b_m, target_pos_b_m)
    return xp.concat((target_pos_b_m - pos_b_m, quat_error_rotvec(target_quat_b_wxyz, quat_b_wxyz)), axis=-1)


def clip_pose_error(error, max_pos_error_m: float, max_rot_error_rad: float):
    """Scale the translation and rotation parts down to their norm limits, keeping direction."""
    xp = array_namespace(error)
    parts = []
    for part, limit in ((error[..., :3], max_pos_error_m), (error[..., 3:], max_rot_error_rad)):
        norm = xp.linalg.vector_norm(part, axis=-1, keepdims=True)
        parts.append(part * xp.minimum(1.0, limit / xp.maximum(norm, 1e-12)))
    return xp.concat(parts, axis=-1)


def osc_torque(jacobian_b, qd_radps, error, gains: OscGains, kp=None, kd=None):
    """Joint torques (..., 6) in Nm from the Jacobian (..., 6, 6), joint speeds and pose error.
    ``kp``, ``kd`` (..., 6), if given, replace the gains' stiffness and damping (per-world gains in
    training); the error clip and the torque limits are always the gains'."""
    xp = array_namespace(jacobian_b, qd_radps, error)

    def vec(values):
        return _constant(tuple(values), xp, device(error), error.dtype)

    kp = vec(gains.kp) if kp is None else kp
    kd = vec(gains.kd) if kd is None else kd
    ee_vel_b = xp.matmul(jacobian_b, qd_radps[..., None])[..., 0]
    wrench = kp * clip_pose_error(error, gains.max_pos_error_m, gains.max_rot_error_rad) - kd * ee_vel_b
    tau = xp.matmul(xp.matrix_transpose(jacobian_b), wrench[..., None])[..., 0]
    limit = vec(gains.torque_limit_Nm)
    return xp.minimum(xp.maximum(tau, -limit), limit)


def track_target(tcp_pos_b_m, tcp_quat_b_wxyz, jacobian_b, qd_radps, target_pos_b_m, target_quat_b_wxyz, gains: OscGains,
                 kp=None, kd=None):
    """One OSC step towards a TCP target from the measured TCP pose and Jacobian: the torques
    (..., 6) of ``osc_torque`` on the pose error. The 500 Hz loop and both training backends
    call this between reading the joints and commanding the torques."""
    error = pose_error(tcp_pos_b_m, tcp_quat_b_wxyz, target_pos_b_m, target_quat_b_wxyz)
    return osc_torque(jacobian_b, qd_radps, error, gains, kp=kp, kd=kd)
