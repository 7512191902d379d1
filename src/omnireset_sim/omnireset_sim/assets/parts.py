"""The cell split into one standalone MJCF document per scene entity, for simulators that build a
scene from separate assets (Isaac Lab spawns a robot articulation and rigid objects per env).

The parts are written by the same functions as ``build_cell_xml``, so geometry, masses, joints,
armature, damping, contact parameters and the gripper's tendon/equality are those of the twin.
Differences, all forced by the split: the robot gets a fixed ``base`` body (an articulation needs
a root link) holding the base housing; the receptive fixture gets a free joint instead of being a
mocap body (the consumer makes it kinematic); the table is a static
collider of its own.
"""
from __future__ import annotations

from omnireset_core.kinematics.ur import UR7E, URParameters
from omnireset_sim.assets import robotiq
from omnireset_sim.assets.cell import TABLE_THICKNESS_M, TABLE_X_M, TABLE_Y_M
from omnireset_sim.assets.mjcf import CONTACT_SOLIMP, CONTACT_SOLREF, CONTACT_WORLD, fmt
from omnireset_sim.assets.objects import hole_body_xml, peg_body_xml
from omnireset_sim.assets.ur_arm import arm_actuators_xml, arm_bodies_xml, base_geoms_xml
from omnireset_sim.config import CellConfig

PART_NAMES = ("robot", "insertive", "receptive", "table")
BASE_BODY = "base"
BASE_MASS_KG = 4.0  # the housing below the shoulder; fixed to the world, so it only matters as a root


def _document(model: str, body: str, extra: str = "") -> str:
    return f"""<mujoco model="{model}">
<compiler angle="radian" autolimits="true"/>
<default>
  <geom solref="{CONTACT_SOLREF}" solimp="{CONTACT_SOLIMP}"/>
</default>
<worldbody>
{body}
</worldbody>
{extra}
</mujoco>
"""


def robot_xml(cell: CellConfig, params: URParameters = UR7E) -> str:
    grip = cell.gripper
    gripper = robotiq.gripper_body_xml(grip.grip_force_N, grip.finger_speed_mps, grip.pad_friction,
                                       grip.drive_reflected_mass_kg)
    arm = arm_bodies_xml(params, cell.arm, gripper, joint_placements=cell.arm.joint_placements())
    body = f"""<body name="{BASE_BODY}" gravcomp="1">
<inertial pos="0 0 0.04" mass="{BASE_MASS_KG:g}" diaginertia="0.01 0.01 0.01"/>
{base_geoms_xml()}
{arm}
</body>"""
    extra = f"""<tendon>{robotiq.gripper_tendon_xml()}</tendon>
<equality>{robotiq.gripper_equality_xml()}</equality>
<actuator>
{arm_actuators_xml(params)}
{robotiq.gripper_actuator_xml()}
</actuator>"""
    return _document("omnireset_robot", body, extra)


def insertive_xml(cell: CellConfig) -> str:
    return _document("omnireset_insertive", peg_body_xml(cell.peg))


def receptive_xml(cell: CellConfig) -> str:
    body = hole_body_xml(cell.peg, cell.hole).replace('mocap="true"', "", 1)
    name_end = body.index(">", body.index("<body"))
    free = '\n  <freejoint name="receptive_joint"/>\n  <inertial pos="0 0 0.01" mass="1" diaginertia="1e-3 1e-3 1e-3"/>'
    body = body[: name_end + 1] + free + body[name_end + 1:]
    return _document("omnireset_receptive", body)


def table_xml(cell: CellConfig) -> str:
    half = ((TABLE_X_M[1] - TABLE_X_M[0]) / 2, (TABLE_Y_M[1] - TABLE_Y_M[0]) / 2, TABLE_THICKNESS_M / 2)
    pos = (sum(TABLE_X_M) / 2, sum(TABLE_Y_M) / 2, -TABLE_THICKNESS_M / 2)
    body = f"""<geom name="table" type="box" size="{fmt(half)}" pos="{fmt(pos)}" {CONTACT_WORLD}
      friction="{cell.physics.table_friction:g} 0.005 0.0001" rgba="0.62 0.55 0.45 1"/>"""
    return _document("omnireset_table", body)


def part_xmls(cell: CellConfig | None = None, params: URParameters = UR7E) -> dict[str, str]:
    """``{part name: MJCF text}`` for the robot (arm + gripper), insertive, receptive and table."""
    cell = cell or CellConfig()
    return {"robot": robot_xml(cell, params), "insertive": insertive_xml(cell),
            "receptive": receptive_xml(cell), "table": table_xml(cell)}
