"""Batched MuJoCo helpers over the cell model for reset generation.

States are MuJoCo's mjSTATE_FULLPHYSICS vectors (time, qpos, qvel); controls are
mjSTATE_CTRL | MOCAP_POS | MOCAP_QUAT vectors (arm hold targets in rad, gripper force in N, the
fixture pose). Candidates are settled with MuJoCo's threaded rollout (one MjData per thread), in
chunks of steps so memory stays bounded, and measured with one mj_forward each.

Poses are (..., 7) arrays: position in m, then quaternion (w, x, y, z); ``a_pose_b`` is frame a
expressed in frame b.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import mujoco
import numpy as np
from mujoco import rollout

from omnireset_core.rotations import matrix_to_quat, pose_from_frame, pose_in_frame, quat_to_matrix, rotvec_to_quat
from omnireset_sim.assets import robotiq
from omnireset_sim.assets.mjcf import ARM_BIT
from omnireset_sim.assets.objects import HOLE_BODY, PEG_BODY
from omnireset_sim.config import CellConfig
from omnireset_sim.twin import TwinCell

STATE_SPEC = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)
CONTROL_SPEC = int(mujoco.mjtState.mjSTATE_CTRL | mujoco.mjtState.mjSTATE_MOCAP_POS | mujoco.mjtState.mjSTATE_MOCAP_QUAT)

# Geom classes and the contact pairs the validity checks bound.
ROBOT, INSERTIVE, RECEPTIVE, TABLE, OTHER = range(5)
PAIRS = ("robot_insertive", "robot_receptive", "robot_table", "insertive_receptive", "insertive_table")
_PAIR_LUT = np.full((5, 5), -1, dtype=int)
for _i, (_a, _b) in enumerate(((ROBOT, INSERTIVE), (ROBOT, RECEPTIVE), (ROBOT, TABLE), (INSERTIVE, RECEPTIVE),
                               (INSERTIVE, TABLE))):
    _PAIR_LUT[_a, _b] = _PAIR_LUT[_b, _a] = _i


# --- poses --------------------------------------------------------------------------------------
def pose_to_matrix(pose) -> np.ndarray:
    pose = np.asarray(pose, dtype=float)
    out = np.zeros(pose.shape[:-1] + (4, 4))
    out[..., :3, :3] = quat_to_matrix(pose[..., 3:] / np.linalg.norm(pose[..., 3:], axis=-1, keepdims=True))
    out[..., :3, 3] = pose[..., :3]
    out[..., 3, 3] = 1.0
    return out


def matrix_to_pose(T) -> np.ndarray:
    T = np.asarray(T, dtype=float)
    return np.concatenate((T[..., :3, 3], matrix_to_quat(T[..., :3, :3])), axis=-1)


def _pose7(pos, quat) -> np.ndarray:
    """(..., 7) with the quaternion's w >= 0 (as ``matrix_to_pose`` gives it)."""
    return np.concatenate((pos, np.where(quat[..., :1] < 0.0, -quat, quat)), axis=-1)


def compose(a_pose_b, c_pose_a) -> np.ndarray:
    """c_pose_b from a_pose_b and c_pose_a (7-vectors): the core's ``pose_from_frame``."""
    a, c = np.asarray(a_pose_b, dtype=float), np.asarray(c_pose_a, dtype=float)
    return _pose7(*pose_from_frame(a[..., :3], a[..., 3:], c[..., :3], c[..., 3:]))


def invert(a_pose_b) -> np.ndarray:
    """b_pose_a (7-vectors): the parent's origin in frame a, the core's ``pose_in_frame``."""
    a = np.asarray(a_pose_b, dtype=float)
    origin = np.zeros_like(a)
    origin[..., 3] = 1.0
    return _pose7(*pose_in_frame(a[..., :3], a[..., 3:], origin[..., :3], origin[..., 3:]))


