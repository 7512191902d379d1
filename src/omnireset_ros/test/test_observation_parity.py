"""The policy's observation built two ways from the same MuJoCo states must agree: the deployment
path (the policy node's numpy ``build_terms`` on what the controller publishes: joint positions,
both finger joints, the TCP pose and the objects' poses in frame base) and the training path (the
torch MDP terms of the MuJoCo env). A silent mismatch here would be a sim-to-real failure that no
simulator test catches."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from omnireset_core.spec.contract import default_actor_observation
from omnireset_ros.policy_observation import StampedJoints, StampedPose, build_terms

training = pytest.importorskip("omnireset_training", reason="the training package is not installed")
from omnireset_training.env_config import EnvConfig  # noqa: E402
from omnireset_training.mdp import observations as train_obs  # noqa: E402
from omnireset_training.mujoco_env import OmniResetEnv  # noqa: E402
from omnireset_training.toy_resets import make_toy_resets  # noqa: E402

NUM_ENVS, STEPS = 4, 12


def deployment_terms(s, i: int, names) -> dict[str, np.ndarray]:
    """What the policy node builds from the controller's messages for world ``i`` of state ``s``."""
    n = lambda t: t[i].detach().numpy().astype(np.float64)  # noqa: E731
    travel_m = float(s.finger_travel_m[i])
    joints = StampedJoints(0.0, n(s.q_arm_rad), np.array([travel_m, travel_m]))  # both finger joints
    ee = StampedPose(0.0, n(s.tcp_pos_b_m), n(s.tcp_quat_b_wxyz))
    insertive = StampedPose(0.0, n(s.insertive_pos_b_m), n(s.insertive_quat_b))
    receptive = StampedPose(0.0, n(s.receptive_pos_b_m), n(s.receptive_quat_b))
    return {name: values for name, (_, values) in build_terms(names, joints, ee, insertive, receptive).items()}


def test_deployment_and_training_build_the_same_observation_terms():
    torch.manual_seed(0)
    env = OmniResetEnv(replace(EnvConfig(num_envs=NUM_ENVS, physics_workers=1),
                               reset_probabilities={"near_goal": 0.5, "reaching": 0.5}), make_toy_resets(8, seed=0))
    names = [t.name for t in default_actor_observation().terms if t.name != "last_action"]  # the runtime's own
    compared = 0
    try:
        for _ in range(STEPS):
            s = env._state.to(torch.float64)
            for i in range(NUM_ENVS):
                deployed = deployment_terms(s, i, names)
                for name in names:
                    trained = train_obs.actor_term(s, name)[i].numpy()
                    np.testing.assert_allclose(deployed[name], trained.reshape(deployed[name].shape), atol=1e-6,
                                               err_msg=f"term {name}, world {i}")
                    compared += 1
            actions = 0.5 * torch.randn(NUM_ENVS, 7)  # move the arm, open and close the gripper
            env.step(actions)
    finally:
        env.close()
    assert compared == STEPS * NUM_ENVS * len(names)
