"""The generated MJCF arm reproduces the analytic UR kinematics exactly (by construction)."""
import mujoco
import numpy as np
import pytest

from omnireset_core.kinematics.ur import UR5E, UR7E, DHCalibration, URKinematics, inertia_matrix
from omnireset_sim.assets import FLANGE_T_TCP, build_cell_model
from omnireset_sim.assets.ur_arm import JOINT_NAMES, LINK_NAMES

TOL = 1e-6
CALIBRATED = UR7E.calibrated(
    DHCalibration(
        delta_theta_rad=(1e-3, -2e-3, 3e-3, 0.0, -1e-3, 2e-3),
        delta_a_m=(0.0, 4e-4, -3e-4, 0.0, 0.0, 0.0),
        delta_d_m=(1e-4, 0.0, 0.0, -2e-4, 3e-4, 0.0),
        delta_alpha_rad=(1e-4, 0.0, -2e-4, 0.0, 1e-4, 0.0),
    )
)


def _arm_indices(m):
    return ([m.joint(n).qposadr[0] for n in JOINT_NAMES], [m.joint(n).dofadr[0] for n in JOINT_NAMES])


def _site_T(d, name):
    T = np.eye(4)
    T[:3, :3] = d.site(name).xmat.reshape(3, 3)
    T[:3, 3] = d.site(name).xpos
    return T


@pytest.mark.parametrize("params", [UR7E, CALIBRATED], ids=["nominal", "calibrated"])
def test_fk_and_jacobian_match_mujoco(params):
    m = build_cell_model(params=params)
    d = mujoco.MjData(m)
    qadr, vadr = _arm_indices(m)
    kin = URKinematics(params, FLANGE_T_TCP)
    rng = np.random.default_rng(7)
    jacp, jacr = np.zeros((3, m.nv)), np.zeros((3, m.nv))
    worst = {"tool0": 0.0, "tcp": 0.0, "jac": 0.0}
    for _ in range(50):
        q = rng.uniform(np.asarray(params.joint_lower_rad) / 2, np.asarray(params.joint_upper_rad) / 2)
        d.qpos[qadr] = q
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        b_T_tcp, jac = kin.tcp_pose_and_jacobian(q)
        worst["tool0"] = max(worst["tool0"], np.abs(_site_T(d, "tool0") - kin.frames(q)[6]).max())
        worst["tcp"] = max(worst["tcp"], np.abs(_site_T(d, "tcp") - b_T_tcp).max())
        mujoco.mj_jacSite(m, d, jacp, jacr, m.site("tcp").id)
        worst["jac"] = max(worst["jac"], np.abs(np.vstack([jacp, jacr])[:, vadr] - jac).max())
    assert max(worst.values()) <= TOL, worst


def test_link_com_and_mass_follow_parameters():
    m = build_cell_model()
    d = mujoco.MjData(m)
    qadr, _ = _arm_indices(m)
    kin = URKinematics(UR7E)
    q = np.array([0.3, -1.2, 1.5, -0.7, 0.9, 0.4])
    d.qpos[qadr] = q
    mujoco.mj_kinematics(m, d)
    frames = kin.frames(q)
    for i, name in enumerate(LINK_NAMES):
        com_b = frames[i + 1] @ np.r_[UR7E.link_com_m[i], 1.0]
        np.testing.assert_allclose(d.body(name).xipos, com_b[:3], atol=1e-9, err_msg=name)
        assert m.body(name).mass[0] == pytest.approx(UR7E.link_mass_kg[i])


def test_link_inertias_are_the_published_ur7e_tensors():
    """MuJoCo's inertia of each link, turned into the base frame, equals ur_description's UR7e
    tensor (given in DH frame i) turned the same way; the UR5e, with none published, gets the
    cylinder estimate instead."""
    m, m5 = build_cell_model(), build_cell_model(params=UR5E)
    d = mujoco.MjData(m)
    qadr, _ = _arm_indices(m)
    q = np.array([0.3, -1.2, 1.5, -0.7, 0.9, 0.4])
    d.qpos[qadr] = q
    mujoco.mj_kinematics(m, d)
    frames = URKinematics(UR7E).frames(q)
    for i, name in enumerate(LINK_NAMES):
        R_inertial = d.body(name).ximat.reshape(3, 3)
        got_b = R_inertial @ np.diag(m.body(name).inertia) @ R_inertial.T
        R_dh = frames[i + 1][:3, :3]
        want_b = R_dh @ inertia_matrix(UR7E.link_inertia_kgm2[i]) @ R_dh.T
        np.testing.assert_allclose(got_b, want_b, atol=1e-9, err_msg=name)
        assert not np.allclose(np.sort(m5.body(name).inertia), np.sort(m.body(name).inertia), rtol=0.05)


def test_tcp_offset_is_in_range_and_gripper_mass_realistic():
    assert FLANGE_T_TCP[:3, :3] == pytest.approx(np.eye(3))
    assert 0.15 <= FLANGE_T_TCP[2, 3] <= 0.175
    m = build_cell_model()
    gripper_kg = sum(m.body(n).mass[0] for n in ("gripper", "left_finger", "right_finger"))
    assert 0.8 <= gripper_kg <= 1.0


def test_joint_ranges_and_torque_limits_from_parameters():
    m = build_cell_model()
    for i, name in enumerate(JOINT_NAMES):
        assert m.joint(name).range == pytest.approx([UR7E.joint_lower_rad[i], UR7E.joint_upper_rad[i]])
        act = m.actuator(f"{name}_motor")
        assert act.ctrlrange == pytest.approx([-UR7E.torque_limit_Nm[i], UR7E.torque_limit_Nm[i]])
        assert act.forcerange == pytest.approx([-UR7E.torque_limit_Nm[i], UR7E.torque_limit_Nm[i]])