def random_quats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform on SO(3) (Shoemake), (w, x, y, z), w >= 0."""
    u1, u2, u3 = rng.random((3, n))
    a, b = np.sqrt(1.0 - u1), np.sqrt(u1)
    q = np.stack((a * np.sin(2 * np.pi * u2), a * np.cos(2 * np.pi * u2), b * np.sin(2 * np.pi * u3),
                  b * np.cos(2 * np.pi * u3)), axis=-1)[:, [3, 0, 1, 2]]
    return np.where(q[:, :1] < 0, -q, q)


def yaw_quats(yaw_rad) -> np.ndarray:
    yaw = np.asarray(yaw_rad, dtype=float)
    return np.stack((np.cos(yaw / 2), np.zeros_like(yaw), np.zeros_like(yaw), np.sin(yaw / 2)), axis=-1)


def perturbation_poses(rng: np.random.Generator, n: int, pos_m: float, rot_rad: float) -> np.ndarray:
    """Uniform +-pos_m per axis and a rotation vector uniform +-rot_rad per axis."""
    pos = rng.uniform(-pos_m, pos_m, (n, 3))
    return np.concatenate((pos, rotvec_to_quat(rng.uniform(-rot_rad, rot_rad, (n, 3)))), axis=-1)


def quat_angle(q1, q2) -> np.ndarray:
    """Rotation angle (rad) between unit quaternions."""
    dot = np.abs(np.sum(np.asarray(q1) * np.asarray(q2), axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))


def relative_pose(frame_pose_b, obj_pose_b) -> np.ndarray:
    """obj_pose_frame (..., 7) from both poses in frame b: the core's ``pose_in_frame`` on 7-vectors,
    the quaternion with w >= 0 (as ``matrix_to_pose`` gives it)."""
    f, o = np.asarray(frame_pose_b, dtype=float), np.asarray(obj_pose_b, dtype=float)
    return _pose7(*pose_in_frame(f[..., :3], f[..., 3:], o[..., :3], o[..., 3:]))


# --- inverse kinematics -------------------------------------------------------------------------
def ik_seeds(home_q_rad, rng: np.random.Generator, extra: int = 3, spread_rad: float = 0.6) -> np.ndarray:
    """The home configuration, then a few random ones around it (elbow-up branch)."""
    home = np.asarray(home_q_rad, dtype=float)
    return np.vstack((home, home + rng.normal(0.0, spread_rad, (extra, 6))))


# --- ray casts against boxes ----------------------------------------------------------------------
def ray_box_interval(origin, direction, center, rot, half) -> tuple[np.ndarray, np.ndarray]:
    """(t_enter, t_exit) of rays origin + t direction through oriented boxes (broadcast over the
    leading axis); t_enter > t_exit where the ray misses. ``rot`` maps box axes to the ray frame."""
    rot = np.asarray(rot, dtype=float)
    o = np.einsum("...ji,...j->...i", rot, np.asarray(origin, dtype=float) - center)
    d = np.einsum("...ji,...j->...i", rot, np.asarray(direction, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / np.where(np.abs(d) < 1e-12, 1e-12, d)
        t1, t2 = (-half - o) * inv, (half - o) * inv
    return np.max(np.minimum(t1, t2), axis=-1), np.min(np.maximum(t1, t2), axis=-1)


@dataclass(frozen=True)
class BoxShape:
    """The box geoms of a rigid body, in the body frame (centres (G, 3), rotations (G, 3, 3), half sizes (G, 3))."""

    centers_m: np.ndarray
    rotations: np.ndarray
    half_sizes_m: np.ndarray

    @classmethod
    def of_body(cls, model: mujoco.MjModel, body_name: str) -> "BoxShape":
        body = model.body(body_name).id
        geoms = np.flatnonzero(model.geom_bodyid == body)
        if geoms.size == 0 or np.any(model.geom_type[geoms] != mujoco.mjtGeom.mjGEOM_BOX):
            raise ValueError(f"body {body_name!r}: grasp sampling and finger contact need box geoms only")
        return cls(model.geom_pos[geoms].copy(), quat_to_matrix(model.geom_quat[geoms].copy()),
                   model.geom_size[geoms].copy())

    def in_frame(self, body_pose_b) -> tuple[np.ndarray, np.ndarray]:
        """Box centres (N, G, 3) and rotations (N, G, 3, 3) for body poses (N, 7)."""
        T = pose_to_matrix(body_pose_b)
        centers = np.einsum("nij,gj->ngi", T[:, :3, :3], self.centers_m) + T[:, None, :3, 3]
        rotations = np.einsum("nij,gjk->ngik", T[:, :3, :3], self.rotations)
        return centers, rotations

    def ray_interval(self, origin, direction, body_pose_b) -> tuple[np.ndarray, np.ndarray]:
        """Nearest entry and farthest exit over the boxes for rays (N, R, 3) and bodies (N, 7)."""
        centers, rotations = self.in_frame(body_pose_b)
        t_in, t_out = ray_box_interval(origin[:, :, None, :], direction[:, :, None, :], centers[:, None],
                                       rotations[:, None], self.half_sizes_m[None, None])
        hit = t_in <= t_out
        return (np.where(hit, t_in, np.inf).min(axis=-1), np.where(hit, t_out, -np.inf).max(axis=-1))


def finger_contact_travel(tcp_pose_b, shape: BoxShape, object_pose_b, grid: int = 3) -> np.ndarray:
    """Finger travel (m, 0 = open) at which the closing pads first touch the object: the closed
    gripper's rest opening. Full travel where nothing is between the pads."""
    n = np.asarray(tcp_pose_b).shape[0]
    hx, _, hz = robotiq.PAD_HALF_M
    xs, zs = np.meshgrid(np.linspace(-0.9 * hx, 0.9 * hx, grid), np.linspace(-0.9 * hz, 0.9 * hz, grid))
    pts = np.stack((xs.ravel(), np.zeros(xs.size), zs.ravel()), axis=-1)
    half_gap = robotiq.GRIPPER_STROKE_M / 2
    T = pose_to_matrix(tcp_pose_b)
    travel = np.full(n, robotiq.FINGER_TRAVEL_M)
    for side in (1.0, -1.0):  # left pad (+y) closes along -y, right pad along +y
        local = pts + np.array([0.0, side * half_gap, 0.0])
        origin = np.einsum("nij,rj->nri", T[:, :3, :3], local) + T[:, None, :3, 3]
        direction = np.broadcast_to(-side * T[:, None, :3, 1], origin.shape)
        t_in, t_out = shape.ray_interval(origin, direction, object_pose_b)
        t_hit = np.where(t_out >= 0, np.maximum(t_in, 0.0), np.inf).min(axis=1)
        travel = np.minimum(travel, t_hit)
    return np.clip(travel, 0.0, robotiq.FINGER_TRAVEL_M)


