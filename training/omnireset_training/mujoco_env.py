"""Vectorised MuJoCo environment of the cell behind rsl_rl's ``VecEnv``.

Policy 10 Hz, physics 120 Hz (decimation 12). Each policy step turns the action into a TCP target
once, from the measured pose (``omnireset_core.control.action``); every physics step then runs
the core's OSC law batched in torch from the current joint state (FK and Jacobian from the core's
``URKinematics``, equal to the MuJoCo model). Observations: group ``policy`` (actor, 5-step
history) and ``critic`` (privileged, no history).
"""
from __future__ import annotations

import numpy as np
import torch
from tensordict import TensorDict
from rsl_rl.env import VecEnv

from omnireset_core.control.action import action_to_target, switch_gripper
from omnireset_core.control.osc import scaled_gains
from omnireset_core.rotations import matrix_to_quat, quat_to_matrix
from omnireset_core.spec.contract import default_actor_observation
from omnireset_core.tasks import load_task
from omnireset_sim.config import CellConfig, load_cell_config
from omnireset_training.env_config import EnvConfig
from omnireset_training.mdp import CellState, ObservationHistory, actor_step, critic_obs, reward_terms, total_reward
from omnireset_training.mdp import terminations
from omnireset_training.mdp.rewards import success_indicator
from omnireset_training.mdp.success import START_CLASSES, StartClassTracker, SuccessTracker
from omnireset_training.parallel_physics import ParallelCellPhysics
from omnireset_training.physics import CellPhysics
from omnireset_training.reset_source import RESET_TYPES, ResetSampler, ResetSource

F64 = torch.float64


