"""The generated URDF against the core's DH kinematics and the twin's MuJoCo model.

FK here is computed from the URDF text alone (joint origins xyz/rpy, axes), not from the
generator's matrices, so a wrong rpy convention or lost precision shows up.
"""
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from omnireset_bringup.urdf import (
    ARM_JOINTS, FINGER_JOINTS, camera_frame_name, cameras_from_yaml, flange_T_tcp_from_robot_yaml,
    generate_urdf, urdf_from_config,
)
from omnireset_core.kinematics.ur import UR7E, DHCalibration, URKinematics
from omnireset_core.rotations import matrix_to_rpy, rpy_to_matrix

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
RNG = np.random.default_rng(7)
TCP = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0.155], [0, 0, 0, 1.0]])


class UrdfChain:
    """Forward kinematics of a URDF tree, parsed from its XML."""

    def __init__(self, text: str):
        self.root = ET.fromstring(text)
        self.joints = {}
        self.parent_joint = {}  # child link -> joint name
        for j in self.root.findall("joint"):
            origin = j.find("origin")
            xyz = [float(v) for v in origin.get("xyz").split()]
            rpy = [float(v) for v in origin.get("rpy").split()]
            T = np.eye(4)
            T[:3, :3], T[:3, 3] = rpy_to_matrix(rpy), xyz
            axis = j.find("axis")
            limit = j.find("limit")
            self.joints[j.get("name")] = {
                "type": j.get("type"), "parent": j.find("parent").get("link"), "child": j.find("child").get("link"),
                "origin": T, "axis": None if axis is None else np.array([float(v) for v in axis.get("xyz").split()]),
                "limit": None if limit is None else (float(limit.get("lower")), float(limit.get("upper"))),
                "mimic": None if j.find("mimic") is None else j.find("mimic").get("joint"),
            }
            self.parent_joint[j.find("child").get("link")] = j.get("name")
        self.links = [link.get("name") for link in self.root.findall("link")]

    def pose(self, link: str, q: dict) -> np.ndarray:
        """base_T_link for joint values ``q`` (name -> value; missing joints at 0)."""
        chain = []
        while link in self.parent_joint:
            name = self.parent_joint[link]
            chain.append(name)
            link = self.joints[name]["parent"]
        T = np.eye(4)
        for name in reversed(chain):
            j = self.joints[name]
            T = T @ j["origin"]
            value = q.get(j["mimic"] or name, 0.0)
            if j["type"] == "revolute":
                T = T @ _axis_rotation(j["axis"], value)
            elif j["type"] == "prismatic":
                step = np.eye(4)
                step[:3, 3] = j["axis"] * value
                T = T @ step
        return T


def _axis_rotation(axis, angle):
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    T = np.eye(4)
    T[:3, :3] = np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K
    return T


def _random_q(params, n):
    lo, hi = np.array(params.joint_lower_rad), np.array(params.joint_upper_rad)
    return RNG.uniform(lo, hi, size=(n, 6))


def _arm_q(q):
    return dict(zip(ARM_JOINTS, q))


@pytest.mark.parametrize("calibrated", [False, True], ids=["nominal", "calibrated"])
def test_urdf_chain_fk_equals_dh_fk(calibrated):
    params = UR7E
    if calibrated:  # factory-calibration-sized deltas: theta offsets must be folded in correctly
        params = UR7E.calibrated(DHCalibration(
            delta_theta_rad=tuple(RNG.normal(0, 1e-3, 6)), delta_a_m=tuple(RNG.normal(0, 1e-4, 6)),
            delta_d_m=tuple(RNG.normal(0, 1e-4, 6)), delta_alpha_rad=tuple(RNG.normal(0, 1e-3, 6))))
    flange_T_tcp = TCP.copy()
    flange_T_tcp[:3, :3] = rpy_to_matrix((0.1, -0.2, 0.3))
    chain = UrdfChain(generate_urdf(params, flange_T_tcp))
    kin = URKinematics(params, flange_T_tcp)
    for q in _random_q(params, 50):
        frames = kin.frames(q)
        np.testing.assert_allclose(chain.pose("tcp", _arm_q(q)), kin.tcp_pose(q), rtol=0, atol=1e-9)
        np.testing.assert_allclose(chain.pose("flange", _arm_q(q)), frames[6], rtol=0, atol=1e-9)
        np.testing.assert_allclose(chain.pose("tool0", _arm_q(q)), frames[6], rtol=0, atol=1e-9)
        for i in range(1, 7):  # link i turns about the z axis of DH frame i-1, through its origin
            T = chain.pose(f"link{i}", _arm_q(q))
            np.testing.assert_allclose(T[:3, 3], frames[i - 1][:3, 3], rtol=0, atol=1e-9)
            np.testing.assert_allclose(T[:3, 2], frames[i - 1][:3, 2], rtol=0, atol=1e-9)


