"""PPO configuration (the authors' values, RESEARCH "PPO") and the rsl_rl train-config dict.

Paper scale: 65 536 envs x 32 steps, 4 mini-batches, 5 epochs, lr 1e-4 adaptive (KL 0.01),
gamma 0.99, lambda 0.95, clip 0.2, value coef 1.0 (clipped), entropy 0.006, grad norm 1.0,
actor and critic [512, 256, 128, 64] ELU, initial std 1.0, gSDE with per-step noise.
At the CPU batch, 256 envs (``EnvConfig.num_envs``) x 32 steps = 8192 transitions per update
(about 3-5 s of 2-core time per iteration), ``cpu_profile`` changes the settings listed in
``CPU_PROFILE``; ``TrainConfig()`` keeps the paper's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from omnireset_core.config import check_int, from_dict
from omnireset_training.env_config import EnvConfig


@dataclass(frozen=True)
class PPOConfig:
    num_steps_per_env: int = 32
    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    learning_rate: float = 1e-4
    schedule: str = "adaptive"
    desired_kl: float = 0.01
    gamma: float = 0.99
    lam: float = 0.95
    clip_param: float = 0.2
    value_loss_coef: float = 1.0
    use_clipped_value_loss: bool = True
    entropy_coef: float = 0.006
    max_grad_norm: float = 1.0
    actor_hidden_dims: tuple[int, ...] = (512, 256, 128, 64)
    critic_hidden_dims: tuple[int, ...] = (512, 256, 128, 64)
    activation: str = "elu"
    obs_normalization: bool = True
    init_noise_std: float = 1.0
    gsde_eps: float = 1e-6
    noise_hold_steps: int = 1  # 1: fresh noise every step (the authors); n > 1: held n steps (gSDE paper)
    gripper_init_bias: float = 0.0  # initial mean of the gripper output (< 0 closes); 0: the authors
    gripper_init_noise_std: float | None = None  # the gripper column of gSDE's std; None: init_noise_std

    def __post_init__(self):
        for name in ("num_steps_per_env", "num_learning_epochs", "num_mini_batches", "noise_hold_steps"):
            check_int(f"PPOConfig.{name}", getattr(self, name), 1)
        if not self.init_noise_std > 0:
            raise ValueError(f"PPOConfig.init_noise_std must be > 0, got {self.init_noise_std!r}")
        if self.gripper_init_noise_std is not None and not self.gripper_init_noise_std > 0:
            raise ValueError(f"PPOConfig.gripper_init_noise_std must be > 0 or None, got {self.gripper_init_noise_std!r}")
        if self.schedule not in ("adaptive", "fixed"):
            raise ValueError(f"PPOConfig.schedule must be 'adaptive' or 'fixed', got {self.schedule!r}")


@dataclass(frozen=True)
class TrainConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    max_iterations: int = 1500
    save_interval: int = 50
    eval_interval: int = 0  # iterations between evaluations from reaching resets; 0: only at the end
    eval_episodes: int = 64
    seed: int = 0
    random_initial_episode_length: bool = True  # decorrelate time-outs across envs, as the authors

    def __post_init__(self):
        for name in ("max_iterations", "save_interval"):
            check_int(f"TrainConfig.{name}", getattr(self, name), 1)
        for name in ("eval_interval", "eval_episodes"):
            check_int(f"TrainConfig.{name}", getattr(self, name), 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return from_dict(cls, data)


# The CPU profile: what differs from the paper's settings when one update sees 8192 transitions
# instead of 2.1 M, each value beside the paper's. "method" marks a departure from OmniReset's
# method (the reward or what ends an episode); "scale" an ordinary choice for a small batch.
CPU_PROFILE = (
    # (section, field, CPU value, paper value, kind, why)
    ("env", "episode_length_s", 8.0, 16.0, "scale",
     "twice the episode starts per sample; a near-goal insertion takes 1-3 s"),
    ("env", "insertive_min_z_m", -0.05, None, "method",
     "a peg dropped off the table ends the episode instead of feeding the running normaliser metres"),
    ("env.reward_params", "assembly_pos_scale_m", 0.01, 1.0, "method",
     "exp(-|d| / 1 m) is flat at the fit's millimetre scale"),
    ("env.reward_params", "assembly_tilt_scale_rad", 0.1, 1.0, "method", "same, for the tilt"),
    ("ppo", "init_noise_std", 0.3, 1.0, "scale", "1.0 is 2 cm of TCP noise per step; few samples to average it out"),
    ("ppo", "entropy_coef", 0.0, 0.006, "scale", "with non-detached gSDE features the bonus inflates the std"),
    ("ppo", "use_clipped_value_loss", False, True, "scale",
     "a 0.2 clip in return units (~12) keeps the critic from the returns' scale for ~0.4 M steps"),
    ("ppo", "gripper_init_bias", -0.5, 0.0, "scale",
     "start with the gripper mostly kept closed instead of a coin flip per step that drops a held peg "
     "(-1.0 never samples the release a low grasp needs)"),
)


def cpu_profile(base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default: the paper's settings at the CPU batch) with ``CPU_PROFILE`` applied."""
    data = (base or TrainConfig()).to_dict()
    for section, name, value, _paper, _kind, _why in CPU_PROFILE:
        node = data
        for key in section.split("."):
            node = node[key]
        node[name] = value
    return TrainConfig.from_dict(data)


def rsl_rl_train_cfg(cfg: TrainConfig) -> dict:
    """The dict ``rsl_rl.runners.OnPolicyRunner`` takes: asymmetric actor-critic through the
    observation groups (actor reads ``policy``, critic reads ``critic``), gSDE actor."""
    p = cfg.ppo
    return {
        "num_steps_per_env": p.num_steps_per_env,
        "save_interval": cfg.save_interval,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "logger": "tensorboard",
        "seed": cfg.seed,
        "algorithm": {
            "class_name": "PPO",
            "num_learning_epochs": p.num_learning_epochs,
            "num_mini_batches": p.num_mini_batches,
            "clip_param": p.clip_param,
            "gamma": p.gamma,
            "lam": p.lam,
            "value_loss_coef": p.value_loss_coef,
            "entropy_coef": p.entropy_coef,
            "learning_rate": p.learning_rate,
            "max_grad_norm": p.max_grad_norm,
            "use_clipped_value_loss": p.use_clipped_value_loss,
            "schedule": p.schedule,
            "desired_kl": p.desired_kl,
        },
        "actor": {
            "class_name": "omnireset_training.rl.gsde:GSDEMLPModel",
            "hidden_dims": list(p.actor_hidden_dims),
            "activation": p.activation,
            "obs_normalization": p.obs_normalization,
            "distribution_cfg": {
                "class_name": "omnireset_training.rl.gsde:GSDEDistribution",
                "init_std": p.init_noise_std,
                "eps": p.gsde_eps,
                "noise_hold_steps": p.noise_hold_steps,
            },
        },
        "critic": {
            "class_name": "MLPModel",
            "hidden_dims": list(p.critic_hidden_dims),
            "activation": p.activation,
            "obs_normalization": p.obs_normalization,
        },
    }
