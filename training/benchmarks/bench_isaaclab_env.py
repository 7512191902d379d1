"""Isaac Lab env throughput on this machine: policy steps per second vs number of envs.

    .venv-isaaclab/bin/python training/benchmarks/bench_isaaclab_env.py --num-envs 1 4 16 64 --device cpu

Each size runs in its own process (one simulation per process), steps random actions for
``--steps`` policy steps after a warm-up (Warp compiles its kernels on the first step), and
reports policy steps/s = num_envs * steps / time. One policy step = 12 physics steps at 120 Hz,
the OSC law at every physics step.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def measure(num_envs: int, steps: int, device: str) -> dict:
    import gymnasium as gym
    import torch
    from isaaclab.app import launch_simulation

    import omnireset_training.isaaclab  # noqa: F401
    from omnireset_training.isaaclab.assets import build_usd_assets
    from omnireset_training.isaaclab.env_cfg import OmniResetEnvCfg

    build_usd_assets()
    cfg = OmniResetEnvCfg(num_envs=num_envs, resets="toy:16")
    cfg.sim.device = device
    with launch_simulation(cfg):
        env = gym.make("OmniReset-Peg-v0", cfg=cfg)
        env.reset()
        gen = torch.Generator().manual_seed(0)

        def actions():
            return (0.3 * torch.randn(num_envs, 7, generator=gen)).to(env.unwrapped.device)
        for _ in range(3):
            env.step(actions())
        t0 = time.perf_counter()
        for _ in range(steps):
            env.step(actions())
        dt = time.perf_counter() - t0
        env.close()
    return {"num_envs": num_envs, "device": device, "step_ms": 1e3 * dt / steps, "policy_steps_per_s": num_envs * steps / dt}


def measure_in_subprocess(num_envs: int, steps: int, device: str) -> dict:
    """``measure`` in a fresh process (one simulation per process); SystemExit with its output on failure."""
    done = subprocess.run([sys.executable, __file__, "--one", "--num-envs", str(num_envs), "--steps", str(steps),
                           "--device", device], capture_output=True, text=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if not line:
        sys.exit(f"num_envs={num_envs} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(line[0][7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(measure(args.num_envs[0], args.steps, args.device)))
        return
    rows = []
    for n in args.num_envs:
        rows.append(measure_in_subprocess(n, args.steps, args.device))
        print(f"done {n} envs", file=sys.stderr)
    print(f"{'envs':>6} {'step [ms]':>10} {'policy steps/s':>15}")
    for r in rows:
        print(f"{r['num_envs']:>6} {r['step_ms']:>10.1f} {r['policy_steps_per_s']:>15.1f}")


if __name__ == "__main__":
    main()
