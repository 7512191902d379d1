"""The four reset datasets: reaching, near-object, stable-grasp and near-goal states.

Every candidate is built from the per-type ranges (``config.py``), put on the arm by IK, checked
for penetration at spawn, settled ``settle_s`` in simulation with the arm held by its joint servo
and the gripper squeezing or open, and kept only if the settled state passes every check of
``check_states``. Shards are generated in order, each from its own random stream
``(seed, type, shard index)``, so a killed run resumes where it stopped and reproduces the same
files. Near-object states reuse the resting object poses of the reaching set; stable-grasp and
near-goal states use the grasp set; near-goal states the partial assemblies.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from omnireset_core.kinematics.ik import solve_ik_batch
from omnireset_core.rotations import quat_conjugate, quat_mul, quat_to_matrix
from omnireset_core.tasks import TaskDefinition, is_assembled, load_task
from omnireset_sim.config import CellConfig
from omnireset_training import datasets
from omnireset_training.resets.config import (
    RESET_TYPES,
    ResetGenerationConfig,
    config_to_dict,
    write_resolved_config,
)
from omnireset_training.resets.grasps import sample_grasps
from omnireset_training.resets.partial_assemblies import generate_partial_assemblies
from omnireset_training.resets.physics import (
    PAIRS,
    ServoArmCell,
    compose,
    down_quats_within,
    finger_contact_travel,
    ik_seeds,
    matrix_to_pose,
    perturbation_poses,
    random_quats,
    relative_pose,
    tcp_down_cosine,
    yaw_quats,
)

# tcp axes in the frame rotated by Rz(yaw) Ry(pitch): approach (tcp z) along x, fingers along y.
_APPROACH_FRAME = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])


@dataclass
class Candidates:
    tcp_pose_b: np.ndarray  # (N, 7)
    insertive_pose_b: np.ndarray
    receptive_pose_b: np.ndarray
    gripper_closed: np.ndarray  # (N,) bool


@dataclass
class BatchResult:
    valid: np.ndarray  # (N,) over the candidates
    arrays: dict  # shard arrays of the valid states
    rejections: dict = field(default_factory=dict)  # check -> candidates failing it


def reaching_tcp_quats(pitch_rad, yaw_rad) -> np.ndarray:
    """tcp orientation whose approach axis is Rz(yaw) Ry(pitch) x_b (pitch pi/2: straight down)."""
    c, s = np.cos(pitch_rad), np.sin(pitch_rad)
    ry = np.zeros((len(c), 3, 3))
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 1, 1], ry[:, 2, 0], ry[:, 2, 2] = c, s, 1.0, -s, c
    rz = quat_to_matrix(yaw_quats(yaw_rad))
    T = np.zeros((len(c), 4, 4))
    T[:, :3, :3] = rz @ ry @ _APPROACH_FRAME
    T[:, 3, 3] = 1.0
    return matrix_to_pose(T)[:, 3:]


def _uniform(rng, interval, n) -> np.ndarray:
    return rng.uniform(interval[0], interval[1], n)


class ResetGenerator:
    """Samples, settles and checks candidates of each reset type."""

    def __init__(self, config: ResetGenerationConfig, cell: CellConfig, task: TaskDefinition,
                 grasps: np.ndarray | None = None, partial_assemblies: np.ndarray | None = None,
                 reaching_pool: dict | None = None):
        self.config, self.cell, self.task = config, cell, task
        self.physics = ServoArmCell(cell, config.physics.timestep_s, task.insertive_object, task.receptive_object,
                                   config.physics.num_threads)
        self.grasps = grasps
        self.partial_assemblies = partial_assemblies
        self.reaching_pool = reaching_pool
        self.home_q_rad = np.asarray(cell.arm.home_q_rad, dtype=float)

    def close(self) -> None:
        self.physics.close()

    # --- sampling ---------------------------------------------------------------------------
    def sample_receptive(self, rng, n) -> np.ndarray:
        r = self.config.receptive
        pos = np.stack((_uniform(rng, r.x_m, n), _uniform(rng, r.y_m, n), np.zeros(n)), axis=1)
        return np.concatenate((pos, yaw_quats(_uniform(rng, r.yaw_rad, n))), axis=1)

    def sample(self, reset_type: str, rng: np.random.Generator, n: int) -> Candidates:
        samplers = {"reaching": self._sample_reaching, "near_object": self._sample_near_object,
                    "stable_grasp": self._sample_stable_grasp, "near_goal": self._sample_near_goal}
        if reset_type not in samplers:
            raise ValueError(f"unknown reset type {reset_type!r}; types are {sorted(samplers)}")
        return samplers[reset_type](rng, n)

    def _sample_reaching(self, rng, n) -> Candidates:
        s = self.config.reaching
        ins = np.concatenate((np.stack([_uniform(rng, s.object_x_m, n), _uniform(rng, s.object_y_m, n),
                                        _uniform(rng, s.object_z_m, n)], 1), random_quats(rng, n)), 1)
        tcp_pos = np.stack([_uniform(rng, s.ee_x_m, n), _uniform(rng, s.ee_y_m, n), _uniform(rng, s.ee_z_m, n)], 1)
        tcp_quat = reaching_tcp_quats(_uniform(rng, s.ee_pitch_rad, n), _uniform(rng, s.ee_yaw_rad, n))
        return Candidates(np.concatenate((tcp_pos, tcp_quat), 1), ins, self.sample_receptive(rng, n),
                          rng.random(n) < s.gripper_closed_prob)

    def _sample_near_object(self, rng, n) -> Candidates:
        s = self.config.near_object
        pool = self._require(self.reaching_pool, "the reaching states")
        idx = rng.integers(0, len(pool["insertive_pose_b"]), n)
        ins, rcv = pool["insertive_pose_b"][idx], pool["receptive_pose_b"][idx]
        tcp = self._grasp_tcp(rng, ins, s.pos_perturb_m, s.rot_perturb_rad)
        return Candidates(tcp, ins, rcv, rng.random(n) < s.gripper_closed_prob)

    def _sample_stable_grasp(self, rng, n) -> Candidates:
        s = self.config.stable_grasp
        grasps = self._require(self.grasps, "grasps")
        g = grasps[rng.integers(0, len(grasps), n)]
        # Uniform object orientation conditioned on the tcp pointing down = uniform tcp
        # orientation within the cone, object orientation following from the grasp.
        tcp_quat = down_quats_within(rng, n, self.config.validity.max_tilt_from_down_rad)
        ins_quat = quat_mul(tcp_quat, quat_conjugate(g[:, 3:]))
        ins_pos = np.stack([_uniform(rng, s.object_x_m, n), _uniform(rng, s.object_y_m, n),
                            _uniform(rng, s.object_z_m, n)], 1)
        ins = np.concatenate((ins_pos, ins_quat), 1)
        return Candidates(compose(ins, g), ins, self.sample_receptive(rng, n), np.ones(n, dtype=bool))

    def _sample_near_goal(self, rng, n) -> Candidates:
        s = self.config.near_goal
        partial = self._require(self.partial_assemblies, "partial assemblies")
        rcv = self.sample_receptive(rng, n)
        ins = compose(rcv, partial[rng.integers(0, len(partial), n)])
        tcp = self._grasp_tcp(rng, ins, s.pos_perturb_m, s.rot_perturb_rad)
        return Candidates(tcp, ins, rcv, rng.random(n) < s.gripper_closed_prob)

    def _grasp_tcp(self, rng, insertive_pose_b, pos_m, rot_rad) -> np.ndarray:
        """A dataset grasp for each object pose, drawn among those whose tcp points down within
        the validity cone (rows with none get NaN), perturbed in the tcp frame."""
        grasps = self._require(self.grasps, "grasps")
        n = len(insertive_pose_b)
        world_z_row = quat_to_matrix(insertive_pose_b[:, 3:])[:, 2, :]  # (N, 3)
        approach_obj = quat_to_matrix(grasps[:, 3:])[:, :, 2]  # (M, 3)
        cos_down = -(world_z_row @ approach_obj.T)
        allowed = cos_down >= math.cos(self.config.validity.max_tilt_from_down_rad)
        keys = np.where(allowed, rng.random(allowed.shape), -1.0)
        choice = np.argmax(keys, axis=1)
        tcp = compose(compose(insertive_pose_b, grasps[choice]), perturbation_poses(rng, n, pos_m, rot_rad))
        tcp[~allowed.any(axis=1)] = np.nan
        return tcp

    @staticmethod
    def _require(value, what: str):
        if value is None or len(value) == 0:
            raise ValueError(f"this reset type needs {what}; generate them first")
        return value

    # --- simulation and checks -------------------------------------------------------------
    def simulate(self, reset_type: str, cands: Candidates, rng: np.random.Generator) -> BatchResult:
        """IK, spawn check, settle and checks of a batch; the valid states as shard arrays."""
        cfg, phys = self.config, self.physics
        v = cfg.validity
        n = len(cands.gripper_closed)
        rejections = {}
        ok = np.all(np.isfinite(cands.tcp_pose_b), axis=1)
        rejections["no_downward_grasp"] = int((~ok).sum())
        q = np.zeros((n, 6))
        if ok.any():
            q[ok], solved = solve_ik_batch(phys.kinematics, cands.tcp_pose_b[ok], ik_seeds(self.home_q_rad, rng))
            rejections["ik"] = int((~solved).sum())
            ok[np.flatnonzero(ok)[~solved]] = False
        travel = np.zeros(n)
        closed = cands.gripper_closed
        if (closed & ok).any():
            sel = closed & ok
            travel[sel] = finger_contact_travel(cands.tcp_pose_b[sel], phys.insertive_shape,
                                                cands.insertive_pose_b[sel])
        idx = np.flatnonzero(ok)
        empty = BatchResult(np.zeros(n, dtype=bool), _empty_arrays(), rejections)
        if idx.size == 0:
            return empty
        states = phys.initial_states(q[idx], travel[idx], cands.insertive_pose_b[idx])
        controls = phys.controls(q[idx], closed[idx], cands.receptive_pose_b[idx])
        spawn = phys.measure(states, controls)
        good = ((spawn.penetration_m.max(axis=1) <= v.max_spawn_penetration_m)
                & (spawn.insertive_lowest_z_m >= -v.below_table_tolerance_m)
                & (spawn.robot_lowest_z_m >= -v.below_table_tolerance_m))
        rejections["spawn_penetration"] = int((~good).sum())
        idx, states, controls = idx[good], states[good], controls[good]
        if idx.size == 0:
            return empty
        dt = phys.model.opt.timestep
        nstep = max(1, int(round(cfg.physics.settle_s / dt)))
        per_policy = max(1, int(round(cfg.physics.policy_period_s / dt)))
        record = sorted({max(1, nstep - k * per_policy) for k in range(v.still_policy_steps)})
        final, window = phys.settle(states, controls, cfg.physics.settle_s, record)
        checks = check_states(self, reset_type, states, final, window, controls)
        passed = np.ones(len(idx), dtype=bool)
        for name, mask in checks.items():
            rejections[name] = int((~mask).sum())
            passed &= mask
        idx, final, controls = idx[passed], final[passed], controls[passed]
        valid = np.zeros(n, dtype=bool)
        valid[idx] = True
        arrays = {
            "q_arm_rad": phys.arm_q(final),
            "gripper_closed": closed[idx].copy(),
            "insertive_pose_b": phys.insertive_pose(final),
            "receptive_pose_b": cands.receptive_pose_b[idx].copy(),
            "finger_travel_m": np.clip(phys.finger_travel(final), 0.0, None),
        }
        return BatchResult(valid, arrays, rejections)

    # --- shards -----------------------------------------------------------------------------
    def generate_shard(self, reset_type: str, count: int, rng: np.random.Generator,
                       bar: tqdm | None = None) -> tuple[dict, dict]:
        """``count`` valid states (arrays) and statistics."""
        cfg = self.config
        if reset_type == "near_goal":
            n_assembled = math.floor(count * cfg.near_goal.assembled_fraction + 0.5)
            quota: dict[bool | None, int] = {True: n_assembled, False: count - n_assembled}
        else:
            quota = {None: count}
        parts: dict[bool | None, list] = {k: [] for k in quota}
        have = {k: 0 for k in quota}
        rejections: dict[str, int] = {}
        tried, found, t0 = 0, 0, time.perf_counter()
        max_tries = 1000 * count + 100_000
        while any(have[k] < quota[k] for k in quota):
            if tried >= max_tries:
                raise RuntimeError(f"{reset_type}: {sum(have.values())} of {count} valid states after {tried} "
                                   f"candidates; rejections {rejections}")
            cands = self.sample(reset_type, rng, _batch_size(cfg.physics.batch_size, count - sum(have.values()),
                                                             found, tried))
            result = self.simulate(reset_type, cands, rng)
            tried += len(cands.gripper_closed)
            found += int(result.valid.sum())
            for name, value in result.rejections.items():
                rejections[name] = rejections.get(name, 0) + value
            keys = (self.assembled(result.arrays) if reset_type == "near_goal"
                    else np.full(len(result.arrays["q_arm_rad"]), None))
            added = 0
            for key in quota:
                sel = np.flatnonzero(keys == key)[: quota[key] - have[key]]
                if sel.size:
                    parts[key].append({k: v[sel] for k, v in result.arrays.items()})
                    have[key] += sel.size
                    added += sel.size
            if bar is not None:
                bar.update(added)
        chunks = [c for key in quota for c in parts[key]]
        arrays = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        order = rng.permutation(count)  # mix assembled and not-assembled near-goal states
        arrays = {k: v[order] for k, v in arrays.items()}
        stats = {"candidates": tried, "seconds": round(time.perf_counter() - t0, 3),
                 "valid_rate": round(found / max(tried, 1), 4), "rejections": rejections}
        return arrays, stats

    def assembled(self, arrays: dict) -> np.ndarray:
        """Near-goal states already assembled within the configured multiple of the thresholds."""
        rel = relative_pose(arrays["receptive_pose_b"], arrays["insertive_pose_b"])
        done = is_assembled(rel[:, :3], rel[:, 3:], self.task.goal_poses, self.task.success,
                            scale=self.config.near_goal.assembled_threshold_scale)
        return np.asarray(done, dtype=object)


def check_states(gen: ResetGenerator, reset_type: str, spawn_states, final_states, window_states,
                 controls) -> dict[str, np.ndarray]:
    """Per-check pass masks of settled candidates (every check must pass)."""
    phys, v = gen.physics, gen.config.validity
    max_drift = gen.config.type_settings(reset_type).max_drift_m
    meas = phys.measure(final_states, controls)
    pen = dict(zip(PAIRS, meas.penetration_m.T))
    # MuJoCo resets a diverged simulation to the model's defaults and keeps stepping: its clock
    # then lags the settle time.
    dt = phys.model.opt.timestep
    settled_s = max(1, int(round(gen.config.physics.settle_s / dt))) * dt
    elapsed_s = final_states[:, phys.time_slice][:, 0] - spawn_states[:, phys.time_slice][:, 0]
    finite = (np.all(np.isfinite(final_states), axis=1) & np.all(np.isfinite(window_states), axis=(1, 2))
              & (np.abs(elapsed_s - settled_s) < 0.5 * dt))
    qd = np.abs(phys.arm_qd(final_states))
    lin, ang = phys.insertive_velocity(window_states)
    drift = np.linalg.norm(meas.insertive_pose_b[:, :3] - phys.insertive_pose(spawn_states)[:, :3], axis=1)
    with np.errstate(invalid="ignore"):
        return {
            "finite": finite,
            "joint_speed": np.all(qd < v.max_joint_speed_factor * phys.max_joint_speed_radps, axis=1),
            "pointing_down": tcp_down_cosine(meas.tcp_pose_b) >= math.cos(v.max_tilt_from_down_rad),
            "still": (np.all(np.linalg.norm(lin, axis=-1) <= v.still_lin_speed_mps, axis=1)
                      & np.all(np.linalg.norm(ang, axis=-1) <= v.still_ang_speed_radps, axis=1)
                      & np.all(np.abs(phys.arm_qd(window_states)) <= v.still_joint_speed_radps, axis=(1, 2))),
            "drift": np.ones(len(drift), dtype=bool) if max_drift is None else drift <= max_drift,
            "below_table": ((meas.insertive_lowest_z_m >= -v.below_table_tolerance_m)
                            & (meas.robot_lowest_z_m >= -v.below_table_tolerance_m)),
            "robot_insertive_penetration": pen["robot_insertive"] <= v.max_robot_insertive_penetration_m,
            "robot_receptive_penetration": pen["robot_receptive"] <= v.max_robot_receptive_penetration_m,
            "insertive_receptive_penetration": pen["insertive_receptive"] <= v.max_insertive_receptive_penetration_m,
            "table_penetration": ((pen["robot_table"] <= v.max_table_penetration_m)
                                  & (pen["insertive_table"] <= v.max_table_penetration_m)),
        }


def _batch_size(limit: int, needed: int, found: int, tried: int) -> int:
    """Candidates for the next batch: enough for the states still needed at the valid rate seen so
    far (1/2 before any), at least 32, at most ``limit``."""
    rate = max(found / tried, 0.05) if tried else 0.5
    return int(min(limit, max(32, math.ceil(1.5 * needed / rate))))


def _empty_arrays() -> dict:
    shapes = dict(datasets.SHARD_ARRAYS, **datasets.OPTIONAL_SHARD_ARRAYS)
    return {k: np.empty((0,) + shape, dtype=dtype) for k, (shape, dtype) in shapes.items()}


# --- whole datasets -------------------------------------------------------------------------------
def ensure_grasps(folder: Path, config: ResetGenerationConfig, cell: CellConfig, progress: bool = True) -> np.ndarray:
    if datasets.aux_file_intact(folder, datasets.GRASPS_FILE):
        return datasets.load_aux_file(folder, datasets.GRASPS_FILE)["tcp_pose_obj"]
    rng = np.random.default_rng([config.seed, 101])
    t0 = time.perf_counter()
    grasps, stats = sample_grasps(cell, config.grasps, rng, config.physics.num_threads, progress)
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    datasets.write_aux_file(folder, datasets.GRASPS_FILE, {"tcp_pose_obj": grasps}, stats)
    return grasps


def ensure_partial_assemblies(folder: Path, config: ResetGenerationConfig, cell: CellConfig, task: TaskDefinition,
                              progress: bool = True) -> np.ndarray:
    if datasets.aux_file_intact(folder, datasets.PARTIAL_ASSEMBLIES_FILE):
        return datasets.load_aux_file(folder, datasets.PARTIAL_ASSEMBLIES_FILE)["insertive_pose_rcv"]
    rng = np.random.default_rng([config.seed, 102])
    t0 = time.perf_counter()
    poses, stats = generate_partial_assemblies(cell, task, config.partial_assemblies, rng,
                                               config.physics.num_threads, progress)
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    datasets.write_aux_file(folder, datasets.PARTIAL_ASSEMBLIES_FILE, {"insertive_pose_rcv": poses}, stats)
    return poses


def prepare_folder(folder: str | Path, config: ResetGenerationConfig, cell: CellConfig,
                   overwrite: bool = False) -> Path:
    """Create or reopen the dataset folder and write the resolved config beside the outputs."""
    folder = Path(folder)
    datasets.open_dataset_folder(folder, task=config.task, seed=config.seed, generator_config=config_to_dict(config),
                                 cell_config=config_to_dict(cell), overwrite=overwrite)
    write_resolved_config(config, folder)
    return folder


def generate_resets(folder: str | Path, config: ResetGenerationConfig, cell: CellConfig,
                    types: tuple[str, ...] = RESET_TYPES, overwrite: bool = False, progress: bool = True,
                    on_shard_written: Callable[[str, int], None] | None = None) -> dict:
    """Generate (or resume) the dataset in ``folder``: grasps, partial assemblies, then the shards
    of ``types``. Complete, intact shards are skipped. Returns a summary."""
    task = load_task(config.task)
    folder = prepare_folder(folder, config, cell, overwrite)
    datasets.set_targets(folder, {t: config.states_per_type for t in types})
    grasps = ensure_grasps(folder, config, cell, progress) if {"near_object", "stable_grasp", "near_goal"} & set(types) else None
    partial = ensure_partial_assemblies(folder, config, cell, task, progress) if "near_goal" in types else None
    summary: dict[str, Any] = {"generated_shards": [], "skipped_shards": [], "types": {}}
    gen = ResetGenerator(config, cell, task, grasps, partial)
    try:
        for reset_type in [t for t in RESET_TYPES if t in types]:
            if reset_type == "near_object":
                gen.reaching_pool = _reaching_pool(folder, config)
            summary["types"][reset_type] = _generate_type(folder, gen, reset_type, progress, summary,
                                                          on_shard_written)
    finally:
        gen.close()
    return summary


def _reaching_pool(folder: Path, config: ResetGenerationConfig) -> dict:
    pool = datasets.ResetDataset.load(folder, types=("reaching",)).arrays("reaching")
    if len(pool["q_arm_rad"]) < config.states_per_type:
        raise ValueError(f"{folder}: near-object states need the reaching states first")
    return pool


def _generate_type(folder: Path, gen: ResetGenerator, reset_type: str, progress: bool, summary: dict,
                   on_shard_written) -> dict:
    cfg = gen.config
    total, size = cfg.states_per_type, cfg.shard_size
    n_shards = math.ceil(total / size)
    complete = datasets.complete_shards(folder, reset_type)
    expected = {i: min(size, total - i * size) for i in range(n_shards)}
    done = sum(c for i, c in complete.items() if expected.get(i) == c)
    bar = tqdm(total=total, initial=done, desc=reset_type, unit="state", disable=not progress)
    stats = {"candidates": 0, "seconds": 0.0, "states": 0}
    type_index = RESET_TYPES.index(reset_type)
    try:
        for i in range(n_shards):
            if complete.get(i) == expected[i]:
                summary["skipped_shards"].append(datasets.shard_name(reset_type, i))
                continue
            rng = np.random.default_rng([cfg.seed, type_index, i])
            arrays, shard_stats = gen.generate_shard(reset_type, expected[i], rng, bar)
            datasets.write_shard(folder, reset_type, i, arrays, info=shard_stats)
            summary["generated_shards"].append(datasets.shard_name(reset_type, i))
            for key in ("candidates", "seconds"):
                stats[key] += shard_stats[key]
            stats["states"] += expected[i]
            if on_shard_written is not None:
                on_shard_written(reset_type, i)
    finally:
        bar.close()
    if stats["seconds"]:
        stats["valid_states_per_s"] = round(stats["states"] / stats["seconds"], 2)
    return stats
