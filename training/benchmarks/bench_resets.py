"""Reset-generation throughput on this machine: grasps, partial assemblies, then valid states per
second for each reset type (default settings: 2 ms physics, 2 s settle per candidate).

    python benchmarks/bench_resets.py --states-per-type 1000 [--out DIR] [--threads N]

Writes ``bench_resets.json`` and the coverage plots into the dataset folder and prints a table
with the projected time for 10 000 states per type.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

from omnireset_sim.config import load_cell_config
from omnireset_training import datasets
from omnireset_training.resets.config import ResetGenerationConfig
from omnireset_training.resets.generate import generate_resets
from omnireset_training.resets.plots import plot_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states-per-type", type=int, default=1000)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=0, help="0: one per CPU core")
    parser.add_argument("--out", help="dataset folder (default: a temporary one)")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()

    config = ResetGenerationConfig(states_per_type=args.states_per_type, shard_size=args.shard_size)
    config = config.replace(physics=dataclasses.replace(config.physics, num_threads=args.threads))
    folder = Path(args.out or tempfile.mkdtemp(prefix="bench_resets_"))
    t0 = time.perf_counter()
    summary = generate_resets(folder, config, load_cell_config(), progress=args.progress)
    wall_s = time.perf_counter() - t0
    manifest = datasets.read_manifest(folder)
    result = {
        "cpu_count": os.cpu_count(),
        "threads": args.threads or os.cpu_count(),
        "states_per_type": args.states_per_type,
        "wall_s": round(wall_s, 1),
        "grasps": manifest["files"][datasets.GRASPS_FILE]["info"],
        "partial_assemblies": manifest["files"][datasets.PARTIAL_ASSEMBLIES_FILE]["info"],
        "types": {},
    }
    print(f"folder: {folder}   cpus: {os.cpu_count()}   wall: {wall_s:.1f} s")
    g, p = result["grasps"], result["partial_assemblies"]
    print(f"grasps: {manifest['files'][datasets.GRASPS_FILE]['count']} in {g['seconds']:.1f} s "
          f"(success rate {g['success_rate']:.2f})")
    print(f"partial assemblies: {manifest['files'][datasets.PARTIAL_ASSEMBLIES_FILE]['count']} in "
          f"{p['seconds']:.1f} s ({p['episodes']} episodes)")
    print(f"{'type':<14}{'valid/s':>9}{'valid rate':>12}{'10k in [min]':>14}  main rejections")
    for reset_type, stats in summary["types"].items():
        shards = [e["info"] for e in manifest["shards"].values() if e["type"] == reset_type and "info" in e]
        candidates = sum(s["candidates"] for s in shards)
        seconds = sum(s["seconds"] for s in shards)
        states = sum(e["count"] for e in manifest["shards"].values() if e["type"] == reset_type)
        rejections: dict[str, int] = {}
        for s in shards:
            for k, v in s["rejections"].items():
                rejections[k] = rejections.get(k, 0) + v
        rate = states / seconds if seconds else float("nan")
        top = ", ".join(f"{k} {v / max(candidates, 1):.0%}" for k, v in
                        sorted(rejections.items(), key=lambda kv: -kv[1])[:3] if v)
        result["types"][reset_type] = {"valid_per_s": round(rate, 2), "candidates": candidates,
                                       "seconds": round(seconds, 1), "states": states,
                                       "valid_rate": round(sum(s["valid_rate"] * s["candidates"] for s in shards)
                                                           / max(candidates, 1), 3),
                                       "minutes_for_10k": round(10_000 / rate / 60, 1), "rejections": rejections}
        r = result["types"][reset_type]
        print(f"{reset_type:<14}{rate:>9.1f}{r['valid_rate']:>12.2f}{r['minutes_for_10k']:>14.1f}  {top}")
    result["plots"] = [str(p) for p in plot_dataset(folder)]
    (folder / "bench_resets.json").write_text(json.dumps(result, indent=1) + "\n")
    print("plots:", *result["plots"], sep="\n  ")


if __name__ == "__main__":
    main()