# --- state vectors ------------------------------------------------------------------------------
_STATE_BITS = sorted(int(getattr(mujoco.mjtState, n)) for n in dir(mujoco.mjtState)
                     if n.startswith("mjSTATE_") and bin(int(getattr(mujoco.mjtState, n))).count("1") == 1)


def state_layout(model: mujoco.MjModel, spec: int) -> dict[int, slice]:
    """Slice of each single-bit component of ``spec`` in a state vector (MuJoCo orders by bit)."""
    out, offset = {}, 0
    for bit in _STATE_BITS:
        if spec & bit:
            size = mujoco.mj_stateSize(model, bit)
            out[bit] = slice(offset, offset + size)
            offset += size
    return out


class Settler:
    """Threaded, chunked rollouts of one model; records the states at chosen steps."""

    def __init__(self, model: mujoco.MjModel, num_threads: int = 0, chunk_steps: int = 100):
        self.model = model
        self.num_threads = num_threads or (os.cpu_count() or 1)
        self.chunk_steps = chunk_steps
        self._datas = [mujoco.MjData(model) for _ in range(max(1, self.num_threads))]
        self._pool = rollout.Rollout(nthread=self.num_threads if self.num_threads > 1 else 0)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def run(self, states: np.ndarray, controls, nstep: int, control_spec: int,
            record_steps=()) -> tuple[np.ndarray, np.ndarray]:
        """Final states (N, nstate) and the states after each of ``record_steps`` (N, R, nstate)
        (step k = after k steps). ``controls``: (N, ncontrol) held throughout, or a callable
        ``(first_step, max_steps) -> ((N, ncontrol), steps)`` giving each chunk's control and
        length (1 <= steps <= max_steps)."""
        record = np.asarray(sorted(record_steps), dtype=int)
        if record.size and (record.min() < 1 or record.max() > nstep):
            raise ValueError(f"record_steps must be within [1, {nstep}]")
        n = states.shape[0]
        recorded = np.empty((n, record.size, states.shape[1]))
        state = np.ascontiguousarray(states, dtype=float)
        done = 0
        while done < nstep:
            k = min(self.chunk_steps, nstep - done)
            if callable(controls):
                chunk_ctrl, k = controls(done, k)
            else:
                chunk_ctrl = controls
            ctrl = np.ascontiguousarray(np.broadcast_to(np.asarray(chunk_ctrl, dtype=float)[:, None, :],
                                                        (n, k, np.shape(chunk_ctrl)[-1])))
            out, _ = self._pool.rollout(self.model, self._datas, state, ctrl, control_spec=control_spec, nstep=k)
            for j, step in enumerate(record):
                if done < step <= done + k:
                    recorded[:, j] = out[:, step - done - 1]
            state = np.ascontiguousarray(out[:, -1])
            done += k
        return state, recorded


