"""Command-line entry points of reset generation.

``register(subparsers)`` adds three subcommands to an argparse parser; each sets ``func``, which
takes the parsed arguments and returns an exit code::

    grasps              DIR   grasps.npz (free-floating gripper)
    partial-assemblies  DIR   partial_assemblies.npz
    resets              DIR   grasps, partial assemblies (if missing) and the four reset datasets

All take ``--config YAML`` (any subset of ResetGenerationConfig) and ``--cell-config YAML``
(default: config/cell.yaml); the resolved config is written to ``DIR/generator_config.yaml``.
A rerun with the same config resumes and skips what is complete.
Standalone: ``python -m omnireset_training.resets.cli resets DIR``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import numpy as np

from omnireset_core.tasks import load_task
from omnireset_sim.config import load_cell_config
from omnireset_training.resets.config import RESET_TYPES, load_config


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", help="dataset folder (created if missing)")
    parser.add_argument("--config", help="YAML with generator settings (defaults: the paper's values)")
    parser.add_argument("--cell-config", help="cell YAML (default: config/cell.yaml)")
    parser.add_argument("--seed", type=int, help="overrides the config's seed")
    parser.add_argument("--threads", type=int, help="physics threads (default: one per CPU core)")
    parser.add_argument("--overwrite", action="store_true", help="discard a dataset made with another config")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--no-plots", action="store_true", help="no coverage plots")


def _load(args):
    config = load_config(args.config)
    changes = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.threads is not None:
        changes["physics"] = dataclasses.replace(config.physics, num_threads=args.threads)
    for name, section, field in (("grasp_count", "grasps", "target_count"),
                                 ("partial_count", "partial_assemblies", "target_count")):
        value = getattr(args, name, None)
        if value is not None:
            changes[section] = dataclasses.replace(getattr(config, section), **{field: value})
    for name in ("states_per_type", "shard_size"):
        if getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    return config.replace(**changes), load_cell_config(args.cell_config)


def _plots(args) -> None:
    if not args.no_plots:
        from omnireset_training.resets.plots import plot_dataset

        for path in plot_dataset(args.folder):
            print(f"plot: {path}")


def _run_grasps(args) -> int:
    from omnireset_training.resets.generate import ensure_grasps, prepare_folder

    config, cell = _load(args)
    folder = prepare_folder(args.folder, config, cell, args.overwrite)
    grasps = ensure_grasps(folder, config, cell, not args.no_progress)
    print(f"{len(grasps)} grasps in {folder}")
    _plots(args)
    return 0


def _run_partial(args) -> int:
    from omnireset_training.resets.generate import ensure_partial_assemblies, prepare_folder

    config, cell = _load(args)
    folder = prepare_folder(args.folder, config, cell, args.overwrite)
    poses = ensure_partial_assemblies(folder, config, cell, load_task(config.task), not args.no_progress)
    print(f"{len(poses)} partial assemblies in {folder}")
    _plots(args)
    return 0


def _run_resets(args) -> int:
    from omnireset_training.resets.generate import generate_resets

    config, cell = _load(args)
    types = tuple(args.types) if args.types else RESET_TYPES
    summary = generate_resets(args.folder, config, cell, types, args.overwrite, not args.no_progress)
    print(json.dumps({"generated": len(summary["generated_shards"]), "skipped": len(summary["skipped_shards"]),
                      "types": summary["types"]}, indent=1))
    _plots(args)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("grasps", help="sample antipodal grasps of the insertive object")
    _common(p)
    p.add_argument("--count", dest="grasp_count", type=int, help="grasps to keep (default 1000)")
    p.set_defaults(func=_run_grasps)

    p = subparsers.add_parser("partial-assemblies", help="poses of the insertive object near the goal")
    _common(p)
    p.add_argument("--count", dest="partial_count", type=int, help="poses to keep")
    p.set_defaults(func=_run_partial)

    p = subparsers.add_parser("resets", help="generate (or resume) the four reset datasets")
    _common(p)
    p.add_argument("--states-per-type", type=int, help="valid states per reset type (default 10000)")
    p.add_argument("--shard-size", type=int, help="states per shard file (default 1000)")
    p.add_argument("--grasp-count", dest="grasp_count", type=int, help="grasps to sample if missing")
    p.add_argument("--partial-count", dest="partial_count", type=int, help="partial assemblies if missing")
    p.add_argument("--types", nargs="+", choices=RESET_TYPES, help="only these types (in pipeline order)")
    p.set_defaults(func=_run_resets)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="omnireset-resets", description=__doc__.split("\n\n")[0])
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
