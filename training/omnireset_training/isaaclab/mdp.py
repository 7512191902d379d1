"""Isaac Lab manager terms of the OmniReset task: thin wrappers over the backend-neutral MDP.

Every term reads one ``CellState`` built from the Isaac Lab scene (``cell_state``), in the same
frames and units as the MuJoCo backend: frame b is the robot base = the env origin (z up, table
top z = 0), quaternions (w, x, y, z) — Isaac Lab's (x, y, z, w) are converted at this boundary
only. The TCP pose and Jacobian come from the core's FK, as in the MuJoCo backend and the robot.
"""
from __future__ import annotations

import mujoco
import numpy as np
import torch

from isaaclab.envs.mdp import randomize_rigid_body_material
from isaaclab.managers import ActionTerm, ActionTermCfg
from isaaclab.utils import configclass

from omnireset_core.config import from_dict
from omnireset_core.control.action import action_to_target, switch_gripper
from omnireset_core.control.osc import scaled_gains, track_target
from omnireset_core.kinematics.robotiq import FINGER_JOINT_NAMES as FINGER_JOINTS
from omnireset_core.kinematics.ur import UR7E, URKinematics
from omnireset_core.rotations import matrix_to_quat
from omnireset_core.spec.contract import default_actor_observation
from omnireset_core.tasks import load_task
from omnireset_sim.assets import FLANGE_T_TCP
from omnireset_sim.assets.objects import PEG_BODY
from omnireset_sim.assets.parts import part_xmls
from omnireset_sim.assets.ur_arm import JOINT_NAMES
from omnireset_sim.config import load_cell_config
from omnireset_training.env_config import EnvConfig
from omnireset_training.mdp import CellState, actor_step, critic_obs, reward_terms
from omnireset_training.mdp import terminations as shared_terminations
from omnireset_training.mdp.success import SuccessTracker
from omnireset_training.physics import FRICTION_GROUPS, closing_travel, insertive_corners
from omnireset_training.reset_source import ResetSampler, ResetSource, load_resets
from omnireset_training.toy_resets import make_toy_resets

F64 = torch.float64


def wxyz_to_xyzw(q):
    return torch.cat((q[..., 1:], q[..., :1]), -1)


def xyzw_to_wxyz(q):
    return torch.cat((q[..., 3:], q[..., :3]), -1)


def open_resets(spec: str) -> ResetSource:
    """A reset dataset folder, or ``toy[:N]`` for the toy fixture (N states per type, default 64)."""
    if spec == "toy" or spec.startswith("toy:"):
        return make_toy_resets(int(spec[4:]) if spec.startswith("toy:") else 64, seed=0)
    return load_resets(spec)


class OmniResetContext:
    """What the terms share per env instance: config, task, reset sampler, randomised values."""

    def __init__(self, env):
        self.cfg: EnvConfig = from_dict(EnvConfig, env.cfg.omnireset)
        self.task = load_task(self.cfg.task)
        self.obs_spec = default_actor_observation()
        cell = load_cell_config()  # the cell the assets were built from (env_cfg), calibration included
        self.kinematics = URKinematics(UR7E, FLANGE_T_TCP, cell.arm.joint_placements())
        self.robot, self.insertive, self.receptive = env.scene["robot"], env.scene["insertive"], env.scene["receptive"]
        self.arm_ids = [self.robot.joint_names.index(n) for n in JOINT_NAMES]
        self.finger_ids = [self.robot.joint_names.index(n) for n in FINGER_JOINTS]
        n, dev = env.num_envs, env.device
        self.device = dev
        self.sampler = ResetSampler(open_resets(env.cfg.resets), self.cfg.reset_probabilities, seed=self.cfg.seed)
        self.rng = np.random.default_rng(self.cfg.seed + 1)
        self.successes = SuccessTracker(self.cfg.success_window)
        self.reset_type = torch.zeros(n, dtype=torch.long)
        self.gripper_closed = torch.zeros(n, dtype=torch.bool, device=dev)
        self.gripper_asks = torch.zeros(n, dtype=torch.long, device=dev)  # actions asking for the other state
        self.kp_scale = torch.ones(n, 2, dtype=F64, device=dev)
        insertive = mujoco.MjModel.from_xml_string(part_xmls()["insertive"])
        body = insertive.body(PEG_BODY).id
        self.peg_corners = insertive_corners(insertive, np.flatnonzero(insertive.geom_bodyid == body))
        self.peg_mass_kg = torch.full((n,), float(insertive.body_mass[body]), dtype=F64, device=dev)
        self.grip_force_N = cell.gripper.grip_force_N
        # The twin's frictions; the robot links keep MuJoCo's default geom friction (1.0).
        nominal = (1.0, cell.gripper.pad_friction, cell.peg.friction, cell.hole.friction, cell.physics.table_friction)
        self.friction = torch.tensor(nominal, dtype=F64, device=dev).repeat(n, 1)
        self.robot_mass_scale = torch.ones(n, dtype=F64, device=dev)
        self.max_joint_speed = torch.as_tensor(UR7E.max_joint_speed_radps, dtype=F64, device=dev)
        self._state: CellState | None = None
        self._key = None
        self._reward_terms: dict[str, torch.Tensor] = {}
        self._reward_key = None

    def privileged(self) -> torch.Tensor:
        """(N, 9) in the MuJoCo backend's layout: frictions (robot, pad, insertive, receptive, table),
        insertive mass, robot mass scale, kp scales."""
        return torch.cat((self.friction, self.peg_mass_kg[:, None], self.robot_mass_scale[:, None], self.kp_scale), -1)


