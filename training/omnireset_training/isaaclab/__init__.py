"""Isaac Lab backend (kit-less, Newton physics): USD assets from the project's MJCF, the manager-based
task over the shared MDP, training through rsl_rl. Needs the Isaac Lab environment
(``make setup-isaaclab``); nothing here is imported by the MuJoCo backend.

Gym ids: ``OmniReset-Peg-v0``.
"""
import gymnasium as gym

gym.register(
    id="OmniReset-Peg-v0",
    entry_point="isaaclab.envs:ManagerBasedRLEnv",
    disable_env_checker=True,
    kwargs={"env_cfg_entry_point": "omnireset_training.isaaclab.env_cfg:OmniResetEnvCfg"},
)
