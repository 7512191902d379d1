"""The GPU figures in one command (on a machine with Isaac Lab and a GPU; any size runs on CPU too):
Isaac Lab env throughput vs number of envs, PPO update time at those sizes, and the exported
expert's latency. Prints a markdown table to paste into docs/benchmarks.md.

    .venv-isaaclab/bin/python training/benchmarks/bench_gpu.py                       # cuda, 1k 4k 16k envs
    .venv-isaaclab/bin/python training/benchmarks/bench_gpu.py --device cpu --num-envs 4 16 --steps 5

Env throughput: ``bench_isaaclab_env.py`` (one simulation per process, random actions, after a
warm-up; one policy step = 12 physics steps, the OSC law at each). PPO update:
``bench_ppo_update.py`` (the project's actor-critic, 32 steps per env, 5 epochs x 4 mini-batches).
Exported expert: the bundled ``checkpoints/peg_state_near_goal_cpu.pt``, TorchScript, the median
of 200 forward passes at batch 1 and at each env count.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_isaaclab_env  # noqa: E402
import bench_ppo_update  # noqa: E402

CHECKPOINT = HERE.parents[1] / "checkpoints" / "peg_state_near_goal_cpu.pt"


def policy_ms(module, batch: int, device: str, repeats: int = 200) -> float:
    obs = torch.randn(batch, module.obs_mean.shape[-1], device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        for _ in range(10):
            module(obs)
        sync()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            module(obs)
            sync()
            times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--steps", type=int, default=20, help="timed policy steps per env size")
    parser.add_argument("--skip-env", action="store_true", help="no Isaac Lab (PPO update and policy only)")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("--device cuda: no GPU is visible to torch (pass --device cpu to run the same on the CPU)")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    module = torch.jit.load(str(CHECKPOINT), map_location=args.device).eval()
    rows = []
    for n in args.num_envs:
        env = None if args.skip_env else bench_isaaclab_env.measure_in_subprocess(n, args.steps, args.device)
        ppo = bench_ppo_update.measure(n, args.device, repeats=3)
        rows.append((n, env, ppo, policy_ms(module, n, args.device)))
        print(f"done {n} envs", file=sys.stderr)
    print(f"\n{name}, torch {torch.__version__}, device {args.device}; exported expert at batch 1: "
          f"{policy_ms(module, 1, args.device):.3f} ms\n")
    print("| envs | env step [ms] | policy steps/s | PPO update [s] | update transitions/s "
          "| exported expert, batch = envs [ms] |")
    print("|---|---|---|---|---|---|")
    for n, env, ppo, ms in rows:
        step = f"{env['step_ms']:.1f}" if env else "-"
        rate = f"{env['policy_steps_per_s']:,.0f}" if env else "-"
        print(f"| {n} | {step} | {rate} | {ppo['update_s']:.3f} | {ppo['transitions_per_s']:,.0f} | {ms:.3f} |")


if __name__ == "__main__":
    main()
