"""Partial assemblies: insertive-object poses near the goal, relative to the receptive object.

The cell model without the robot (its geoms stop colliding), gravity off, the insertive object
made tiny (``object_mass_kg``, inertia scaled alike) and frictionless, the fixture fixed. The
object starts at an assembled pose and random forces and torques, uniform +- per axis and
resampled every ``wrench_period_s``, push it out. An episode ends when the object's box no longer
overlaps its assembled box (or after ``episode_s``). Every step is a candidate; a pose is kept
when its contacts with the fixture and table are at most ``max_penetration_m`` deep and no kept
pose is within both ``min_separation_m`` and ``min_separation_rad`` of it; at most
``max_poses_per_episode`` per episode, taken along it in random order.
"""
from __future__ import annotations

import itertools

import mujoco
import numpy as np
from tqdm import tqdm

from omnireset_core.tasks import TaskDefinition
from omnireset_sim.assets.cell import build_cell_model
from omnireset_sim.config import CellConfig
from omnireset_training.resets.config import PartialAssemblySettings
from omnireset_training.resets.physics import (
    INSERTIVE,
    OTHER,
    PAIRS,
    RECEPTIVE,
    ROBOT,
    TABLE,
    BoxShape,
    Settler,
    compose,
    contact_penetrations,
    quat_angle,
    relative_pose,
    state_layout,
)

STATE_SPEC = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)
CONTROL_SPEC = int(mujoco.mjtState.mjSTATE_XFRC_APPLIED)


def boxes_overlap(c1, R1, h1, c2, R2, h2) -> np.ndarray:
    """Separating-axis test of oriented boxes (centres (N, 3), rotations (N, 3, 3), half sizes (3,))."""
    t = c2 - c1
    axes = [R1[..., :, i] for i in range(3)] + [R2[..., :, i] for i in range(3)]
    axes += [np.cross(R1[..., :, i], R2[..., :, j]) for i in range(3) for j in range(3)]
    overlap = np.ones(c1.shape[0], dtype=bool)
    for a in axes:
        norm = np.linalg.norm(a, axis=-1)
        valid = norm > 1e-9
        a = a / np.where(valid, norm, 1.0)[:, None]
        r1 = np.sum(np.abs(np.einsum("nij,ni->nj", R1, a)) * h1, axis=-1)
        r2 = np.sum(np.abs(np.einsum("nij,ni->nj", R2, a)) * h2, axis=-1)
        separated = valid & (np.abs(np.sum(t * a, axis=-1)) > r1 + r2)
        overlap &= ~separated
    return overlap


class _PoseSet:
    """Kept poses with a spatial hash on position (cells of the position threshold)."""

    def __init__(self, min_sep_m: float, min_sep_rad: float):
        self.min_sep_m, self.min_sep_rad = min_sep_m, min_sep_rad
        self.poses: list[np.ndarray] = []
        self.cells: dict[tuple, list[int]] = {}

    def _key(self, pos) -> tuple:
        return tuple(np.floor(np.asarray(pos) / self.min_sep_m).astype(int))

    def is_new(self, pose: np.ndarray) -> bool:
        key = self._key(pose[:3])
        for offset in itertools.product((-1, 0, 1), repeat=3):
            for i in self.cells.get(tuple(k + o for k, o in zip(key, offset)), ()):
                kept = self.poses[i]
                if (np.linalg.norm(kept[:3] - pose[:3]) <= self.min_sep_m
                        and quat_angle(kept[3:], pose[3:]) <= self.min_sep_rad):
                    return False
        return True

    def add(self, pose: np.ndarray) -> None:
        self.cells.setdefault(self._key(pose[:3]), []).append(len(self.poses))
        self.poses.append(pose.copy())

    def __len__(self) -> int:
        return len(self.poses)


class AssemblyModel:
    """The cell model prepared for pushing the insertive object out of the receptive one."""

    def __init__(self, cell: CellConfig, task: TaskDefinition, settings: PartialAssemblySettings,
                 num_threads: int = 0):
        m = build_cell_model(cell, None, timestep_s=settings.timestep_s)
        ins, rcv = m.body(task.insertive_object), m.body(task.receptive_object)
        link1 = m.body("link1").id
        cls = np.full(m.ngeom, OTHER)
        cls[m.body_rootid[m.geom_bodyid] == link1] = ROBOT
        cls[m.geom_bodyid == ins.id] = INSERTIVE
        cls[m.geom_bodyid == rcv.id] = RECEPTIVE
        cls[m.geom("table").id] = TABLE
        robot = (cls == ROBOT) | ((m.geom_bodyid == 0) & (cls == OTHER) & (np.arange(m.ngeom) != m.geom("table").id))
        m.geom_contype[robot] = 0
        m.geom_conaffinity[robot] = 0
        m.opt.gravity[:] = 0.0
        scale = settings.object_mass_kg / m.body_mass[ins.id]
        m.body_mass[ins.id] *= scale
        m.body_inertia[ins.id] *= scale
        frictionless = (cls == INSERTIVE) | (cls == RECEPTIVE) | (cls == TABLE)
        m.geom_condim[frictionless] = 1
        m.geom_friction[frictionless] = 0.0
        mujoco.mj_setConst(m, mujoco.MjData(m))  # derived quantities of the new mass
        self.model, self.geom_class, self.task = m, cls, task
        self.body = ins.id
        self.qpos_adr = int(m.jnt_qposadr[ins.jntadr[0]])
        self.receptive_pose_b = np.r_[m.body_pos[rcv.id], m.body_quat[rcv.id]]
        self.shape = BoxShape.of_body(m, task.insertive_object)
        if len(self.shape.half_sizes_m) != 1:
            raise ValueError("partial assemblies need an insertive object made of one box")
        layout = state_layout(m, STATE_SPEC)
        self.qpos_slice = layout[int(mujoco.mjtState.mjSTATE_QPOS)]
        self.time_slice = layout[int(mujoco.mjtState.mjSTATE_TIME)]
        self.state_size = mujoco.mj_stateSize(m, STATE_SPEC)
        self.control_size = mujoco.mj_stateSize(m, CONTROL_SPEC)
        self.settler = Settler(m, num_threads)
        self._data = mujoco.MjData(m)

    def close(self) -> None:
        self.settler.close()

    def assembled_poses_b(self, goal_index) -> np.ndarray:
        goals = np.array([np.r_[g.pos_m, g.quat_wxyz] for g in self.task.goal_poses])
        return compose(np.repeat(self.receptive_pose_b[None], len(goal_index), 0), goals[goal_index])

    def insertive_poses(self, states) -> np.ndarray:
        pose = states[..., self.qpos_slice][..., self.qpos_adr:self.qpos_adr + 7].copy()
        pose[..., 3:] /= np.linalg.norm(pose[..., 3:], axis=-1, keepdims=True)
        return pose

    def penetration(self, insertive_pose_b) -> float:
        """Deepest contact of the object with the fixture or the table at this pose (m)."""
        m, d = self.model, self._data
        d.qpos[self.qpos_adr:self.qpos_adr + 7] = insertive_pose_b
        mujoco.mj_forward(m, d)
        pen = contact_penetrations(d, self.geom_class)
        return float(max(pen[PAIRS.index("insertive_receptive")], pen[PAIRS.index("insertive_table")]))

    def box(self, pose_b) -> tuple[np.ndarray, np.ndarray]:
        centers, rotations = self.shape.in_frame(pose_b)
        return centers[:, 0], rotations[:, 0]


