#!/usr/bin/env python3
"""Write checkpoints/peg_state_placeholder.pt: an UNTRAINED state policy with the exact deployment
interface of task peg, so the ROS nodes can be brought up and tested before a trained checkpoint
exists.

Architecture as deployed: actor observation of omnireset_core.spec (185 = 37 x 5 history) ->
identity normaliser (folded into the module) -> MLP [512, 256, 128, 64], ELU -> 7 actions.
Weights are torch's default init with a fixed seed; the metadata's ``notes`` say it is a
placeholder, and the policy node logs that at load. Its actions are meaningless.

Usage: .venv/bin/python scripts/make_placeholder_checkpoint.py [--output PATH] [--seed N]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import Tensor, nn

from omnireset_core.policy import export_policy, new_metadata
from omnireset_core.policy.deployment import PLACEHOLDER_NOTE
from omnireset_core.policy.vision import mlp
from omnireset_core.spec.contract import ACTION_DIM, default_actor_observation
from omnireset_ros.policy_paths import DEFAULT_CHECKPOINT

HIDDEN = (512, 256, 128, 64)
TASK = "peg"
REPO = Path(__file__).resolve().parents[1]


class NormalisedMlp(nn.Module):
    """(obs - mean) / std, then the MLP: the deployed layout with the normaliser folded in."""

    def __init__(self, obs_dim: int):
        super().__init__()
        self.register_buffer("obs_mean", torch.zeros(obs_dim))  # identity normaliser
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.net = mlp(obs_dim, HIDDEN, ACTION_DIM)

    def forward(self, obs: Tensor) -> Tensor:
        return self.net((obs - self.obs_mean) / self.obs_std)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / DEFAULT_CHECKPOINT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    observation = default_actor_observation()
    module = NormalisedMlp(observation.dim)
    train_config = {"trained": False, "seed": args.seed, "hidden": list(HIDDEN), "activation": "elu",
                    "normaliser": "identity"}
    notes = (f"{PLACEHOLDER_NOTE}: random init (torch seed {args.seed}), identity normaliser; "
             "for bring-up and tests only, its actions are meaningless")
    metadata = new_metadata("state", TASK, observation, train_config, normalizer_folded=True, notes=notes)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    path = export_policy(module, args.output, metadata)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {notes}")


if __name__ == "__main__":
    main()