def context(env) -> OmniResetContext:
    if not hasattr(env, "_omnireset"):
        env._omnireset = OmniResetContext(env)
    return env._omnireset


def _tcp(ctx: OmniResetContext, q_arm: torch.Tensor):
    """b_T_tcp and the Jacobian in float64 on the env's device (the core's FK runs in torch)."""
    return ctx.kinematics.tcp_pose_and_jacobian(q_arm.detach().to(F64))


def _state_key(env) -> tuple[int, int]:
    """Changes with every physics step and every reset event."""
    return env._sim_step_counter, getattr(env, "_omnireset_resets", 0)


def cell_state(env) -> CellState:
    """The scene as a ``CellState`` (float64), computed once per physics step / reset."""
    ctx = context(env)
    key = _state_key(env)
    if ctx._key == key and ctx._state is not None:
        return ctx._state
    robot, peg, hole = ctx.robot.data, ctx.insertive.data, ctx.receptive.data
    origins = env.scene.env_origins.to(F64)
    q = robot.joint_pos.torch[:, ctx.arm_ids].to(F64)
    qd = robot.joint_vel.torch[:, ctx.arm_ids].to(F64)
    T, J = _tcp(ctx, q)
    ee_vel = (J @ qd[..., None])[..., 0]
    peg_pose = peg.root_link_pose_w.torch.to(F64)
    peg_vel = peg.root_link_vel_w.torch.to(F64)
    hole_pose = hole.root_link_pose_w.torch.to(F64)
    am = env.action_manager
    steps_left = (env.max_episode_length - env.episode_length_buf).to(F64)
    ctx._state = CellState(
        q_arm_rad=q, qd_arm_radps=qd, tcp_pos_b_m=T[:, :3, 3], tcp_quat_b_wxyz=matrix_to_quat(T[:, :3, :3]),
        tcp_lin_vel_b_mps=ee_vel[:, :3], tcp_ang_vel_b_radps=ee_vel[:, 3:],
        insertive_pos_b_m=peg_pose[:, :3] - origins, insertive_quat_b=xyzw_to_wxyz(peg_pose[:, 3:]),
        insertive_lin_vel_b_mps=peg_vel[:, :3], insertive_ang_vel_b_radps=peg_vel[:, 3:],
        receptive_pos_b_m=hole_pose[:, :3] - origins, receptive_quat_b=xyzw_to_wxyz(hole_pose[:, 3:]),
        gripper_closed=ctx.gripper_closed.clone(),
        finger_travel_m=robot.joint_pos.torch[:, ctx.finger_ids].to(F64).mean(-1),
        action=am.action.to(F64), last_action=am.prev_action.to(F64),
        time_left_s=steps_left * env.step_dt, max_joint_speed_radps=ctx.max_joint_speed)
    ctx._key = key
    return ctx._state


