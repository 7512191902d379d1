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
import math
import signal
import statistics
import threading
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
from omnireset_training.rl import distributed
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
        self.stopped_by: str | None = None  # the signal that ended the last learn() early

    def _configure_multi_gpu(self) -> None:
        """rsl_rl's multi-GPU set-up, for CPU ranks too (gloo): under torchrun every rank runs
        its own environments, ``alg.update`` all-reduces the gradients (``cfg["multi_gpu"]``)."""
        rank = distributed.from_environment()
        self.gpu_world_size, self.gpu_global_rank, self.gpu_local_rank = rank.world_size, rank.rank, rank.local_rank
        self.is_distributed = rank.distributed
        self.cfg["multi_gpu"] = ({"global_rank": rank.rank, "local_rank": rank.local_rank, "world_size": rank.world_size}
                                 if rank.distributed else None)
        distributed.init_process_group(rank, self.device)

    # --- checkpoints ------------------------------------------------------------------------------
    def load(self, path, load_cfg=None, strict=True, map_location=None):
        infos = super().load(str(path), load_cfg, strict, map_location)
        self.next_iteration = self.current_learning_iteration + 1
        return infos

    # --- training loop ----------------------------------------------------------------------------
    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False, progress: bool = True) -> None:
        """``num_learning_iterations`` more PPO iterations. A SIGINT or SIGTERM ends the run after
        the iteration in progress, saving its checkpoint (a second SIGINT stops at once)."""
        with StopRequest() as stop:
            self._learn(num_learning_iterations, init_at_random_ep_len, progress, stop)

    def _learn(self, num_learning_iterations: int, init_at_random_ep_len: bool, progress: bool, stop) -> None:
        env, alg, cfg = self.env, self.alg, self.cfg
        if init_at_random_ep_len:
            env.episode_length_buf = torch.randint_like(env.episode_length_buf, high=int(env.max_episode_length))
        obs = env.get_observations().to(self.device)
        alg.train_mode()
        if self.is_distributed:  # every rank starts from rank 0's weights
            alg.broadcast_parameters()
        self.logger.init_logging_writer()
        log_dir = Path(self.logger.log_dir) if self.logger.log_dir else None
        start = self.next_iteration
        bar = tqdm(range(start, start + num_learning_iterations), desc="PPO", unit="it", disable=not progress)
        for it in bar:
            t0 = time.time()
            distribution = alg.get_policy().distribution
            if hasattr(distribution, "resample_noise"):
                distribution.resample_noise()
            step_logs = []
            with torch.inference_mode():
                for _ in range(cfg["num_steps_per_env"]):
                    actions = alg.act(obs)
                    obs, rewards, dones, extras = env.step(actions.to(env.device))
                    obs, rewards, dones = obs.to(self.device), rewards.to(self.device), dones.to(self.device)
                    alg.process_env_step(obs, rewards, dones, extras)
                    self.logger.process_env_step(rewards, dones, extras, None)
                    step_logs.append(extras["log"])
                collect_time = time.time() - t0
                t1 = time.time()
                alg.compute_returns(obs)
                diagnostics = rollout_diagnostics(alg.storage, step_logs)
            loss_dict = alg.update()
            learn_time = time.time() - t1
            self.current_learning_iteration = it
            self.next_iteration = it + 1
            record = {**self._record(it, collect_time, learn_time, loss_dict), **diagnostics}
            if self.logger.writer is not None:
                for key in ("explained_variance", *(k for k in diagnostics if k.startswith("action_std_"))):
                    self.logger.writer.add_scalar(f"Diagnostics/{key}", diagnostics[key], it)
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
            if distributed.any_rank(stop.requested is not None):  # every rank stops at the same iteration
                self.stopped_by = stop.requested or "a signal to another rank"
                break
        if self.is_distributed:
            distributed.check_in_step([alg.get_policy(), alg.critic])
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


class StopRequest:
    """SIGINT/SIGTERM set ``requested`` (the signal's name) instead of killing the run; a second
    SIGINT raises KeyboardInterrupt as usual. Previous handlers come back on exit."""

    def __enter__(self):
        self.requested = None
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def rollout_diagnostics(storage, step_logs: list[dict]) -> dict:
    """Per iteration: the env's logged terms averaged over the rollout (per-term rewards, success
    per kind of near-goal start, let-go rate), the value function's explained variance
    1 - Var(R - V) / Var(R), and the policy's mean action std per dimension."""
    out = {}
    for key in {k for log in step_logs for k in log if not k.startswith("Success/")}:  # in the record already
        values = [log[key] for log in step_logs if key in log]
        out[key.replace("/", "_")] = float(np.mean(values))
    returns, values = storage.returns.flatten(), storage.values.flatten()
    var = returns.var().item()
    out["explained_variance"] = float(1.0 - (returns - values).var().item() / var) if var > 0 else float("nan")
    params = getattr(storage, "distribution_params", None)
    if params is not None and len(params) > 1:
        std = params[1].reshape(-1, params[1].shape[-1]).mean(0)
        out.update({f"action_std_{i}": float(v) for i, v in enumerate(std)})
    return out


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
    runner = OmniResetRunner(env, cfg, log_dir, eval_env_factory=lambda: make_env(eval_cfg, resets))
    policy = runner.alg.get_policy()
    with torch.no_grad():  # the gripper output (index 6); a resumed run loads its own
        policy._head.bias[6] = cfg.ppo.gripper_init_bias
        if cfg.ppo.gripper_init_noise_std is not None:
            policy.distribution.log_std[:, 6] = math.log(cfg.ppo.gripper_init_noise_std)
    return runner
