"""One figure of why a run does or does not learn, from its metrics.jsonl (not a test):
success per kind of near-goal start and the let-go rate, the reward terms, the value function's
explained variance, and the action std per dimension, against environment steps.

    python training/benchmarks/plot_diagnostics.py RUN/metrics.jsonl --out RUN/diagnostics.png [--title T]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def smooth(values, width: int = 5) -> np.ndarray:
    """Trailing mean over ``width`` iterations (no edge effects at the newest rows)."""
    values = np.asarray(values, dtype=float)
    return np.array([np.nanmean(values[max(0, i - width + 1):i + 1]) for i in range(len(values))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.metrics.read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"{args.metrics}: no rows")
    steps = np.array([r["env_steps"] for r in rows]) / 1e6

    def series(key):
        return np.array([r.get(key, np.nan) for r in rows], dtype=float)

    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), constrained_layout=True)
    ax = axes[0, 0]
    for key, label in (("success_near_goal", "all near-goal starts (training, stochastic)"),
                       ("NearGoal_success_assembled", "started assembled"),
                       ("NearGoal_success_held", "started held, not assembled"),
                       ("NearGoal_success_open", "started open, not assembled"),
                       ("NearGoal_let_go_at_step1", "held part let go at step 1")):
        if np.isfinite(series(key)).any():
            ax.plot(steps, smooth(series(key)), label=label, ls="--" if "let_go" in key else "-")
    evals = [(r["env_steps"] / 1e6, r["eval_success"]) for r in rows if "eval_success" in r]
    if evals:
        ax.plot(*zip(*evals), "ko", label="evaluation (deterministic)")
    ax.set(ylim=(-0.02, 1.02), ylabel="rate", title="success per kind of start")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for key in sorted(k for k in rows[-1] if k.startswith("Reward_")):
        ax.plot(steps, smooth(series(key)), label=key[7:])
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set(ylabel="unscaled term, rollout mean", title="reward terms")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    ax.plot(steps, series("explained_variance"), color="tab:purple")
    ax.set(ylim=(-1.0, 1.02), xlabel="environment steps [M]", ylabel="1 - Var(R - V) / Var(R)",
           title="value function explained variance")
    ax = axes[1, 1]
    names = ("x", "y", "z", "rx", "ry", "rz", "gripper")
    for i, name in enumerate(names):
        if np.isfinite(series(f"action_std_{i}")).any():
            ax.plot(steps, series(f"action_std_{i}"), label=name, lw=2 if name == "gripper" else 1)
    ax.set(xlabel="environment steps [M]", ylabel="std [raw action units]", title="action std per dimension")
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(args.title or str(args.metrics))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    plt.close(fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
