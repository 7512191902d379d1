"""The whole cell as one MJCF string: table, UR7e + 2F-85, peg, hole fixture, cameras.

World frame == robot base frame b (UR DH base at the origin, z up); the table top is z = 0.
"""
from __future__ import annotations

import numpy as np

import mujoco

from omnireset_core.kinematics.ur import UR7E, URParameters
from omnireset_core.rotations import quat_mul
from omnireset_sim.assets import robotiq
from omnireset_sim.assets.mjcf import CONTACT_FLOOR, CONTACT_SOLIMP, CONTACT_SOLREF, CONTACT_WORLD, fmt
from omnireset_sim.assets.objects import hole_body_xml, peg_body_xml
from omnireset_sim.assets.ur_arm import arm_actuators_xml, arm_bodies_xml, base_geoms_xml
from omnireset_sim.config import CameraConfig, CamerasConfig, CellConfig

# Table slab under the robot and workspace (top at z = 0), in frame b.
TABLE_X_M = (-0.35, 0.95)
TABLE_Y_M = (-0.7, 0.7)
TABLE_THICKNESS_M = 0.04
FLOOR_Z_M = -0.75
SCENE_EXTENT_M = 1.5  # fixed statistic/extent, so camera near/far are exact in metres
PIXEL_PITCH_M = 3e-6  # nominal sensor pixel size; only the ratios matter to MuJoCo

_OPTICAL_TO_MUJOCO = np.array([0.0, 1.0, 0.0, 0.0])  # rotate pi about x: (x, y, z) -> (x, -y, -z)


def optical_to_mujoco_quat(quat_optical_wxyz) -> np.ndarray:
    """MuJoCo camera frame (looks along -z, y up) from an optical frame (z forward, y down)."""
    return quat_mul(np.asarray(quat_optical_wxyz, dtype=float), _OPTICAL_TO_MUJOCO)


def camera_xml(cam: CameraConfig) -> str:
    """A <camera> with the pinhole intrinsics of ``cam``.

    MuJoCo takes focal length and principal point in pixels once a sensor size is given; its
    principal point is the image centre's offset from (cx, cy), i.e. (w/2 - cx, h/2 - cy)
    (checked by projection in the tests).
    The resulting vertical field of view is 2 atan(h / 2 fy) (``CameraConfig.fovy_deg``).
    """
    sensor = (cam.width_px * PIXEL_PITCH_M, cam.height_px * PIXEL_PITCH_M)
    principal = (cam.width_px / 2 - cam.cx_px, cam.height_px / 2 - cam.cy_px)
    return (
        f'<camera name="{cam.name}" pos="{fmt(cam.pos_m)}" quat="{fmt(optical_to_mujoco_quat(cam.quat_wxyz))}" '
        f'resolution="{cam.width_px} {cam.height_px}" sensorsize="{fmt(sensor)}" '
        f'focalpixel="{cam.fx_px:.9g} {cam.fy_px:.9g}" principalpixel="{fmt(principal)}"/>'
    )


def build_cell_xml(
    cell: CellConfig | None = None,
    cameras: CamerasConfig | None = None,
    params: URParameters = UR7E,
    timestep_s: float | None = None,
) -> str:
    cell = cell or CellConfig()
    cams = cameras.cameras if cameras is not None else ()
    physics, grip = cell.physics, cell.gripper
    dt = physics.timestep_s if timestep_s is None else timestep_s
    flange_cams = "\n".join(camera_xml(c) for c in cams if c.mount == "flange")
    world_cams = "\n".join(camera_xml(c) for c in cams if c.mount == "world")
    gripper = robotiq.gripper_body_xml(
        grip.grip_force_N, grip.finger_speed_mps, grip.pad_friction, grip.drive_reflected_mass_kg, flange_cams
    )
    arm = arm_bodies_xml(params, cell.arm, gripper, joint_placements=cell.arm.joint_placements())
    near = min((c.near_m for c in cams), default=0.01)
    far = max((c.far_m for c in cams), default=5.0)
    size = max((max(c.width_px, c.height_px) for c in cams), default=640)
    table_half = ((TABLE_X_M[1] - TABLE_X_M[0]) / 2, (TABLE_Y_M[1] - TABLE_Y_M[0]) / 2, TABLE_THICKNESS_M / 2)
    table_pos = (sum(TABLE_X_M) / 2, sum(TABLE_Y_M) / 2, -TABLE_THICKNESS_M / 2)
    return f"""<mujoco model="omnireset_cell">
<compiler angle="radian" autolimits="true"/>
<option timestep="{dt:.17g}" integrator="{physics.integrator}" cone="elliptic" impratio="{physics.impratio:g}"
        solver="Newton" iterations="{physics.solver_iterations}" tolerance="1e-10"/>
<default>
  <geom solref="{CONTACT_SOLREF}" solimp="{CONTACT_SOLIMP}"/>
</default>
<statistic extent="{SCENE_EXTENT_M:g}" center="0.4 0 0.2"/>
<visual>
  <global offwidth="{max(size, 640)}" offheight="{max(size, 480)}"/>
  <quality shadowsize="0" offsamples="0" numslices="12" numstacks="6" numquads="1"/>
  <map znear="{near / SCENE_EXTENT_M:.9g}" zfar="{far / SCENE_EXTENT_M:.9g}"/>
  <headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
</visual>
<worldbody>
  <light name="top" directional="true" castshadow="false" pos="0.4 0 2" dir="0 0 -1" diffuse="0.5 0.5 0.5"/>
  <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 {FLOOR_Z_M:g}" {CONTACT_FLOOR}
        rgba="0.42 0.42 0.45 1"/>
  <geom name="table" type="box" size="{fmt(table_half)}" pos="{fmt(table_pos)}" {CONTACT_WORLD}
        friction="{physics.table_friction:g} 0.005 0.0001" rgba="0.62 0.55 0.45 1"/>
  {base_geoms_xml()}
  {world_cams}
  {arm}
  {peg_body_xml(cell.peg)}
  {hole_body_xml(cell.peg, cell.hole)}
</worldbody>
<tendon>{robotiq.gripper_tendon_xml()}</tendon>
<equality>{robotiq.gripper_equality_xml()}</equality>
<actuator>
{arm_actuators_xml(params)}
{robotiq.gripper_actuator_xml()}
</actuator>
</mujoco>
"""


def build_cell_model(
    cell: CellConfig | None = None,
    cameras: CamerasConfig | None = None,
    params: URParameters = UR7E,
    timestep_s: float | None = None,
) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_string(build_cell_xml(cell, cameras, params, timestep_s))