# --- action ------------------------------------------------------------------------------------
class OscAction(ActionTerm):
    """Raw 7-D action -> TCP target once per policy step (``omnireset_core.control.action``), then
    the core's OSC law every physics step as arm joint efforts; the gripper as +-grip force on
    each finger (the twin's tendon actuator applies the same force to both finger joints)."""

    cfg: OscActionCfg

    def __init__(self, cfg: OscActionCfg, env):
        super().__init__(cfg, env)
        ctx = context(env)
        c = ctx.cfg
        self._raw = torch.zeros(self.num_envs, 7, device=self.device)
        self._scale = torch.as_tensor(c.action.scale, dtype=F64, device=self.device)
        self._target_pos = torch.zeros(self.num_envs, 3, dtype=F64, device=self.device)
        self._target_quat = torch.zeros(self.num_envs, 4, dtype=F64, device=self.device)
        self._target_quat[:, 0] = 1.0
        self._grip_force = float(ctx.grip_force_N)
        self._joint_ids = ctx.arm_ids + ctx.finger_ids

    @property
    def action_dim(self) -> int:
        return 7

    @property
    def raw_actions(self) -> torch.Tensor:
        return self._raw

    @property
    def processed_actions(self) -> torch.Tensor:
        return torch.cat((self._target_pos, self._target_quat), -1).float()

    def process_actions(self, actions: torch.Tensor):
        ctx = context(self._env)
        clip = ctx.cfg.action_clip
        self._raw[:] = actions.clamp(-clip, clip)
        s = cell_state(self._env)
        pos, quat, close = action_to_target(self._raw.to(F64), s.tcp_pos_b_m, s.tcp_quat_b_wxyz, self._scale)
        self._target_pos[:], self._target_quat[:] = pos, quat
        closed, asks = switch_gripper(close, ctx.gripper_closed, ctx.gripper_asks, ctx.cfg.action.gripper_switch_steps)
        ctx.gripper_closed[:], ctx.gripper_asks[:] = closed, asks

    def apply_actions(self):
        ctx = context(self._env)
        robot = ctx.robot.data
        q = robot.joint_pos.torch[:, ctx.arm_ids].to(F64)
        qd = robot.joint_vel.torch[:, ctx.arm_ids].to(F64)
        T, J = _tcp(ctx, q)
        kp, kd = scaled_gains(ctx.cfg.gains, ctx.kp_scale)
        tau = track_target(T[:, :3, 3], matrix_to_quat(T[:, :3, :3]), J, qd, self._target_pos, self._target_quat,
                           ctx.cfg.gains, kp=kp, kd=kd)
        grip = torch.where(ctx.gripper_closed, self._grip_force, -self._grip_force).to(F64)
        effort = torch.cat((tau, grip[:, None].expand(-1, 2)), -1).float()
        ctx.robot.set_joint_effort_target_index(target=effort, joint_ids=self._joint_ids)

    def reset(self, env_ids=None):
        self._raw[env_ids if env_ids is not None else slice(None)] = 0.0


@configclass
class OscActionCfg(ActionTermCfg):
    class_type: type = OscAction
    asset_name: str = "robot"


# --- observations ------------------------------------------------------------------------------
def actor_observation(env) -> torch.Tensor:
    """One history step of the deployment spec (Isaac Lab stacks 5, oldest first, like the runtime)."""
    return actor_step(cell_state(env).to(torch.float32), context(env).obs_spec)


def critic_observation(env) -> torch.Tensor:
    ctx = context(env)
    return critic_obs(cell_state(env).to(torch.float32), ctx.privileged().float(), ctx.obs_spec)


# --- rewards and terminations --------------------------------------------------------------------
def reward_term(env, name: str) -> torch.Tensor:
    """One unscaled term of the shared task-agnostic reward; Isaac Lab applies weight * dt."""
    ctx = context(env)
    key = _state_key(env)
    if ctx._reward_key != key:
        ctx._reward_terms = reward_terms(cell_state(env), ctx.task, ctx.cfg.reward_params)
        ctx._reward_key = key
    return ctx._reward_terms[name].float()


def abnormal_joint_speed(env) -> torch.Tensor:
    return shared_terminations.abnormal_joint_speed(cell_state(env), context(env).cfg.reward_params.abnormal_speed_factor)


def insertive_off_table(env) -> torch.Tensor:
    return shared_terminations.insertive_off_table(cell_state(env), context(env).cfg.insertive_min_z_m)


def non_finite_state(env) -> torch.Tensor:
    return shared_terminations.non_finite_state(cell_state(env))


