"""Where near-goal episodes fail: success per kind of start, for holding still, a scripted
insertion with privileged state, and trained checkpoints, all on the same reset states.

Starts are sorted by whether the peg is already assembled (the task's success thresholds) and
whether the gripper starts closed. For each policy the table gives the success at the episode's
end per class and how often a closed gripper is opened at the first step.

    python training/benchmarks/near_goal_breakdown.py --resets DATA \
        --checkpoint checkpoints/peg_state_near_goal_cpu.pt --episodes 256
    python training/benchmarks/near_goal_breakdown.py --resets DATA --training-checkpoint RUN/model_345.pt

``--training-checkpoint`` (an rsl_rl ``model_<it>.pt`` with the run's config.yaml beside it) runs
the same actor four ways on the same starts: its mean action (what an export and the deployment
run), actions sampled from its gSDE distribution (what training saw), and each of the arm and the
gripper sampled alone.

The scripted reference is the bundled one (``omnireset_core.policy.scripted``, the demo's
policy): it reads the true poses from the actor observation, carries a held peg over the hole,
turns it upright at the nearest quarter turn, pushes it in and opens once it is seated; a peg
that is not held is grasped again first.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

from omnireset_core.policy.metadata import read_metadata
from omnireset_core.policy.scripted import PegScriptGeometry, ScriptedPegPolicy
from omnireset_core.tasks import assembly_error
from omnireset_sim.config import CellConfig
from omnireset_training.env_config import EnvConfig
from omnireset_training.export import load_actor
from omnireset_training.mdp.rewards import success_indicator
from omnireset_training.mdp.state import insertive_in_receptive
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.reset_source import load_resets
from omnireset_training.rl.config import TrainConfig
from omnireset_training.rl.runner import hold_still_actions


class FixedStates:
    """A reset source that hands out the given near-goal states in order (one per env)."""

    types = ("near_goal",)

    def __init__(self, states: dict[str, np.ndarray]):
        self.states, self.next = states, 0

    def sample(self, reset_type: str, n: int, rng) -> dict[str, np.ndarray]:
        count = len(self.states["q_arm_rad"])
        idx = np.arange(self.next, self.next + n) % count
        self.next += n
        return {k: v[idx] for k, v in self.states.items()}


def run_episodes(policy, cfg: EnvConfig, states: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One episode per state; success at the last step, and whether a closed gripper opened at step 1."""
    env = OmniResetEnv(cfg, FixedStates(states))
    start = env._state
    peg_rcv_m, quat_rcv = insertive_in_receptive(start)
    pos_err_m, tilt_rad = assembly_error(peg_rcv_m, quat_rcv, env.task.goal_poses[0])
    closed_at_start = start.gripper_closed.numpy().copy()
    obs = env.get_observations()
    with torch.inference_mode():
        for step in range(env.max_episode_length - 1):  # the last step would reset the worlds
            obs, _, _, _ = env.step(policy(env, obs))
            if step == 0:
                opened_at_once = closed_at_start & ~env.gripper_closed.numpy()
        success = success_indicator(env._state, env.task).numpy() > 0
    env.close()
    return {"success": success, "opened_at_once": opened_at_once, "closed_at_start": closed_at_start,
            "assembled_at_start": (success_indicator(start, env.task).numpy() > 0),
            "start_height_m": peg_rcv_m[:, 2].numpy(), "start_pos_err_m": pos_err_m.numpy(),
            "start_tilt_rad": tilt_rad.numpy()}


TILT_BANDS_RAD = ((0.0, 0.1), (0.1, 0.3), (0.3, float("inf")))
SAMPLED_DIMS = {"mean": [], "sampled": list(range(7)), "mean arm, sampled gripper": [6],
                "sampled arm, mean gripper": list(range(6))}


