"""PPO through Isaac Lab: the task ``OmniReset-Peg-v0`` behind Isaac Lab's rsl_rl wrapper, trained
by the same runner, gSDE actor and checkpoint format as the MuJoCo backend (so ``omnireset-train
export`` and ``evaluate`` take its checkpoints unchanged).

Multi-GPU (Isaac Lab's distributed path: one process and one simulation per GPU, gradients
all-reduced by rsl_rl):

    torchrun --nnodes=1 --nproc_per_node=4 -m omnireset_training.cli train --backend isaaclab \\
        --device cuda --distributed --resets DATA --out runs/peg
"""
from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from omnireset_training.rl.config import TrainConfig


def resolve_device(device: str, distributed: bool) -> str:
    if distributed:
        if not device.startswith("cuda"):
            raise ValueError("--distributed needs --device cuda (one GPU per torchrun process)")
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return device


def train(cfg: TrainConfig, resets: str, out: Path, resume: str | None = None, device: str = "cpu",
          distributed: bool = False) -> Path:
    """Train ``cfg.max_iterations`` PPO iterations in Isaac Lab; returns the last checkpoint."""
    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    import omnireset_training.isaaclab  # noqa: F401  (registers the gym ids)
    from omnireset_training.isaaclab import mdp
    from omnireset_training.isaaclab.assets import build_usd_assets
    from omnireset_training.isaaclab.env_cfg import OmniResetEnvCfg
    from omnireset_training.rl.runner import OmniResetRunner

    device = resolve_device(device, distributed)
    rank = int(os.environ.get("RANK", 0)) if distributed else 0
    cfg = replace(cfg, seed=cfg.seed + rank, env=replace(cfg.env, seed=cfg.env.seed + rank))
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    build_usd_assets()
    env_cfg = OmniResetEnvCfg(num_envs=cfg.env.num_envs, resets=resets, omnireset=asdict(cfg.env))
    env_cfg.sim.device = device
    with launch_simulation(env_cfg):
        env = RslRlVecEnvWrapper(gym.make("OmniReset-Peg-v0", cfg=env_cfg))
        env.successes = mdp.context(env.unwrapped).successes  # read by the runner's per-iteration record
        log_dir = out if rank == 0 else out / f"rank_{rank}"
        runner = OmniResetRunner(env, replace(cfg, eval_interval=0), log_dir, device=device)
        if resume:
            runner.load(resume)
        runner.learn(cfg.max_iterations, init_at_random_ep_len=cfg.random_initial_episode_length and not resume,
                     progress=rank == 0)
        env.close()
    return Path(log_dir) / f"model_{runner.current_learning_iteration}.pt"
