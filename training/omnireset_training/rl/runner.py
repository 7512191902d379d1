"""Training and evaluation on top of rsl_rl's ``OnPolicyRunner``.

Adds to the library loop: a progress bar (the library's per-iteration console report goes to
``train_log.txt``), per-iteration metrics in ``metrics.jsonl`` (mean return, success per reset
type over the last 100 episodes, evaluation success), held gSDE noise redrawn at each rollout
start, evaluation from reaching resets only, and resumable checkpoints (``model_<it>.pt``).
"""
from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rsl_rl.runners import OnPolicyRunner

from omnireset_training.env_config import EnvConfig
from omnireset_training.mdp.success import SuccessTracker
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.reset_source import ResetSource
from omnireset_training.rl.config import TrainConfig, rsl_rl_train_cfg


class OmniResetRunner(OnPolicyRunner):
    def __init__(self, env: OmniResetEnv, cfg: TrainConfig, log_dir: str | Path | None, device: str = "cpu",
                 eval_env_factory=None):
        self.train_config = cfg
        with contextlib.redirect_stdout(io.StringIO()):  # the library prints both networks
            super().__init__(env, rsl_rl_train_cfg(cfg), str(log_dir) if log_dir is not None else None, device)
        self.next_iteration = 0
        self.eval_env_factory = eval_env_factory
        self._eval_env: OmniResetEnv | None = None
        self.history: list[dict] = []

    # --- checkpoints ------------------------------------------------------------------------------
    def load(self, path, load_cfg=None, strict=True, map_location=None):
        infos = super().load(str(path), load_cfg, strict, map_location)
        self.next_iteration = self.current_learning_iteration + 1
        return infos

    # --- training loop ----------------------------------------------------------------------------
    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False, progress: bool = True) -> None:
        env, alg, cfg = self.env, self.alg, self.cfg
        if init_at_random_ep_len:
            env.episode_length_buf = torch.randint_like(env.episode_length_buf, high=int(env.max_episode_length))
        obs = env.get_observations().to(self.device)
        alg.train_mode()
        self.logger.init_logging_writer()
        log_dir = Path(self.logger.log_dir) if self.logger.log_dir else None
        start = self.next_iteration
        bar = tqdm(range(start, start + num_learning_iterations), desc="PPO", unit="it", disable=not progress)
        for it in bar:
            t0 = time.time()
            distribution = alg.get_policy().distribution
            if hasattr(distribution, "resample_noise"):
                distribution.resample_noise()
            with torch.inference_mode():
                for _ in range(cfg["num_steps_per_env"]):
                    actions = alg.act(obs)
                    obs, rewards, dones, extras = env.step(actions.to(env.device))
                    obs, rewards, dones = obs.to(self.device), rewards.to(self.device), dones.to(self.device)
                    alg.process_env_step(obs, rewards, dones, extras)
                    self.logger.process_env_step(rewards, dones, extras, None)
                collect_time = time.time() - t0
                t1 = time.time()
                alg.compute_returns(obs)
            loss_dict = alg.update()
            learn_time = time.time() - t1
            self.current_learning_iteration = it
            self.next_iteration = it + 1
            record = self._record(it, collect_time, learn_time, loss_dict)
            sink = open(log_dir / "train_log.txt", "a") if log_dir else open("/dev/null", "w")
            with sink, contextlib.redirect_stdout(sink):
                self.logger.log(it=it, start_it=start, total_it=start + num_learning_iterations,
                                collect_time=collect_time, learn_time=learn_time, loss_dict=loss_dict,
                                learning_rate=alg.learning_rate, action_std=alg.get_policy().output_std, rnd_weight=None)
            interval = self.train_config.eval_interval
            if interval and (it + 1) % interval == 0:
                record["eval_success"] = self.evaluate()
                if self.logger.writer is not None:
                    self.logger.writer.add_scalar("Eval/success", record["eval_success"], it)
            self.history.append(record)
            if log_dir:
                with open(log_dir / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(record) + "\n")
                if it % cfg["save_interval"] == 0:
                    self.save(str(log_dir / f"model_{it}.pt"))
            bar.set_postfix(ret=f"{record.get('mean_return', float('nan')):.2f}",
                            succ=f"{record.get('success_all_types', float('nan')):.2f}", s_it=f"{collect_time + learn_time:.1f}")
        if log_dir:
            self.save(str(log_dir / f"model_{self.current_learning_iteration}.pt"))
            self.logger.stop_logging_writer()

    def _record(self, it: int, collect_time: float, learn_time: float, loss_dict: dict) -> dict:
        rates = self.env.successes.rates()
        record = {"iteration": it, "collect_s": collect_time, "learn_s": learn_time,
                  "env_steps": (it + 1) * self.cfg["num_steps_per_env"] * self.env.num_envs,
                  **{f"loss_{k}": float(v) for k, v in loss_dict.items()},
                  **{f"success_{t}": r for t, r in rates.items()}}
        if rates:
            record["success_all_types"] = float(np.mean(self.env.successes.all_types()))
        if len(self.logger.rewbuffer):
            record["mean_return"] = statistics.mean(self.logger.rewbuffer)
        return record

    # --- evaluation -------------------------------------------------------------------------------
    def evaluate(self, episodes: int | None = None) -> float:
        """Success rate of the deterministic policy from the evaluation env's resets (reaching
        only unless the runner was made otherwise)."""
        if self._eval_env is None:
            if self.eval_env_factory is None:
                raise ValueError("no evaluation env factory given")
            self._eval_env = self.eval_env_factory()
        policy = self.alg.get_policy()
        was_training = policy.training
        policy.eval()
        rate = evaluate_policy(lambda o: policy(o), self._eval_env, episodes or self.train_config.eval_episodes)
        policy.train(was_training)
        return rate


def hold_still_actions(env: OmniResetEnv) -> torch.Tensor:
    """The baseline policy's actions: no arm motion, every gripper kept as it is."""
    actions = torch.zeros(env.num_envs, 7)
    actions[:, 6] = torch.where(env.gripper_closed, -1.0, 1.0)
    return actions


def evaluate_policy(policy, env: OmniResetEnv, episodes: int) -> float:
    """Run ``policy(obs TensorDict) -> actions`` until ``episodes`` episodes have ended; success =
    assembled at the episode's last step. The env should draw reaching resets only."""
    finished: list[bool] = []
    env.successes = SuccessTracker(window=max(episodes, 1))
    env.reset_all()
    obs = env.get_observations()
    with torch.inference_mode():
        while len(finished) < episodes:
            obs, _, dones, _ = env.step(policy(obs))
            if dones.any():
                finished = env.successes.all_types()
    return float(np.mean(finished[:episodes]))


def make_env(cfg: EnvConfig, resets: ResetSource) -> OmniResetEnv:
    return OmniResetEnv(cfg, resets)


def eval_env_config(cfg: EnvConfig, episodes: int, reset_type: str = "reaching") -> EnvConfig:
    """The training env's physics and randomisation, one reset type (reaching: the full task),
    at most one episode per env per round."""
    return replace(cfg, num_envs=max(1, min(episodes, cfg.num_envs)), reset_probabilities={reset_type: 1.0},
                   seed=cfg.seed + 1000)


def make_runner(cfg: TrainConfig, resets: ResetSource, log_dir: str | Path | None,
                eval_reset_type: str = "reaching") -> OmniResetRunner:
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    env = make_env(cfg.env, resets)
    eval_cfg = eval_env_config(cfg.env, cfg.eval_episodes, eval_reset_type)
    return OmniResetRunner(env, cfg, log_dir, eval_env_factory=lambda: make_env(eval_cfg, resets))
