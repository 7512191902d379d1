"""The worlds split over worker processes: the same physics as in one process, and no worker
outlives its owner or hides a failure."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from omnireset_training.env_config import EnvConfig
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.parallel_physics import ParallelCellPhysics


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited
        return f.read().split(")")[-1].split()[0] != "Z"


def _wait_gone(pids, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def test_workers_step_exactly_like_one_process(toy_resets):
    """Five worlds over two workers (3 + 2) against one process: same observations bit for bit,
    through episode ends, new reset states and new randomised masses and frictions."""
    cfg = EnvConfig(num_envs=5, episode_length_s=0.5, seed=4)  # 5 steps per episode
    envs = [OmniResetEnv(replace(cfg, physics_workers=w), toy_resets) for w in (1, 2)]
    assert isinstance(envs[1].physics, ParallelCellPhysics) and not isinstance(envs[0].physics, ParallelCellPhysics)
    gen = torch.Generator().manual_seed(1)
    try:
        for step in range(12):
            a = 0.5 * torch.randn(5, 7, generator=gen)
            (o1, r1, d1, _), (o2, r2, d2, _) = (env.step(a) for env in envs)
            assert torch.equal(o1["policy"], o2["policy"]) and torch.equal(o1["critic"], o2["critic"]), step
            assert torch.equal(r1, r2) and torch.equal(d1, d2)
        assert d1.any() or step >= 4  # episodes ended and restarted on the way
        params = envs[1].physics_params
        assert len({round(float(m), 9) for m in params[:, 5]}) > 1  # masses differ across worlds
    finally:
        for env in envs:
            env.close()


def test_a_killed_worker_is_a_clear_error_and_the_rest_are_closed():
    physics = ParallelCellPhysics(4, num_workers=2)
    pids = [proc.pid for proc, _, _ in physics._workers]
    os.kill(pids[0], signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"physics worker 0 \(pid \d+\) died"):
        physics.step(np.zeros((4, 6)))
    assert _wait_gone(pids) == []
    with pytest.raises(RuntimeError, match="closed"):
        physics.step(np.zeros((4, 6)))


def test_an_error_in_a_worker_reaches_the_caller_with_its_traceback():
    physics = ParallelCellPhysics(4, num_workers=2)
    pids = [proc.pid for proc, _, _ in physics._workers]
    with pytest.raises(RuntimeError, match=r"(?s)physics worker 0 failed.*ValueError"):
        physics.step(np.zeros((4, 5)))  # 5 torques per arm, not 6
    assert _wait_gone(pids) == []


def test_workers_exit_when_their_owner_is_killed():
    script = ("from omnireset_training.parallel_physics import ParallelCellPhysics\n"
              "p = ParallelCellPhysics(4, num_workers=2)\n"
              "print(*[proc.pid for proc, _, _ in p._workers], flush=True)\n"
              "import time; time.sleep(60)\n")
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        owner.kill()
        owner.wait()
        assert _wait_gone(pids) == []
    finally:
        owner.kill()
        owner.wait()


def test_worker_count_is_checked():
    with pytest.raises(ValueError, match="num_workers"):
        ParallelCellPhysics(2, num_workers=3)
    with pytest.raises(ValueError, match="physics_workers"):
        EnvConfig(physics_workers=-1)
    assert EnvConfig(num_envs=1, physics_workers=0).workers == 1
