"""Seed selection on real TorchScript checkpoints (the bundled scripted reference and untrained
placeholder) in the MuJoCo env, from near-goal starts, short episodes."""
import json
from pathlib import Path

import pytest

from omnireset_core.policy import export_policy, new_metadata
from omnireset_core.policy.vision import mlp
from omnireset_core.spec.contract import default_actor_observation
from omnireset_training.cli import main

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
SCRIPTED, PLACEHOLDER = CHECKPOINTS / "peg_scripted_reference.pt", CHECKPOINTS / "peg_state_placeholder.pt"
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")


@pytest.fixture
def short(tmp_path):
    config = tmp_path / "short.yaml"
    config.write_text("env:\n  episode_length_s: 3.0\n  num_envs: 8\n")
    return ["--scale", "toy", "--threads", "1", "--config", str(config), "--reset-type", "near_goal",
            "--episodes", "8"]


def test_ranks_by_success_under_noise_with_the_clean_success_beside(tmp_path, short, capsys):
    out = tmp_path / "sel"
    assert main(["select-seeds", *short, "--checkpoint", str(PLACEHOLDER), "--checkpoint", str(SCRIPTED),
                 "--noise-std", "2.0", "--out", str(out)]) == 0
    report = json.loads((out / "seed_selection.json").read_text())
    rows = report["ranking"]
    assert [r["noisy_success"] for r in rows] == sorted((r["noisy_success"] for r in rows), reverse=True)
    scripted = next(r for r in rows if r["checkpoint"] == str(SCRIPTED))
    placeholder = next(r for r in rows if r["checkpoint"] == str(PLACEHOLDER))
    assert scripted["clean_success"] > placeholder["clean_success"]
    assert scripted["noisy_success"] < scripted["clean_success"]  # the noise really is applied
    assert report["noise_std"] == 2.0 and report["episodes"] == 8 and report["reset_type"] == "near_goal"
    assert (out / "seed_selection.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "rank" in printed and "noise 2" in printed and str(SCRIPTED) in printed


def test_same_noise_and_starts_for_every_checkpoint(tmp_path, short):
    """The same checkpoint twice under different names scores exactly the same."""
    copy = tmp_path / "again.pt"
    copy.write_bytes(SCRIPTED.read_bytes())
    out = tmp_path / "sel"
    assert main(["select-seeds", *short, "--checkpoint", str(SCRIPTED), "--checkpoint", str(copy),
                 "--noise-std", "1.0", "--out", str(out)]) == 0
    a, b = json.loads((out / "seed_selection.json").read_text())["ranking"]
    assert (a["noisy_success"], a["clean_success"]) == (b["noisy_success"], b["clean_success"])


def test_bad_input_is_one_line(tmp_path, short, capsys):
    obs = default_actor_observation()
    drawer = export_policy(mlp(obs.dim, (8,), 7), tmp_path / "drawer.pt", new_metadata("state", "drawer", obs, {}))
    for extra, needle in ((["--checkpoint", str(drawer)], "'drawer'"),
                          (["--checkpoint", str(SCRIPTED), "--checkpoint", str(SCRIPTED)], "twice"),
                          (["--checkpoint", str(SCRIPTED), "--noise-std", "-1"], "--noise-std"),
                          (["--checkpoint", str(tmp_path / "none.pt")], "no such file")):
        assert main(["select-seeds", *short, *extra, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("omnireset-train: error:") and needle in err[0], err
