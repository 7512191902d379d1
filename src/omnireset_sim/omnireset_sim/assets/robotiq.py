"""Simplified Robotiq 2F-85 on the UR flange.

Frame: the flange (tool0, DH frame 6), z along the approach direction; the fingers close along y.
Two prismatic fingers coupled by an equality (right = left), driven together through a fixed
tendon by one force actuator (ctrl = grip force in N, + closes). Joint damping sets the free
closing speed: v_finger = F / damping, so the twin closes at the configured speed and squeezes
with exactly the configured force, like the 2F-85 in force mode. Stroke 85 mm, mass 0.9 kg.
"""
from __future__ import annotations

import numpy as np

from omnireset_core.kinematics.robotiq import FINGER_JOINT_NAMES, FINGER_TRAVEL_M, MAX_FORCE_N
from omnireset_core.kinematics.robotiq import STROKE_M as GRIPPER_STROKE_M
from omnireset_sim.assets.mjcf import CONTACT_GRIPPER, CONTACT_SOLREF, fmt

TCP_Z_M = 0.155  # flange -> tool centre point (pad centre), along flange z
PAD_HALF_M = (0.011, 0.004, 0.011)  # pad half sizes (x, y thickness, z)
FINGERTIP_Z_M = TCP_Z_M + PAD_HALF_M[2]  # lowest point of the gripper
PALM_BOTTOM_Z_M = 0.11
BASE_MASS_KG = 0.78
FINGER_MASS_KG = 0.06

# Pads (priority 1, so they govern their contacts): impedance close to 1 keeps the squeeze
# penetration at 0.1-0.4 mm at 2 ms and <= 0.9 mm at 1/120 s over 20..235 N, about what the
# silicone pads of the real gripper compress.
PAD_SOLIMP = "0.99 0.999 0.0005"

LEFT_JOINT, RIGHT_JOINT = FINGER_JOINT_NAMES
TENDON, ACTUATOR = "grip", "gripper"
PAD_GEOMS = ("left_pad", "right_pad")

FLANGE_T_TCP = np.array(
    [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, TCP_Z_M], [0.0, 0.0, 0.0, 1.0]]
)
FLANGE_T_TCP.setflags(write=False)


def _finger_xml(side: str, sign: float, pad_friction: float, damping_Ns_per_m: float, armature_kg: float) -> str:
    """One finger at the open position; ``sign`` = +1 for the finger on +y."""
    pad_y = sign * (GRIPPER_STROKE_M / 2 + PAD_HALF_M[1])
    link_half = (0.011, 0.006, (FINGERTIP_Z_M - (PALM_BOTTOM_Z_M - 0.005)) / 2)
    link_y = sign * (GRIPPER_STROKE_M / 2 + 2 * PAD_HALF_M[1] + link_half[1])
    link_z = FINGERTIP_Z_M - link_half[2]
    return f"""
<body name="{side}_finger" gravcomp="1">
  <inertial pos="0 {sign * 0.052:g} 0.14" mass="{FINGER_MASS_KG:g}" diaginertia="2e-5 2e-5 1e-5"/>
  <joint name="{side}_finger_joint" type="slide" axis="0 {-sign:g} 0" range="0 {FINGER_TRAVEL_M:g}"
         limited="true" damping="{damping_Ns_per_m:.6g}" armature="{armature_kg:g}"
         solreflimit="{CONTACT_SOLREF}" solimplimit="{PAD_SOLIMP}"/>
  <geom name="{side}_finger_link" type="box" size="{fmt(link_half)}" pos="0 {link_y:.6g} {link_z:.6g}"
        {CONTACT_GRIPPER} rgba="0.15 0.15 0.15 1" group="1"/>
  <geom name="{side}_pad" type="box" size="{fmt(PAD_HALF_M)}" pos="0 {pad_y:.6g} {TCP_Z_M:g}"
        {CONTACT_GRIPPER} condim="4" friction="{pad_friction:g} 0.01 0.0001" priority="1"
        solref="{CONTACT_SOLREF}" solimp="{PAD_SOLIMP}" rgba="0.35 0.35 0.4 1" group="1"/>
</body>"""


def finger_damping(grip_force_N: float, finger_speed_mps: float) -> float:
    return grip_force_N / finger_speed_mps


def gripper_body_xml(grip_force_N: float, finger_speed_mps: float, pad_friction: float, armature_kg: float,
                     extra: str = "") -> str:
    """The gripper body (child of the flange body) with both fingers, the tcp site and ``extra``."""
    damping = finger_damping(grip_force_N, finger_speed_mps)
    housing_half = (0.03, 0.045, (PALM_BOTTOM_Z_M - 0.012) / 2)
    housing_z = 0.012 + housing_half[2]
    return f"""
<body name="gripper" gravcomp="1">
  <inertial pos="0 0 0.06" mass="{BASE_MASS_KG:g}" diaginertia="1.2e-3 9.2e-4 7.9e-4"/>
  <geom name="gripper_coupling" type="cylinder" size="0.0375 0.006" pos="0 0 0.006"
        {CONTACT_GRIPPER} rgba="0.1 0.1 0.1 1" group="1"/>
  <geom name="gripper_housing" type="box" size="{fmt(housing_half)}" pos="0 0 {housing_z:.6g}"
        {CONTACT_GRIPPER} rgba="0.12 0.12 0.13 1" group="1"/>
  <site name="tcp" pos="0 0 {TCP_Z_M:g}" size="0.004" rgba="0 1 0 1" group="4"/>
  {_finger_xml("left", 1.0, pad_friction, damping, armature_kg)}
  {_finger_xml("right", -1.0, pad_friction, damping, armature_kg)}
  {extra}
</body>"""


def gripper_tendon_xml() -> str:
    return (
        f'<fixed name="{TENDON}"><joint joint="{LEFT_JOINT}" coef="1"/><joint joint="{RIGHT_JOINT}" coef="1"/></fixed>'
    )


def gripper_equality_xml() -> str:
    return (f'<joint name="finger_coupling" joint1="{RIGHT_JOINT}" joint2="{LEFT_JOINT}" polycoef="0 1 0 0 0" '
            f'solref="{CONTACT_SOLREF}"/>')


def gripper_actuator_xml() -> str:
    """Force on each finger in N (+ closes), so the squeeze force on a held object equals ctrl."""
    lim = f"{-MAX_FORCE_N:g} {MAX_FORCE_N:g}"
    return f'<motor name="{ACTUATOR}" tendon="{TENDON}" ctrllimited="true" ctrlrange="{lim}"/>'
