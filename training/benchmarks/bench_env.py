"""Training throughput of the MuJoCo env against its raw-physics ceiling, in one run (not a test).

Rows, all in policy steps/s (one policy step = 12 physics steps of one world):
- raw physics, 1 core: only the ``mujoco.rollout`` calls of an in-process env, timed inside it;
  the ceiling per core, and x cores the ceiling of the machine;
- the env with 1 physics worker (in process) and with one worker per core (``parallel_physics``);
- whole PPO iterations (collection + update, the CPU profile) with one worker per core.
Each env row is measured ``--repeats`` times interleaved (the machine is noisy); the table shows
the median. Actions: the CPU profile's initial noise (std 0.3), gripper kept closed.

    python training/benchmarks/bench_env.py [--envs 256] [--steps 20] [--resets DATA] [--iterations 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace

import torch

from omnireset_training.env_config import EnvConfig
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.reset_source import load_resets
from omnireset_training.rl.config import cpu_profile
from omnireset_training.rl.runner import make_runner
from omnireset_training.toy_resets import make_toy_resets


def actions(n: int, gen: torch.Generator) -> torch.Tensor:
    a = 0.3 * torch.randn(n, 7, generator=gen)
    a[:, 6] = -1.0
    return a


def env_rate(cfg: EnvConfig, resets, steps: int) -> tuple[float, float]:
    """(policy steps/s of the whole env step, of its rollout calls alone)."""
    env = OmniResetEnv(cfg, resets)
    physics_s = [0.0]
    pool = getattr(env.physics, "pool", None)
    if pool is not None:  # in process: time the physics inside the step
        rollout = pool.rollout

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = rollout(*args, **kwargs)
            physics_s[0] += time.perf_counter() - t0
            return out

        pool.rollout = timed
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        env.step(actions(cfg.num_envs, gen))
    physics_s[0] = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        env.step(actions(cfg.num_envs, gen))
    wall = time.perf_counter() - t0
    env.close()
    n = steps * cfg.num_envs
    return n / wall, (n / physics_s[0] if physics_s[0] else float("nan"))


def iteration_rate(cfg: EnvConfig, resets, iterations: int) -> tuple[float, float, float]:
    """(policy steps/s over whole PPO iterations, collection s, update s per iteration)."""
    train = replace(cpu_profile(), env=cfg, max_iterations=iterations + 1, eval_episodes=0)
    with tempfile.TemporaryDirectory() as log_dir:
        runner = make_runner(train, resets, log_dir)
        runner.learn(1, progress=False)  # warm-up
        t0 = time.perf_counter()
        runner.learn(iterations, progress=False)
        wall = time.perf_counter() - t0
        rows = runner.history[-iterations:]
        runner.env.close()
    steps = iterations * cfg.num_envs * train.ppo.num_steps_per_env
    return (steps / wall, statistics.median(r["collect_s"] for r in rows),
            statistics.median(r["learn_s"] for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20, help="policy steps per env measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=3, help="PPO iterations timed (0: skip)")
    parser.add_argument("--resets", help="reset dataset folder (default: the toy fixture dataset)")
    parser.add_argument("--reset-type", default="near_goal", help="start every episode from this type")
    args = parser.parse_args()
    resets = load_resets(args.resets) if args.resets else make_toy_resets(32)
    cores = os.cpu_count() or 1
    base = replace(cpu_profile().env, num_envs=args.envs, reset_probabilities={args.reset_type: 1.0})
    one, parallel = replace(base, physics_workers=1), replace(base, physics_workers=0)
    env_one, env_par, ceiling = [], [], []
    for _ in range(args.repeats):
        rate, physics = env_rate(one, resets, args.steps)
        env_one.append(rate)
        ceiling.append(physics)
        env_par.append(env_rate(parallel, resets, args.steps)[0])
    per_core = statistics.median(ceiling)
    rows = [("raw physics (rollout calls only), 1 core", per_core),
            (f"raw physics x {cores} cores (the ceiling)", per_core * cores),
            ("env step, 1 worker (in process)", statistics.median(env_one)),
            (f"env step, {parallel.workers} workers", statistics.median(env_par))]
    if args.iterations:
        rate, collect_s, learn_s = iteration_rate(parallel, resets, args.iterations)
        rows.append((f"PPO iteration, {parallel.workers} workers (collect {collect_s:.2f} s, update {learn_s:.2f} s)",
                     rate))
    print(f"{args.envs} envs, starts: {args.reset_type}, {cores} cores, torch threads {torch.get_num_threads()}, "
          f"median of {args.repeats}")
    print(f"| {'what':<68} | policy steps/s | of the ceiling |")
    print(f"|{'-' * 70}|{'-' * 16}|{'-' * 16}|")
    for name, rate in rows:
        print(f"| {name:<68} | {rate:14,.0f} | {rate / (per_core * cores):14.2f} |")


if __name__ == "__main__":
    main()