def generate_partial_assemblies(cell: CellConfig, task: TaskDefinition, settings: PartialAssemblySettings,
                                rng: np.random.Generator, num_threads: int = 0,
                                progress: bool = True) -> tuple[np.ndarray, dict]:
    """(insertive_pose_rcv (target_count, 7), statistics)."""
    model = AssemblyModel(cell, task, settings, num_threads)
    kept = _PoseSet(settings.min_separation_m, settings.min_separation_rad)
    dt = model.model.opt.timestep
    nstep = max(1, round(settings.episode_s / dt))
    period = max(1, round(settings.wrench_period_s / dt))
    half = model.shape.half_sizes_m[0]
    episodes = candidates = collisions = 0
    bar = tqdm(total=settings.target_count, desc="partial assemblies", unit="pose", disable=not progress)
    try:
        while len(kept) < settings.target_count and episodes < settings.max_episodes:
            needed = settings.target_count - len(kept)  # ~half the per-episode cap is typical
            n = min(settings.episodes_per_batch, settings.max_episodes - episodes,
                    max(2, -(-2 * needed // settings.max_poses_per_episode)))
            start = model.assembled_poses_b(rng.integers(0, len(task.goal_poses), n))
            states = np.zeros((n, model.state_size))
            qpos = np.tile(model.model.qpos0, (n, 1))
            qpos[:, model.qpos_adr:model.qpos_adr + 7] = start
            states[:, model.qpos_slice] = qpos

            def wrenches(first_step: int, max_steps: int, n=n):
                out = np.zeros((n, model.control_size))
                k = 6 * model.body
                out[:, k:k + 3] = rng.uniform(-settings.force_N, settings.force_N, (n, 3))
                out[:, k + 3:k + 6] = rng.uniform(-settings.torque_Nm, settings.torque_Nm, (n, 3))
                return out, min(max_steps, period - first_step % period)

            _, traj = model.settler.run(states, wrenches, nstep, CONTROL_SPEC, record_steps=range(1, nstep + 1))
            poses = model.insertive_poses(traj)  # (n, nstep, 7)
            # a diverged episode restarts from the model defaults: its clock jumps back
            restarted = np.diff(traj[:, :, model.time_slice][..., 0], axis=1, prepend=0.0) <= 0
            c0, R0 = model.box(start)
            for e in range(n):
                c, R = model.box(poses[e])
                inside = boxes_overlap(c, R, half, np.repeat(c0[e:e + 1], nstep, 0), np.repeat(R0[e:e + 1], nstep, 0),
                                       half)
                inside &= ~np.logical_or.accumulate(restarted[e])
                end = int(np.argmin(inside)) if not inside.all() else nstep
                rel = relative_pose(np.repeat(model.receptive_pose_b[None], end, 0), poses[e, :end])
                # one candidate per (position cell, rotation cell), tried in random order
                keys = np.concatenate((np.floor(rel[:, :3] / settings.min_separation_m),
                                       np.round(rel[:, 3:] / (settings.min_separation_rad / 2))), axis=1)
                _, first = np.unique(keys, axis=0, return_index=True)
                taken = 0
                for i in rng.permutation(first):
                    if len(kept) >= settings.target_count or taken >= settings.max_poses_per_episode:
                        break
                    candidates += 1
                    if not kept.is_new(rel[i]):
                        continue
                    if model.penetration(poses[e, i]) > settings.max_penetration_m:
                        collisions += 1
                        continue
                    kept.add(rel[i])
                    taken += 1
                    bar.update(1)
            episodes += n
    finally:
        bar.close()
        model.close()
    out = np.array(kept.poses) if len(kept) else np.zeros((0, 7))
    if len(out) < settings.target_count:
        raise RuntimeError(f"only {len(out)} of {settings.target_count} partial assemblies after {episodes} episodes")
    return out, {"episodes": episodes, "candidates_checked": candidates, "rejected_in_collision": collisions}
