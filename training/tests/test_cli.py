"""The training CLI with a user at the keyboard: one clear line per mistake (exit 2), nothing
overwritten or duplicated silently, and Ctrl-C saves the run."""
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from omnireset_core.policy import export_policy, new_metadata
from omnireset_core.policy.vision import mlp
from omnireset_core.spec.contract import default_actor_observation
from omnireset_training.cli import main

TOY = ["--scale", "toy", "--threads", "1"]


def _one_line_error(capsys, needle: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("omnireset-train: error:") and needle in err[0], err
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("flag,value,needle", [("--iterations", "0", "max_iterations"),
                                               ("--num-envs", "0", "num_envs"),
                                               ("--steps-per-env", "0", "num_steps_per_env")])
def test_zero_is_refused_not_replaced_by_the_default(tmp_path, capsys, flag, value, needle):
    assert main(["train", *TOY, "--out", str(tmp_path / "run"), flag, value]) == 2
    _one_line_error(capsys, needle)


def test_a_missing_file_or_bad_yaml_is_one_line(tmp_path, capsys):
    assert main(["train", *TOY, "--out", str(tmp_path / "a"), "--config", str(tmp_path / "none.yaml")]) == 2
    _one_line_error(capsys, "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ppo: {learning_rat: 0.1}\n")
    assert main(["train", *TOY, "--out", str(tmp_path / "b"), "--config", str(bad)]) == 2
    _one_line_error(capsys, "learning_rat")
    assert main(["evaluate", *TOY, "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    _one_line_error(capsys, "nope.pt")


def test_existing_run_is_not_overwritten_and_resume_continues_to_the_total(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TOY, "--out", str(run), "--iterations", "2"]) == 0
    capsys.readouterr()
    assert main(["train", *TOY, "--out", str(run), "--iterations", "2"]) == 2
    _one_line_error(capsys, "already holds a run")
    # resume from iteration 0 to a total of 3: iterations 1 and 2 again, each row once
    assert main(["train", *TOY, "--out", str(run), "--resume", str(run / "model_0.pt"), "--iterations", "3",
                 "--resets", str(run / "toy_resets")]) == 0
    rows = [json.loads(line)["iteration"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows == [0, 1, 2]
    capsys.readouterr()
    assert main(["train", *TOY, "--out", str(run), "--resume", str(run / "model_2.pt"), "--iterations", "3",
                 "--resets", str(run / "toy_resets")]) == 2
    _one_line_error(capsys, "already at iteration 2")
    assert main(["train", *TOY, "--out", str(run), "--iterations", "1", "--overwrite"]) == 0
    assert [json.loads(line)["iteration"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0]
    assert not (run / "model_2.pt").exists()


def test_evaluate_refuses_a_policy_of_another_task(tmp_path, capsys):
    obs = default_actor_observation()
    path = export_policy(mlp(obs.dim, (8,), 7), tmp_path / "drawer.pt",
                         new_metadata("state", "drawer", obs, {"test": True}))
    assert main(["evaluate", *TOY, "--checkpoint", str(path), "--episodes", "1"]) == 2
    _one_line_error(capsys, "'drawer'")


def test_ctrl_c_saves_the_iteration_and_says_how_to_resume(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "omnireset_training.cli", "train", *TOY, "--out", str(run),
                             "--iterations", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ((run / "metrics.jsonl").exists() and (run / "metrics.jsonl").read_text().count("\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["iteration"]
    saved = run / f"model_{last}.pt"
    assert saved.exists() and f"--resume {saved}" in err
    assert "Traceback" not in err
    torch.load(saved, weights_only=False)  # a complete checkpoint
