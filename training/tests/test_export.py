"""The exported TorchScript policy in the deployment runtime: same actions as the training policy
on the same observations, and the env's observation history equals the one the runtime builds."""
from dataclasses import replace

import torch
from tensordict import TensorDict

from omnireset_core.policy import ExpectedSpec, PolicyRuntime
from omnireset_training.env_config import EnvConfig, RandomizationConfig
from omnireset_training.export import build_actor, export_actor, load_actor
from omnireset_training.mdp import observations as obs_terms
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.rl.config import PPOConfig, TrainConfig

CFG = TrainConfig(ppo=PPOConfig(actor_hidden_dims=(64, 32), critic_hidden_dims=(64, 32)))


def trained_like_actor(seed=0):
    """An actor with non-trivial weights and normaliser statistics."""
    torch.manual_seed(seed)
    actor = build_actor(CFG)
    with torch.no_grad():
        actor.obs_normalizer._mean.copy_(torch.randn_like(actor.obs_normalizer._mean))
        actor.obs_normalizer._std.copy_(0.5 + torch.rand_like(actor.obs_normalizer._std))
        for p in actor.mlp.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return actor.eval()


def test_runtime_returns_the_training_policy_actions(tmp_path):
    actor = trained_like_actor()
    path = export_actor(actor, tmp_path / "policy.pt", CFG)
    assert path.with_suffix(".config.yaml").exists()
    runtime = PolicyRuntime.load(path, ExpectedSpec.state("peg", gains=CFG.env.gains))
    assert runtime.metadata.normalizer_folded and runtime.metadata.kind == "state"
    obs = 3.0 * torch.randn(32, 190)
    with torch.no_grad():
        expected = actor(TensorDict({"policy": obs}, batch_size=[32]))
        assert torch.allclose(runtime.module(obs), expected, atol=1e-6)


def test_exported_action_std_is_the_gsde_std_of_the_same_state(tmp_path):
    actor = trained_like_actor(2)
    with torch.no_grad():
        actor.distribution.log_std.copy_(-1.0 + 0.3 * torch.randn_like(actor.distribution.log_std))
    runtime = PolicyRuntime.load(export_actor(actor, tmp_path / "policy.pt", CFG), ExpectedSpec.state("peg"))
    obs = 3.0 * torch.randn(16, 190)
    with torch.no_grad():
        actor(TensorDict({"policy": obs}, batch_size=[16]), stochastic_output=True)  # sets the distribution
        assert torch.allclose(runtime.module.action_std(obs), actor.distribution.std, atol=1e-6)


def test_checkpoint_round_trip(tmp_path):
    actor = trained_like_actor(1)
    torch.save({"actor_state_dict": actor.state_dict()}, tmp_path / "model_0.pt")
    loaded = load_actor(tmp_path / "model_0.pt", CFG)
    obs = TensorDict({"policy": torch.randn(4, 190)}, batch_size=[4])
    assert torch.equal(loaded(obs), actor(obs))


def test_closed_loop_runtime_and_env_agree(tmp_path, toy_resets):
    """The runtime, fed the env's per-term observations, rebuilds the env's history (first-sample
    padding, its own previous action as last_action) and returns the policy's action on it."""
    actor = trained_like_actor(2)
    runtime = PolicyRuntime.load(export_actor(actor, tmp_path / "policy.pt", CFG), ExpectedSpec.state("peg"))
    env = OmniResetEnv(replace(EnvConfig(num_envs=2, physics_workers=1), randomization=RandomizationConfig(enabled=False)),
                       toy_resets)
    spec = runtime.metadata.observation
    for k in range(7):
        s = env._state.to(torch.float32)
        now = 0.1 * k
        terms = {t.name: (now, obs_terms.actor_term(s, t.name)[0].numpy()) for t in spec.terms if t.name != "last_action"}
        cmd = runtime.step(now, terms, None, s.tcp_pos_b_m[0].numpy(), s.tcp_quat_b_wxyz[0].numpy(), now)
        env_obs = env.get_observations()
        assert torch.allclose(torch.from_numpy(runtime.history).reshape(-1), env_obs["policy"][0], atol=1e-6)
        with torch.no_grad():
            assert torch.allclose(torch.from_numpy(cmd.action).float(), actor(env_obs)[0], atol=1e-5)
        actions = torch.zeros(2, 7)
        actions[0] = torch.from_numpy(cmd.action).float()
        env.step(actions)


def test_shipped_near_goal_checkpoint_loads_in_the_deployment_runtime():
    """checkpoints/peg_state_near_goal_cpu.pt (docs/evidence.md (a)): a learned export, spec and task checked."""
    from pathlib import Path

    from omnireset_core.policy import ExpectedSpec, PolicyRuntime
    from omnireset_core.policy.scripted import SCRIPTED_NOTE

    path = Path(__file__).resolve().parents[2] / "checkpoints" / "peg_state_near_goal_cpu.pt"
    runtime = PolicyRuntime.load(path, ExpectedSpec.state("peg"))
    assert runtime.metadata.normalizer_folded and not runtime.metadata.notes.startswith(SCRIPTED_NOTE)
    assert "placeholder" not in runtime.metadata.notes
