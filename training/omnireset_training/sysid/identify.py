"""Joint dynamics identified by CMA-ES from a recorded chirp, by closed-loop replay in MuJoCo.

Parameters (19): per arm joint the armature (kg m^2, searched in log space), the viscous damping
(N m s/rad) and the Coulomb friction (N m, MuJoCo's ``frictionloss``), and one motor delay in
control periods (0-2, rounded from a continuous search variable). MuJoCo has one Coulomb term per
joint, so the static/dynamic friction split of the method's Isaac Lab version has no counterpart.

A candidate is scored by replaying the recording's targets through the core's OSC law from the
recording's first state, one world per candidate (``CellPhysics``, all candidates of a
generation in one batched rollout per period): cost = RMS joint-position error over the run, in
degrees. The search state is saved after every generation, so a killed fit resumes.
"""
from __future__ import annotations

import dataclasses
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from omnireset_core.control.osc import track_target
from omnireset_core.rotations import matrix_to_quat
from omnireset_sim.config import ArmConfig, CellConfig
from omnireset_core.control.recording import Recording
from omnireset_core.files import atomic_write_bytes, atomic_write_text, npz_bytes, sha256_bytes
from omnireset_training.physics import CellPhysics

ARMATURE_RANGE_KGM2 = (0.01, 1.0)  # log-uniform
DAMPING_RANGE_NMS = (0.0, 10.0)
FRICTION_RANGE_NM = (0.0, 10.0)
MAX_DELAY_STEPS = 2
NUM_PARAMETERS = 6 * 3 + 1
STATE_FILE = "sysid_state.pkl"


@dataclass(frozen=True)
class JointDynamics:
    """What the fit identifies: the ``ArmConfig`` fields of the same names."""

    armature_kgm2: tuple[float, ...]
    damping_Nms_per_rad: tuple[float, ...]
    frictionloss_Nm: tuple[float, ...]
    motor_delay_steps: int

    @classmethod
    def of(cls, arm: ArmConfig) -> JointDynamics:
        return cls(*(getattr(arm, f.name) for f in dataclasses.fields(cls)))

    def applied_to(self, cell: CellConfig) -> CellConfig:
        return dataclasses.replace(cell, arm=dataclasses.replace(cell.arm, **dataclasses.asdict(self)))

    def to_vector(self) -> np.ndarray:
        """The search space: every entry in [0, 1]."""
        lo, hi = np.log(ARMATURE_RANGE_KGM2)
        arm = (np.log(np.clip(self.armature_kgm2, *ARMATURE_RANGE_KGM2)) - lo) / (hi - lo)
        damp = np.clip(self.damping_Nms_per_rad, *DAMPING_RANGE_NMS) / DAMPING_RANGE_NMS[1]
        fric = np.clip(self.frictionloss_Nm, *FRICTION_RANGE_NM) / FRICTION_RANGE_NM[1]
        delay = (self.motor_delay_steps + 0.5) / (MAX_DELAY_STEPS + 1)
        return np.concatenate([arm, damp, fric, [delay]])

    @classmethod
    def from_vector(cls, x) -> JointDynamics:
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        lo, hi = np.log(ARMATURE_RANGE_KGM2)
        as_tuple = lambda v: tuple(float(round(e, 6)) for e in v)  # noqa: E731
        return cls(as_tuple(np.exp(lo + x[:6] * (hi - lo))), as_tuple(x[6:12] * DAMPING_RANGE_NMS[1]),
                   as_tuple(x[12:18] * FRICTION_RANGE_NM[1]), min(int(x[18] * (MAX_DELAY_STEPS + 1)), MAX_DELAY_STEPS))


class Replay:
    """Up to ``worlds`` candidates replayed at once through one recording."""

    def __init__(self, recording: Recording, cell: CellConfig, worlds: int):
        self.recording, self.cell = recording, cell
        self.physics = CellPhysics(worlds, cell, timestep_s=1.0 / recording.rate_hz)  # one physics step per tick
        self.arm_dofs = self.physics.arm_qd - 1 - self.physics.model.nq

    def close(self) -> None:
        self.physics.close()

    def run(self, candidates: list[JointDynamics]) -> np.ndarray:
        """Simulated joint positions (len(candidates), ticks, 6); row k+1 follows row k's target."""
        p, rec = self.physics, self.recording.arrays
        n = len(candidates)
        if n > p.num_worlds:
            raise ValueError(f"{n} candidates for {p.num_worlds} replay worlds")
        for model, c in zip(p.models, candidates):
            model.dof_armature[self.arm_dofs] = c.armature_kgm2
            model.dof_damping[self.arm_dofs] = c.damping_Nms_per_rad
            model.dof_frictionloss[self.arm_dofs] = c.frictionloss_Nm
        ids = np.arange(p.num_worlds)
        peg, hole = self.cell.peg.initial_pose_b, self.cell.hole.pose_b
        p.reset_worlds(ids, np.tile(rec["q_rad"][0], (len(ids), 1)), np.zeros(len(ids), bool),
                       np.tile([*peg.pos_m, *peg.quat_wxyz], (len(ids), 1)),
                       np.tile([*hole.pos_m, *hole.quat_wxyz], (len(ids), 1)))
        p.state[:, p.arm_qd] = rec["qd_radps"][0]
        delay = np.zeros(p.num_worlds, dtype=int)
        delay[:n] = [c.motor_delay_steps for c in candidates]
        pending = np.zeros((MAX_DELAY_STEPS + 1, p.num_worlds, 6))  # [d]: the torque commanded d periods ago
        gains = self.recording.gains
        ticks = self.recording.ticks
        q = np.empty((p.num_worlds, ticks, 6))
        q[:, 0] = rec["q_rad"][0]
        for k in range(ticks - 1):
            T, J = p.kinematics.tcp_pose_and_jacobian(p.q_arm)
            target_pos = np.broadcast_to(rec["target_pos_b_m"][k], (p.num_worlds, 3))
            target_quat = np.broadcast_to(rec["target_quat_b_wxyz"][k], (p.num_worlds, 4))
            pending = np.roll(pending, 1, axis=0)
            pending[0] = track_target(T[:, :3, 3], matrix_to_quat(T[:, :3, :3]), J, p.qd_arm, target_pos, target_quat,
                                      gains)
            p.step(pending[delay, ids])
            q[:, k + 1] = p.q_arm
        return q[:n]

    def rmse_deg(self, q_sim: np.ndarray) -> np.ndarray:
        """Per candidate: RMS joint-position error against the recording, degrees."""
        err = q_sim - self.recording.arrays["q_rad"][None]
        return np.degrees(np.sqrt(np.mean(err ** 2, axis=(1, 2))))


