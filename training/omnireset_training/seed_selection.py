"""Seed selection: which of several trained policies is the most robust, by success under heavy
action noise (the method's rule: Gaussian noise of std 2.0 added to the raw actions), every
policy on the same starts with the same noise; success without noise is reported beside it."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from omnireset_training.rl.runner import evaluate_policy

NOISE_STD = 2.0  # on the raw (unscaled) actions, as the authors select seeds


def with_action_noise(policy: Callable, std: float, generator: torch.Generator) -> Callable:
    """``policy`` with N(0, std^2) added to every action component (none when std is 0)."""
    if std == 0.0:
        return policy

    def noisy(obs):
        actions = policy(obs)
        noise = torch.randn(actions.shape, generator=generator, dtype=torch.float64)
        return actions.to(torch.float64) + std * noise

    return noisy


def rank(policies: dict[str, Callable], make_env: Callable, episodes: int, noise_std: float = NOISE_STD,
         seed: int = 0, progress: Callable[[str], None] = lambda name: None) -> list[dict]:
    """Rows sorted best first: name, success under noise, success without; every policy gets a
    fresh env from ``make_env()`` (same starts) and a noise stream from the same ``seed``."""
    rows = []
    for name, policy in policies.items():
        progress(name)
        results = {}
        for key, std in (("noisy_success", noise_std), ("clean_success", 0.0)):
            env = make_env()
            try:
                noisy = with_action_noise(policy, std, torch.Generator().manual_seed(seed))
                results[key] = evaluate_policy(noisy, env, episodes)
            finally:
                env.close()
        rows.append({"checkpoint": name, **results})
    return sorted(rows, key=lambda r: (-r["noisy_success"], -r["clean_success"], r["checkpoint"]))


def table(rows: list[dict], noise_std: float, episodes: int) -> str:
    width = max(len("checkpoint"), *(len(r["checkpoint"]) for r in rows))
    lines = [f"{'rank':>4}  {'checkpoint':<{width}}  {f'noise {noise_std:g}':>9}  {'no noise':>8}"]
    lines += [f"{i:>4}  {r['checkpoint']:<{width}}  {r['noisy_success']:9.3f}  {r['clean_success']:8.3f}"
              for i, r in enumerate(rows, 1)]
    lines.append(f"success over {episodes} episodes each, the same starts and noise for every checkpoint")
    return "\n".join(lines)


def plot(rows: list[dict], noise_std: float, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [Path(r["checkpoint"]).name for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2.0), 3.5))
    ax.bar([i - 0.2 for i in x], [r["noisy_success"] for r in rows], 0.4, label=f"action noise std {noise_std:g}")
    ax.bar([i + 0.2 for i in x], [r["clean_success"] for r in rows], 0.4, label="no noise")
    ax.set_xticks(list(x), names, rotation=20, ha="right")
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("success")
    ax.set_title("seed selection: ranked by success under action noise")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
