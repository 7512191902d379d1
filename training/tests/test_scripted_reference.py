"""The privileged scripted peg reference: the bundled checkpoint is what the script makes, loads as
a labelled state policy, and picks and inserts the peg in the vectorised twin (training physics
and randomisation) from the demo's kind of start."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from omnireset_core.policy import ExpectedSpec, PolicyRuntime
from omnireset_core.policy.scripted import SCRIPTED_NOTE, ScriptedPegPolicy
from omnireset_sim.config import CellConfig
from omnireset_training.env_config import EnvConfig
from omnireset_training.mujoco_env import OmniResetEnv
from omnireset_training.rl.runner import evaluate_policy

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "checkpoints" / "peg_scripted_reference.pt"


class TableStarts:
    """The demo's start: home arm, open gripper, the upright peg near its initial pose, any yaw."""

    types = ("reaching",)

    def sample(self, reset_type, n, rng):
        cell = CellConfig()
        peg = np.tile(np.r_[cell.peg.initial_pose_b.pos_m, 1.0, 0.0, 0.0, 0.0], (n, 1))
        peg[:, :2] += rng.uniform(-0.03, 0.03, (n, 2))
        yaw = rng.uniform(-np.pi, np.pi, n)
        peg[:, 3], peg[:, 6] = np.cos(yaw / 2), np.sin(yaw / 2)
        hole = np.tile(np.r_[cell.hole.pose_b.pos_m, cell.hole.pose_b.quat_wxyz], (n, 1))
        return {"q_arm_rad": np.tile(cell.arm.home_q_rad, (n, 1)), "gripper_closed": np.zeros(n, bool),
                "insertive_pose_b": peg, "receptive_pose_b": hole}


def test_bundled_checkpoint_is_the_scripts_labelled_reference(tmp_path):
    runtime = PolicyRuntime.load(BUNDLED, ExpectedSpec.state("peg"))
    assert runtime.metadata.notes.startswith(SCRIPTED_NOTE)
    fresh = tmp_path / "scripted.pt"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_scripted_checkpoint.py"), "--output", str(fresh)],
                   check=True, capture_output=True)
    again = PolicyRuntime.load(fresh, ExpectedSpec.state("peg"))
    obs = torch.randn(16, runtime.metadata.observation.dim) * 0.1
    assert torch.allclose(runtime.module(obs), again.module(obs))


def test_scripted_reference_inserts_the_peg_from_the_table(tmp_path):
    env = OmniResetEnv(EnvConfig(num_envs=8, physics_workers=1, reset_probabilities={"reaching": 1.0}, seed=5), TableStarts())
    module = torch.jit.load(str(BUNDLED))
    eager = ScriptedPegPolicy()
    obs = env.get_observations()["policy"]
    assert torch.allclose(module(obs), eager(obs), atol=1e-5)  # the trace kept every branch
    rate = evaluate_policy(lambda o: module(o["policy"]), env, 8)
    env.close()
    assert rate >= 0.75, rate