class OmniResetEnv(VecEnv):
    def __init__(self, cfg: EnvConfig, resets: ResetSource, cell: CellConfig | None = None, device: str = "cpu"):
        self.cfg, self.device = cfg, device
        self.num_envs, self.num_actions = cfg.num_envs, 7
        self.max_episode_length = cfg.max_episode_length
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long)
        self.task = load_task(cfg.task)
        self.obs_spec = default_actor_observation()
        cell = cell or load_cell_config()  # the workspace's cell, with the robot's calibration file if robot.yaml names one
        self.physics = (CellPhysics(self.num_envs, cell, cfg.physics_dt_s) if cfg.workers == 1 else
                        ParallelCellPhysics(self.num_envs, cell, cfg.physics_dt_s, cfg.workers))
        self.sampler = ResetSampler(resets, cfg.reset_probabilities, seed=cfg.seed)
        self.rng = np.random.default_rng(cfg.seed + 1)
        self.kinematics = self.physics.kinematics
        self.max_joint_speed = torch.as_tensor(self.kinematics.params.max_joint_speed_radps, dtype=F64)
        self.action_scale = torch.as_tensor(cfg.action.scale, dtype=F64)
        n = self.num_envs
        self.kp_scale = torch.ones(n, 2, dtype=F64)
        self.physics_params = torch.as_tensor(np.tile(self.physics.nominal_parameters(), (n, 1)), dtype=F64)
        self.action = torch.zeros(n, 7, dtype=F64)
        self.last_action = torch.zeros(n, 7, dtype=F64)
        self.gripper_closed = torch.zeros(n, dtype=torch.bool)
        self.gripper_asks = torch.zeros(n, dtype=torch.long)  # consecutive actions asking for the other state
        self.reset_type = torch.zeros(n, dtype=torch.long)
        self.history = ObservationHistory(n, self.obs_spec.history, self.obs_spec.step_dim)
        self.successes = SuccessTracker(cfg.success_window)
        self.episode_success = torch.zeros(n, dtype=torch.bool)  # succeeded at any step so far
        self.start_class = torch.zeros(n, dtype=torch.long)  # index into START_CLASSES
        self.starts = StartClassTracker(cfg.success_window)
        self.reset_all()

    def reset_all(self) -> None:
        """Every environment starts a new episode (fresh reset states and randomisation)."""
        self._reset(np.arange(self.num_envs))
        self._state = self._cell_state()
        self._classify_starts(torch.arange(self.num_envs))
        self._obs = self._observe(self._state, torch.arange(self.num_envs))

    # --- VecEnv ------------------------------------------------------------------------------------
    def get_observations(self) -> TensorDict:
        return self._obs

    def step(self, actions: torch.Tensor):
        cfg = self.cfg
        a = actions.detach().to("cpu", F64).clamp(-cfg.action_clip, cfg.action_clip)
        # Buffers are updated in place: steps run under torch.inference_mode, resets may not.
        self.last_action.copy_(self.action)
        self.action.copy_(a)
        s = self._state
        target_pos, target_quat, close = action_to_target(a, s.tcp_pos_b_m, s.tcp_quat_b_wxyz, self.action_scale)
        close, asks = switch_gripper(close, self.gripper_closed, self.gripper_asks, cfg.action.gripper_switch_steps)
        self.gripper_closed.copy_(close)
        self.gripper_asks.copy_(asks)
        self.physics.set_gripper(close.numpy())
        kp, kd = scaled_gains(cfg.gains, self.kp_scale)
        self.physics.step_osc(target_pos.numpy(), target_quat.numpy(), kp.numpy(), kd.numpy(), cfg.gains,
                              cfg.decimation)
        self.episode_length_buf += 1

        s = self._state = self._cell_state()
        # A world MuJoCo had to reset (non-finite state) is cut off like a time-out: no penalty
        # for a numerical failure, and its next observation comes from a fresh reset.
        diverged = torch.from_numpy(self.physics.diverged.copy())
        broken = terminations.non_finite_state(s) | diverged
        terms = reward_terms(s, self.task, cfg.reward_params)
        terms = {k: torch.where(broken, torch.zeros_like(v), v) for k, v in terms.items()}
        reward = total_reward(terms, cfg.rewards, cfg.step_dt_s)
        off_table = terminations.insertive_off_table(s, cfg.insertive_min_z_m) & ~broken
        terminated = (terminations.abnormal_joint_speed(s, cfg.reward_params.abnormal_speed_factor) | off_table) & ~broken
        time_outs = (terminations.time_out(self.episode_length_buf, self.max_episode_length) | broken) & ~terminated
        dones = terminated | time_outs
        success_now = terms["success"] > 0
        self.episode_success |= success_now

        log = {f"Reward/{k}": v.mean().item() for k, v in terms.items()}
        first = torch.nonzero((self.episode_length_buf == 1) & (self.start_class == START_CLASSES.index("held"))).flatten()
        self.starts.add_first_step(~self.gripper_closed[first])
        done_ids = torch.nonzero(dones).flatten()
        if len(done_ids):
            self.successes.add(self.reset_type[done_ids].numpy(), success_now[done_ids].numpy())
            self.starts.add(self.start_class[done_ids], success_now[done_ids])
            self._reset(done_ids.numpy())
            self._state = self._cell_state()
            self._classify_starts(done_ids)
        log.update(self.starts.log())
        log.update({f"Success/{t}": r for t, r in self.successes.rates().items()})
        if self.successes.rates():
            log["Success/all_types"] = float(np.mean(self.successes.all_types()))
        log["Episode/terminated_abnormal"] = terminated.double().mean().item()
        log["Episode/physics_diverged"] = broken.double().mean().item()
        log["Episode/insertive_off_table"] = off_table.double().mean().item()
        self._obs = self._observe(self._state, done_ids)
        extras = {"time_outs": time_outs, "log": log, "success": success_now}  # success: at this step
        return self._obs, reward.float(), dones.long(), extras

    # --- internals -------------------------------------------------------------------------------
    def _reset(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        type_ids, states = self.sampler.sample(len(ids))
        if self.cfg.randomization.enabled:
            self.physics_params[ids] = torch.as_tensor(self.physics.randomize(ids, self.cfg.randomization, self.rng))
            self.kp_scale[ids] = torch.as_tensor(self.rng.uniform(*self.cfg.randomization.osc_kp_scale, (len(ids), 2)))
        self.physics.reset_worlds(ids, states["q_arm_rad"], states["gripper_closed"], states["insertive_pose_b"],
                                  states["receptive_pose_b"], states.get("finger_travel_m"))
        t = torch.as_tensor(ids, dtype=torch.long)
        self.reset_type[t] = torch.as_tensor(type_ids, dtype=torch.long)
        self.gripper_closed[t] = torch.as_tensor(np.asarray(states["gripper_closed"], dtype=bool))
        self.gripper_asks[t] = 0
        self.episode_length_buf[t] = 0
        self.action[t] = 0.0
        self.last_action[t] = 0.0
        self.episode_success[t] = False

    def _classify_starts(self, ids: torch.Tensor) -> None:
        """Near-goal starts by kind (``START_CLASSES``), from the state just after the reset."""
        if len(ids) == 0:
            return
        s = self._state
        assembled = success_indicator(s, self.task)[ids] > 0
        closed = self.gripper_closed[ids]
        near_goal = self.reset_type[ids] == RESET_TYPES.index("near_goal")
        kind = torch.where(assembled, 1, torch.where(closed, 2, 3))
        self.start_class[ids] = torch.where(near_goal, kind, 0)

    def _cell_state(self) -> CellState:
        p = self.physics
        q, qd = torch.from_numpy(p.q_arm.copy()), torch.from_numpy(p.qd_arm.copy())
        T, J = (torch.from_numpy(a) for a in self.kinematics.tcp_pose_and_jacobian(p.q_arm))
        ee_vel = (J @ qd[..., None])[..., 0]
        peg, peg_vel = torch.from_numpy(p.peg_pose.copy()), torch.from_numpy(p.peg_vel.copy())
        hole = torch.from_numpy(p.hole_pose)
        peg_quat = peg[:, 3:] / torch.linalg.vector_norm(peg[:, 3:], dim=-1, keepdim=True)
        peg_ang_b = (quat_to_matrix(peg_quat) @ peg_vel[:, 3:, None])[..., 0]
        steps_left = (self.max_episode_length - self.episode_length_buf).to(F64)
        return CellState(
            q_arm_rad=q, qd_arm_radps=qd, tcp_pos_b_m=T[:, :3, 3], tcp_quat_b_wxyz=matrix_to_quat(T[:, :3, :3]),
            tcp_lin_vel_b_mps=ee_vel[:, :3], tcp_ang_vel_b_radps=ee_vel[:, 3:],
            insertive_pos_b_m=peg[:, :3], insertive_quat_b=peg_quat,
            insertive_lin_vel_b_mps=peg_vel[:, :3], insertive_ang_vel_b_radps=peg_ang_b,
            receptive_pos_b_m=hole[:, :3], receptive_quat_b=hole[:, 3:],
            gripper_closed=self.gripper_closed.clone(), finger_travel_m=torch.from_numpy(p.finger_travel.copy()),
            action=self.action.clone(), last_action=self.last_action.clone(),
            time_left_s=steps_left * self.cfg.step_dt_s, max_joint_speed_radps=self.max_joint_speed)

    def privileged(self) -> torch.Tensor:
        """Randomised physics parameters and OSC gain scales (N, 9), for the critic."""
        return torch.cat((self.physics_params, self.kp_scale), -1)

    def _observe(self, s: CellState, reset_ids: torch.Tensor) -> TensorDict:
        s32 = s.to(torch.float32)
        policy = self.history.push(actor_step(s32, self.obs_spec), reset_ids)
        critic = critic_obs(s32, self.privileged().float(), self.obs_spec)
        bad = ~torch.isfinite(policy).all(-1) | ~torch.isfinite(critic).all(-1)
        if bad.any():  # a world that blew up this step and could not be reset cleanly
            policy, critic = torch.nan_to_num(policy), torch.nan_to_num(critic)
        return TensorDict({"policy": policy, "critic": critic}, batch_size=[self.num_envs])

    def close(self) -> None:
        self.physics.close()
