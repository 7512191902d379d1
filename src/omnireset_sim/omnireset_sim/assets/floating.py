"""The 2F-85 alone on a kinematic (mocap) hand, with the peg free and zero gravity: the model the
grasp sampler closes the gripper in. Same gripper, peg, contact and solver settings as the cell.

The mocap body ``hand`` is the flange frame (tool0); the ``tcp`` site sits 0.155 m along its z.
Gravity is off in the model; apply the object's weight as an external force where needed.
"""
from __future__ import annotations

import mujoco

from omnireset_sim.assets import robotiq
from omnireset_sim.assets.mjcf import CONTACT_SOLIMP, CONTACT_SOLREF
from omnireset_sim.assets.objects import peg_body_xml
from omnireset_sim.config import CellConfig

HAND_BODY = "hand"


def build_floating_gripper_xml(cell: CellConfig | None = None, timestep_s: float | None = None) -> str:
    cell = cell or CellConfig()
    physics, grip = cell.physics, cell.gripper
    dt = physics.timestep_s if timestep_s is None else timestep_s
    gripper = robotiq.gripper_body_xml(grip.grip_force_N, grip.finger_speed_mps, grip.pad_friction,
                                       grip.drive_reflected_mass_kg)
    return f"""<mujoco model="omnireset_floating_gripper">
<compiler angle="radian" autolimits="true"/>
<option timestep="{dt:.17g}" integrator="{physics.integrator}" cone="elliptic" impratio="{physics.impratio:g}"
        solver="Newton" iterations="{physics.solver_iterations}" tolerance="1e-10" gravity="0 0 0"/>
<default>
  <geom solref="{CONTACT_SOLREF}" solimp="{CONTACT_SOLIMP}"/>
</default>
<worldbody>
  <body name="{HAND_BODY}" mocap="true">
    {gripper}
  </body>
  {peg_body_xml(cell.peg)}
</worldbody>
<tendon>{robotiq.gripper_tendon_xml()}</tendon>
<equality>{robotiq.gripper_equality_xml()}</equality>
<actuator>{robotiq.gripper_actuator_xml()}</actuator>
</mujoco>
"""


def build_floating_gripper_model(cell: CellConfig | None = None, timestep_s: float | None = None) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_string(build_floating_gripper_xml(cell, timestep_s))
