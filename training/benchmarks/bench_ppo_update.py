"""PPO update throughput on this machine's CPU or a GPU (not a test): the project's actor-critic
(gSDE actor, asymmetric critic, [512, 256, 128, 64] ELU) and rsl_rl's PPO on synthetic rollouts of
the real observation sizes, so the update cost can be measured without a simulator.

    python training/benchmarks/bench_ppo_update.py                             # CPU, 256 envs
    python training/benchmarks/bench_ppo_update.py --device cuda --envs 4096 16384 65536

Prints, per env count, the transitions per update (envs x 32 steps), the seconds of one update
(5 epochs x 4 mini-batches, the paper's) and transitions per second through the update.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import time

import torch
from tensordict import TensorDict

from omnireset_core.spec.contract import default_actor_observation
from omnireset_training.rl.config import TrainConfig, rsl_rl_train_cfg

CRITIC_DIM = 38 + 1 + 6 + 6 + 6 + 2 + 9  # newest actor step, time left, velocities, gripper, physics


class SyntheticEnv:
    """Just enough of rsl_rl's VecEnv for the runner to build its models and storage."""

    def __init__(self, num_envs: int, device: str):
        self.num_envs, self.num_actions, self.device = num_envs, 7, device
        self.max_episode_length, self.cfg = 80, {}
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long, device=device)
        self.obs = TensorDict({"policy": torch.randn(num_envs, default_actor_observation().dim, device=device),
                               "critic": torch.randn(num_envs, CRITIC_DIM, device=device)}, batch_size=[num_envs])

    def get_observations(self) -> TensorDict:
        return self.obs


def measure(num_envs: int, device: str, repeats: int) -> dict:
    from rsl_rl.runners import OnPolicyRunner

    cfg = TrainConfig()
    env = SyntheticEnv(num_envs, device)
    with contextlib.redirect_stdout(io.StringIO()):  # the library prints both networks
        runner = OnPolicyRunner(env, rsl_rl_train_cfg(cfg), None, device)
    alg, steps = runner.alg, cfg.ppo.num_steps_per_env
    times = []
    for r in range(repeats + 1):
        with torch.inference_mode():
            for _ in range(steps):
                obs = TensorDict({k: torch.randn_like(v) for k, v in env.obs.items()}, batch_size=[num_envs])
                alg.act(obs)
                alg.process_env_step(obs, torch.randn(num_envs, device=device) * 0.1,
                                     torch.rand(num_envs, device=device) < 0.01, {})
            alg.compute_returns(obs)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        alg.update()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if r:  # the first update warms up kernels and allocators
            times.append(time.perf_counter() - t0)
    seconds = sorted(times)[len(times) // 2]
    return {"envs": num_envs, "transitions": num_envs * steps, "update_s": seconds,
            "transitions_per_s": num_envs * steps / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--envs", type=int, nargs="+", default=[256])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'envs':>7s} {'transitions':>12s} {'update [s]':>11s} {'transitions/s':>14s}")
    for n in args.envs:
        r = measure(n, args.device, args.repeats)
        print(f"{r['envs']:7d} {r['transitions']:12d} {r['update_s']:11.3f} {r['transitions_per_s']:14.0f}")


if __name__ == "__main__":
    main()
