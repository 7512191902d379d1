"""gSDE against its closed form: std, log-probability, entropy, KL, analytic gradients (as SB3's
test_sde), the two noise schedules, and the model wiring (features reach the std, not detached)."""
import math

import pytest
import torch
from tensordict import TensorDict

from omnireset_core.policy.export import quiet_torchscript
from omnireset_training.rl.gsde import GSDEDistribution, GSDEMLPModel

A, F, B = 7, 5, 6


def make(hold=1, seed=0):
    torch.manual_seed(seed)
    dist = GSDEDistribution(A, feature_dim=F, init_std=1.0, eps=1e-6, noise_hold_steps=hold)
    with torch.no_grad():
        dist.log_std.copy_(0.3 * torch.randn(F, A))
    return dist


def test_std_log_prob_entropy_closed_form():
    dist = make()
    mean, phi = torch.randn(B, A), torch.randn(B, F)
    dist.update(torch.cat((mean, phi), -1))
    sigma = torch.sqrt((phi**2) @ torch.exp(dist.log_std) ** 2 + 1e-6)
    assert torch.allclose(dist.std, sigma)
    a = torch.randn(B, A)
    logp = (-0.5 * ((a - mean) / sigma) ** 2 - torch.log(sigma) - 0.5 * math.log(2 * math.pi)).sum(-1)
    assert torch.allclose(dist.log_prob(a), logp, atol=1e-6)
    assert torch.allclose(dist.log_prob(a), torch.distributions.Normal(mean, sigma).log_prob(a).sum(-1), atol=1e-5)
    assert torch.allclose(dist.entropy, 0.5 * torch.log(2 * math.pi * math.e * sigma**2).sum(-1), atol=1e-6)
    assert torch.allclose(dist.kl_divergence(dist.params, dist.params), torch.zeros(B), atol=1e-6)
    other = (mean + 0.1, sigma * 1.2)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mean, sigma), torch.distributions.Normal(*other))
    assert torch.allclose(dist.kl_divergence(dist.params, other), ref.sum(-1), atol=1e-6)


def test_gradients_match_analytic_form():
    """d log p / d L_ij and d log p / d phi_i against the hand-derived chain rule (SB3 test_sde)."""
    dist = make()
    dist.eps = 0.0
    mean = torch.randn(B, A)
    phi = torch.randn(B, F, requires_grad=True)
    with torch.no_grad():
        sigma0 = torch.sqrt((phi**2) @ torch.exp(dist.log_std) ** 2)
        a = mean + sigma0 * torch.randn(B, A)
    dist.update(torch.cat((mean, phi), -1))
    dist.log_prob(a).mean().backward()

    s = torch.exp(dist.log_std.detach())  # (F, A)
    sigma = torch.sqrt((phi.detach() ** 2) @ s**2)  # (B, A)
    n = a - mean
    dlogp_dsigma = (n**2 - sigma**2) / sigma**3  # (B, A)
    # sigma_j^2 = sum_i phi_i^2 s_ij^2, s_ij = exp(L_ij): d sigma_j / d L_ij = phi_i^2 s_ij^2 / sigma_j
    dsigma_dL = phi.detach()[:, :, None] ** 2 * s[None] ** 2 / sigma[:, None, :]  # (B, F, A)
    grad_L = (dlogp_dsigma[:, None, :] * dsigma_dL).mean(0)
    # d sigma_j / d phi_i = phi_i s_ij^2 / sigma_j, summed over the actions j
    dsigma_dphi = phi.detach()[:, :, None] * s[None] ** 2 / sigma[:, None, :]
    grad_phi = (dlogp_dsigma[:, None, :] * dsigma_dphi).sum(-1) / B
    assert torch.allclose(dist.log_std.grad, grad_L, atol=1e-5)
    assert torch.allclose(phi.grad, grad_phi, atol=1e-5)


def test_per_step_noise_is_fresh_and_has_the_right_spread():
    dist = make(hold=1)
    mean, phi = torch.zeros(1, A), torch.randn(1, F)
    dist.update(torch.cat((mean.expand(20000, A), phi.expand(20000, F)), -1))
    with torch.no_grad():
        x, y = dist.sample(), dist.sample()
    assert not torch.allclose(x, y)
    assert torch.allclose(x.std(0), dist.std[0], rtol=0.05)


@pytest.mark.parametrize("hold", [3])
def test_held_noise_is_linear_in_features_and_redrawn_after_n_steps(hold):
    dist = make(hold=hold)
    mean, phi = torch.randn(B, A), torch.randn(B, F)
    dist.update(torch.cat((mean, phi), -1))
    with torch.inference_mode():
        draws = [dist.sample() for _ in range(hold + 1)]
        # same noise matrix: the noise scales with the features (a smooth function of the state)
        dist.update(torch.cat((mean, 2 * phi), -1))
        dist._held_steps = 0
        doubled = dist.sample()
    for d in draws[1:hold]:
        assert torch.allclose(d, draws[0])
    assert not torch.allclose(draws[hold], draws[0])
    assert torch.allclose(doubled - mean, 2 * (draws[hold] - mean), atol=1e-5)


def test_held_noise_marginal_matches_std():
    dist = make(hold=5)
    n = 20000
    phi = torch.randn(1, F).expand(n, F)
    dist.update(torch.cat((torch.zeros(n, A), phi), -1))
    with torch.inference_mode():
        x = dist.sample()
    assert torch.allclose(x.std(0), dist.std[0], rtol=0.05)


def test_model_features_drive_the_std_and_are_not_detached():
    obs = TensorDict({"policy": torch.randn(B, 10)}, batch_size=[B])
    model = GSDEMLPModel(obs, {"actor": ["policy"]}, "actor", A, hidden_dims=(16, F),
                         distribution_cfg={"class_name": "omnireset_training.rl.gsde:GSDEDistribution"})
    assert model.distribution.feature_dim == F
    model(obs, stochastic_output=True)
    features = model.features(model.get_latent(obs))
    assert torch.allclose(model.output_std, model.distribution.std_from_features(features))
    assert torch.allclose(model(obs), model.output_mean)
    model.output_entropy.mean().backward()  # depends on the std only
    first_layer = model.mlp[0].weight
    assert first_layer.grad is not None and first_layer.grad.abs().sum() > 0
    with quiet_torchscript():
        jit = torch.jit.script(model.as_jit())
    assert torch.allclose(jit(obs["policy"]), model(obs), atol=1e-6)
