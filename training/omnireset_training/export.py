"""Export a trained actor as the deployment checkpoint: TorchScript, the observation normaliser
inside, the core's metadata (``omnireset_core.policy.export_policy`` / ``new_metadata``).

The module takes RAW actor observations (B, 185) laid out as ``default_actor_observation()`` and
returns the deterministic action (the gSDE mean), exactly what ``PolicyRuntime`` feeds and expects.
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn as nn
import yaml
from tensordict import TensorDict

from omnireset_core.policy import export_policy, new_metadata
from omnireset_core.spec.contract import default_actor_observation
from omnireset_training.rl.config import TrainConfig, rsl_rl_train_cfg
from omnireset_training.rl.gsde import GSDEMLPModel


class DeterministicPolicy(nn.Module):
    """(obs - mean) / (std + eps), then the actor MLP up to its mean head: the same operations,
    in the same order, as the training model's deterministic forward. ``action_std`` gives the
    gSDE standard deviation of the same state (what distillation matches the student to)."""

    def __init__(self, actor: GSDEMLPModel):
        super().__init__()
        norm = actor.obs_normalizer
        dim = actor.obs_dim
        if getattr(actor, "obs_normalization", False):
            mean, std_eps = norm._mean.detach().clone(), (norm._std + norm.eps).detach().clone()
        else:
            mean, std_eps = torch.zeros(1, dim), torch.ones(1, dim)
        self.register_buffer("obs_mean", mean)
        self.register_buffer("obs_std_eps", std_eps)
        layers = list(copy.deepcopy(actor.mlp))
        self.trunk, self.head = nn.Sequential(*layers[:-1]), layers[-1]
        self.register_buffer("log_std", actor.distribution.log_std.detach().clone())
        self.variance_eps = float(actor.distribution.eps)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk((obs - self.obs_mean) / self.obs_std_eps))

    @torch.jit.export
    def action_std(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.trunk((obs - self.obs_mean) / self.obs_std_eps)
        return torch.sqrt(features.square() @ torch.exp(self.log_std).square() + self.variance_eps)


def build_actor(cfg: TrainConfig) -> GSDEMLPModel:
    """An untrained actor of the configured architecture (for loading checkpoints)."""
    spec = default_actor_observation()
    obs = TensorDict({"policy": torch.zeros(1, spec.dim)}, batch_size=[1])
    actor_cfg = dict(rsl_rl_train_cfg(cfg)["actor"])
    actor_cfg.pop("class_name")
    return GSDEMLPModel(obs, {"actor": ["policy"]}, "actor", 7, **actor_cfg)


def load_actor(checkpoint: str | Path, cfg: TrainConfig) -> GSDEMLPModel:
    """The actor of an rsl_rl checkpoint (``model_<it>.pt``) written by the runner."""
    actor = build_actor(cfg)
    state = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
    actor.load_state_dict(state["actor_state_dict"])
    return actor.eval()


def export_actor(actor: GSDEMLPModel, path: str | Path, cfg: TrainConfig, notes: str = "") -> Path:
    """Write the TorchScript checkpoint and, beside it, the resolved training config."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    env = cfg.env
    metadata = new_metadata(
        "state", env.task, default_actor_observation(), cfg.to_dict(), action=env.action, gains=env.gains,
        normalizer_folded=True,
        notes=notes or f"PPO + gSDE in the MuJoCo twin, physics {1 / env.physics_dt_s:g} Hz, policy {1 / env.step_dt_s:g} Hz")
    module = DeterministicPolicy(actor).eval()
    export_policy(module, path, metadata)
    with open(path.with_suffix(".config.yaml"), "w") as f:
        yaml.safe_dump(_plain(cfg.to_dict()), f, sort_keys=False)
    return path


def _plain(value):
    """Tuples as lists, for YAML."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