@dataclass(frozen=True)
class FitResult:
    start: JointDynamics
    best: JointDynamics
    start_rmse_deg: float
    best_rmse_deg: float
    generations: int
    history_rmse_deg: tuple[float, ...]  # best so far, per generation


def identify(recording: Recording, cell: CellConfig, out: str | Path, generations: int = 40, population: int = 16,
             sigma: float = 0.3, seed: int = 0, progress: bool = True) -> FitResult:
    """CMA-ES from the cell's own (nominal) dynamics; resumes from ``out``/sysid_state.pkl when that
    fit was of the same recording. Writes ``identified_dynamics.yaml`` and ``sysid_fit.json``."""
    import cmaes
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = JointDynamics.of(cell.arm)
    replay = Replay(recording, cell, population)
    try:
        key = {"recording_sha256": sha256_bytes(npz_bytes(recording.arrays)), "population": population, "seed": seed,
               "start": start.to_vector().tolist()}
        state = _load_state(out / STATE_FILE, key)
        if state is None:
            start_rmse = float(replay.rmse_deg(replay.run([start]))[0])
            optimizer = cmaes.CMA(mean=start.to_vector(), sigma=sigma, bounds=np.array([[0.0, 1.0]] * NUM_PARAMETERS),
                                  seed=seed, population_size=population)
            state = {"key": key, "optimizer": optimizer, "best_x": start.to_vector(), "best": start_rmse,
                     "start_rmse": start_rmse, "history": []}
        bar = tqdm(total=generations, initial=len(state["history"]), desc="sysid CMA-ES", unit="gen",
                   disable=not progress)
        while len(state["history"]) < generations:
            optimizer = state["optimizer"]
            xs = [optimizer.ask() for _ in range(optimizer.population_size)]
            costs = replay.rmse_deg(replay.run([JointDynamics.from_vector(x) for x in xs]))
            optimizer.tell(list(zip(xs, costs.tolist())))
            i = int(np.argmin(costs))
            if costs[i] < state["best"]:
                state["best"], state["best_x"] = float(costs[i]), xs[i]
            state["history"].append(state["best"])
            atomic_write_bytes(out / STATE_FILE, pickle.dumps(state))
            bar.update(1)
            bar.set_postfix(rmse_deg=f"{state['best']:.3f}")
        bar.close()
    finally:
        replay.close()
    best = JointDynamics.from_vector(state["best_x"])
    result = FitResult(start, best, state["start_rmse"], state["best"], len(state["history"]), tuple(state["history"]))
    write_dynamics(out / "identified_dynamics.yaml", best, f"identified from {recording.source}, "
                   f"replay RMSE {result.start_rmse_deg:.3f} -> {result.best_rmse_deg:.3f} deg")
    atomic_write_text(out / "sysid_fit.json", json.dumps(dataclasses.asdict(result), indent=2))
    return result


def write_dynamics(path: str | Path, dynamics: JointDynamics, comment: str) -> None:
    """An ``arm:`` section for cell.yaml (``load_cell_config(..., dynamics=path)`` applies it)."""
    text = f"# {comment}\n" + yaml.safe_dump({"arm": {k: list(v) if isinstance(v, tuple) else v
                                                      for k, v in dataclasses.asdict(dynamics).items()}},
                                             sort_keys=False, default_flow_style=None)
    atomic_write_text(path, text)


def _load_state(path: Path, key: dict) -> dict | None:
    if not path.is_file():
        return None
    try:
        state = pickle.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise ValueError(f"{path}: unreadable fit state ({exc}); delete it to start the fit again") from None
    if state.get("key") != key:
        raise ValueError(f"{path} is the fit of another recording or setting; use another --out or delete it")
    return state


def plot_fit(recording: Recording, cell: CellConfig, result: FitResult, path: str | Path) -> None:
    """Measured against simulated joint positions, before (nominal) and after the fit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    replay = Replay(recording, cell, 2)
    try:
        q = replay.run([result.start, result.best])
    finally:
        replay.close()
    t = recording.arrays["t_s"]
    fig, axes = plt.subplots(6, 1, figsize=(9, 11), sharex=True)
    for j, ax in enumerate(axes):
        ax.plot(t, np.degrees(recording.arrays["q_rad"][:, j]), "k", lw=1.5, label="recorded")
        ax.plot(t, np.degrees(q[0, :, j]), "tab:red", lw=1, label=f"nominal ({result.start_rmse_deg:.2f} deg RMS)")
        ax.plot(t, np.degrees(q[1, :, j]), "tab:blue", lw=1, ls="--",
                label=f"identified ({result.best_rmse_deg:.2f} deg RMS)")
        ax.set_ylabel(f"q{j + 1} [deg]")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("t [s]")
    fig.suptitle(f"closed-loop replay of {recording.source}'s chirp")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)

