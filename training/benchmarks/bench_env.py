"""Policy steps per second of the vectorised MuJoCo env on this machine (not a test).

Random actions (std 1 on the raw action, as an untrained gSDE policy), toy reset datasets of the
peg task, the default reset mix and randomisation. Reports steps/s per env count and how often
worlds terminated or diverged.

    python training/benchmarks/bench_env.py [--envs 128 256 512] [--steps 50] [--threads 0]
"""
from __future__ import annotations

import argparse
import time

import torch

from omnireset_training.env_config import EnvConfig
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.toy_resets import make_toy_resets


def measure(num_envs: int, steps: int, threads: int, resets) -> dict:
    env = OmniResetEnv(EnvConfig(num_envs=num_envs, num_threads=threads), resets)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):  # warm-up
        env.step(torch.randn(num_envs, 7, generator=gen))
    terminated = diverged = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, _, extras = env.step(torch.randn(num_envs, 7, generator=gen))
        terminated += extras["log"]["Episode/terminated_abnormal"]
        diverged += extras["log"]["Episode/physics_diverged"]
    wall = time.perf_counter() - t0
    env.close()
    return {"envs": num_envs, "steps_per_s": steps * num_envs / wall, "ms_per_step": 1e3 * wall / steps,
            "abnormal_per_env_step": terminated / steps, "diverged_per_env_step": diverged / steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--steps", type=int, default=50, help="policy steps per measurement")
    parser.add_argument("--threads", type=int, default=0, help="physics threads (0: one per core)")
    args = parser.parse_args()
    resets = make_toy_resets(32)
    print(f"torch threads {torch.get_num_threads()}, policy 10 Hz, physics 120 Hz (12 substeps per step)")
    for n in args.envs:
        r = measure(n, args.steps, args.threads, resets)
        print(f"{r['envs']:5d} envs: {r['steps_per_s']:7.0f} policy steps/s ({r['ms_per_step']:.1f} ms per batched step), "
              f"abnormal-speed terminations {r['abnormal_per_env_step']:.4f}, diverged {r['diverged_per_env_step']:.4f} per env-step")


if __name__ == "__main__":
    main()
