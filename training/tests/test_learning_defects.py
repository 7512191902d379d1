"""The defects that kept PPO from learning, each pinned: stored observations, a dropped part,
what the actor sees, the CPU profile against the paper's settings, and the per-iteration
diagnostics."""
import json

import numpy as np
import pytest
import torch

from omnireset_core.spec.contract import default_actor_observation
from omnireset_sim.assets.cell import FLOOR_Z_M
from omnireset_training.env_config import EnvConfig
from omnireset_training.mdp import ObservationHistory, actor_step
from omnireset_training.mdp.terminations import insertive_off_table
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.physics import CellPhysics
from omnireset_training.rl.config import CPU_PROFILE, TrainConfig, cpu_profile
from omnireset_training.rl.runner import make_runner
from tests.conftest import make_state


def test_history_hands_out_copies_that_the_next_push_leaves_alone():
    history = ObservationHistory(2, 3, 4)
    first = history.push(torch.ones(2, 4), torch.arange(2))
    kept = first.clone()
    history.push(torch.full((2, 4), 2.0))
    assert torch.equal(first, kept)  # the learner's o_t is not rewritten into o_{t+1}


def test_rollout_storage_holds_the_observation_the_action_was_taken_from(toy_resets):
    """In storage, step t's newest 'last action' is a_{t-1}, never a_t (the actor must not see its output)."""
    cfg = TrainConfig(env=EnvConfig(num_envs=4, physics_workers=1), max_iterations=1)
    runner = make_runner(cfg, toy_resets, None)
    env, alg = runner.env, runner.alg
    obs = env.get_observations()
    actions = []
    with torch.inference_mode():
        for _ in range(3):
            a = alg.act(obs)
            actions.append(a.clone())
            obs, rewards, dones, extras = env.step(a)
            alg.process_env_step(obs, rewards, dones, extras)
    spec = default_actor_observation()
    newest_last_action = slice((spec.history - 1) * spec.step_dim, (spec.history - 1) * spec.step_dim + 7)
    stored = alg.storage.observations["policy"][:3, :, newest_last_action]
    assert torch.allclose(stored[1], actions[0].float(), atol=1e-5)
    assert torch.allclose(stored[2], actions[1].float(), atol=1e-5)
    assert not torch.allclose(stored[2], actions[2].float(), atol=1e-3)
    env.close()


def test_a_part_dropped_off_the_table_lands_on_the_floor():
    physics = CellPhysics(1)
    q_home = np.array([[2.8409, -1.6981, 1.9021, -1.7748, -1.5708, -1.8715]])
    off_table = np.array([[1.2, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0]])  # beyond the table's x edge (0.95 m)
    hole = np.array([[0.45, -0.1, 0.0, 1.0, 0.0, 0.0, 0.0]])
    physics.reset_worlds(np.array([0]), q_home, np.array([False]), off_table, hole)
    for _ in range(360):  # 3 s
        physics.step(np.zeros((1, 6)))
    z = physics.peg_pose[0, 2]
    assert FLOOR_Z_M - 0.005 < z < FLOOR_Z_M + 0.05, z
    assert abs(physics.peg_vel[0, 2]) < 0.05
    physics.close()


def test_off_table_termination_only_when_configured():
    s = make_state(2, insertive_pos_b_m=torch.tensor([[0.5, 0.0, 0.0], [1.2, 0.0, -0.3]], dtype=torch.float64))
    assert insertive_off_table(s, None).tolist() == [False, False]
    assert insertive_off_table(s, -0.05).tolist() == [False, True]


def test_the_actor_tells_a_held_part_from_an_open_gripper_at_step_zero():
    held = make_state(1, gripper_closed=torch.tensor([True]), finger_travel_m=torch.tensor([0.0325], dtype=torch.float64))
    open_ = make_state(1)
    a, b = actor_step(held.to(torch.float32)), actor_step(open_.to(torch.float32))
    assert not torch.equal(a, b)  # last_action is zero in both at an episode start
    names = [t.name for t in default_actor_observation().terms]
    assert "finger_travel" in names


def test_env_start_observation_reads_the_finger_travel_of_a_closed_start(toy_resets):
    env = OmniResetEnv(EnvConfig(num_envs=8, physics_workers=1, reset_probabilities={"stable_grasp": 1.0}), toy_resets)
    spec = default_actor_observation()
    start = 0
    for term in spec.terms:
        if term.name == "finger_travel":
            break
        start += term.dim
    newest = (spec.history - 1) * spec.step_dim + start
    travel_obs = env.get_observations()["policy"][:, newest]
    assert torch.allclose(travel_obs.double(), torch.from_numpy(env.physics.finger_travel), atol=1e-6)
    assert (travel_obs[env.gripper_closed] > 0.01).all()
    env.close()


def test_cpu_profile_changes_exactly_its_table_and_the_defaults_stay_the_papers():
    paper, cpu = TrainConfig().to_dict(), cpu_profile().to_dict()
    changed = set()
    for section, name, value, paper_value, kind, why in CPU_PROFILE:
        node_p, node_c = paper, cpu
        for key in section.split("."):
            node_p, node_c = node_p[key], node_c[key]
        assert node_p[name] == paper_value, (section, name)  # the table states the paper's value truly
        assert node_c[name] == value
        assert kind in ("method", "scale") and why
        changed.add((section, name))

    def flat(d, prefix=""):
        for k, v in d.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix[:-1], k, v)]
    differ = {(s, k) for (s, k, v), (_, _, w) in zip(flat(paper), flat(cpu)) if v != w}
    assert differ == changed
    assert TrainConfig().ppo.entropy_coef == 0.006 and TrainConfig().ppo.init_noise_std == 1.0


@pytest.mark.parametrize("field,value", [("max_iterations", 0), ("save_interval", 0), ("eval_episodes", -1)])
def test_train_config_refuses_nonsense(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_each_iteration_records_the_diagnosis(tmp_path, toy_resets):
    cfg = TrainConfig(env=EnvConfig(num_envs=8, physics_workers=1, reset_probabilities={"near_goal": 1.0}),
                      max_iterations=2, eval_episodes=0)
    cfg = cpu_profile(cfg)
    from dataclasses import replace
    cfg = replace(cfg, ppo=replace(cfg.ppo, num_steps_per_env=8, num_mini_batches=2, gripper_init_noise_std=0.4),
                  max_iterations=2, env=replace(cfg.env, episode_length_s=0.5))
    runner = make_runner(cfg, toy_resets, tmp_path)
    # the gripper output starts biased as the profile says (closed: < 0), with its own std column
    policy = runner.alg.get_policy()
    assert policy._head.bias[6].item() == pytest.approx(cfg.ppo.gripper_init_bias)
    assert cfg.ppo.gripper_init_bias < 0
    sigma = policy.distribution.log_std.detach().exp()
    np.testing.assert_allclose(sigma[:, 6], 0.4, rtol=1e-6)
    np.testing.assert_allclose(sigma[:, :6], cfg.ppo.init_noise_std, rtol=1e-6)
    runner.learn(2, progress=False)
    record = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    for key in ("explained_variance", "Reward_assembly_distance", "Reward_success", "Reward_action_rate_l2",
                *(f"action_std_{i}" for i in range(7))):
        assert key in record and np.isfinite(record[key]), key
    assert record["explained_variance"] <= 1.0
    assert any(k.startswith("NearGoal_success_") for k in record)
    runner.env.close()