def mixed(actor, obs, sampled) -> torch.Tensor:
    """The actor's mean action with the ``sampled`` dimensions drawn from its distribution (one pass)."""
    draw = actor(obs, stochastic_output=True).double()
    action = actor.distribution.mean.double().clone()
    action[:, sampled] = draw[:, sampled]
    return action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", required=True, help="reset dataset folder with near-goal states")
    parser.add_argument("--checkpoint", action="append", default=[], help="exported TorchScript policy (repeatable)")
    parser.add_argument("--training-checkpoint", action="append", default=[],
                        help="rsl_rl model_<it>.pt, config.yaml beside it: its mean and its sampled actions")
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-randomization", action="store_true", help="nominal physics instead of the training DR")
    parser.add_argument("--episode-length-s", type=float, default=EnvConfig.episode_length_s,
                        help="episode length (default: the paper's 16 s; the CPU profile trains at 8 s)")
    parser.add_argument("--out", help="write the per-state results as JSON here")
    args = parser.parse_args()

    states = load_resets(args.resets).sample("near_goal", args.episodes, np.random.default_rng(args.seed))
    cfg = EnvConfig(num_envs=args.episodes, reset_probabilities={"near_goal": 1.0}, seed=args.seed,
                    episode_length_s=args.episode_length_s)
    cfg = replace(cfg, randomization=replace(cfg.randomization, enabled=not args.no_randomization))
    scripted = ScriptedPegPolicy(geometry=PegScriptGeometry.from_cell(CellConfig()))
    # name -> (policy, the action spec it was trained with: its gripper_switch_steps apply in the env)
    policies = {"hold still": (lambda env, obs: hold_still_actions(env), cfg.action),
                "scripted reference": (lambda env, obs: scripted(obs["policy"]).double(), cfg.action)}
    for path in args.checkpoint:
        module = torch.jit.load(path)
        policies[Path(path).name] = (lambda env, obs, m=module: m(obs["policy"]).double(), read_metadata(path).action)
    for path in map(Path, args.training_checkpoint):
        train_cfg = TrainConfig.from_dict(yaml.safe_load((path.parent / "config.yaml").read_text()))
        actor = load_actor(path, train_cfg)
        for label, dims in SAMPLED_DIMS.items():
            policies[f"{path.stem} {label}"] = (lambda env, obs, a=actor, d=dims: mixed(a, obs, d), train_cfg.env.action)

    results = {name: run_episodes(policy, replace(cfg, action=action), states)
               for name, (policy, action) in policies.items()}
    first = next(iter(results.values()))
    classes = {}
    for assembled in (True, False):
        for closed in (True, False):
            mask = (first["assembled_at_start"] == assembled) & (first["closed_at_start"] == closed)
            classes[f"{'assembled' if assembled else 'not assembled'}, gripper {'closed' if closed else 'open'}"] = mask
    classes["all"] = np.ones(args.episodes, dtype=bool)

    names = list(results)
    print(f"{'start':36s} {'n':>5s} " + " ".join(f"{n[:22]:>22s}" for n in names))
    for label, mask in classes.items():
        cells = [f"{results[n]['success'][mask].mean():22.2f}" if mask.any() else f"{'-':>22s}" for n in names]
        print(f"{label:36s} {mask.sum():5d} " + " ".join(cells))
    closed = first["closed_at_start"]
    print(f"{'closed starts opened at step 1':36s} {closed.sum():5d} "
          + " ".join(f"{results[n]['opened_at_once'][closed].mean():22.2f}" for n in names))
    held = first["closed_at_start"] & ~first["assembled_at_start"]
    print("\nheld, not assembled, by the part's tilt at the start (|roll| + |pitch| in the hole frame):")
    for lo, hi in TILT_BANDS_RAD:
        mask = held & (first["start_tilt_rad"] >= lo) & (first["start_tilt_rad"] < hi)
        cells = [f"{results[n]['success'][mask].mean():22.2f}" if mask.any() else f"{'-':>22s}" for n in names]
        print(f"{f'tilt {lo:g}-{hi:g} rad':36s} {mask.sum():5d} " + " ".join(cells))
    if args.out:
        serialisable = {n: {k: v.tolist() for k, v in r.items()} for n, r in results.items()}
        Path(args.out).write_text(json.dumps({"episodes": args.episodes, "seed": args.seed,
                                              "randomization": not args.no_randomization,
                                              "results": serialisable}))


if __name__ == "__main__":
    main()
