"""Resets the Isaac Lab env twice with friction randomisation on and checks that the critic's
privileged friction columns are the values the physics model holds (per env, the mean over each
group's shapes), drawn within the configured ranges. Run by test_isaaclab_backend.py in a process
of its own; prints ``FRICTION OK`` on success."""
import sys

import gymnasium as gym
import torch
import warp as wp
from isaaclab.app import launch_simulation

import omnireset_training.isaaclab  # noqa: F401  (registers the gym ids)
from omnireset_training.env_config import EnvConfig
from omnireset_training.isaaclab import mdp
from omnireset_training.isaaclab.assets import build_usd_assets
from omnireset_training.isaaclab.env_cfg import OmniResetEnvCfg
from omnireset_training.physics import FRICTION_GROUPS


def main() -> None:
    build_usd_assets()
    cfg = OmniResetEnvCfg(num_envs=4, resets="toy:8")
    rnd = EnvConfig().randomization
    with launch_simulation(cfg):
        env = gym.make("OmniReset-Peg-v0", cfg=cfg)
        base = env.unwrapped
        ctx = mdp.context(base)
        seen = []
        for _ in range(2):
            env.reset()
            for name in ("robot_friction", "pad_friction", "insertive_friction", "receptive_friction"):
                term = base.event_manager.get_term_cfg(name)
                impl = term.func._impl
                drawn = wp.to_torch(impl._friction_binding)[:, impl._shape_indices.to(base.device)].mean(-1)
                slot = term.params["slot"]
                column = ctx.privileged()[:, FRICTION_GROUPS.index(slot)]
                assert torch.allclose(column, drawn.double(), atol=1e-6), (name, column, drawn)
                low, high = getattr(rnd, f"{slot}_friction")
                assert ((column >= low - 1e-6) & (column <= high + 1e-6)).all(), (name, column, (low, high))
            seen.append(ctx.privileged()[:, :4].clone())
        assert not torch.allclose(seen[0], seen[1]), "a new reset draws new frictions"
        assert (seen[0].std(0) > 0).all(), "each env draws its own"
        env.close()
    print("FRICTION OK")


if __name__ == "__main__":
    sys.exit(main())
