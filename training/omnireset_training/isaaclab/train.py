"""PPO through Isaac Lab: the task ``OmniReset-Peg-v0`` behind Isaac Lab's rsl_rl wrapper, trained
by the same runner, gSDE actor and checkpoint format as the MuJoCo backend (so ``omnireset-train
export`` and ``evaluate`` take its checkpoints unchanged).

Multi-GPU (one process and one simulation per GPU, gradients all-reduced by rsl_rl, rank 0
writes; ``omnireset_training.rl.distributed``):

    torchrun --nnodes=1 --nproc_per_node=4 -m omnireset_training.cli train --backend isaaclab \\
        --device cuda --distributed --resets DATA --out runs/peg
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from omnireset_training.rl.config import TrainConfig
from omnireset_training.rl.distributed import Rank


def train(cfg: TrainConfig, resets: str, out: Path, resume: str | None = None, device: str = "cpu",
          rank: Rank = Rank()) -> Path | None:
    """Train ``cfg.max_iterations`` PPO iterations in Isaac Lab (``cfg`` already per rank:
    ``distributed.rank_config``); returns the last checkpoint, on rank 0 (the one that writes)."""
    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    import omnireset_training.isaaclab  # noqa: F401  (registers the gym ids)
    from omnireset_training.isaaclab import mdp
    from omnireset_training.isaaclab.assets import build_usd_assets
    from omnireset_training.isaaclab.env_cfg import OmniResetEnvCfg
    from omnireset_training.rl.runner import OmniResetRunner

    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    build_usd_assets()
    env_cfg = OmniResetEnvCfg(num_envs=cfg.env.num_envs, resets=resets, omnireset=asdict(cfg.env))
    env_cfg.sim.device = device
    with launch_simulation(env_cfg):
        env = RslRlVecEnvWrapper(gym.make("OmniReset-Peg-v0", cfg=env_cfg))
        env.successes = mdp.context(env.unwrapped).successes  # read by the runner's per-iteration record
        runner = OmniResetRunner(env, replace(cfg, eval_interval=0), out if rank.is_main else None, device=device)
        if resume:
            runner.load(resume)
        runner.learn(cfg.max_iterations, init_at_random_ep_len=cfg.random_initial_episode_length and not resume,
                     progress=rank.is_main)
        env.close()
    return out / f"model_{runner.current_learning_iteration}.pt" if rank.is_main else None
