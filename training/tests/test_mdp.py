"""MDP terms on hand-made states: observation layout and frames, reward kernels and weights,
terminations, the observation history."""
import math

import torch
from conftest import make_state

from omnireset_core.rotations import quat_to_rotvec
from omnireset_core.spec.contract import default_actor_observation
from omnireset_core.tasks import load_task
from omnireset_training.mdp import ObservationHistory, RewardWeights, actor_step, critic_obs, reward_terms, total_reward
from omnireset_training.mdp import observations as obs
from omnireset_training.mdp import rewards as rew
from omnireset_training.mdp import terminations as term

TASK = load_task("peg")


def yaw_quat(angle):
    return torch.tensor([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)], dtype=torch.float64)


def test_actor_step_follows_the_spec_term_by_term(state):
    spec = default_actor_observation()
    step = actor_step(state, spec)
    assert step.shape == (3, spec.step_dim) == (3, 38)
    offset = 0
    for t in spec.terms:
        assert torch.allclose(step[:, offset:offset + t.dim], obs.actor_term(state, t.name))
        offset += t.dim
    assert torch.allclose(step[:, 14:17], state.tcp_pos_b_m)  # ee_pose_b after last_action, joints, finger travel


def test_relative_poses_are_in_the_named_frames():
    # TCP at (1, 0, 0) yawed +90 deg; object at (1, 1, 0) unrotated -> in the TCP frame at (1, 0, 0), yaw -90 deg.
    s = make_state(1, tcp_pos_b_m=torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64),
                   tcp_quat_b_wxyz=yaw_quat(math.pi / 2)[None],
                   insertive_pos_b_m=torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64))
    pose = obs.actor_term(s, "insertive_pose_ee")[0]
    assert torch.allclose(pose[:3], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(pose[3:], torch.tensor([0.0, 0.0, -math.pi / 2], dtype=torch.float64), atol=1e-12)
    rcv = make_state(1, receptive_quat_b=yaw_quat(0.3)[None])
    assert torch.allclose(obs.actor_term(rcv, "insertive_pose_rcv")[0, 3:], quat_to_rotvec(yaw_quat(-0.3)), atol=1e-12)


def test_critic_adds_velocities_time_and_privileged_parameters(state):
    privileged = torch.arange(9, dtype=torch.float64).expand(3, 9)
    c = critic_obs(state, privileged)
    assert c.shape == (3, 38 + 1 + 6 + 6 + 6 + 2 + 9)
    assert torch.allclose(c[:, -9:], privileged) and torch.allclose(c[:, 38], state.time_left_s)


def test_penalties():
    a = torch.tensor([[1.0, 2.0, 0, 0, 0, 0, -1.0]], dtype=torch.float64)
    s = make_state(1, action=a, last_action=torch.zeros(1, 7, dtype=torch.float64),
                   qd_arm_radps=torch.tensor([[0.5, 0, 0, 0, 0, 7.0]], dtype=torch.float64))
    assert rew.action_l2(s).item() == 6.0
    assert rew.action_rate_l2(s).item() == 6.0
    assert math.isclose(rew.joint_vel_l2(s).item(), 49.25)
    assert rew.abnormal_joint_speed_indicator(s).item() == 1.0  # 7 rad/s > 2 x pi
    assert term.abnormal_joint_speed(s).item()
    slow = make_state(1, qd_arm_radps=torch.full((1, 6), 6.0, dtype=torch.float64))
    assert rew.abnormal_joint_speed_indicator(slow).item() == 0.0


def test_reaching_and_assembly_kernels(state):
    d = math.sqrt(0.5**2 + 0.3**2)
    assert torch.allclose(rew.reaching_tanh(state), torch.full((3,), 1 - math.tanh(d), dtype=torch.float64))
    assert torch.allclose(rew.assembly_distance_exp(state, TASK), torch.ones(3, dtype=torch.float64))
    assert rew.success_indicator(state, TASK).tolist() == [1.0, 1.0, 1.0]
    lifted = make_state(1, insertive_pos_b_m=torch.tensor([[0.5, 0.0, 0.01]], dtype=torch.float64))
    assert math.isclose(rew.assembly_distance_exp(lifted, TASK).item(), 0.5 * (1 + math.exp(-0.01)), rel_tol=1e-9)
    assert rew.success_indicator(lifted, TASK).item() == 0.0  # 10 mm > 2.5 mm
    tilted = make_state(1, insertive_quat_b=torch.tensor([[math.cos(0.02), math.sin(0.02), 0, 0]], dtype=torch.float64))
    assert rew.success_indicator(tilted, TASK).item() == 0.0  # 0.04 rad roll > 0.025
    yawed = make_state(1, insertive_quat_b=yaw_quat(0.5)[None])
    assert rew.success_indicator(yawed, TASK).item() == 1.0  # yaw is ignored


def test_weights_are_the_papers_and_scaled_by_dt(state):
    w = RewardWeights()
    assert (w.action_l2, w.action_rate_l2, w.joint_vel_l2, w.abnormal_joint_speed) == (-1e-4, -1e-3, -1e-2, -100.0)
    assert (w.reaching, w.assembly_distance, w.success) == (0.1, 0.1, 1.0)
    terms = reward_terms(state, TASK)
    expected = 0.1 * (0.1 * terms["reaching"] + 0.1 * 1.0 + 1.0)
    assert torch.allclose(total_reward(terms, w, 0.1), expected)


def test_time_out():
    assert term.time_out(torch.tensor([159, 160, 170]), 160).tolist() == [False, True, True]


def test_history_pads_with_the_first_sample_and_shifts():
    h = ObservationHistory(2, 3, 2)
    first = torch.tensor([[1.0, 1.0], [2.0, 2.0]])
    out = h.push(first, torch.tensor([0, 1]))
    assert torch.equal(out, torch.tensor([[1.0] * 6, [2.0] * 6]))
    out = h.push(torch.tensor([[3.0, 3.0], [4.0, 4.0]]), torch.tensor([1]))
    assert torch.equal(out[0], torch.tensor([1.0, 1, 1, 1, 3, 3]))  # oldest first
    assert torch.equal(out[1], torch.tensor([4.0] * 6))  # row 1 started over
