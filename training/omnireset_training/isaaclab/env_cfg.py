"""Manager-based Isaac Lab configuration of an OmniReset task (kit-less, Newton / MuJoCo-Warp).

All task numbers come from the backend-neutral ``EnvConfig`` (the one the MuJoCo backend reads):
policy at 10 Hz over 120 Hz physics, episode length, action scale and clip, OSC gains, reward
weights, reset-type probabilities, randomisation ranges. The physics solver settings mirror the
twin's MJCF options (implicitfast, elliptic cones, impratio, Newton solver).
"""
from __future__ import annotations

from dataclasses import asdict

from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg

import isaaclab.sim as sim_utils
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg, AssetBaseCfg, RigidObjectCfg
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import EventTermCfg, ObservationGroupCfg, ObservationTermCfg, RewardTermCfg, TerminationTermCfg
from isaaclab.managers import SceneEntityCfg
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.utils import configclass

from omnireset_core.config import from_dict
from omnireset_core.spec.contract import default_actor_observation
from omnireset_sim.config import CellConfig, load_cell_config
from omnireset_training.env_config import EnvConfig
from omnireset_training.isaaclab import mdp
from omnireset_training.isaaclab.assets import asset_folder, usd_paths

ENV_SPACING_M = 2.5


def scene_cfg(num_envs: int, cell: CellConfig, asset_dir: str | None) -> InteractiveSceneCfg:
    usd = usd_paths(asset_dir or asset_folder(cell))
    scene = InteractiveSceneCfg(num_envs=num_envs, env_spacing=ENV_SPACING_M)
    # Efforts only: stiffness and damping 0, so the OSC torques (and grip forces) act alone; the
    # joints keep the MJCF's passive damping and armature.
    scene.robot = ArticulationCfg(
        prim_path="{ENV_REGEX_NS}/Robot", spawn=sim_utils.UsdFileCfg(usd_path=str(usd["robot"])),
        init_state=ArticulationCfg.InitialStateCfg(joint_pos={".*": 0.0}),
        actuators={"effort": ImplicitActuatorCfg(joint_names_expr=[".*_joint"], stiffness=0.0, damping=0.0)})
    scene.insertive = RigidObjectCfg(prim_path="{ENV_REGEX_NS}/Insertive",
                                     spawn=sim_utils.UsdFileCfg(usd_path=str(usd["insertive"])))
    scene.receptive = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Receptive",
        spawn=sim_utils.UsdFileCfg(usd_path=str(usd["receptive"]),
                                   rigid_props=sim_utils.RigidBodyBaseCfg(kinematic_enabled=True)))
    scene.table = AssetBaseCfg(prim_path="{ENV_REGEX_NS}/Table", spawn=sim_utils.UsdFileCfg(usd_path=str(usd["table"])))
    return scene


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObservationGroupCfg):
        actor = ObservationTermCfg(func=mdp.actor_observation)

        def __post_init__(self):
            self.history_length = default_actor_observation().history  # the deployment spec's; oldest first
            self.flatten_history_dim = True
            self.concatenate_terms = True

    @configclass
    class CriticCfg(ObservationGroupCfg):
        critic = ObservationTermCfg(func=mdp.critic_observation)

    policy: PolicyCfg = PolicyCfg()
    critic: CriticCfg = CriticCfg()


@configclass
class ActionsCfg:
    osc: mdp.OscActionCfg = mdp.OscActionCfg()


def _friction_event(slot: str, asset: str, interval: tuple[float, float], bodies=None) -> EventTermCfg:
    entity = SceneEntityCfg(asset, body_names=bodies) if bodies else SceneEntityCfg(asset)
    return EventTermCfg(func=mdp.randomize_friction, mode="reset",
                        params={"asset_cfg": entity, "static_friction_range": interval, "slot": slot,
                                "dynamic_friction_range": interval, "restitution_range": (0.0, 0.0), "num_buckets": 64})


@configclass
class OmniResetEnvCfg(ManagerBasedRLEnvCfg):
    """``omnireset`` is ``EnvConfig.to_dict()``; ``resets`` a dataset folder or ``toy[:N]``."""

    omnireset: dict = asdict(EnvConfig())
    resets: str = "toy"
    asset_dir: str | None = None
    num_envs: int = 4
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()

    def __post_init__(self):
        env = from_dict(EnvConfig, self.omnireset)
        cell = load_cell_config()  # the workspace's cell (as the MuJoCo env), the robot's calibration included
        self.seed = env.seed
        self.decimation = env.decimation
        self.episode_length_s = env.episode_length_s
        self.sim = sim_utils.SimulationCfg(
            dt=env.physics_dt_s, device="cpu",
            physics=NewtonCfg(solver_cfg=MJWarpSolverCfg(
                integrator=cell.physics.integrator, cone="elliptic", impratio=cell.physics.impratio,
                solver="newton", iterations=cell.physics.solver_iterations, tolerance=1e-10, njmax=400, nconmax=100),
                use_cuda_graph=False))
        self.scene = scene_cfg(self.num_envs, cell, self.asset_dir)
        self.rewards = {name: RewardTermCfg(func=mdp.reward_term, weight=weight, params={"name": name})
                        for name, weight in asdict(env.rewards).items()}
        self.terminations = {
            "time_out": TerminationTermCfg(func=_time_out, time_out=True),
            "non_finite": TerminationTermCfg(func=mdp.non_finite_state, time_out=True),
            "abnormal_joint_speed": TerminationTermCfg(func=mdp.abnormal_joint_speed),
        }
        if env.insertive_min_z_m is not None:
            self.terminations["insertive_off_table"] = TerminationTermCfg(func=mdp.insertive_off_table)
        self.events = {"reset_from_dataset": EventTermCfg(func=mdp.reset_from_dataset, mode="reset")}
        rnd = env.randomization
        if rnd.enabled:
            self.events.update({
                "robot_friction": _friction_event("robot", "robot", rnd.robot_friction, ["link.*", "gripper"]),
                "pad_friction": _friction_event("pad", "robot", rnd.pad_friction, [".*_finger"]),
                "insertive_friction": _friction_event("insertive", "insertive", rnd.insertive_friction),
                "receptive_friction": _friction_event("receptive", "receptive", rnd.receptive_friction),
            })


def _time_out(env):
    return env.episode_length_buf >= env.max_episode_length
