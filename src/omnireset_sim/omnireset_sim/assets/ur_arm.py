"""UR arm bodies generated from ``URParameters`` so MuJoCo's kinematics equal the analytic DH FK.

Body ``link{i}`` (i = 1..6) has its hinge about local z. Its frame is DH frame i-1 turned by
(q_i + delta_theta_i) about z; its child is placed by the fixed part of link transform i,
Tz(d_i) Tx(a_i) Rx(alpha_i), which is DH frame i at q_{i+1} = 0. The calibration's theta offsets
are folded into each body's placement, so qpos equals the controller's joint reading.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from omnireset_core.kinematics.ur import ARM_JOINT_NAMES as JOINT_NAMES
from omnireset_core.kinematics.ur import URParameters, dh_frames_in_links, dh_joint_placements, inertia_matrix
from omnireset_sim.assets.mjcf import (
    CONTACT_ARM,
    capsule_between,
    cylinder_between,
    fmt,
    pose_attrs,
)

if TYPE_CHECKING:
    from omnireset_sim.config import ArmConfig

LINK_NAMES = tuple(f"link{i}" for i in range(1, 7))
FLANGE_BODY = "flange"

# Link shapes, in DH frame i (the frame the URParameters COM is given in); UR5e/UR7e outline,
# radii from the datasheet drawings (base 149 mm, shoulder/elbow housings ~120 mm, wrists ~90 mm).
# Each entry: (kind, p0, p1, radius_m). The arm's shoulder/elbow offsets (138 / 131 mm along the
# joint axes) are not in the DH table; they appear here so the links sit where the real ones do.
_SHAPES = (
    (("cyl", (0, -0.075, 0), (0, 0.06, 0), 0.06),),
    (("cyl", (0.425, 0, 0.05), (0.425, 0, 0.18), 0.06),
     ("cap", (0.425, 0, 0.12), (0, 0, 0.12), 0.05),
     ("cyl", (0, 0, 0.06), (0, 0, 0.17), 0.05)),
    (("cyl", (0.3922, 0, -0.03), (0.3922, 0, 0.06), 0.05),
     ("cap", (0.3922, 0, 0.01), (0, 0, 0.01), 0.04),
     ("cyl", (0, 0, -0.045), (0, 0, 0.05), 0.045)),
    (("cyl", (0, -0.09, 0), (0, 0, 0), 0.045),
     ("cyl", (0, 0, -0.05), (0, 0, 0.05), 0.045)),
    (("cyl", (0, 0, 0), (0, 0.055, 0), 0.045),
     ("cyl", (0, 0, -0.05), (0, 0, 0.05), 0.045)),
    (("cyl", (0, 0, -0.05), (0, 0, 0), 0.0375),),
)
# Inertia where a model has no published tensors (``URParameters.link_inertia_kgm2`` None): each
# link a solid cylinder of its mass (axis in DH frame i, radius, length) centred on the published
# COM; 0.5-1.9x the UR7e's published tensors.
_INERTIA_CYLINDERS = (
    (1, 0.06, 0.15),
    (0, 0.054, 0.5),
    (0, 0.04, 0.45),
    (1, 0.045, 0.12),
    (1, 0.045, 0.10),
    (2, 0.0375, 0.04),
)


def cylinder_inertia(mass_kg: float, axis: int, radius_m: float, length_m: float) -> np.ndarray:
    """Principal moments (kg m^2) of a solid cylinder about its COM, along DH axes x, y, z."""
    i_axis = 0.5 * mass_kg * radius_m**2
    i_perp = mass_kg * (3.0 * radius_m**2 + length_m**2) / 12.0
    out = np.full(3, i_perp)
    out[axis] = i_axis
    return out


def link_inertia_dh(params: URParameters, i: int) -> np.ndarray:
    """(3, 3) inertia of link i+1 about its COM in DH frame i: published, else the cylinder estimate."""
    if params.link_inertia_kgm2 is not None:
        return inertia_matrix(params.link_inertia_kgm2[i])
    axis, radius, length = _INERTIA_CYLINDERS[i]
    return np.diag(cylinder_inertia(params.link_mass_kg[i], axis, radius, length))


def _inertial_xml(params: URParameters, i: int, com_body, R_body_dh) -> str:
    full = R_body_dh @ link_inertia_dh(params, i) @ R_body_dh.T
    six = (full[0, 0], full[1, 1], full[2, 2], full[0, 1], full[0, 2], full[1, 2])
    return f'<inertial pos="{fmt(com_body)}" mass="{params.link_mass_kg[i]:.17g}" fullinertia="{fmt(six)}"/>'


def arm_bodies_xml(
    params: URParameters,
    joints: ArmConfig,
    flange_children: str = "",
    rgba: str = "0.7 0.72 0.75 1",
    joint_placements: np.ndarray | None = None,
) -> str:
    """Nested <body> text of links 1..6 (joint armature and friction from ``joints``) plus the
    ``flange`` body (DH frame 6) and its children. The bodies sit where ``joint_placements`` (a
    calibration file's chain) puts them, else where the DH table does; each link's mass, inertia
    and shapes are placed by the DH table."""
    placements = dh_joint_placements(params) if joint_placements is None else joint_placements
    fixed = dh_frames_in_links(params, joint_placements)
    lo, hi = params.joint_lower_rad, params.joint_upper_rad
    geom_attrs = f'{CONTACT_ARM} rgba="{rgba}" group="1"'
    opening, closing = [], []
    for i in range(6):
        parent_T_body = placements[i]
        R_fix = fixed[i][:3, :3]
        # Inertial: COM and principal axes given in DH frame i, which is ``fixed[i]`` in this body.
        com_body = fixed[i] @ np.r_[params.link_com_m[i], 1.0]
        inertial_xml = _inertial_xml(params, i, com_body[:3], R_fix)
        geoms = []
        for kind, p0, p1, r in _SHAPES[i]:
            q0 = (fixed[i] @ np.r_[p0, 1.0])[:3]
            q1 = (fixed[i] @ np.r_[p1, 1.0])[:3]
            geoms.append((capsule_between if kind == "cap" else cylinder_between)(q0, q1, r, geom_attrs))
        joint_range = f"{lo[i]:.17g} {hi[i]:.17g}"
        opening.append(
            f'<body name="{LINK_NAMES[i]}" {pose_attrs(parent_T_body)} gravcomp="1">\n'
            f'  {inertial_xml}\n'
            f'  <joint name="{JOINT_NAMES[i]}" type="hinge" axis="0 0 1" range="{joint_range}" limited="true" '
            f'armature="{joints.armature_kgm2[i]:g}" damping="{joints.damping_Nms_per_rad[i]:g}" '
            f'frictionloss="{joints.frictionloss_Nm[i]:g}"/>\n'
            + "\n".join("  " + g for g in geoms)
        )
        closing.append("</body>")
    flange = f'<body name="{FLANGE_BODY}" {pose_attrs(placements[6])} gravcomp="1">\n' \
             f'  <site name="tool0" size="0.005" rgba="1 0 0 1" group="4"/>\n{flange_children}\n</body>'
    return "\n".join(opening) + "\n" + flange + "\n" + "\n".join(reversed(closing))


def arm_actuators_xml(params: URParameters) -> str:
    """Joint torque motors; ctrl in Nm, clipped to the UR torque limits by ctrlrange and forcerange."""
    lines = []
    for name, limit in zip(JOINT_NAMES, params.torque_limit_Nm):
        lim = f"{-limit:g} {limit:g}"
        lines.append(
            f'<general name="{name}_motor" joint="{name}" ctrllimited="true" ctrlrange="{lim}" '
            f'forcelimited="true" forcerange="{lim}" gainprm="1" biasprm="0 0 0" biastype="affine"/>'
        )
    return "\n".join(lines)


def base_geoms_xml(rgba: str = "0.25 0.27 0.3 1") -> str:
    """Fixed base housing (world body), from the table top to below the shoulder."""
    return cylinder_between((0, 0, 0.0), (0, 0, 0.085), 0.0745, f'{CONTACT_ARM} rgba="{rgba}" group="1"')

