"""N MuJoCo worlds of the cell stepped in lockstep with ``mujoco.rollout`` (no Python loop over
worlds), under the core's OSC law between physics steps. Each world has its own ``MjModel`` copy
so physics parameters can be randomised per world; the whole physics state lives in one
(N, nstate) array. ``parallel_physics`` splits the worlds over worker processes.

World frame = robot base frame b. Quaternions (w, x, y, z). Warm-start accelerations are not
carried between rollout calls; the Newton solver converges from its cold start.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import mujoco
import mujoco.rollout
import numpy as np

from omnireset_core.control.osc import OscGains, track_target
from omnireset_core.kinematics.ur import UR7E, URKinematics
from omnireset_core.rotations import matrix_to_quat, quat_to_matrix
from omnireset_sim.assets import FLANGE_T_TCP, build_cell_model, robotiq
from omnireset_sim.assets.mjcf import ARM_BIT, GRIPPER_BIT
from omnireset_sim.assets.objects import HOLE_BODY, PEG_BODY
from omnireset_sim.assets.ur_arm import JOINT_NAMES, LINK_NAMES
from omnireset_sim.config import CellConfig

if TYPE_CHECKING:  # the workers of parallel_physics import this module without torch
    from omnireset_training.env_config import RandomizationConfig

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS  # time, qpos, qvel
CONTROL_SPEC = int(mujoco.mjtState.mjSTATE_CTRL | mujoco.mjtState.mjSTATE_MOCAP_POS | mujoco.mjtState.mjSTATE_MOCAP_QUAT)
PAD_CLOSE_SQUEEZE_M = 2e-4  # fingers placed this far into the object: contact active at step one


class CellPhysics:
    """The worlds of this process. ``buffers`` (state (N, nstate), control (N, 1, ncontrol),
    diverged (N,)): arrays to use instead of new ones (a worker's slice of shared memory)."""

    def __init__(self, num_worlds: int, cell: CellConfig | None = None, timestep_s: float = 1.0 / 120.0,
                 buffers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        self.cell = cell or CellConfig()
        self.timestep_s = timestep_s
        self.model = build_cell_model(self.cell, None, timestep_s=timestep_s)
        m = self.model
        self.num_worlds = num_worlds
        self.kinematics = URKinematics(UR7E, FLANGE_T_TCP, self.cell.arm.joint_placements())

        # Offsets into the state vector (time, qpos, qvel) and the control vector (ctrl, mocap).
        qpos0, qvel0 = 1, 1 + m.nq
        adr = lambda name: m.joint(name).qposadr[0]  # noqa: E731
        dof = lambda name: m.joint(name).dofadr[0]  # noqa: E731
        self.arm_q = qpos0 + np.array([adr(n) for n in JOINT_NAMES])
        self.arm_qd = qvel0 + np.array([dof(n) for n in JOINT_NAMES])
        self.finger_q = qpos0 + np.array([adr(n) for n in (robotiq.LEFT_JOINT, robotiq.RIGHT_JOINT)])
        self.finger_qd = qvel0 + np.array([dof(n) for n in (robotiq.LEFT_JOINT, robotiq.RIGHT_JOINT)])
        peg_joint = m.body(PEG_BODY).jntadr[0]
        self.peg_q = qpos0 + m.jnt_qposadr[peg_joint] + np.arange(7)
        self.peg_qd = qvel0 + m.jnt_dofadr[peg_joint] + np.arange(6)
        self.arm_ctrl = np.array([m.actuator(f"{n}_motor").id for n in JOINT_NAMES])
        self.gripper_ctrl = m.actuator(robotiq.ACTUATOR).id
        mocap = m.body(HOLE_BODY).mocapid[0]
        self.hole_pos = m.nu + 3 * mocap + np.arange(3)
        self.hole_quat = m.nu + 3 * m.nmocap + 4 * mocap + np.arange(4)

        # diverged: set by step, cleared by reset_worlds
        self.state, self.control, self.diverged = buffers or self._allocate(buffer_shapes(m, num_worlds))
        d = mujoco.MjData(m)
        mujoco.mj_getState(m, d, self.state[0], STATE_SPEC)
        mujoco.mj_getState(m, d, self.control[0, 0], CONTROL_SPEC)
        self.state[:] = self.state[0]
        self.control[:] = self.control[0]
        self._groups = self._geom_groups()
        self._nominal_friction = m.geom_friction[:, 0].copy()
        self.peg_body = m.body(PEG_BODY).id
        self.robot_bodies = np.array([m.body(n).id for n in LINK_NAMES + ("gripper", "left_finger", "right_finger")])
        self._peg_corners = insertive_corners(m, self._groups["insertive"])
        self._start_worlds()

    def _allocate(self, shapes) -> tuple[np.ndarray, ...]:
        return tuple(np.zeros(shape, dtype) for shape, dtype in shapes)

    def _start_worlds(self) -> None:
        self.models = [copy.deepcopy(self.model) for _ in range(self.num_worlds)]
        self.pool = mujoco.rollout.Rollout(nthread=0)
        self.datas = [mujoco.MjData(self.model)]
        self._out = np.zeros((self.num_worlds, 1, self.state.shape[1]))

    def close(self) -> None:
        self.pool.close()

    # --- stepping --------------------------------------------------------------------------------
    def step_osc(self, target_pos_b_m: np.ndarray, target_quat_b_wxyz: np.ndarray, kp: np.ndarray, kd: np.ndarray,
                 gains: OscGains, substeps: int) -> None:
        """``substeps`` physics steps of every world, each under the core's OSC law towards the TCP
        target (N, 3), (N, 4) from the current joint state, with per-world gains kp, kd (N, 6)."""
        for _ in range(substeps):
            T, J = self.kinematics.tcp_pose_and_jacobian(self.q_arm)
            self.step(track_target(T[:, :3, 3], matrix_to_quat(T[:, :3, :3]), J, self.qd_arm, target_pos_b_m,
                                   target_quat_b_wxyz, gains, kp=kp, kd=kd))

    def step(self, arm_torque_Nm: np.ndarray) -> None:
        """One physics step of every world with the given arm torques (N, 6)."""
        self.control[:, 0, self.arm_ctrl] = arm_torque_Nm
        self.pool.rollout(self.models, self.datas, self.state, self.control, control_spec=CONTROL_SPEC,
                          nstep=1, state=self._out, skip_checks=True)
        # MuJoCo resets a world whose state turned non-finite (time back to 0): flag it.
        self.diverged |= self._out[:, 0, 0] < self.state[:, 0] + 0.5 * self.model.opt.timestep
        self.state[:] = self._out[:, 0]

    def set_gripper(self, close: np.ndarray) -> None:
        force = self.cell.gripper.grip_force_N
        self.control[:, 0, self.gripper_ctrl] = np.where(close, force, -force)

    # --- reading ---------------------------------------------------------------------------------
    @property
    def q_arm(self) -> np.ndarray:
        return self.state[:, self.arm_q]

    @property
    def qd_arm(self) -> np.ndarray:
        return self.state[:, self.arm_qd]

    @property
    def peg_pose(self) -> np.ndarray:
        return self.state[:, self.peg_q]

    @property
    def peg_vel(self) -> np.ndarray:
        """(N, 6): linear velocity in b, angular velocity in the peg's body frame (free joint)."""
        return self.state[:, self.peg_qd]

    @property
    def hole_pose(self) -> np.ndarray:
        return np.concatenate((self.control[:, 0, self.hole_pos], self.control[:, 0, self.hole_quat]), -1)

    @property
    def finger_travel(self) -> np.ndarray:
        return self.state[:, self.finger_q].mean(-1)

    # --- resets and randomisation ----------------------------------------------------------------
    def reset_worlds(self, ids: np.ndarray, q_arm_rad, gripper_closed, insertive_pose_b, receptive_pose_b,
                     finger_travel_m=None) -> None:
        """Place worlds ``ids`` in a reset state at rest. Finger travel NaN or None: derived from the
        geometry (closed: just touching the object if it is between the pads, else fully closed)."""
        ids = np.asarray(ids)
        closed = np.asarray(gripper_closed, dtype=bool)
        q = np.asarray(q_arm_rad, dtype=float)
        travel = np.full(len(ids), np.nan) if finger_travel_m is None else np.asarray(finger_travel_m, float).copy()
        todo = np.isnan(travel)
        if todo.any():
            travel[todo] = self.closing_travel(q[todo], np.asarray(insertive_pose_b)[todo], closed[todo])
        rows = self.state[ids]
        rows[:, 0] = 0.0
        rows[:, 1:] = 0.0  # every qpos entry is written below, every velocity starts at rest
        rows[:, self.arm_q] = q
        rows[:, self.finger_q] = travel[:, None]
        pose = np.asarray(insertive_pose_b, dtype=float)
        rows[:, self.peg_q] = np.concatenate((pose[:, :3], pose[:, 3:] / np.linalg.norm(pose[:, 3:], axis=-1, keepdims=True)), -1)
        self.state[ids] = rows
        self.diverged[ids] = False
        rcv = np.asarray(receptive_pose_b, dtype=float)
        controls = self.control[ids, 0]
        controls[:, self.hole_pos] = rcv[:, :3]
        controls[:, self.hole_quat] = rcv[:, 3:] / np.linalg.norm(rcv[:, 3:], axis=-1, keepdims=True)
        controls[:, self.arm_ctrl] = 0.0
        force = self.cell.gripper.grip_force_N
        controls[:, self.gripper_ctrl] = np.where(closed, force, -force)
        self.control[ids, 0] = controls

    def closing_travel(self, q_arm_rad: np.ndarray, insertive_pose_b: np.ndarray, closed: np.ndarray) -> np.ndarray:
        return closing_travel(self.kinematics, self._peg_corners, q_arm_rad, insertive_pose_b, closed)

    def randomize(self, ids: np.ndarray, cfg: RandomizationConfig, rng: np.random.Generator) -> np.ndarray:
        """Draw new physics parameters for worlds ``ids`` and apply them; returns them (len(ids), 7)
        in the layout of ``draw_parameters``."""
        params = draw_parameters(len(ids), cfg, rng)
        self.apply_parameters(np.asarray(ids), params)
        return params

    def apply_parameters(self, ids: np.ndarray, params: np.ndarray) -> None:
        for i, (*frictions, mass, scale) in zip(ids, params):
            model = self.models[i]
            for group, mu in zip(FRICTION_GROUPS, frictions):
                model.geom_friction[self._groups[group], 0] = mu
            self._set_mass(model, self.peg_body, mass)
            for b in self.robot_bodies:
                self._set_mass(model, b, self.model.body_mass[b] * scale)
            mujoco.mj_setConst(model, self.datas[0])  # constraint weights follow the new masses

    def nominal_parameters(self) -> np.ndarray:
        """The un-randomised values in the layout of ``randomize``."""
        mu = [float(self._nominal_friction[self._groups[g]][0]) for g in FRICTION_GROUPS]
        return np.array(mu + [float(self.model.body_mass[self.peg_body]), 1.0])

    def _set_mass(self, model: mujoco.MjModel, body: int, mass_kg: float) -> None:
        ratio = mass_kg / self.model.body_mass[body]
        model.body_mass[body] = mass_kg
        model.body_inertia[body] = self.model.body_inertia[body] * ratio

    def _geom_groups(self) -> dict[str, np.ndarray]:
        m = self.model
        pads = {m.geom(n).id for n in robotiq.PAD_GEOMS}
        robot = [g for g in range(m.ngeom) if m.geom_contype[g] & (ARM_BIT | GRIPPER_BIT) and g not in pads]
        body_geoms = lambda name: [g for g in range(m.ngeom) if m.geom_bodyid[g] == m.body(name).id]  # noqa: E731
        return {"robot": np.array(robot), "pad": np.array(sorted(pads)), "insertive": np.array(body_geoms(PEG_BODY)),
                "receptive": np.array(body_geoms(HOLE_BODY)), "table": np.array([m.geom("table").id])}


FRICTION_GROUPS = ("robot", "pad", "insertive", "receptive", "table")


def draw_parameters(n: int, cfg: RandomizationConfig, rng: np.random.Generator) -> np.ndarray:
    """(n, 7) physics parameters, one world per row: robot, pad, insertive, receptive and table
    friction, insertive mass [kg], robot mass scale."""
    out = np.empty((n, 7))
    for row in range(n):
        frictions = [rng.uniform(*getattr(cfg, f"{group}_friction")) for group in FRICTION_GROUPS]
        out[row] = frictions + [rng.uniform(*cfg.insertive_mass_kg), rng.uniform(*cfg.robot_mass_scale)]
    return out


def buffer_shapes(model: mujoco.MjModel, num_worlds: int) -> tuple[tuple[tuple[int, ...], type], ...]:
    """Shapes and dtypes of the arrays every world's physics lives in: state, control, diverged."""
    return (((num_worlds, mujoco.mj_stateSize(model, STATE_SPEC)), np.float64),
            ((num_worlds, 1, mujoco.mj_stateSize(model, CONTROL_SPEC)), np.float64),
            ((num_worlds,), np.bool_))


def insertive_corners(model: mujoco.MjModel, geom_ids) -> np.ndarray:
    """(8 * geoms, 3) corners of the geoms' bounding boxes in their body's frame."""
    corners = []
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    for g in geom_ids:
        centre, half = model.geom_aabb[g, :3], model.geom_aabb[g, 3:]
        local = centre + signs * half
        corners.append(model.geom_pos[g] + local @ quat_to_matrix(model.geom_quat[g]).T)
    return np.concatenate(corners)


def closing_travel(kinematics: URKinematics, corners_obj: np.ndarray, q_arm_rad: np.ndarray,
                   insertive_pose_b: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Finger travel (n,) for a gripper at ``q_arm_rad``: 0 if open; if closed, pads touching the
    insertive object (its bounding-box ``corners_obj`` in its frame) when it lies between the pads,
    else fully closed."""
    travel = np.zeros(len(q_arm_rad))
    if not closed.any():
        return travel
    T = kinematics.tcp_pose(q_arm_rad[closed])
    rot_obj = quat_to_matrix(insertive_pose_b[closed, 3:] / np.linalg.norm(insertive_pose_b[closed, 3:], axis=-1, keepdims=True))
    corners_b = insertive_pose_b[closed, None, :3] + np.einsum("nij,kj->nki", rot_obj, corners_obj)
    corners_tcp = np.einsum("nji,nkj->nki", T[:, :3, :3], corners_b - T[:, None, :3, 3])
    lo, hi = corners_tcp.min(1), corners_tcp.max(1)
    pad_x, pad_z = robotiq.PAD_HALF_M[0], robotiq.PAD_HALF_M[2]
    open_half = robotiq.GRIPPER_STROKE_M / 2
    between = ((lo[:, 0] < pad_x) & (hi[:, 0] > -pad_x) & (lo[:, 2] < pad_z) & (hi[:, 2] > -pad_z)
               & (hi[:, 1] > -open_half) & (lo[:, 1] < open_half))
    touch = open_half - np.maximum(hi[:, 1], -lo[:, 1]) + PAD_CLOSE_SQUEEZE_M
    travel[closed] = np.where(between, np.clip(touch, 0.0, robotiq.FINGER_TRAVEL_M), robotiq.FINGER_TRAVEL_M)
    return travel
