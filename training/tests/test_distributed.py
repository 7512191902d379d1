"""Data-parallel PPO under torchrun on CPU (gloo, two ranks, MuJoCo backend): the ranks start from
rank 0's weights and stay in step through the updates (the run checks it and fails otherwise),
rank 0 alone writes, and its checkpoint exports and runs in the deployment runtime."""
import json
import os
import subprocess
import sys

import pytest

from omnireset_training.cli import main
from omnireset_training.rl.distributed import Rank, from_environment, rank_config, rank_device
from omnireset_training.rl.config import TrainConfig


def test_two_gloo_ranks_train_in_step_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "omnireset_training.cli", "train", "--distributed", "--scale", "toy", "--threads", "1",
           "--iterations", "2", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("checkpoint:") == 1, proc.stdout  # rank 0 reports, rank 1 stays quiet
    assert (out / "model_1.pt").exists() and not list(out.glob("rank_*"))
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 1]  # one writer
    assert main(["export", "--checkpoint", str(out / "model_1.pt")]) == 0
    assert main(["evaluate", "--checkpoint", str(out / "policy.pt"), "--episodes", "2",
                 "--resets", str(out / "toy_resets")]) == 0
    assert json.loads((out / "evaluate.json").read_text())["episodes"] == 2


def test_distributed_needs_torchrun_and_torchrun_needs_distributed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["train", "--distributed", "--scale", "toy", "--out", str(tmp_path / "a")]) == 2
    assert "--distributed runs under torchrun" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert main(["train", "--scale", "toy", "--out", str(tmp_path / "b")]) == 2
    assert "only 'train --distributed' runs data-parallel" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_ranks_differ_in_seed_and_device_only(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    rank = from_environment()
    assert rank == Rank(3, 1, 4) and not rank.is_main
    cfg = TrainConfig()
    ranked = rank_config(cfg, rank)
    assert (ranked.seed, ranked.env.seed) == (cfg.seed + 3, cfg.env.seed + 3)
    assert ranked.env.physics_workers >= 1 and ranked.ppo == cfg.ppo
    assert rank_device("cuda", rank) == "cuda:1" and rank_device("cpu", rank) == "cpu"
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match="inconsistent torchrun ranks"):
        from_environment()
