"""PPO on rsl_rl 5.5: the gSDE distribution and model, the configuration, the runner."""
