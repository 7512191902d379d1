"""The MuJoCo env: interface, reset sampling by type, the OSC law, grasps that hold, time-outs,
success bookkeeping, randomisation and determinism. Small batches, a few policy steps each."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from omnireset_core.spec import ActionSpec
from omnireset_training.env_config import EnvConfig, RandomizationConfig
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.reset_source import RESET_TYPES, InMemoryResets, ResetSampler, load_resets

NO_DR = RandomizationConfig(enabled=False)


def make_env(resets, **kw):
    kw.setdefault("num_envs", 4)
    kw.setdefault("physics_workers", 1)
    return OmniResetEnv(EnvConfig(**kw), resets)


def hold_action(env):
    """Zero pose delta, gripper kept as it is."""
    a = torch.zeros(env.num_envs, 7)
    a[:, 6] = torch.where(env.gripper_closed, -1.0, 1.0)
    return a


def test_vec_env_interface(toy_resets):
    env = make_env(toy_resets)
    obs = env.get_observations()
    assert obs["policy"].shape == (4, 190) and obs["critic"].shape == (4, 68)
    assert env.max_episode_length == 160 and env.num_actions == 7
    obs, reward, dones, extras = env.step(torch.zeros(4, 7))
    assert reward.shape == (4,) and dones.shape == (4,) and extras["time_outs"].shape == (4,)
    for name in ("action_l2", "action_rate_l2", "joint_vel_l2", "abnormal_joint_speed", "reaching",
                 "assembly_distance", "success"):
        assert f"Reward/{name}" in extras["log"]
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()


def test_reset_types_are_drawn_by_probability_then_uniformly(toy_resets):
    sampler = ResetSampler(toy_resets, {t: 0.25 for t in RESET_TYPES}, seed=0)
    types, states = sampler.sample(4000)
    counts = np.bincount(types, minlength=4) / 4000
    assert np.allclose(counts, 0.25, atol=0.03)
    assert states["q_arm_rad"].shape == (4000, 6) and np.isnan(states["finger_travel_m"]).all()
    only = ResetSampler(toy_resets, {"near_goal": 1.0}, seed=0)
    assert set(only.sample(100)[0]) == {RESET_TYPES.index("near_goal")}
    with pytest.raises(ValueError):
        ResetSampler(InMemoryResets({"reaching": toy_resets.states["reaching"]}), {"near_goal": 1.0})


def test_reset_folder_round_trip(toy_resets, tmp_path):
    loaded = load_resets(toy_resets.save(tmp_path / "resets"))
    assert loaded.types == RESET_TYPES and len(loaded) == len(toy_resets)


def test_grasped_peg_stays_in_the_gripper(toy_resets):
    env = make_env(toy_resets, reset_probabilities={"stable_grasp": 1.0}, randomization=NO_DR)
    s0 = env._state
    assert s0.gripper_closed.all() and (s0.finger_travel_m > 0.02).all()
    rel0 = s0.insertive_pos_b_m - s0.tcp_pos_b_m
    for _ in range(5):
        env.step(hold_action(env))
    rel = env._state.insertive_pos_b_m - env._state.tcp_pos_b_m
    assert (rel - rel0).norm(dim=-1).max() < 2e-3


def test_the_gripper_opens_after_the_configured_number_of_asks(toy_resets):
    """ActionSpec.gripper_switch_steps 3: held pegs stay held through two actions asking to open
    (or one interrupted by a close), and the fingers open on the third in a row."""
    env = make_env(toy_resets, reset_probabilities={"stable_grasp": 1.0}, randomization=NO_DR,
                   action=ActionSpec(gripper_switch_steps=3))
    opening = torch.zeros(env.num_envs, 7)
    opening[:, 6] = 1.0
    closing = hold_action(env)
    seen = []
    for a in (opening, opening, closing, opening, opening, opening):
        env.step(a)
        seen.append(bool(env.gripper_closed.all()))
    assert seen == [True, True, True, True, True, False]
    assert not env.gripper_closed.any()
    for _ in range(5):
        env.step(opening)
    assert (env._state.finger_travel_m < 0.005).all()  # the fingers did open


def test_time_out_and_success_per_reset_type(toy_resets):
    env = make_env(toy_resets, reset_probabilities={"near_goal": 1.0}, randomization=NO_DR, episode_length_s=0.5)
    assert env.max_episode_length == 5
    for k in range(5):
        _, _, dones, extras = env.step(hold_action(env))
        assert not dones.any() if k < 4 else dones.all()
    assert extras["time_outs"].all()
    rates = env.successes.rates()
    assert set(rates) == {"near_goal"} and len(env.successes.history["near_goal"]) == 4
    assert (env.episode_length_buf == 0).all()


def test_randomisation_within_ranges_and_stable(toy_resets):
    cfg = RandomizationConfig()
    env = make_env(toy_resets, num_envs=8, reset_probabilities={"stable_grasp": 1.0}, randomization=cfg)
    p = env.privileged().numpy()
    for col, name in enumerate(("robot_friction", "pad_friction", "insertive_friction", "receptive_friction",
                                "table_friction", "insertive_mass_kg", "robot_mass_scale")):
        lo, hi = getattr(cfg, name)
        assert (p[:, col] >= lo).all() and (p[:, col] <= hi).all()
    assert (p[:, 7:] >= 0.8).all() and (p[:, 7:] <= 1.2).all()
    peg = env.physics.peg_body
    assert {round(float(m.body_mass[peg]), 6) for m in env.physics.models} == {round(float(x), 6) for x in p[:, 5]}
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        _, _, _, extras = env.step(torch.randn(8, 7, generator=gen))
        assert extras["log"]["Episode/physics_diverged"] == 0.0


def test_same_seed_same_rollout(toy_resets):
    outs = []
    for _ in range(2):
        env = make_env(toy_resets, seed=3)
        gen = torch.Generator().manual_seed(1)
        for _ in range(2):
            obs, reward, _, _ = env.step(torch.randn(4, 7, generator=gen))
        outs.append((obs["policy"], reward))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def test_config_round_trip():
    from omnireset_training.rl.config import TrainConfig

    cfg = TrainConfig(env=replace(EnvConfig(), num_envs=7, reset_probabilities={"reaching": 1.0}))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        EnvConfig(reset_probabilities={"flying": 1.0})
