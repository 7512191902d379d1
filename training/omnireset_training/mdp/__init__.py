"""Backend-neutral MDP: ``CellState`` and the observation, reward and termination terms."""
from omnireset_training.mdp.observations import ObservationHistory, actor_step, critic_obs
from omnireset_training.mdp.rewards import RewardParams, RewardWeights, reward_terms, total_reward
from omnireset_training.mdp.state import CellState

__all__ = [
    "CellState",
    "ObservationHistory",
    "RewardParams",
    "RewardWeights",
    "actor_step",
    "critic_obs",
    "reward_terms",
    "total_reward",
]