# --- the cell -----------------------------------------------------------------------------------
@dataclass
class Measurements:
    """What the validity checks need, per candidate (from one mj_forward each)."""

    penetration_m: np.ndarray  # (N, len(PAIRS)) deepest contact per pair class, 0 if none
    tcp_pose_b: np.ndarray  # (N, 7)
    insertive_pose_b: np.ndarray  # (N, 7)
    insertive_lowest_z_m: np.ndarray  # (N,)
    robot_lowest_z_m: np.ndarray  # (N,)


class ServoArmCell:
    """The cell model with the arm held by its joint servo (ctrl = target joint angles), batched."""

    def __init__(self, cell: CellConfig, timestep_s: float, insertive_body: str = PEG_BODY,
                 receptive_body: str = HOLE_BODY, num_threads: int = 0):
        self.twin = TwinCell(cell, timestep_s=timestep_s)
        self.cell = cell
        twin, m = self.twin, self.twin.model
        twin.set_hold_mode(cell.arm.home_q_rad)  # arm actuators become PD servos (implicit damping)
        self.model = m
        self.kinematics = twin.kinematics
        self.grip_force_N = cell.gripper.grip_force_N
        self.state_size = mujoco.mj_stateSize(m, STATE_SPEC)
        self.control_size = mujoco.mj_stateSize(m, CONTROL_SPEC)
        layout = state_layout(m, STATE_SPEC)
        self.qpos_slice = layout[int(mujoco.mjtState.mjSTATE_QPOS)]
        self.qvel_slice = layout[int(mujoco.mjtState.mjSTATE_QVEL)]
        self.time_slice = layout[int(mujoco.mjtState.mjSTATE_TIME)]
        clayout = state_layout(m, CONTROL_SPEC)
        self.ctrl_slice = clayout[int(mujoco.mjtState.mjSTATE_CTRL)]
        self.mocap_pos_slice = clayout[int(mujoco.mjtState.mjSTATE_MOCAP_POS)]
        self.mocap_quat_slice = clayout[int(mujoco.mjtState.mjSTATE_MOCAP_QUAT)]
        ins = m.body(insertive_body)
        rcv = m.body(receptive_body)
        if ins.jntnum[0] != 1 or m.jnt_type[ins.jntadr[0]] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError(f"insertive body {insertive_body!r} must have one free joint")
        if rcv.mocapid[0] < 0:
            raise ValueError(f"receptive body {receptive_body!r} must be a mocap body")
        self.insertive_qpos_adr = int(m.jnt_qposadr[ins.jntadr[0]])
        self.insertive_dof_adr = int(m.jnt_dofadr[ins.jntadr[0]])
        self.receptive_mocap = int(rcv.mocapid[0])
        self.insertive_shape = BoxShape.of_body(m, insertive_body)
        # geom classes
        link1 = m.body("link1").id
        cls = np.full(m.ngeom, OTHER)
        body = m.geom_bodyid
        cls[m.body_rootid[body] == link1] = ROBOT
        cls[(body == 0) & (m.geom_contype == ARM_BIT)] = ROBOT  # base housing
        cls[body == ins.id] = INSERTIVE
        cls[body == rcv.id] = RECEPTIVE
        cls[m.geom("table").id] = TABLE
        self.geom_class = cls
        self.insertive_geoms = np.flatnonzero(cls == INSERTIVE)
        self.robot_geoms = np.flatnonzero((cls == ROBOT) & (body != 0))
        self.settler = Settler(m, num_threads)
        self._data = mujoco.MjData(m)
        self.max_joint_speed_radps = np.asarray(self.kinematics.params.max_joint_speed_radps, dtype=float)

    def close(self) -> None:
        self.settler.close()

    # -- building ----------------------------------------------------------------------------
    def initial_states(self, q_arm_rad, finger_travel_m, insertive_pose_b) -> np.ndarray:
        """(N, nstate) at rest, time 0."""
        t = self.twin
        n = len(q_arm_rad)
        states = np.zeros((n, self.state_size))
        qpos = np.tile(self.model.qpos0, (n, 1))
        qpos[:, t.arm_qpos_adr] = q_arm_rad
        qpos[:, t.finger_qpos_adr] = np.asarray(finger_travel_m, dtype=float)[:, None]
        a = self.insertive_qpos_adr
        qpos[:, a:a + 7] = insertive_pose_b
        qpos[:, a + 3:a + 7] /= np.linalg.norm(qpos[:, a + 3:a + 7], axis=1, keepdims=True)
        states[:, self.qpos_slice] = qpos
        return states

    def controls(self, q_arm_rad, gripper_closed, receptive_pose_b) -> np.ndarray:
        """(N, ncontrol): hold ``q_arm_rad``, squeeze (+) or open (-) at the configured force,
        fixture at ``receptive_pose_b``."""
        n = len(q_arm_rad)
        ctrl = np.zeros((n, self.model.nu))
        ctrl[:, self.twin.arm_actuator_ids] = q_arm_rad
        ctrl[:, self.twin.gripper_actuator_id] = np.where(gripper_closed, self.grip_force_N, -self.grip_force_N)
        out = np.zeros((n, self.control_size))
        out[:, self.ctrl_slice] = ctrl
        m = self.model
        bodies = np.flatnonzero(m.body_mocapid >= 0)
        mpos, mquat = np.zeros((m.nmocap, 3)), np.zeros((m.nmocap, 4))
        mpos[m.body_mocapid[bodies]] = m.body_pos[bodies]
        mquat[m.body_mocapid[bodies]] = m.body_quat[bodies]
        out[:, self.mocap_pos_slice] = mpos.ravel()
        out[:, self.mocap_quat_slice] = mquat.ravel()
        k = self.receptive_mocap
        out[:, self.mocap_pos_slice.start + 3 * k:self.mocap_pos_slice.start + 3 * k + 3] = receptive_pose_b[:, :3]
        quat = receptive_pose_b[:, 3:] / np.linalg.norm(receptive_pose_b[:, 3:], axis=1, keepdims=True)
        out[:, self.mocap_quat_slice.start + 4 * k:self.mocap_quat_slice.start + 4 * k + 4] = quat
        return out

    # -- reading -----------------------------------------------------------------------------
    def qpos(self, states) -> np.ndarray:
        return states[..., self.qpos_slice]

    def qvel(self, states) -> np.ndarray:
        return states[..., self.qvel_slice]

    def arm_q(self, states) -> np.ndarray:
        return self.qpos(states)[..., self.twin.arm_qpos_adr]

    def arm_qd(self, states) -> np.ndarray:
        return self.qvel(states)[..., self.twin.arm_dof_adr]

    def finger_travel(self, states) -> np.ndarray:
        return self.qpos(states)[..., self.twin.finger_qpos_adr].mean(axis=-1)

    def insertive_pose(self, states) -> np.ndarray:
        a = self.insertive_qpos_adr
        pose = self.qpos(states)[..., a:a + 7].copy()
        pose[..., 3:] /= np.linalg.norm(pose[..., 3:], axis=-1, keepdims=True)
        return pose

    def insertive_velocity(self, states) -> tuple[np.ndarray, np.ndarray]:
        """(linear m/s in frame b, angular rad/s in the object frame)."""
        v = self.qvel(states)[..., self.insertive_dof_adr:self.insertive_dof_adr + 6]
        return v[..., :3], v[..., 3:]

    def measure(self, states, controls) -> Measurements:
        m, d = self.model, self._data
        n = states.shape[0]
        pen = np.zeros((n, len(PAIRS)))
        tcp = np.zeros((n, 7))
        ins_low = np.zeros(n)
        rob_low = np.zeros(n)
        site = self.twin.tcp_site_id
        for i in range(n):
            mujoco.mj_setState(m, d, states[i], STATE_SPEC)
            mujoco.mj_setState(m, d, controls[i], CONTROL_SPEC)
            mujoco.mj_forward(m, d)
            pen[i] = contact_penetrations(d, self.geom_class)
            tcp[i, :3] = d.site_xpos[site]
            tcp[i, 3:] = matrix_to_quat(d.site_xmat[site].reshape(3, 3))
            ins_low[i] = lowest_z(m, d, self.insertive_geoms).min()
            rob_low[i] = lowest_z(m, d, self.robot_geoms).min()
        return Measurements(pen, tcp, self.insertive_pose(states), ins_low, rob_low)

    def settle(self, states, controls, duration_s: float, record_steps=()):
        nstep = max(1, int(round(duration_s / self.model.opt.timestep)))
        return self.settler.run(states, controls, nstep, CONTROL_SPEC, record_steps)