# --- resets and randomisation ------------------------------------------------------------------
class randomize_friction(randomize_rigid_body_material):
    """Isaac Lab's material event (Newton draws one friction per shape and env), then the values
    it drew, averaged over the group's shapes, into the critic's privileged friction column
    ``slot`` (a name of ``physics.FRICTION_GROUPS``): the critic sees the friction the physics
    runs with."""

    def __call__(self, env, env_ids, static_friction_range, dynamic_friction_range, restitution_range, num_buckets,
                 asset_cfg, slot: str, make_consistent: bool = False) -> None:
        super().__call__(env, env_ids, static_friction_range, dynamic_friction_range, restitution_range, num_buckets,
                         asset_cfg, make_consistent)
        import warp as wp

        impl = self._impl  # the Newton term: its bindings of the model's per-shape friction
        rows = slice(None) if env_ids is None or isinstance(env_ids, slice) else env_ids.to(env.device)
        drawn = wp.to_torch(impl._friction_binding)[rows][:, impl._shape_indices.to(env.device)]
        context(env).friction[rows, FRICTION_GROUPS.index(slot)] = drawn.mean(-1).to(F64)


def reset_from_dataset(env, env_ids: torch.Tensor):
    """Record the finished episodes' success, then place each env in a state drawn from the reset
    datasets (type by probability, then uniform), at rest, with fresh gain/mass randomisation."""
    ctx = context(env)
    if env_ids is None or isinstance(env_ids, slice):
        env_ids = torch.arange(env.num_envs, device=env.device)
    env_ids = torch.as_tensor(env_ids, device=env.device)
    ids = env_ids.cpu().numpy()
    if len(ids) == 0:
        return
    ran = (env.episode_length_buf[env_ids] > 0).cpu().numpy()
    if ran.any():  # the step's reward terms are still those of the final states
        done = torch.as_tensor(ids[ran])
        success = reward_term(env, "success")[done.to(env.device)] > 0
        ctx.successes.add(ctx.reset_type[done].numpy(), success.cpu().numpy())
    type_ids, states = ctx.sampler.sample(len(ids))
    dev, n = env.device, len(ids)
    q = np.asarray(states["q_arm_rad"], dtype=float)
    closed = np.asarray(states["gripper_closed"], dtype=bool)
    travel = np.asarray(states["finger_travel_m"], dtype=float).copy()
    todo = np.isnan(travel)
    if todo.any():
        travel[todo] = closing_travel(ctx.kinematics, ctx.peg_corners, q[todo],
                                      np.asarray(states["insertive_pose_b"])[todo], closed[todo])
    joint_pos = torch.as_tensor(np.concatenate((q, travel[:, None].repeat(2, 1)), -1), dtype=torch.float32, device=dev)
    ctx.robot.write_joint_state_to_sim_index(position=joint_pos, velocity=torch.zeros_like(joint_pos),
                                            joint_ids=ctx.arm_ids + ctx.finger_ids, env_ids=env_ids)
    origins = env.scene.env_origins[env_ids]
    for asset, key in ((ctx.insertive, "insertive_pose_b"), (ctx.receptive, "receptive_pose_b")):
        pose = torch.as_tensor(np.asarray(states[key], dtype=float), dtype=torch.float32, device=dev)
        quat = pose[:, 3:] / torch.linalg.vector_norm(pose[:, 3:], dim=-1, keepdim=True)
        asset.write_root_pose_to_sim_index(root_pose=torch.cat((pose[:, :3] + origins, wxyz_to_xyzw(quat)), -1),
                                           env_ids=env_ids)
        asset.write_root_velocity_to_sim_index(root_velocity=torch.zeros(n, 6, device=dev), env_ids=env_ids)
    t = torch.as_tensor(ids)
    ctx.reset_type[t] = torch.as_tensor(type_ids, dtype=torch.long)
    ctx.gripper_closed[t.to(dev)] = torch.as_tensor(closed, device=dev)
    ctx.gripper_asks[t.to(dev)] = 0
    rnd = ctx.cfg.randomization
    if rnd.enabled:
        ctx.kp_scale[t.to(dev)] = torch.as_tensor(ctx.rng.uniform(*rnd.osc_kp_scale, (n, 2)), dtype=F64, device=dev)
        mass = torch.as_tensor(ctx.rng.uniform(*rnd.insertive_mass_kg, n), dtype=torch.float32, device=dev)
        ctx.insertive.set_masses_index(masses=mass[:, None], env_ids=env_ids)
        ctx.peg_mass_kg[t.to(dev)] = mass.to(F64)
    env._omnireset_resets = getattr(env, "_omnireset_resets", 0) + 1
