"""The whole pipeline at toy scale through the CLI: tiny reset datasets from the reset generator
(the geometric fixture where the generator is not installed), a few PPO iterations, evaluation
from reaching resets, export, reload in the deployment runtime; then resume and export/evaluate
from the written files."""
import json

import yaml

from omnireset_core.policy import ExpectedSpec, PolicyRuntime
from omnireset_training.cli import main


def test_toy_pipeline(tmp_path):
    out = tmp_path / "run"
    assert main(["pipeline", "--scale", "toy", "--out", str(out), "--threads", "1"]) == 0
    summary = json.loads((out / "pipeline.json").read_text())
    assert summary["export_max_abs_diff"] < 1e-5
    assert 0.0 <= summary["eval"]["success_reaching"] <= 1.0
    train = out / "train"
    assert (train / "config.yaml").exists() and (out / "policy.config.yaml").exists()
    assert yaml.safe_load((train / "config.yaml").read_text())["env"]["num_envs"] == 16
    records = [json.loads(line) for line in (train / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1]
    assert list(train.glob("events.out.tfevents*"))
    runtime = PolicyRuntime.load(out / "policy.pt", ExpectedSpec.state("peg"))
    assert runtime.metadata.task == "peg"
    resets = out / "resets" if (out / "resets" / "manifest.json").exists() else train / "toy_resets"
    assert summary["resets"] in (str(resets), "toy fixture")

    # resume to a total of 3 iterations from the last checkpoint, then export and evaluate from files
    resumed = tmp_path / "resumed"
    assert main(["train", "--scale", "toy", "--out", str(resumed), "--resume", str(train / "model_1.pt"),
                 "--iterations", "3", "--threads", "1", "--resets", str(resets)]) == 0
    assert (resumed / "model_2.pt").exists()
    assert main(["export", "--checkpoint", str(resumed / "model_2.pt")]) == 0
    assert main(["evaluate", "--checkpoint", str(resumed / "policy.pt"), "--episodes", "2",
                 "--resets", str(resets)]) == 0
    assert json.loads((resumed / "evaluate.json").read_text())["episodes"] == 2
