#!/usr/bin/env python3
"""Write checkpoints/peg_scripted_reference.pt: the privileged scripted pick-and-insert
(omnireset_core.policy.scripted) as a state-policy checkpoint of task peg, traced to TorchScript.

It reads the true object poses (as the state expert does) and is NOT learned: its metadata
``notes`` start with "scripted reference, not learned", and the policy node, its diagnostics and
the demo summary say so. Geometry (hole depth, peg length) comes from config/cell.yaml.

Usage: .venv/bin/python scripts/make_scripted_checkpoint.py [--output PATH] [--cell-config YAML]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from omnireset_core.policy import export_policy, new_metadata
from omnireset_core.policy.export import quiet_torchscript
from omnireset_core.policy.scripted import SCRIPTED_NOTE, PegScriptGeometry, ScriptedPegPolicy
from omnireset_core.spec.contract import default_actor_observation
from omnireset_sim.config import load_cell_config

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "checkpoints" / "peg_scripted_reference.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--cell-config", type=Path, default=REPO / "config" / "cell.yaml")
    args = parser.parse_args()

    cell = load_cell_config(args.cell_config)
    observation = default_actor_observation()
    policy = ScriptedPegPolicy(observation, geometry=PegScriptGeometry.from_cell(cell)).eval()
    example = torch.zeros(2, observation.dim)
    with quiet_torchscript(), torch.no_grad():
        traced = torch.jit.trace(policy, example, check_trace=False)
    notes = (f"{SCRIPTED_NOTE}: privileged pick-and-insert on the true object poses "
             "(omnireset_core.policy.scripted); a reference, not a trained policy")
    metadata = new_metadata("state", "peg", observation, policy.describe(), normalizer_folded=False, notes=notes)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    path = export_policy(traced, args.output, metadata)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): {notes}")


if __name__ == "__main__":
    main()
