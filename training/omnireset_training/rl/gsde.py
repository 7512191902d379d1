"""Generalised state-dependent exploration (gSDE) behind rsl_rl 5.5's distribution/model interface.

For an action a in R^A, policy features phi(s) in R^F (the actor's last hidden layer, after its
activation, NOT detached) and a learned matrix L in R^{F x A} (``log_std``):

    mean  mu(s) = W_out phi(s) + b_out
    noise eps = phi(s) @ N,   N_ij ~ Normal(0, exp(L_ij)^2)          (gSDE paper, Raffin et al.)
    => a | s ~ Normal(mu, sigma^2),   sigma_j^2 = sum_i phi_i^2 exp(2 L_ij) + eps_var

Two ways to draw the noise, same marginal distribution (so the same log-probability, entropy
and PPO ratio):
- ``noise_hold_steps <= 1``: sigma * z with fresh z every step (what the OmniReset authors ran:
  a state-dependent-variance Gaussian, no temporal correlation);
- ``noise_hold_steps = n > 1``: N drawn per environment and kept for n rollout steps, so the
  exploration is a smooth function of the state (the gSDE paper's setting).

log p(a) = -1/2 sum_j [ (a_j - mu_j)^2 / sigma_j^2 + log(2 pi sigma_j^2) ]
H        =  1/2 sum_j log(2 pi e sigma_j^2)
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from tensordict import TensorDict
from torch.distributions import Normal

from rsl_rl.models import MLPModel
from rsl_rl.modules.distribution import Distribution


class GSDEDistribution(Distribution):
    """Expects ``update(cat(mean, features))`` (``GSDEMLPModel`` does this); ``input_dim`` is
    the mean head's size, so the MLP's last layer stays the plain mean head."""

    def __init__(self, output_dim: int, feature_dim: int = 64, init_std: float = 1.0, eps: float = 1e-6,
                 noise_hold_steps: int = 1, learn_std: bool = True):
        super().__init__(output_dim)
        if init_std <= 0 or eps < 0 or feature_dim < 1:
            raise ValueError(f"gSDE needs init_std > 0, eps >= 0, feature_dim >= 1 (got {init_std}, {eps}, {feature_dim})")
        self.feature_dim, self.eps, self.noise_hold_steps = feature_dim, eps, int(noise_hold_steps)
        self.log_std = nn.Parameter(torch.full((feature_dim, output_dim), math.log(init_std)), requires_grad=learn_std)
        self._mean: torch.Tensor | None = None
        self._std: torch.Tensor | None = None
        self._features: torch.Tensor | None = None
        self._held: torch.Tensor | None = None  # (B, F, A) noise matrices of the rollout
        self._held_steps = 0
        Normal.set_default_validate_args(False)

    # --- parameters of the Gaussian -------------------------------------------------------------
    def std_from_features(self, features: torch.Tensor) -> torch.Tensor:
        variance = features.square() @ torch.exp(self.log_std).square()
        return torch.sqrt(variance + self.eps)

    def update(self, mlp_output: torch.Tensor) -> None:
        self._mean, self._features = mlp_output[..., : self.output_dim], mlp_output[..., self.output_dim:]
        self._std = self.std_from_features(self._features)

    def resample_noise(self) -> None:
        """Forget held noise matrices: the next rollout sample draws new ones."""
        self._held, self._held_steps = None, 0

    def _gaussian(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean, std, features) of the last ``update``."""
        if self._mean is None or self._std is None or self._features is None:
            raise RuntimeError("GSDEDistribution: update() has not been called")
        return self._mean, self._std, self._features

    def sample(self) -> torch.Tensor:
        mean, std, features = self._gaussian()
        hold = self.noise_hold_steps > 1 and not torch.is_grad_enabled()  # rollouts run without grad
        if not hold:
            return mean + std * torch.randn_like(mean)
        batch = mean.shape[0]
        if self._held is None or self._held.shape[0] != batch or self._held_steps >= self.noise_hold_steps:
            sigma = torch.exp(self.log_std).detach()
            self._held = sigma * torch.randn(batch, *sigma.shape, dtype=mean.dtype, device=mean.device)
            self._held_steps = 0
        self._held_steps += 1
        return mean + (features[:, None, :] @ self._held)[:, 0, :]

    def deterministic_output(self, mlp_output: torch.Tensor) -> torch.Tensor:
        return mlp_output[..., : self.output_dim]

    def as_deterministic_output_module(self) -> nn.Module:
        return _MeanSlice(self.output_dim)

    @property
    def input_dim(self) -> int:
        return self.output_dim

    @property
    def mean(self) -> torch.Tensor:
        return self._gaussian()[0]

    @property
    def std(self) -> torch.Tensor:
        return self._gaussian()[1]

    @property
    def entropy(self) -> torch.Tensor:
        return (0.5 * math.log(2 * math.pi * math.e) + torch.log(self.std)).sum(-1)

    @property
    def params(self) -> tuple[torch.Tensor, ...]:
        return self._gaussian()[:2]

    def log_prob(self, outputs: torch.Tensor) -> torch.Tensor:
        mean, std, _ = self._gaussian()
        z = (outputs - mean) / std
        return (-0.5 * z.square() - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)

    def kl_divergence(self, old_params, new_params) -> torch.Tensor:
        (mu0, s0), (mu1, s1) = old_params, new_params
        return (torch.log(s1 / s0) + (s0.square() + (mu0 - mu1).square()) / (2 * s1.square()) - 0.5).sum(-1)


class _MeanSlice(nn.Module):
    def __init__(self, output_dim: int):
        super().__init__()
        self.output_dim = output_dim

    def forward(self, mlp_output: torch.Tensor) -> torch.Tensor:
        return mlp_output[..., : self.output_dim]


class GSDEMLPModel(MLPModel):
    """``MLPModel`` whose distribution sees the last hidden features as well as the mean.

    The MLP is the usual one (hidden layers, then the linear mean head); the features are the
    input of that head. ``distribution_cfg`` must name ``GSDEDistribution``; its ``feature_dim``
    is set from ``hidden_dims[-1]``.
    """

    def __init__(self, obs: TensorDict, obs_groups: dict, obs_set: str, output_dim: int,
                 hidden_dims=(512, 256, 128, 64), activation: str = "elu", obs_normalization: bool = False,
                 distribution_cfg: dict | None = None):
        if distribution_cfg is None:
            raise ValueError("GSDEMLPModel needs a distribution_cfg naming GSDEDistribution")
        distribution_cfg = {**distribution_cfg, "feature_dim": int(hidden_dims[-1])}
        super().__init__(obs, obs_groups, obs_set, output_dim, hidden_dims, activation, obs_normalization,
                         distribution_cfg)
        if not isinstance(self.distribution, GSDEDistribution):
            raise ValueError(f"GSDEMLPModel needs GSDEDistribution, got {type(self.distribution).__name__}")
        self._trunk = list(self.mlp)[:-1]  # hidden layers with activations (already registered in mlp)
        self._head = self.mlp[-1]

    def features(self, latent: torch.Tensor) -> torch.Tensor:
        for layer in self._trunk:
            latent = layer(latent)
        return latent

    def forward(self, obs: TensorDict, masks=None, hidden_state=None, stochastic_output: bool = False) -> torch.Tensor:
        latent = self.get_latent(obs, masks, hidden_state)
        features = self.features(latent)
        mean = self._head(features)
        if stochastic_output:
            self.distribution.update(torch.cat((mean, features), -1))
            return self.distribution.sample()
        return mean
