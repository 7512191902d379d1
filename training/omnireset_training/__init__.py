"""OmniReset training: vectorised MuJoCo env of the cell, MDP terms, PPO with gSDE, export."""
__version__ = "0.1.0"
