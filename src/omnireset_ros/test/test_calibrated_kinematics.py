"""The robot's own calibration file, named once in robot.yaml (``robot.kinematics_file``), moves the
kinematics of the real-robot controller, the twin (its MJCF and its FK) and the URDF alike: each
is compared with the forward kinematics of the file's joint chain."""
import shutil
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest
import yaml
from conftest import CONFIG_DIR

from omnireset_bringup.urdf import urdf_from_config
from omnireset_core.kinematics.calibration import LINKS, load_ur_calibration
from omnireset_core.rotations import rpy_to_matrix
from omnireset_drivers import load_hardware_config
from omnireset_ros.controller_hardware import robot_kinematics
from omnireset_sim.assets.robotiq import FLANGE_T_TCP
from omnireset_sim.config import load_cell_config
from omnireset_sim.twin import TwinCell

# ur_description's config/ur5e/default_kinematics.yaml (the UR7e shares it): how ur_calibration
# writes a robot's joint origins, x y z [m], roll pitch yaw [rad] per joint.
NOMINAL = {
    "shoulder": (0.0, 0.0, 0.1625, 0.0, 0.0, 0.0),
    "upper_arm": (0.0, 0.0, 0.0, 1.570796327, 0.0, 0.0),
    "forearm": (-0.425, 0.0, 0.0, 0.0, 0.0, 0.0),
    "wrist_1": (-0.3922, 0.0, 0.1333, 0.0, 0.0, 0.0),
    "wrist_2": (0.0, -0.0997, -2.044881182297852e-11, 1.570796327, 0.0, 0.0),
    "wrist_3": (0.0, 0.09959999999999999, -2.042830148012698e-11, 1.570796326589793, 3.141592653589793,
                3.141592653589793),
}
# A robot whose joint origins are off by the millimetres and milliradians a factory calibration corrects.
OFFSETS = ((0.0, 0.0, 0.002, 0.0, 0.0, 0.004), (0.001, 0.0, 0.0, 0.003, 0.0, 0.0),
           (-0.002, 0.0, 0.001, 0.0, 0.0, -0.002), (0.0, 0.0015, -0.001, 0.0, 0.002, 0.0),
           (0.0, -0.001, 0.0005, 0.001, 0.0, 0.0), (0.0, 0.0005, 0.0, 0.0, 0.0, 0.003))


def _calibration_yaml(offsets=OFFSETS) -> dict:
    keys = ("x", "y", "z", "roll", "pitch", "yaw")
    kinematics = {link: dict(zip(keys, (v + e for v, e in zip(NOMINAL[link], extra))))
                  for link, extra in zip(LINKS, offsets)}
    return {"kinematics": {**kinematics, "hash": "calib_123"}}


def _with_calibration(tmp_path, calibration: dict):
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("ros", "rviz", "schedules"))
    (config / "my_robot_calibration.yaml").write_text(yaml.safe_dump(calibration))
    robot = yaml.safe_load((config / "robot.yaml").read_text())
    robot["robot"]["kinematics_file"] = "my_robot_calibration.yaml"
    (config / "robot.yaml").write_text(yaml.safe_dump(robot))
    return config


@pytest.fixture()
def calibrated_config(tmp_path):
    return _with_calibration(tmp_path, _calibration_yaml())


def _urdf_tool0(urdf: str, q: np.ndarray) -> np.ndarray:
    joints = {j.find("child").get("link"): j for j in ET.fromstring(urdf).findall("joint")}
    chain, link = [], "tool0"
    while link in joints:
        chain.append(joints[link])
        link = joints[link].find("parent").get("link")
    T, k = np.eye(4), 0
    for joint in reversed(chain):
        origin = np.eye(4)
        origin[:3, :3] = rpy_to_matrix([float(v) for v in joint.find("origin").get("rpy").split()])
        origin[:3, 3] = [float(v) for v in joint.find("origin").get("xyz").split()]
        T = T @ origin
        if joint.get("type") == "revolute":
            turn = np.eye(4)
            turn[:3, :3] = rpy_to_matrix((0.0, 0.0, q[k]))
            T, k = T @ turn, k + 1
    return T


