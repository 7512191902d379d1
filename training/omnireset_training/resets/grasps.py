"""Antipodal grasp sampling for the 2F-85 on the insertive object.

Candidates: points on the object's surface (area-weighted, biased towards the top), each paired
with the point where the inward normal leaves the object; the closing axis (tcp y) joins them, the
approach (tcp z) turns about it in ``num_orientations`` steps, and the tcp sits at one of
``num_standoffs`` distances along the approach from the pair's midpoint.

Each candidate is simulated on the free-floating gripper (kinematic hand, object free): gravity
off while the fingers close, then the object's weight plus small random wrenches. A grasp counts
when both pads hold the object, it slipped less than ``max_slip`` in the tcp frame, it was still
over the last ``stable_steps`` steps, and the pads penetrate it by at most ``max_penetration_m``.
The stored pose is the tcp in the object frame after closing (object centred between the pads).
"""
from __future__ import annotations

import mujoco
import numpy as np
from tqdm import tqdm

from omnireset_sim.assets import robotiq
from omnireset_sim.assets.floating import HAND_BODY, build_floating_gripper_model
from omnireset_sim.assets.objects import PEG_BODY
from omnireset_sim.config import CellConfig
from omnireset_training.resets.config import GraspSettings
from omnireset_training.resets.physics import (
    INSERTIVE,
    OTHER,
    PAIRS,
    ROBOT,
    BoxShape,
    Settler,
    compose,
    contact_penetrations,
    invert,
    matrix_to_pose,
    quat_angle,
    relative_pose,
    state_layout,
)

STANDARD_GRAVITY_MPS2 = 9.81
STATE_SPEC = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)
CONTROL_SPEC = int(mujoco.mjtState.mjSTATE_CTRL | mujoco.mjtState.mjSTATE_MOCAP_POS
                   | mujoco.mjtState.mjSTATE_MOCAP_QUAT | mujoco.mjtState.mjSTATE_XFRC_APPLIED)
_TCP_POSE_FLANGE = np.array([0.0, 0.0, robotiq.TCP_Z_M, 1.0, 0.0, 0.0, 0.0])
_FLANGE_POSE_TCP = invert(_TCP_POSE_FLANGE[None])[0]


