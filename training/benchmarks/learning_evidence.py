"""Learning evidence on this CPU (long runs; not a test). Writes curves as PNG and the raw metrics.

(a) ``near_goal``: peg insertion trained and evaluated from near-goal resets only. Reference line:
    the success of holding still (half of the near-goal resets start assembled).
(b) ``mix``: the full reset mix (1/4 per type) against reaching-only resets, same budget, both
    evaluated from reaching resets (the full task), as in the paper's comparison.

    python training/benchmarks/learning_evidence.py --experiment near_goal --iterations 300 --out outputs/evidence
    python training/benchmarks/learning_evidence.py --experiment mix --iterations 600 --out outputs/evidence \
        --resets <dataset folder from the reset generator>

Budget guide (2 cores, 256 envs x 32 steps = 8192 transitions per iteration): about 4-6 s per
iteration, so 300 iterations ~ 25 min and 2.5 M transitions. The authors reach 0.98 on the peg
after ~1000 updates of 2.1 M transitions each; expect (a) to move within this budget and (b)
to show the gap only at much larger budgets.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import matplotlib
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from omnireset_training.cli import write_config  # noqa: E402
from omnireset_training.env_config import EnvConfig  # noqa: E402
from omnireset_training.mujoco_env import OmniResetEnv  # noqa: E402
from omnireset_training.reset_source import RESET_TYPES, load_resets  # noqa: E402
from omnireset_training.rl.config import TrainConfig, cpu_profile  # noqa: E402
from omnireset_training.rl.runner import eval_env_config, evaluate_policy, hold_still_actions, make_runner  # noqa: E402
from omnireset_training.toy_resets import make_toy_resets  # noqa: E402


def run(name: str, cfg: TrainConfig, resets, out: Path, eval_type: str, final_episodes: int | None = None) -> list[dict]:
    folder = out / name
    write_config(cfg, folder)
    runner = make_runner(cfg, resets, folder, eval_reset_type=eval_type)
    t0 = time.time()
    runner.learn(cfg.max_iterations, init_at_random_ep_len=cfg.random_initial_episode_length)
    if runner.stopped_by:
        print(f"{name}: stopped by {runner.stopped_by} after iteration {runner.current_learning_iteration}")
    final = runner.evaluate(final_episodes)
    history = runner.history
    done = runner.current_learning_iteration + 1
    history.append({"iteration": done, "eval_success": final, "eval_episodes": final_episodes or cfg.eval_episodes,
                    "wall_s": time.time() - t0, "env_steps": done * cfg.ppo.num_steps_per_env * cfg.env.num_envs})
    print(f"{name}: {done} iterations in {time.time() - t0:.0f} s, final {eval_type} success {final:.3f}")
    return history


def hold_still_success(cfg: EnvConfig, resets, reset_type: str, episodes: int) -> float:
    env = OmniResetEnv(eval_env_config(cfg, episodes, reset_type), resets)
    return evaluate_policy(lambda obs: hold_still_actions(env), env, episodes)


def plot(curves: dict[str, list[dict]], keys: dict[str, str], title: str, path: Path, reference=None) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, history in curves.items():
        key = keys[label]
        pts = [(r["env_steps"], r[key]) for r in history if key in r]
        if pts:
            ax.plot(*zip(*pts), marker="o" if len(pts) < 30 else None, label=f"{label} ({key})")
    if reference is not None:
        ax.axhline(reference[1], color="gray", ls="--", label=reference[0])
    ax.set_xlabel("environment steps")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def replot_near_goal(out: Path, resets, args) -> None:
    history = [json.loads(line) for line in (out / "near_goal_only" / "metrics.jsonl").read_text().splitlines()]
    cfg = replace(EnvConfig(num_envs=args.num_envs, seed=args.seed), reset_probabilities={"near_goal": 1.0})
    still = hold_still_success(cfg, resets, "near_goal", args.eval_episodes)
    plot({"near-goal resets": history, "near-goal resets ": history},
         {"near-goal resets": "eval_success", "near-goal resets ": "success_near_goal"},
         f"(a) peg insertion from near-goal resets ({len(history)} iterations)", out / "near_goal.png",
         ("hold still", still))
    evals = [(r["iteration"], r["eval_success"]) for r in history if "eval_success" in r]
    summary = {"iterations": len(history), "env_steps": history[-1]["env_steps"], "hold_still_success": still,
               "evaluations": evals}
    (out / "summary_replot.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


def with_overrides(cfg: TrainConfig, assignments: list[str]) -> TrainConfig:
    """``section.field=value`` assignments (values parsed as YAML) applied to ``cfg``."""
    data = cfg.to_dict()
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise SystemExit(f"--set {assignment!r}: expected KEY=VALUE")
        *path, name = key.split(".")
        node = data
        for part in path:
            node = node[part]
        if name not in node:
            raise SystemExit(f"--set {assignment!r}: no field {name!r} in {'.'.join(path) or 'TrainConfig'}")
        node[name] = yaml.safe_load(value)
    return TrainConfig.from_dict(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", choices=("near_goal", "mix", "both"), default="both")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps-per-env", type=int, default=32)
    parser.add_argument("--eval-interval", type=int, default=25)
    parser.add_argument("--eval-episodes", type=int, default=64)
    parser.add_argument("--resets", help="reset dataset folder (default: toy fixture, 256 states per type)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-hold-steps", type=int, default=1,
                        help="gSDE exploration noise held for this many steps (1: fresh every step, as the authors)")
    parser.add_argument("--profile", choices=("cpu", "paper"), default="cpu",
                        help="cpu: rl.config.CPU_PROFILE; paper: the authors' settings at this batch")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one TrainConfig field after the profile, e.g. ppo.gripper_init_bias=-0.5")
    parser.add_argument("--final-episodes", type=int, default=256, help="episodes of the evaluation after training")
    parser.add_argument("--out", default="outputs/evidence")
    parser.add_argument("--replot", action="store_true",
                        help="plot (a) from the metrics already in --out (e.g. of an interrupted run) instead of training")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resets = load_resets(args.resets) if args.resets else make_toy_resets(256, seed=args.seed)
    if args.replot:
        replot_near_goal(out, resets, args)
        return
    base = TrainConfig(max_iterations=args.iterations, eval_interval=args.eval_interval, eval_episodes=args.eval_episodes,
                       seed=args.seed, save_interval=max(1, min(50, args.iterations // 4)))
    if args.profile == "cpu":
        base = cpu_profile(base)
    base = with_overrides(base, args.set)
    base = replace(base, env=replace(base.env, num_envs=args.num_envs, seed=args.seed),
                   ppo=replace(base.ppo, num_steps_per_env=args.steps_per_env, noise_hold_steps=args.noise_hold_steps))
    summary = {}
    if args.experiment in ("near_goal", "both"):
        cfg = replace(base, env=replace(base.env, reset_probabilities={"near_goal": 1.0}))
        still = hold_still_success(cfg.env, resets, "near_goal", args.eval_episodes)
        history = run("near_goal_only", cfg, resets, out, eval_type="near_goal", final_episodes=args.final_episodes)
        plot({"near-goal resets": history, "near-goal resets ": history},
             {"near-goal resets": "eval_success", "near-goal resets ": "success_near_goal"},
             "(a) peg insertion from near-goal resets", out / "near_goal.png", ("hold still", still))
        summary["near_goal"] = {"hold_still_success": still, "final_eval_success": history[-1]["eval_success"]}
    if args.experiment in ("mix", "both"):
        curves = {}
        for label, probs in (("full reset mix", {t: 0.25 for t in RESET_TYPES}), ("reaching only", {"reaching": 1.0})):
            cfg = replace(base, env=replace(base.env, reset_probabilities=probs))
            curves[label] = run(label.replace(" ", "_"), cfg, resets, out, eval_type="reaching",
                                final_episodes=args.final_episodes)
        plot(curves, {k: "eval_success" for k in curves}, "(b) evaluated from reaching resets", out / "mix_vs_reaching.png")
        summary["mix"] = {k: v[-1]["eval_success"] for k, v in curves.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
