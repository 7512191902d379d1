"""Analytic forward kinematics and geometric Jacobian of UR e-series arms.

Frames: ``b`` is UR's DH base frame (z up, the frame the controller reports TCP poses in);
frame ``i`` is DH frame i (after joint i); the flange (``tool0``) is DH frame 6.
Each link transform is Rz(theta_i) Tz(d_i) Tx(a_i) Rx(alpha_i) with theta_i = q_i + delta_theta_i.

Numbers: Universal Robots' published DH, mass and centre-of-mass table for the UR5e; the UR7e
shares the UR5e kinematics and masses, and the e-series torque limits below. The UR7e's link
inertia tensors are those of ur_description's ``config/ur7e/physical_parameters.yaml``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from array_api_compat import array_namespace, device

_PI_2 = math.pi / 2


@dataclass(frozen=True)
class DHCalibration:
    """Factory calibration deltas, as in a UR controller's ``calibration.conf`` (SI units)."""

    delta_theta_rad: tuple[float, ...] = (0.0,) * 6
    delta_a_m: tuple[float, ...] = (0.0,) * 6
    delta_d_m: tuple[float, ...] = (0.0,) * 6
    delta_alpha_rad: tuple[float, ...] = (0.0,) * 6

    def __post_init__(self):
        for name in ("delta_theta_rad", "delta_a_m", "delta_d_m", "delta_alpha_rad"):
            value = getattr(self, name)
            if len(value) != 6 or not all(math.isfinite(v) for v in value):
                raise ValueError(f"DHCalibration.{name} must be 6 finite numbers, got {value!r}")


# The arm's joints, base to wrist, as the UR controller and its ROS driver name them.
ARM_JOINT_NAMES = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
                   "wrist_1_joint", "wrist_2_joint", "wrist_3_joint")