def sample_surface_pairs(shape: BoxShape, n: int, rng: np.random.Generator, top_bias: float,
                         max_width_m: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` antipodal pairs on the boxes (object frame): (midpoints (n, 3), unit axes (n, 3))."""
    faces = []  # (centre, normal, u axis * half, v axis * half, area)
    for c, R, h in zip(shape.centers_m, shape.rotations, shape.half_sizes_m):
        for k in range(3):
            a, b = (k + 1) % 3, (k + 2) % 3
            for sign in (1.0, -1.0):
                faces.append((c + sign * h[k] * R[:, k], sign * R[:, k], h[a] * R[:, a], h[b] * R[:, b],
                              4.0 * h[a] * h[b]))
    centres, normals, us, vs, areas = (np.array(x) for x in zip(*faces))
    corners = np.concatenate([centres + su * us + sv * vs for su in (-1, 1) for sv in (-1, 1)])
    z_lo, z_hi = corners[:, 2].min(), corners[:, 2].max()
    identity = np.array([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    mids, axes = [], []
    count = 0
    while count < n:
        m = 4 * (n - count) + 16
        f = rng.choice(len(areas), size=m, p=areas / areas.sum())
        uv = rng.uniform(-1.0, 1.0, (m, 2))
        p = centres[f] + uv[:, :1] * us[f] + uv[:, 1:] * vs[f]
        z_norm = (p[:, 2] - z_lo) / max(z_hi - z_lo, 1e-9)
        keep = rng.random(m) < (1.0 + top_bias * z_norm) / (1.0 + top_bias)
        p, nrm = p[keep], normals[f][keep]
        inward = -nrm
        _, t_out = shape.ray_interval((p - 1e-7 * nrm)[:, None], inward[:, None], np.repeat(identity, len(p), 0))
        width = t_out[:, 0]
        ok = np.isfinite(width) & (width > 1e-4) & (width <= max_width_m)
        mids.append(p[ok] + 0.5 * width[ok, None] * inward[ok])
        axes.append(inward[ok])
        count += int(ok.sum())
    return np.concatenate(mids)[:n], np.concatenate(axes)[:n]


def candidate_tcp_poses(midpoints, axes, angles_rad, standoffs_m) -> np.ndarray:
    """tcp poses in the object frame (N, 7): tcp y along ``axes``, approach (tcp z) turned by
    ``angles_rad`` about it, tcp at midpoint - standoff * approach."""
    axes = axes / np.linalg.norm(axes, axis=1, keepdims=True)
    helper = np.where(np.abs(axes[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    u = np.cross(axes, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    w = np.cross(axes, u)
    c, s = np.cos(angles_rad)[:, None], np.sin(angles_rad)[:, None]
    z = c * u + s * w
    x = np.cross(axes, z)
    T = np.zeros((len(axes), 4, 4))
    T[:, :3, 0], T[:, :3, 1], T[:, :3, 2] = x, axes, z
    T[:, :3, 3] = midpoints - np.asarray(standoffs_m)[:, None] * z
    T[:, 3, 3] = 1.0
    return matrix_to_pose(T)


class FloatingGripper:
    """The free-floating gripper model: builds states and measures contacts."""

    def __init__(self, cell: CellConfig, timestep_s: float, num_threads: int = 0):
        m = build_floating_gripper_model(cell, timestep_s)
        self.model = m
        self.cell = cell
        self.shape = BoxShape.of_body(m, PEG_BODY)
        peg = m.body(PEG_BODY)
        self.peg_body = peg.id
        self.peg_qpos_adr = int(m.jnt_qposadr[peg.jntadr[0]])
        self.peg_dof_adr = int(m.jnt_dofadr[peg.jntadr[0]])
        self.peg_mass_kg = float(m.body_subtreemass[peg.id])
        self.hand_mocap = int(m.body(HAND_BODY).mocapid[0])
        self.finger_qpos_adr = np.array([m.joint(j).qposadr[0] for j in (robotiq.LEFT_JOINT, robotiq.RIGHT_JOINT)])
        self.pad_geoms = np.array([m.geom(g).id for g in robotiq.PAD_GEOMS])
        self.geom_class = np.full(m.ngeom, OTHER)
        self.geom_class[m.geom_bodyid != peg.id] = ROBOT
        self.geom_class[m.geom_bodyid == peg.id] = INSERTIVE
        self.tcp_site = m.site("tcp").id
        layout = state_layout(m, STATE_SPEC)
        self.qpos_slice = layout[int(mujoco.mjtState.mjSTATE_QPOS)]
        self.qvel_slice = layout[int(mujoco.mjtState.mjSTATE_QVEL)]
        self.time_slice = layout[int(mujoco.mjtState.mjSTATE_TIME)]
        self.state_size = mujoco.mj_stateSize(m, STATE_SPEC)
        clayout = state_layout(m, CONTROL_SPEC)
        self.ctrl_slice = clayout[int(mujoco.mjtState.mjSTATE_CTRL)]
        self.mocap_pos_slice = clayout[int(mujoco.mjtState.mjSTATE_MOCAP_POS)]
        self.mocap_quat_slice = clayout[int(mujoco.mjtState.mjSTATE_MOCAP_QUAT)]
        self.xfrc_slice = clayout[int(mujoco.mjtState.mjSTATE_XFRC_APPLIED)]
        self.control_size = mujoco.mj_stateSize(m, CONTROL_SPEC)
        self.settler = Settler(m, num_threads)
        self._data = mujoco.MjData(m)

    def close(self) -> None:
        self.settler.close()

    def states(self, n: int) -> np.ndarray:
        """Object at the origin (object frame = world), fingers open, at rest."""
        s = np.zeros((n, self.state_size))
        qpos = np.tile(self.model.qpos0, (n, 1))
        qpos[:, self.peg_qpos_adr:self.peg_qpos_adr + 7] = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
        s[:, self.qpos_slice] = qpos
        return s

    def controls(self, tcp_pose_obj, close: bool, wrench=None) -> np.ndarray:
        """Hand placed so the tcp is at ``tcp_pose_obj``; ``wrench`` (N, 6): force N and torque
        Nm in the world frame at the object's centre of mass."""
        n = len(tcp_pose_obj)
        out = np.zeros((n, self.control_size))
        force = self.cell.gripper.grip_force_N
        out[:, self.ctrl_slice] = force if close else -force
        hand = compose(tcp_pose_obj, np.repeat(_FLANGE_POSE_TCP[None], n, 0))
        out[:, self.mocap_pos_slice] = hand[:, :3]
        out[:, self.mocap_quat_slice] = hand[:, 3:]
        if wrench is not None:
            k = self.xfrc_slice.start + 6 * self.peg_body
            out[:, k:k + 6] = wrench
        return out

    def object_pose(self, states) -> np.ndarray:
        pose = states[:, self.qpos_slice][:, self.peg_qpos_adr:self.peg_qpos_adr + 7].copy()
        pose[:, 3:] /= np.linalg.norm(pose[:, 3:], axis=1, keepdims=True)
        return pose

    def object_speed(self, states) -> np.ndarray:
        v = states[..., self.qvel_slice]
        return np.linalg.norm(v[..., self.peg_dof_adr:self.peg_dof_adr + 3], axis=-1)

    def measure(self, states, controls) -> tuple[np.ndarray, np.ndarray]:
        """(gripper-object penetration m (N,), both pads touching the object (N,))."""
        m, d = self.model, self._data
        n = len(states)
        pen = np.zeros(n)
        pads = np.zeros(n, dtype=bool)
        for i in range(n):
            mujoco.mj_setState(m, d, states[i], STATE_SPEC)
            mujoco.mj_setState(m, d, controls[i], CONTROL_SPEC)
            mujoco.mj_forward(m, d)
            pen[i] = contact_penetrations(d, self.geom_class)[PAIRS.index("robot_insertive")]
            geoms = d.contact.geom[:d.ncon]
            touching = {int(g) for pair in geoms for g in pair if self.peg_body in
                        (m.geom_bodyid[pair[0]], m.geom_bodyid[pair[1]])}
            pads[i] = all(int(p) in touching for p in self.pad_geoms)
        return pen, pads


def evaluate_grasps(gripper: FloatingGripper, tcp_pose_obj: np.ndarray, settings: GraspSettings,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(success (N,), tcp pose in the object frame after closing (N, 7)) for candidate poses."""
    n = len(tcp_pose_obj)
    dt = gripper.model.opt.timestep
    states = gripper.states(n)
    open_ctrl = gripper.controls(tcp_pose_obj, close=False)
    spawn_pen, _ = gripper.measure(states, open_ctrl)
    ok = spawn_pen <= 1e-4  # the open gripper must not intersect the object
    grasped = np.zeros((n, 7))
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return ok, grasped
    poses, states = tcp_pose_obj[idx], states[idx]
    close_ctrl = gripper.controls(poses, close=True)
    closed, _ = gripper.settler.run(states, close_ctrl, max(1, round(settings.close_s / dt)), CONTROL_SPEC)
    # tcp in the object frame once the object has been centred between the pads
    grasped_idx = relative_pose(gripper.object_pose(closed), poses)
    _, pads = gripper.measure(closed, close_ctrl)

    weight = np.zeros(6)
    weight[2] = -gripper.peg_mass_kg * STANDARD_GRAVITY_MPS2
    period = max(1, round(settings.wrench_period_s / dt))
    scale = np.r_[[settings.shake_force_N] * 3, [settings.shake_torque_Nm] * 3]

    def shake(first_step: int, max_steps: int):
        wrench = weight + rng.uniform(-1.0, 1.0, (len(poses), 6)) * scale
        return gripper.controls(poses, close=True, wrench=wrench), min(max_steps, period - first_step % period)

    nstep = max(1, round(settings.shake_s / dt))
    record = range(max(1, nstep - settings.stable_steps + 1), nstep + 1)
    final, tail = gripper.settler.run(closed, shake, nstep, CONTROL_SPEC, record)
    pen, pads_end = gripper.measure(final, close_ctrl)
    rel_closed = relative_pose(poses, gripper.object_pose(closed))
    rel_final = relative_pose(poses, gripper.object_pose(final))
    slip_m = np.linalg.norm(rel_final[:, :3] - rel_closed[:, :3], axis=1)
    slip_rad = quat_angle(rel_final[:, 3:], rel_closed[:, 3:])
    still = np.all(gripper.object_speed(tail) <= settings.max_stable_speed_mps, axis=1)
    # a diverged simulation restarts from the model defaults: its clock lags
    elapsed_s = final[:, gripper.time_slice][:, 0]
    still &= np.abs(elapsed_s - (round(settings.close_s / dt) + nstep) * dt) < 0.5 * dt
    good = (pads & pads_end & still & (slip_m <= settings.max_slip_m) & (slip_rad <= settings.max_slip_rad)
            & (pen <= settings.max_penetration_m))
    ok[idx] = good
    grasped[idx] = grasped_idx
    return ok, grasped


def sample_grasps(cell: CellConfig, settings: GraspSettings, rng: np.random.Generator, num_threads: int = 0,
                  progress: bool = True) -> tuple[np.ndarray, dict]:
    """(tcp_pose_obj (target_count, 7), statistics). Raises RuntimeError if ``max_candidates``
    are tried without reaching the target."""
    gripper = FloatingGripper(cell, settings.timestep_s, num_threads)
    try:
        max_width = robotiq.GRIPPER_STROKE_M - settings.width_margin_m
        mids, axes = sample_surface_pairs(gripper.shape, settings.num_surface_samples, rng, settings.top_bias,
                                          max_width)
        angles = np.linspace(-np.pi, np.pi, settings.num_orientations, endpoint=False)
        standoffs = np.linspace(*settings.standoff_m, settings.num_standoffs)
        total = len(mids) * len(angles) * len(standoffs)
        order = rng.permutation(total)[: settings.max_candidates]
        kept: list[np.ndarray] = []
        tried, successes = 0, 0
        bar = tqdm(total=settings.target_count, desc="grasps", unit="grasp", disable=not progress)
        start = 0
        while start < len(order):
            needed = settings.target_count - sum(len(k) for k in kept)
            rate = max(successes / tried, 0.05) if tried else 0.5
            size = int(min(settings.batch_size, max(32, np.ceil(1.5 * needed / rate))))
            flat = order[start:start + size]
            start += size
            p, rest = np.divmod(flat, len(angles) * len(standoffs))
            a, s = np.divmod(rest, len(standoffs))
            poses = candidate_tcp_poses(mids[p], axes[p], angles[a], standoffs[s])
            ok, grasped = evaluate_grasps(gripper, poses, settings, rng)
            tried += len(flat)
            successes += int(ok.sum())
            new = grasped[ok][: settings.target_count - sum(len(k) for k in kept)]
            kept.append(new)
            bar.update(len(new))
            if sum(len(k) for k in kept) >= settings.target_count:
                break
        bar.close()
        out = np.concatenate(kept) if kept else np.zeros((0, 7))
        if len(out) < settings.target_count:
            raise RuntimeError(f"only {len(out)} of {settings.target_count} grasps succeeded in {tried} candidates")
        return out, {"candidates_tried": tried, "success_rate": round(successes / max(tried, 1), 4),
                     "surface_pairs": len(mids)}
    finally:
        gripper.close()
