"""Backend parity: the same reset states and the same action sequence in the Isaac Lab env and the
MuJoCo env (randomisation off), compared on the TCP and insertive-object trajectories.

    python -m omnireset_training.isaaclab.parity --reset-type stable_grasp --steps 30
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from omnireset_training.env_config import EnvConfig, RandomizationConfig
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.toy_resets import make_toy_resets


def action_sequence(steps: int, num_envs: int, seed: int = 0) -> torch.Tensor:
    """Smooth, bounded actions (steps, N, 7): slow sinusoids per axis, gripper command held."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None, None] * 0.1
    freq = rng.uniform(0.2, 0.6, (1, num_envs, 6))
    phase = rng.uniform(0, 2 * math.pi, (1, num_envs, 6))
    arm = 0.5 * np.sin(2 * math.pi * freq * t + phase)
    return torch.as_tensor(np.concatenate((arm, np.zeros((steps, num_envs, 1))), -1), dtype=torch.float32)


def _trajectory(states) -> dict[str, np.ndarray]:
    return {"tcp_pos_b_m": np.stack([s.tcp_pos_b_m.cpu().numpy() for s in states]),
            "insertive_pos_b_m": np.stack([s.insertive_pos_b_m.cpu().numpy() for s in states]),
            "finger_travel_m": np.stack([s.finger_travel_m.cpu().numpy() for s in states])}


def mujoco_trajectory(cfg: EnvConfig, resets, actions: torch.Tensor) -> dict[str, np.ndarray]:
    env = OmniResetEnv(cfg, resets)
    held = actions.clone()
    held[..., 6] = torch.where(env.gripper_closed, -1.0, 1.0)
    states = [env._state]
    for a in held:
        env.step(a)
        states.append(env._state)
    env.close()
    return _trajectory(states)


def isaaclab_trajectory(cfg: EnvConfig, resets_spec: str, actions: torch.Tensor) -> dict[str, np.ndarray]:
    import gymnasium as gym
    from isaaclab.app import launch_simulation

    import omnireset_training.isaaclab  # noqa: F401  (registers the gym ids)
    from omnireset_training.isaaclab import mdp
    from omnireset_training.isaaclab.assets import build_usd_assets
    from omnireset_training.isaaclab.env_cfg import OmniResetEnvCfg

    build_usd_assets()
    env_cfg = OmniResetEnvCfg(num_envs=cfg.num_envs, resets=resets_spec, omnireset=asdict(cfg))
    with launch_simulation(env_cfg):
        env = gym.make("OmniReset-Peg-v0", cfg=env_cfg)
        env.reset()
        base = env.unwrapped
        ctx = mdp.context(base)
        held = actions.clone()
        held[..., 6] = torch.where(ctx.gripper_closed.cpu(), -1.0, 1.0)
        states = [mdp.cell_state(base)]
        for a in held:
            env.step(a.to(base.device))
            states.append(mdp.cell_state(base))
        out = _trajectory(states)
        env.close()
    return out


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Largest distance over envs and steps, per quantity [m]."""
    out = {}
    for key in a:
        diff = a[key] - b[key]
        out[key] = float(np.max(np.linalg.norm(diff, axis=-1) if diff.ndim == 3 else np.abs(diff)))
    return out


def parity_config(num_envs: int, reset_type: str) -> EnvConfig:
    return replace(EnvConfig(), num_envs=num_envs, reset_probabilities={reset_type: 1.0},
                   randomization=RandomizationConfig(enabled=False), physics_workers=1)


def run(reset_type: str, steps: int, num_envs: int, toy_states: int = 8, action_scale: float = 1.0) -> dict:
    cfg = parity_config(num_envs, reset_type)
    actions = action_sequence(steps, num_envs) * action_scale
    spec = f"toy:{toy_states}"
    ref = mujoco_trajectory(cfg, make_toy_resets(toy_states, seed=0), actions)
    isaac = isaaclab_trajectory(cfg, spec, actions)
    return {"reset_type": reset_type, "steps": steps, "num_envs": num_envs, "action_scale": action_scale,
            "max_error_m": compare(ref, isaac),
            "final_error_m": compare({k: v[-1:] for k, v in ref.items()}, {k: v[-1:] for k, v in isaac.items()})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset-type", default="stable_grasp")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--action-scale", type=float, default=1.0, help="0: hold still")
    parser.add_argument("--out", help="also write the result as JSON here")
    args = parser.parse_args()
    result = run(args.reset_type, args.steps, args.num_envs, action_scale=args.action_scale)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