def test_one_calibration_file_moves_controller_twin_and_urdf_alike(calibrated_config):
    truth = load_ur_calibration(calibrated_config / "my_robot_calibration.yaml")
    qs = np.random.default_rng(3).uniform(-np.pi, np.pi, (20, 6))
    want_tool0 = truth.tool0(qs)
    nominal_tool0 = robot_kinematics(load_hardware_config(CONFIG_DIR / "robot.yaml").robot).frames(qs)[:, 6]
    assert np.abs(want_tool0[:, :3, 3] - nominal_tool0[:, :3, 3]).max() > 2e-3  # the file matters

    hw = load_hardware_config(calibrated_config / "robot.yaml")
    controller = robot_kinematics(hw.robot)
    np.testing.assert_allclose(controller.frames(qs)[:, 6], want_tool0, atol=1e-12)

    twin = TwinCell(load_cell_config(calibrated_config / "cell.yaml"))
    np.testing.assert_allclose(twin.kinematics.frames(qs)[:, 6], want_tool0, atol=1e-12)
    np.testing.assert_allclose(twin.kinematics.flange_T_tcp, FLANGE_T_TCP)
    data = mujoco.MjData(twin.model)
    for q, want in zip(qs, want_tool0):
        data.qpos[twin.arm_qpos_adr] = q
        mujoco.mj_kinematics(twin.model, data)
        site = data.site("tool0")
        np.testing.assert_allclose(site.xpos, want[:3, 3], atol=1e-8)
        np.testing.assert_allclose(site.xmat.reshape(3, 3), want[:3, :3], atol=2e-8)  # MuJoCo renormalises the quats
        np.testing.assert_allclose(data.site("tcp").xpos, twin.kinematics.tcp_pose(q)[:3, 3], atol=1e-8)

    urdf = urdf_from_config(calibrated_config)
    for q, want in zip(qs, want_tool0):
        np.testing.assert_allclose(_urdf_tool0(urdf, q), want, atol=1e-9)


def test_a_missing_calibration_file_is_named(calibrated_config):
    (calibrated_config / "my_robot_calibration.yaml").unlink()
    for load in (lambda: load_hardware_config(calibrated_config / "robot.yaml"),
                 lambda: load_cell_config(calibrated_config / "cell.yaml"),
                 lambda: urdf_from_config(calibrated_config)):
        with pytest.raises(ValueError, match="robot.kinematics_file 'my_robot_calibration.yaml': no such file"):
            load()


def test_each_links_mass_moves_with_its_joint_not_by_the_files_convention(tmp_path):
    """ur_description's files put the DH offsets d_i in the joint origins, so their link frames
    sit elsewhere on the joint axes than the DH frames: the links' centres of mass (and shapes) of
    a twin built from the nominal file are where the DH twin has them, and a calibration moves
    them by millimetres only."""
    qs = np.random.default_rng(4).uniform(-np.pi, np.pi, (10, 6))

    def link_coms(config_dir):
        twin = TwinCell(load_cell_config(config_dir / "cell.yaml") if config_dir else None)
        data, out = mujoco.MjData(twin.model), []
        for q in qs:
            data.qpos[twin.arm_qpos_adr] = q
            mujoco.mj_kinematics(twin.model, data)
            out.append([data.body(f"link{i}").xipos.copy() for i in range(1, 7)])
        return np.array(out)

    dh = link_coms(None)
    nominal_file = _with_calibration(tmp_path / "nominal", _calibration_yaml(((0.0,) * 6,) * 6))
    np.testing.assert_allclose(link_coms(nominal_file), dh, atol=1e-8)
    calibrated = _with_calibration(tmp_path / "calibrated", _calibration_yaml())
    assert np.abs(link_coms(calibrated) - dh).max() < 0.01