def contact_penetrations(data: mujoco.MjData, geom_class: np.ndarray) -> np.ndarray:
    """Deepest penetration (m, >= 0) of the current contacts per pair class of PAIRS."""
    out = np.zeros(len(PAIRS))
    n = data.ncon
    if n:
        geoms = data.contact.geom[:n]
        pair = _PAIR_LUT[geom_class[geoms[:, 0]], geom_class[geoms[:, 1]]]
        keep = pair >= 0
        np.maximum.at(out, pair[keep], -data.contact.dist[:n][keep])
    return out


def lowest_z(model: mujoco.MjModel, data: mujoco.MjData, geom_ids: np.ndarray) -> np.ndarray:
    """Lowest world z of each geom (exact for boxes, spheres, capsules, cylinders, ellipsoids;
    the centre for other types)."""
    z = data.geom_xpos[geom_ids, 2].copy()
    R = data.geom_xmat[geom_ids].reshape(-1, 3, 3)
    size = model.geom_size[geom_ids]
    kind = model.geom_type[geom_ids]
    rz = R[:, 2, :]  # world-z row: local axes' z components
    G = mujoco.mjtGeom
    box = kind == G.mjGEOM_BOX
    z[box] -= np.sum(np.abs(rz[box]) * size[box], axis=1)
    sph = kind == G.mjGEOM_SPHERE
    z[sph] -= size[sph, 0]
    cap = kind == G.mjGEOM_CAPSULE
    z[cap] -= np.abs(rz[cap, 2]) * size[cap, 1] + size[cap, 0]
    cyl = kind == G.mjGEOM_CYLINDER
    z[cyl] -= np.abs(rz[cyl, 2]) * size[cyl, 1] + size[cyl, 0] * np.sqrt(np.clip(1 - rz[cyl, 2] ** 2, 0, 1))
    ell = kind == G.mjGEOM_ELLIPSOID
    z[ell] -= np.sqrt(np.sum((rz[ell] * size[ell]) ** 2, axis=1))
    return z


