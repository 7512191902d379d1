"""Tiny reset datasets of the peg task, made by geometry and IK alone (no simulation, no grasp
search): a fixture for tests and toy-scale pipelines until the reset generator's datasets are
used. The peg stands upright (reaching, near object) or hangs upright in a top-down grasp.
"""
from __future__ import annotations

import numpy as np

from omnireset_core.kinematics.ik import solve_ik_batch
from omnireset_core.kinematics.ur import UR7E, URKinematics
from omnireset_core.rotations import quat_mul, rotvec_to_quat
from omnireset_core.tasks import TaskDefinition, load_task
from omnireset_sim.assets import FLANGE_T_TCP
from omnireset_sim.config import CellConfig
from omnireset_training.reset_source import RESET_TYPES, InMemoryResets

TOOL_DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])  # tcp z = -z_b
GRASP_HEIGHT_M = 0.062  # tcp above the peg's bottom face: pads clear of the 40 mm fixture


def _yaw_quat(yaw_rad: float) -> np.ndarray:
    return np.array([np.cos(yaw_rad / 2), 0.0, 0.0, np.sin(yaw_rad / 2)])


def _grasp_tcp(peg_pos_b, peg_yaw_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Top-down grasp of the upright peg, fingers closing across a face."""
    return np.asarray(peg_pos_b) + [0.0, 0.0, GRASP_HEIGHT_M], quat_mul(_yaw_quat(peg_yaw_rad), TOOL_DOWN_QUAT)


def make_toy_resets(n_per_type: int = 16, seed: int = 0, task: TaskDefinition | None = None,
                    cell: CellConfig | None = None) -> InMemoryResets:
    task = task or load_task("peg")
    cell = cell or CellConfig()
    rng = np.random.default_rng(seed)
    kin = URKinematics(UR7E, FLANGE_T_TCP)
    home = np.asarray(cell.arm.home_q_rad)
    hard = task.variant("hard")
    rcv_nominal = np.asarray(task.receptive_nominal_b.pos_m)
    ins_nominal = np.asarray(task.insertive_nominal_b.pos_m)
    out: dict[str, dict[str, list]] = {
        t: {"q_arm_rad": [], "gripper_closed": [], "insertive_pose_b": [], "receptive_pose_b": []} for t in RESET_TYPES}

    def ik(pos, quat):
        q, ok = solve_ik_batch(kin, np.r_[pos, quat][None], home, iters=200, tol=1e-10, accept_err=1e-6)
        return q[0] if ok[0] else None

    for reset_type in RESET_TYPES:
        rows = out[reset_type]
        while len(rows["q_arm_rad"]) < n_per_type:
            rcv_xy = rcv_nominal[:2] + rng.uniform(-1, 1, 2) * hard.receptive_xy_half_range_m
            rcv_yaw = rng.uniform(-1, 1) * hard.receptive_yaw_half_range_rad
            rcv_pose = np.r_[rcv_xy, 0.0, _yaw_quat(rcv_yaw)]
            peg_xy = ins_nominal[:2] + rng.uniform(-1, 1, 2) * np.asarray(hard.insertive_xy_half_range_m) * 0.5
            if np.linalg.norm(peg_xy - rcv_xy) < 0.1:  # clear of the fixture
                continue
            peg_yaw = rng.uniform(-np.pi, np.pi)
            peg_pos = np.r_[peg_xy, 0.0]
            closed = bool(rng.integers(0, 2))
            if reset_type == "reaching":
                tcp_pos = rng.uniform([0.3, -0.3, 0.1], [0.6, 0.3, 0.4])
                tcp_quat = quat_mul(rotvec_to_quat(rng.uniform(-0.3, 0.3, 3)),
                                    quat_mul(_yaw_quat(rng.uniform(-np.pi, np.pi)), TOOL_DOWN_QUAT))
            elif reset_type == "near_object":
                tcp_pos, tcp_quat = _grasp_tcp(peg_pos, peg_yaw)
                tcp_pos = tcp_pos + rng.uniform(-0.02, 0.02, 3) + [0.0, 0.0, 0.02]
                tcp_quat = quat_mul(rotvec_to_quat(rng.uniform(-1, 1, 3) * np.pi / 16), tcp_quat)
            elif reset_type == "stable_grasp":
                peg_pos = np.r_[peg_xy, rng.uniform(0.05, 0.3)]
                tcp_pos, tcp_quat = _grasp_tcp(peg_pos, peg_yaw)
                closed = True
            else:  # near_goal: half seated, half hovering just above the fixture, misaligned
                c, s = np.cos(rcv_yaw), np.sin(rcv_yaw)
                if rng.random() < 0.5:
                    offset = np.r_[rng.uniform(-3e-4, 3e-4, 2), 0.0]
                else:
                    offset = np.r_[rng.uniform(-0.01, 0.01, 2), rng.uniform(0.042, 0.06)]
                peg_pos = rcv_pose[:3] + np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ offset
                peg_yaw = rcv_yaw + rng.integers(0, 4) * np.pi / 2 + (0.0 if offset[2] == 0 else rng.uniform(-0.2, 0.2))
                tcp_pos, tcp_quat = _grasp_tcp(peg_pos, peg_yaw)
                tcp_pos = tcp_pos + rng.uniform(-0.001, 0.001, 3)
                closed = closed or offset[2] > 0  # a hovering peg is held
            q = ik(tcp_pos, tcp_quat)
            if q is None:
                continue
            rows["q_arm_rad"].append(q)
            rows["gripper_closed"].append(closed)
            rows["insertive_pose_b"].append(np.r_[peg_pos, _yaw_quat(peg_yaw)])
            rows["receptive_pose_b"].append(rcv_pose)
    return InMemoryResets({t: {k: np.asarray(v) for k, v in rows.items()} for t, rows in out.items()})
