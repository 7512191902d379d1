"""The per-entity MJCF parts simulate the same bodies as the whole cell."""
import mujoco
import numpy as np
import pytest

from omnireset_sim.assets import build_cell_model
from omnireset_sim.assets.parts import PART_NAMES, part_xmls
from omnireset_sim.assets.ur_arm import JOINT_NAMES, LINK_NAMES

ROBOT_BODIES = LINK_NAMES + ("flange", "gripper", "left_finger", "right_finger")


@pytest.fixture(scope="module")
def models():
    return {name: mujoco.MjModel.from_xml_string(xml) for name, xml in part_xmls().items()}


def test_every_part_compiles(models):
    assert set(models) == set(PART_NAMES)


def test_robot_part_matches_cell_kinematics_and_inertia(models):
    cell, robot = build_cell_model(), models["robot"]
    for body in ROBOT_BODIES:
        assert robot.body(body).mass[0] == pytest.approx(cell.body(body).mass[0], rel=1e-12)
        np.testing.assert_allclose(robot.body(body).inertia, cell.body(body).inertia, rtol=1e-12)
    for joint in JOINT_NAMES:
        np.testing.assert_allclose(robot.joint(joint).range, cell.joint(joint).range)
        assert robot.dof_armature[robot.joint(joint).dofadr[0]] == cell.dof_armature[cell.joint(joint).dofadr[0]]
    rng = np.random.default_rng(0)
    d_cell, d_robot = mujoco.MjData(cell), mujoco.MjData(robot)
    for _ in range(10):
        q = rng.uniform(-np.pi, np.pi, 6)
        for model, data in ((cell, d_cell), (robot, d_robot)):
            for name, value in zip(JOINT_NAMES, q):
                data.qpos[model.joint(name).qposadr[0]] = value
            mujoco.mj_kinematics(model, data)
        np.testing.assert_allclose(d_robot.site("tcp").xpos, d_cell.site("tcp").xpos, atol=1e-12)
        np.testing.assert_allclose(d_robot.site("tcp").xmat, d_cell.site("tcp").xmat, atol=1e-12)


def test_objects_keep_their_geometry(models):
    cell = build_cell_model()
    peg = models["insertive"]
    np.testing.assert_allclose(peg.geom("peg_geom").size, cell.geom("peg_geom").size)
    assert peg.body("peg").mass[0] == pytest.approx(cell.body("peg").mass[0])
    hole = models["receptive"]
    for i in range(4):
        np.testing.assert_allclose(hole.geom(f"peg_hole_wall{i}").size, cell.geom(f"peg_hole_wall{i}").size)
        np.testing.assert_allclose(hole.geom(f"peg_hole_wall{i}").pos, cell.geom(f"peg_hole_wall{i}").pos)
    assert hole.njnt == 1  # free joint: the consumer makes it kinematic
    np.testing.assert_allclose(models["table"].geom("table").size, cell.geom("table").size)
