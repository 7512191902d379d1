"""The Isaac Lab backend on CPU (run with the Isaac Lab environment: ``make test-isaaclab``).

Each Isaac Lab run is its own process, as users run it (one simulation per process).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from omnireset_core.policy import ExpectedSpec, PolicyRuntime
from omnireset_training.rl.config import TrainConfig
from omnireset_training.export import load_actor
from omnireset_training.isaaclab.assets import MissingAssetError, build_usd_assets, usd_paths

PY = sys.executable
# Free motion and a held peg: the two simulators agree to micrometres over 3 s (the trajectories
# are identical up to float32 storage in Isaac Lab). A peg settling into the fixture: contact
# resolution of the initial penetration differs by up to a few mm (MuJoCo C vs MuJoCo-Warp).
TOLERANCE_FREE_M = 1e-4
TOLERANCE_CONTACT_M = 5e-3


def run(args, cwd, timeout=900):
    done = subprocess.run([PY, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_missing_assets_fail_with_the_command_to_make_them(tmp_path):
    with pytest.raises(MissingAssetError, match="omnireset-train isaaclab-assets"):
        usd_paths(tmp_path)


def test_assets_are_generated_without_download(tmp_path):
    paths = build_usd_assets(root=tmp_path)
    assert set(paths) == {"robot", "insertive", "receptive", "table"}
    text = paths["robot"].parent.joinpath("Payload", "Physics.usda").read_text()
    assert text.count("mjc:gravcomp") == 11  # every robot body compensates gravity, as the twin
    assert "mjc:contype" in text


@pytest.mark.parametrize("reset_type, action_scale, tolerance", [
    ("stable_grasp", 1.0, TOLERANCE_FREE_M),
    ("reaching", 1.0, TOLERANCE_FREE_M),
    ("near_goal", 0.0, TOLERANCE_CONTACT_M),
])
def test_parity_with_the_mujoco_backend(tmp_path, reset_type, action_scale, tolerance):
    out = tmp_path / "parity.json"
    run(["omnireset_training.isaaclab.parity", "--reset-type", reset_type, "--steps", "20",
         "--num-envs", "2", "--action-scale", str(action_scale), "--out", str(out)], tmp_path)
    errors = json.loads(out.read_text())["max_error_m"]
    assert errors["tcp_pos_b_m"] < tolerance, errors
    assert errors["insertive_pos_b_m"] < tolerance, errors


def test_the_action_term_never_leaves_the_envs_device(tmp_path):
    """FK, Jacobian and OSC run in torch on the env's device: a host copy inside the action term
    (per policy step or per physics step) fails the run."""
    done = subprocess.run([PY, str(Path(__file__).parent / "stay_on_device.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "STEPS 3" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_critic_sees_the_friction_the_material_event_drew(tmp_path):
    done = subprocess.run([PY, str(Path(__file__).parent / "critic_friction.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "FRICTION OK" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]


def test_train_resume_export_and_run_in_the_twin(tmp_path):
    common = ["omnireset_training.cli", "train", "--backend", "isaaclab", "--num-envs", "4", "--steps-per-env", "8",
              "--resets", "toy:8", "--out", "run"]
    run(common + ["--iterations", "2"], tmp_path)
    run(common + ["--iterations", "1", "--resume", "run/model_1.pt"], tmp_path)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1, 2]  # resumed where it stopped
    assert all(torch.isfinite(torch.tensor(r["mean_return"])) for r in records if "mean_return" in r)
    run(["omnireset_training.cli", "export", "--checkpoint", "run/model_2.pt"], tmp_path)
    runtime = PolicyRuntime.load(tmp_path / "run" / "policy.pt", ExpectedSpec.state("peg"))
    cfg = TrainConfig.from_dict(yaml.safe_load((tmp_path / "run" / "config.yaml").read_text()))
    actor = load_actor(tmp_path / "run" / "model_2.pt", cfg)
    obs = torch.randn(16, runtime.metadata.observation.dim)
    with torch.no_grad():
        assert torch.allclose(runtime.module(obs), actor.mlp(actor.obs_normalizer(obs)), atol=1e-6)
    done = run(["omnireset_training.cli", "evaluate", "--checkpoint", "run/policy.pt", "--episodes", "2",
                "--num-envs", "2"], tmp_path)
    result = json.loads((tmp_path / "run" / "evaluate.json").read_text())
    assert result["episodes"] == 2 and 0.0 <= result["success_reaching"] <= 1.0, done.stdout


def test_two_gloo_ranks_train_isaac_lab_in_step_and_only_rank_0_writes(tmp_path):
    """The multi-GPU path on CPU: torchrun, two ranks, gloo; the run fails if the ranks' parameters
    differ at the end. Rank 0 alone writes; its checkpoint exports and loads in the runtime."""
    done = subprocess.run([PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "omnireset_training.cli", "train", "--backend", "isaaclab", "--distributed",
                           "--num-envs", "2", "--steps-per-env", "4", "--iterations", "2", "--resets", "toy:8",
                           "--out", "run"], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("checkpoint:") == 1, done.stdout[-3000:]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1] and not list((tmp_path / "run").glob("rank_*"))
    run(["omnireset_training.cli", "export", "--checkpoint", "run/model_1.pt"], tmp_path)
    assert PolicyRuntime.load(tmp_path / "run" / "policy.pt", ExpectedSpec.state("peg")).metadata.task == "peg"