def test_joint_names_limits_and_placements_match_the_twin():
    mujoco = pytest.importorskip("mujoco")
    from omnireset_sim.assets import build_cell_model

    model = build_cell_model()
    chain = UrdfChain(generate_urdf(UR7E, TCP))
    movable = {n: j for n, j in chain.joints.items() if j["type"] != "fixed"}
    assert set(movable) == set(ARM_JOINTS) | set(FINGER_JOINTS)
    for name, joint in movable.items():
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        assert jid >= 0, f"the twin has no joint {name}"
        expected_type = mujoco.mjtJoint.mjJNT_HINGE if joint["type"] == "revolute" else mujoco.mjtJoint.mjJNT_SLIDE
        assert model.jnt_type[jid] == expected_type, name
        assert model.jnt_limited[jid], name
        np.testing.assert_allclose(joint["limit"], model.jnt_range[jid], rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(joint["axis"], model.jnt_axis[jid], rtol=0, atol=1e-12, err_msg=name)
        assert chain.joints[name]["child"] == model.body(model.jnt_bodyid[jid]).name

    # Same frames as the twin's bodies and sites, fingers included.
    data = mujoco.MjData(model)
    for _ in range(10):
        q = _random_q(UR7E, 1)[0]
        fingers = RNG.uniform(0, 0.0425, 2)
        values = {**_arm_q(q), FINGER_JOINTS[0]: fingers[0], FINGER_JOINTS[1]: fingers[0]}
        for name, value in values.items():
            data.joint(name).qpos[0] = value
        mujoco.mj_kinematics(model, data)
        for link in ("link1", "link2", "link3", "link4", "link5", "link6", "flange", "gripper",
                     "left_finger", "right_finger"):
            T = chain.pose(link, values)
            np.testing.assert_allclose(T[:3, 3], data.body(link).xpos, rtol=0, atol=1e-9, err_msg=link)
            np.testing.assert_allclose(T[:3, :3], data.body(link).xmat.reshape(3, 3), rtol=0, atol=1e-9,
                                       err_msg=link)
        for site in ("tool0", "tcp"):
            T = chain.pose(site, values)
            np.testing.assert_allclose(T[:3, 3], data.site(site).xpos, rtol=0, atol=1e-9, err_msg=site)
            np.testing.assert_allclose(T[:3, :3], data.site(site).xmat.reshape(3, 3), rtol=0, atol=1e-9,
                                       err_msg=site)


def test_urdf_is_well_formed_with_one_tree():
    text = urdf_from_config(CONFIG_DIR)
    root = ET.fromstring(text)  # raises on malformed XML
    assert root.tag == "robot"
    chain = UrdfChain(text)
    assert len(chain.links) == len(set(chain.links)), "duplicate link names"
    assert len(chain.joints) == len(root.findall("joint")), "duplicate joint names"
    children = [j["child"] for j in chain.joints.values()]
    assert len(children) == len(set(children)), "a link with two parents"
    roots = set(chain.links) - set(children)
    assert roots == {"base"}
    for j in chain.joints.values():
        assert j["parent"] in chain.links and j["child"] in chain.links
    for name in ("base", "flange", "tool0", "tcp", *(f"link{i}" for i in range(1, 7))):
        assert name in chain.links
    materials = {m.get("name") for m in root.findall("material")}
    for m in root.iter("material"):
        assert m.get("name") in materials


def test_camera_frames_follow_cameras_yaml():
    chain = UrdfChain(urdf_from_config(CONFIG_DIR))
    cams = {c.name: c for c in cameras_from_yaml(CONFIG_DIR / "cameras.yaml")}
    assert set(cams) == {"front", "side", "wrist"}
    q = _random_q(UR7E, 1)[0]
    kin = URKinematics(UR7E)
    from omnireset_core.rotations import quat_to_matrix
    for name, cam in cams.items():
        T = chain.pose(camera_frame_name(name), _arm_q(q))
        mount = np.eye(4) if cam.parent == "base" else kin.frames(q)[6]
        expected = np.eye(4)
        expected[:3, :3], expected[:3, 3] = quat_to_matrix(np.array(cam.quat_wxyz)), cam.pos_m
        np.testing.assert_allclose(T, mount @ expected, rtol=0, atol=1e-9, err_msg=name)


def test_tcp_comes_from_robot_yaml():
    np.testing.assert_allclose(flange_T_tcp_from_robot_yaml(CONFIG_DIR / "robot.yaml"), TCP, atol=1e-15)


def test_bad_tcp_offset_is_refused_naming_the_field(tmp_path):
    (tmp_path / "robot.yaml").write_text("robot:\n  tcp_offset_m_rad: [0, 0, .nan, 0, 0, 0]\n")
    with pytest.raises(ValueError, match="tcp_offset_m_rad"):
        flange_T_tcp_from_robot_yaml(tmp_path / "robot.yaml")


@pytest.mark.parametrize("rpy", [(0, 0, 0), (0.3, -1.2, 2.9), (1.0, math.pi / 2, 0.4), (-0.7, -math.pi / 2, 2.0),
                                 (math.pi, 0, 0), (0, 0, -math.pi + 1e-3)])
def test_rpy_round_trip(rpy):
    R = rpy_to_matrix(rpy)
    np.testing.assert_allclose(rpy_to_matrix(matrix_to_rpy(R)), R, rtol=0, atol=1e-14)


def test_console_script_writes_the_urdf(tmp_path):
    out = tmp_path / "robot.urdf"
    result = subprocess.run([sys.executable, "-m", "omnireset_bringup.urdf", "--config-dir", str(CONFIG_DIR),
                             "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == urdf_from_config(CONFIG_DIR)
    bad = subprocess.run([sys.executable, "-m", "omnireset_bringup.urdf", "--config-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "robot.yaml" in bad.stderr and "Traceback" not in bad.stderr


def test_generator_refuses_a_bad_tcp_and_camera_parent():
    with pytest.raises(ValueError, match="flange_T_tcp"):
        generate_urdf(UR7E, np.eye(3))
    from omnireset_bringup.urdf import CameraMount
    with pytest.raises(ValueError, match="parent"):
        generate_urdf(UR7E, TCP, [CameraMount("x", "link3", (0, 0, 0), (1, 0, 0, 0))])
    assert "ur5e" in generate_urdf(replace(UR7E, name="ur5e"), TCP, robot_name="ur5e")