@dataclass(frozen=True)
class URParameters:
    """Kinematic, inertial and limit data of one UR arm model."""

    name: str
    a_m: tuple[float, ...]
    d_m: tuple[float, ...]
    alpha_rad: tuple[float, ...]
    link_mass_kg: tuple[float, ...]
    link_com_m: tuple[tuple[float, float, float], ...]  # centre of mass of link i in DH frame i
    torque_limit_Nm: tuple[float, ...]
    max_joint_speed_radps: tuple[float, ...]
    joint_lower_rad: tuple[float, ...]
    joint_upper_rad: tuple[float, ...]
    calibration: DHCalibration = field(default_factory=DHCalibration)
    # Per link (ixx, iyy, izz, ixy, ixz, iyz) [kg m^2] about its COM, axes of DH frame i; None: not
    # published (a model then estimates them, e.g. the twin's solid cylinders).
    link_inertia_kgm2: tuple[tuple[float, ...], ...] | None = None

    def calibrated(self, calibration: DHCalibration) -> "URParameters":
        return replace(self, calibration=calibration)

    def dh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, d, alpha, theta offset) with the calibration deltas applied."""
        c = self.calibration
        return (
            np.add(self.a_m, c.delta_a_m),
            np.add(self.d_m, c.delta_d_m),
            np.add(self.alpha_rad, c.delta_alpha_rad),
            np.asarray(c.delta_theta_rad, dtype=float),
        )


UR5E = URParameters(
    name="ur5e",
    a_m=(0.0, -0.425, -0.3922, 0.0, 0.0, 0.0),
    d_m=(0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996),
    alpha_rad=(_PI_2, 0.0, 0.0, _PI_2, -_PI_2, 0.0),
    link_mass_kg=(3.761, 8.058, 2.846, 1.37, 1.3, 0.365),
    link_com_m=(
        (0.0, -0.02561, 0.00193),
        (0.2125, 0.0, 0.11336),
        (0.15, 0.0, 0.0265),
        (0.0, -0.0018, 0.01634),
        (0.0, 0.0018, 0.01634),
        (0.0, 0.0, -0.001159),
    ),
    torque_limit_Nm=(150.0, 150.0, 150.0, 28.0, 28.0, 28.0),
    max_joint_speed_radps=(math.pi,) * 6,
    joint_lower_rad=(-2 * math.pi, -2 * math.pi, -math.pi, -2 * math.pi, -2 * math.pi, -2 * math.pi),
    joint_upper_rad=(2 * math.pi, 2 * math.pi, math.pi, 2 * math.pi, 2 * math.pi, 2 * math.pi),
)
# ur_description gives each tensor in an inertial frame turned by its `rotation` from the URDF link
# frame; the YAML's centre-of-mass comments map the link frames to the DH ("model") frames by the
# same turns (shoulder and wrist 1: y = -model.z, z = model.y; wrist 2: y = model.z, z = -model.y;
# the others unturned), so the published tensors are already in DH frame i.
UR7E = replace(UR5E, name="ur7e", link_inertia_kgm2=(
    (0.00700210, 0.00648091, 0.00657286, 0.00000073, -0.00001053, 0.00049994),
    (0.01505885, 0.33388086, 0.33247207, -0.00005400, 0.00000563, -0.00000181),
    (0.00399632, 0.07879254, 0.07848510, -0.00001365, 0.00137272, -0.00000660),
    (0.00165491, 0.00135962, 0.00126279, -0.00000282, -0.00000438, 0.00010157),
    (0.00135617, 0.00127827, 0.00096614, -0.00000274, 0.00000444, -0.00005048),
    (0.00018694, 0.00018908, 0.00025756, 0.00000006, -0.00000017, -0.00000092),
))


def inertia_matrix(ixx_iyy_izz_ixy_ixz_iyz) -> np.ndarray:
    """(3, 3) symmetric tensor from (ixx, iyy, izz, ixy, ixz, iyz)."""
    ixx, iyy, izz, ixy, ixz, iyz = (float(v) for v in ixx_iyy_izz_ixy_ixz_iyz)
    return np.array([[ixx, ixy, ixz], [ixy, iyy, iyz], [ixz, iyz, izz]])


def _rot_z(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    out = np.eye(4)
    out[:2, :2] = ((c, -s), (s, c))
    return out


def _dh_link(a_m: float, d_m: float, alpha_rad: float) -> np.ndarray:
    """Tz(d) Tx(a) Rx(alpha)."""
    c, s = math.cos(alpha_rad), math.sin(alpha_rad)
    return np.array([[1.0, 0.0, 0.0, a_m], [0.0, c, -s, 0.0], [0.0, s, c, d_m], [0.0, 0.0, 0.0, 1.0]])


def dh_link_transforms(params: URParameters) -> np.ndarray:
    """(6, 4, 4): Tz(d_i) Tx(a_i) Rx(alpha_i), calibration applied: DH frame i in the frame of
    joint i after its rotation (where each link's centre of mass and inertia are given)."""
    a, d, alpha, _ = params.dh()
    return np.stack([_dh_link(a[i], d[i], alpha[i]) for i in range(6)])


def dh_joint_placements(params: URParameters) -> np.ndarray:
    """(7, 4, 4) fixed transforms C_0..C_6 of the arm as a joint chain,
    b_T_flange = C_0 Rz(q_1) C_1 Rz(q_2) ... Rz(q_6) C_6: C_i is joint i+1's frame in link i's
    (the URDF joint origins; C_0 in the base, C_6 the flange in link 6). From the DH table:
    C_0 = Rz(theta0_1), C_i = Tz(d_i) Tx(a_i) Rx(alpha_i) Rz(theta0_i+1), C_6 = Tz(d_6) Tx(a_6) Rx(alpha_6)."""
    theta0 = params.dh()[3]
    links = dh_link_transforms(params)
    return np.stack([_rot_z(theta0[0])] + [links[i] @ _rot_z(theta0[i + 1]) for i in range(5)] + [links[5]])


def dh_frames_in_links(params: URParameters, joint_placements: np.ndarray | None = None) -> np.ndarray:
    """(6, 4, 4): DH frame i, where link i's centre of mass, inertia and shapes are given, in the
    body frame of link i of the chain ``joint_placements`` (default: the DH chain, where it is
    ``dh_link_transforms``). A calibration file places each joint on the same axis at another
    point (ur_description puts d_i in the joint origins): the difference, taken at the zero
    configuration, moves each link's mass and shapes with its body."""
    fixed = dh_link_transforms(params)
    if joint_placements is None:
        return fixed
    zero = np.zeros(6)
    dh = URKinematics(params).frames(zero)[:6]
    chain = URKinematics(params, joint_placements=joint_placements).frames(zero)[:6]
    return np.stack([np.linalg.solve(chain[i], dh[i]) @ fixed[i] for i in range(6)])


class URKinematics:
    """FK and Jacobian of one UR arm with a rigid tool, written once for numpy (the 500 Hz loop)
    and torch (batched, on the tensors' device: no host copy per call).

    The arm is a chain of fixed transforms and joint turns about z (``dh_joint_placements``): from
    the DH table (``params``, DH calibration deltas applied) or, given ``joint_placements``
    (7, 4, 4), from the robot's own calibration file (``calibration.JointOrigins``).
    ``flange_T_tcp`` is the 4x4 pose of the tool centre point in the flange frame.
    """

    def __init__(self, params: URParameters = UR7E, flange_T_tcp: np.ndarray | None = None,
                 joint_placements: np.ndarray | None = None):
        self.params = params
        chain = dh_joint_placements(params) if joint_placements is None else np.asarray(joint_placements, dtype=float)
        if chain.shape != (7, 4, 4) or not np.all(np.isfinite(chain)):
            raise ValueError(f"joint_placements must be seven finite 4x4 transforms, got shape {chain.shape}")
        self.joint_placements = chain
        self.flange_T_tcp = np.eye(4) if flange_T_tcp is None else np.asarray(flange_T_tcp, dtype=float)
        if self.flange_T_tcp.shape != (4, 4):
            raise ValueError(f"flange_T_tcp must be 4x4, got shape {self.flange_T_tcp.shape}")
        self._constants: dict = {}  # (namespace, device, dtype) -> (joint placements, flange_T_tcp)

    def _arrays(self, q_rad):
        xp = array_namespace(q_rad)
        key = (xp.__name__, str(device(q_rad)), str(q_rad.dtype))
        if key not in self._constants:
            self._constants[key] = tuple(xp.asarray(c, dtype=q_rad.dtype, device=device(q_rad))
                                         for c in (self.joint_placements, self.flange_T_tcp))
        return xp, self._constants[key]

    def frames(self, q_rad):
        """(..., 7, 4, 4): b_T of joint i's frame before its turn, i = 1..6 (its z is the joint
        axis), then of the flange."""
        if not hasattr(q_rad, "device"):  # a list or a tuple
            q_rad = np.asarray(q_rad, dtype=float)
        if q_rad.shape[-1] != 6:
            raise ValueError(f"expected 6 joint angles, got shape {tuple(q_rad.shape)}")
        if isinstance(q_rad, np.ndarray) and q_rad.dtype != np.float64:
            q_rad = q_rad.astype(np.float64)
        xp, (chain, _) = self._arrays(q_rad)
        c, s = xp.cos(q_rad)[..., None], xp.sin(q_rad)[..., None]  # (..., 6, 1)
        after = chain[1:]  # C_1..C_6; Rz(q_i) @ C_i row by row:
        rows = (c * after[:, 0] - s * after[:, 1], s * after[:, 0] + c * after[:, 1],
                xp.broadcast_to(after[:, 2], c.shape[:-1] + (4,)), xp.broadcast_to(after[:, 3], c.shape[:-1] + (4,)))
        turned = xp.stack(rows, axis=-2)  # (..., 6, 4, 4)
        out = xp.zeros(q_rad.shape[:-1] + (7, 4, 4), dtype=q_rad.dtype, device=device(q_rad))
        out[..., 0, :, :] = chain[0]
        for i in range(6):
            out[..., i + 1, :, :] = xp.matmul(out[..., i, :, :], turned[..., i, :, :])
        return out

    def tcp_pose(self, q_rad):
        """(..., 4, 4) b_T_tcp."""
        frames = self.frames(q_rad)
        xp, (_, flange_T_tcp) = self._arrays(frames)
        return xp.matmul(frames[..., 6, :, :], flange_T_tcp)

    def tcp_pose_and_jacobian(self, q_rad):
        """b_T_tcp (..., 4, 4) and the geometric Jacobian (..., 6, 6), rows (v, omega) in frame b.

        Joint i turns about z of its frame, through its origin.
        """
        frames = self.frames(q_rad)
        xp, (_, flange_T_tcp) = self._arrays(frames)
        b_T_tcp = xp.matmul(frames[..., 6, :, :], flange_T_tcp)
        axes = frames[..., :6, :3, 2]
        origins = frames[..., :6, :3, 3]
        lever = b_T_tcp[..., None, :3, 3] - origins
        jac = xp.concat((xp.linalg.cross(axes, lever, axis=-1), axes), axis=-1)  # (..., 6 joints, 6)
        return b_T_tcp, xp.matrix_transpose(jac)