def tcp_down_cosine(tcp_pose_b) -> np.ndarray:
    """cos of the angle between the tcp z axis (approach) and -z_b."""
    q = np.asarray(tcp_pose_b)[..., 3:]
    x, y = q[..., 1], q[..., 2]
    return -(1 - 2 * (x * x + y * y))


def down_quats_within(rng: np.random.Generator, n: int, max_tilt_rad: float) -> np.ndarray:
    """Uniform rotations (Haar measure) whose z axis is within ``max_tilt_rad`` of -z_b."""
    out = np.empty((0, 4))
    cos_max = np.cos(max_tilt_rad)
    while len(out) < n:
        q = random_quats(rng, max(64, 4 * (n - len(out))))
        out = np.vstack((out, q[tcp_down_cosine(np.concatenate((np.zeros((len(q), 3)), q), 1)) >= cos_max]))
    return out[:n]


__all__ = [
    "BoxShape", "Measurements", "PAIRS", "ServoArmCell", "Settler", "compose", "contact_penetrations",
    "down_quats_within", "finger_contact_travel", "ik_seeds", "invert", "lowest_z", "matrix_to_pose",
    "perturbation_poses", "pose_to_matrix", "quat_angle", "quat_to_matrix", "random_quats", "relative_pose",
    "state_layout", "tcp_down_cosine", "yaw_quats",
]
