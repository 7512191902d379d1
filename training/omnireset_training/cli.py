"""``omnireset-train``: train, evaluate, export, or run the whole pipeline at a given scale.

Configs: a scale preset (``toy`` for tests, ``cpu`` the CPU defaults), then ``--config`` YAML
(any subset of ``TrainConfig``), then flags. Every command writes its resolved config next to
its outputs. The reset generator's subcommands (``grasps``, ``partial-assemblies``, ``resets``)
are added when ``omnireset_training.resets`` is installed.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

from omnireset_core.config import read_yaml
from omnireset_training.env_config import EnvConfig
from omnireset_training.export import _plain, export_actor, load_actor
from omnireset_training.reset_source import RESET_TYPES, load_resets
from omnireset_training.rl.config import PPOConfig, TrainConfig, cpu_profile

SCALES = ("toy", "cpu", "paper")


def preset(scale: str) -> TrainConfig:
    """toy: wiring, not learning (seconds); cpu: the CPU profile (``rl.config.CPU_PROFILE``);
    paper: the authors' settings at the CPU batch (``--num-envs`` scales it up)."""
    if scale == "toy":
        return TrainConfig(env=EnvConfig(num_envs=16), ppo=PPOConfig(num_steps_per_env=8, num_mini_batches=2),
                           max_iterations=2, save_interval=1, eval_episodes=4)
    if scale == "cpu":
        return cpu_profile()
    if scale == "paper":
        return TrainConfig()
    raise ValueError(f"unknown scale {scale!r}; scales are {SCALES}")


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def resolve_config(args) -> TrainConfig:
    data = preset(args.scale).to_dict()
    if getattr(args, "config", None):
        data = _merge(data, read_yaml(args.config, "training config"))
    cfg = TrainConfig.from_dict(data)
    env, ppo = cfg.env, cfg.ppo
    if getattr(args, "num_envs", None) is not None:
        env = replace(env, num_envs=args.num_envs)
    if getattr(args, "threads", None) is not None:
        env = replace(env, physics_workers=args.threads)
    if getattr(args, "steps_per_env", None) is not None:
        ppo = replace(ppo, num_steps_per_env=args.steps_per_env)
    if getattr(args, "reset_mix", None):
        env = replace(env, reset_probabilities=dict(json.loads(args.reset_mix)))
    cfg = replace(cfg, env=env, ppo=ppo)
    if getattr(args, "iterations", None) is not None:
        cfg = replace(cfg, max_iterations=args.iterations)
    if getattr(args, "seed", None) is not None:
        cfg = replace(cfg, seed=args.seed, env=replace(cfg.env, seed=args.seed))
    return cfg


def write_config(cfg: TrainConfig, folder: Path, name: str = "config.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "w") as f:
        yaml.safe_dump(_plain(cfg.to_dict()), f, sort_keys=False)
    return path


def resets_or_toy(folder: str | None, out: Path | None, seed: int):
    """The reset dataset in ``folder``, else the toy fixture (saved in ``out/toy_resets`` unless
    ``out`` is None)."""
    if folder:
        return load_resets(folder)
    from omnireset_training.toy_resets import make_toy_resets

    resets = make_toy_resets(16, seed=seed)
    if out is not None:
        resets.save(out / "toy_resets")
    return resets


# --- commands ---------------------------------------------------------------------------------------
def cmd_train(args) -> Path | None:
    """Train; under torchrun (--distributed) every rank runs this, rank 0 writes."""
    from omnireset_training.rl import distributed

    rank = _rank(args)
    try:
        return _train(args, rank)
    finally:
        distributed.shutdown()


def _train(args, rank) -> Path | None:
    from omnireset_training.rl.distributed import rank_config, rank_device
    from omnireset_training.rl.runner import make_runner

    cfg = resolve_config(args)
    out = Path(args.out)
    if rank.is_main:
        previous = sorted(out.glob("model_*.pt")) + [p for p in (out / "metrics.jsonl",) if p.exists()]
        if previous and not args.resume and not args.overwrite:
            raise UsageError(f"{out} already holds a run ({previous[0].name}); pass --resume {out}/model_<it>.pt "
                             f"to continue it, --overwrite to replace it, or another --out")
        if args.overwrite and not args.resume:
            for path in previous:
                path.unlink()
        write_config(cfg, out)
    ranked = rank_config(cfg, rank)
    if getattr(args, "backend", "mujoco") == "isaaclab":
        from omnireset_training.isaaclab.train import train

        final = train(ranked, args.resets or "toy:16", out, args.resume, rank_device(args.device, rank), rank)
        if rank.is_main:
            print(f"checkpoint: {final} (evaluate it in the MuJoCo twin: omnireset-train evaluate --checkpoint {final})")
        return final
    if args.resume and not Path(args.resume).is_file():
        raise UsageError(f"--resume {args.resume}: no such checkpoint")
    if getattr(args, "device", "cpu") != "cpu":
        raise UsageError(f"--device {args.device}: the MuJoCo backend trains on the CPU (use --backend isaaclab)")
    resets = resets_or_toy(args.resets, out if rank.is_main else None, cfg.seed)  # the same on every rank
    runner = make_runner(ranked, resets, out if rank.is_main else None)
    if args.resume:
        runner.load(args.resume)
        if rank.is_main:
            drop_metrics_from(out / "metrics.jsonl", runner.next_iteration)
    remaining = cfg.max_iterations - runner.next_iteration  # --iterations is the run's total
    if remaining <= 0:
        raise UsageError(f"{args.resume} is already at iteration {runner.next_iteration - 1}; "
                         f"--iterations is the total ({cfg.max_iterations}), raise it to train on")
    runner.learn(remaining, init_at_random_ep_len=cfg.random_initial_episode_length and not args.resume,
                 progress=rank.is_main)
    final = out / f"model_{runner.current_learning_iteration}.pt"
    if runner.stopped_by:
        if rank.is_main:
            print(f"stopped by {runner.stopped_by} after iteration {runner.current_learning_iteration}; saved {final} "
                  f"(continue with --resume {final})", file=sys.stderr)
        raise KeyboardInterrupt
    if not rank.is_main:
        return None
    if cfg.eval_episodes:
        rate = runner.evaluate()
        (out / "eval.json").write_text(json.dumps({"success_reaching": rate, "episodes": cfg.eval_episodes,
                                                     "checkpoint": final.name}, indent=2))
        print(f"evaluation from reaching resets: success {rate:.3f} over {cfg.eval_episodes} episodes")
    print(f"checkpoint: {final}")
    return final


def _rank(args):
    """This process's rank: --distributed runs under torchrun; torchrun without it is refused."""
    import os

    from omnireset_training.rl import distributed

    wanted = getattr(args, "distributed", False)
    under_torchrun = "WORLD_SIZE" in os.environ
    if wanted and not under_torchrun:
        raise UsageError("--distributed runs under torchrun (e.g. torchrun --standalone --nproc_per_node=2 "
                         "-m omnireset_training.cli train --distributed ...)")
    if under_torchrun and not wanted and os.environ["WORLD_SIZE"] != "1":
        raise UsageError("started by torchrun with several ranks: only 'train --distributed' runs data-parallel")
    return distributed.from_environment() if wanted else distributed.Rank()


class UsageError(ValueError):
    """A mistake in the command line: reported as one line, exit status 2."""


def drop_metrics_from(path: Path, iteration: int) -> None:
    """Forget the rows of iterations >= ``iteration`` (a resumed run writes them again)."""
    if not path.exists():
        return
    rows = [line for line in path.read_text().splitlines() if line.strip()]
    kept = [line for line in rows if json.loads(line).get("iteration", -1) < iteration]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    tmp.replace(path)


def _config_beside(checkpoint: Path, args) -> TrainConfig:
    """The run's config.yaml next to the checkpoint (else the preset), unless --config; then the flags."""
    args = argparse.Namespace(**vars(args))  # per checkpoint: the caller's args stay as given
    if getattr(args, "config", None) is None and (checkpoint.parent / "config.yaml").exists():
        args.config = str(checkpoint.parent / "config.yaml")
    return resolve_config(args)


def _policy_of(checkpoint: Path, cfg: TrainConfig):
    """``obs -> actions`` of an exported TorchScript policy or a training checkpoint (``model_<it>.pt``,
    loaded with ``cfg``); a policy for another task than ``cfg.env.task`` is refused."""
    from omnireset_core.policy import CheckpointError, read_checkpoint

    if not checkpoint.is_file():
        raise UsageError(f"--checkpoint {checkpoint}: no such file")
    try:
        module, metadata = read_checkpoint(checkpoint)
    except CheckpointError:  # not TorchScript: a training checkpoint
        actor = load_actor(checkpoint, cfg)
        return lambda obs: actor(obs)
    if metadata.task != cfg.env.task:
        raise UsageError(f"{checkpoint} is a policy for task {metadata.task!r}, this evaluation is for "
                         f"{cfg.env.task!r} (set env.task with --config)")
    return lambda obs: module(obs["policy"])


def cmd_evaluate(args) -> float:
    from omnireset_training.mujoco_env import OmniResetEnv
    from omnireset_training.rl.runner import eval_env_config, evaluate_policy

    checkpoint = Path(args.checkpoint)
    cfg = _config_beside(checkpoint, args)
    episodes = args.episodes or cfg.eval_episodes
    policy = _policy_of(checkpoint, cfg)
    out = Path(args.out) if args.out else checkpoint.parent
    env = OmniResetEnv(eval_env_config(cfg.env, episodes), resets_or_toy(args.resets, out, cfg.seed))
    rate = evaluate_policy(policy, env, episodes)
    write_config(cfg, out, "evaluate_config.yaml")
    (out / "evaluate.json").write_text(json.dumps({"success_reaching": rate, "episodes": episodes,
                                                    "checkpoint": str(checkpoint)}, indent=2))
    print(f"success from reaching resets: {rate:.3f} over {episodes} episodes")
    return rate


def cmd_select_seeds(args) -> list[dict]:
    """Rank checkpoints (the seeds of one recipe) by success under action noise, same starts for all."""
    from omnireset_training import seed_selection
    from omnireset_training.mujoco_env import OmniResetEnv
    from omnireset_training.rl.runner import eval_env_config

    checkpoints = [Path(c) for c in args.checkpoint]
    if len(set(checkpoints)) != len(checkpoints):
        raise UsageError("--checkpoint: the same file is given twice")
    if not args.noise_std >= 0.0:
        raise UsageError(f"--noise-std must be >= 0, got {args.noise_std}")
    cfg = _config_beside(checkpoints[0], args)  # every policy runs in this one env
    episodes = args.episodes or cfg.eval_episodes
    if episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {episodes}")
    policies = {str(c): _policy_of(c, replace(_config_beside(c, args), env=cfg.env)) for c in checkpoints}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resets = resets_or_toy(args.resets, out, cfg.seed)
    env_cfg = eval_env_config(cfg.env, episodes, args.reset_type)
    rows = seed_selection.rank(policies, lambda: OmniResetEnv(env_cfg, resets), episodes, args.noise_std, cfg.seed,
                               progress=lambda name: print(f"evaluating {name} ...", flush=True))
    write_config(cfg, out, "select_seeds_config.yaml")
    (out / "seed_selection.json").write_text(json.dumps(
        {"noise_std": args.noise_std, "episodes": episodes, "reset_type": args.reset_type, "ranking": rows}, indent=2))
    seed_selection.plot(rows, args.noise_std, out / "seed_selection.png")
    print(seed_selection.table(rows, args.noise_std, episodes))
    return rows


def cmd_export(args) -> Path:
    checkpoint = Path(args.checkpoint)
    cfg = _config_beside(checkpoint, args)
    out = Path(args.out) if args.out else checkpoint.with_name("policy.pt")
    path = export_actor(load_actor(checkpoint, cfg), out, cfg)
    print(f"exported {path} (config beside it: {path.with_suffix('.config.yaml').name})")
    return path


def cmd_isaaclab_assets(args) -> dict:
    from omnireset_training.isaaclab.assets import build_usd_assets

    paths = build_usd_assets(force=args.force)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return paths


# Reset generation per scale: states per type, grasps, partial assemblies (None: generator defaults).
GENERATION = {"toy": (8, 16, 16), "cpu": (None, None, None)}


def generate_resets(folder: Path, scale: str, seed: int, threads: int | None) -> Path | None:
    """Run the reset generator's ``resets`` command at this scale; None if it is not installed."""
    try:
        from omnireset_training.resets.cli import main as resets_main
    except ImportError:
        return None
    states, grasps, partial = GENERATION[scale]
    argv = ["resets", str(folder), "--seed", str(seed), "--no-plots"]
    for flag, value in (("--states-per-type", states), ("--shard-size", states), ("--grasp-count", grasps),
                        ("--partial-count", partial), ("--threads", threads)):
        if value is not None:
            argv += [flag, str(value)]
    if resets_main(argv) != 0:
        raise SystemExit(f"reset generation failed: {' '.join(argv)}")
    return folder


def cmd_pipeline(args) -> dict:
    """Resets (given folder, else the reset generator at this scale, else the toy fixture) ->
    train -> evaluate -> export -> reload the export in the deployment runtime and check it
    returns the training policy's actions."""
    from omnireset_core.policy import ExpectedSpec, PolicyRuntime

    out = Path(args.out)
    if not args.resets and not args.toy_resets:
        generated = generate_resets(out / "resets", args.scale, args.seed or 0, args.threads)
        args.resets = str(generated) if generated else None
    args.out = str(out / "train")
    final = cmd_train(args)
    assert final is not None  # one process, so rank 0
    export_args = argparse.Namespace(**{**vars(args), "checkpoint": str(final), "out": str(out / "policy.pt"), "config": None})
    policy_path = cmd_export(export_args)
    cfg = resolve_config(argparse.Namespace(**{**vars(args), "config": str(out / "train" / "config.yaml")}))
    runtime = PolicyRuntime.load(policy_path, ExpectedSpec.state(cfg.env.task))
    actor = load_actor(final, cfg)
    obs = torch.randn(8, runtime.metadata.observation.dim)
    with torch.no_grad():
        gap = (runtime.module(obs) - actor.mlp(actor.obs_normalizer(obs))).abs().max().item()
    summary = {"resets": args.resets or "toy fixture", "checkpoint": str(final), "policy": str(policy_path),
               "export_max_abs_diff": gap,
               "eval": json.loads((out / "train" / "eval.json").read_text()) if (out / "train" / "eval.json").exists() else None}
    (out / "pipeline.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    if not gap < 1e-5:
        raise SystemExit(f"exported policy differs from the training policy by {gap}")
    return summary


def _common(p: argparse.ArgumentParser, train: bool = True) -> None:
    p.add_argument("--scale", choices=SCALES, default="cpu", help="config preset")
    p.add_argument("--config", help="YAML with any subset of TrainConfig")
    p.add_argument("--resets", help="reset dataset folder (default: a toy fixture dataset)")
    p.add_argument("--seed", type=int)
    p.add_argument("--num-envs", type=int)
    p.add_argument("--threads", type=int, help="parallel physics: worker processes of the env, threads of "
                   "reset generation (0: one per core)")
    if train:
        p.add_argument("--iterations", type=int)
        p.add_argument("--steps-per-env", type=int)
        p.add_argument("--reset-mix", help='JSON reset type probabilities, e.g. \'{"near_goal": 1}\'')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnireset-train", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="PPO with gSDE on the MuJoCo env (or Isaac Lab)")
    _common(p)
    p.add_argument("--backend", choices=("mujoco", "isaaclab"), default="mujoco",
                   help="isaaclab: needs the Isaac Lab environment (make setup-isaaclab)")
    p.add_argument("--device", default="cpu", help="Isaac Lab simulation and learning device (cpu, cuda); "
                   "the MuJoCo backend runs on the CPU")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel under torchrun, either backend: one rank per GPU (cuda) or per process (cpu, gloo)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, tensorboard, config)")
    p.add_argument("--resume", help="checkpoint to continue from (--iterations is then the run's total)")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="success rate from reaching resets")
    _common(p, train=False)
    p.add_argument("--checkpoint", required=True, help="model_<it>.pt or an exported policy.pt")
    p.add_argument("--episodes", type=int)
    p.add_argument("--out", help="where to write evaluate.json (default: beside the checkpoint)")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("select-seeds", help="rank checkpoints by success under action noise (seed selection)")
    _common(p, train=False)
    p.add_argument("--checkpoint", action="append", required=True,
                   help="model_<it>.pt or exported policy.pt; repeat for each seed (the first one's config runs all)")
    p.add_argument("--episodes", type=int)
    p.add_argument("--noise-std", type=float, default=2.0, help="std of the Gaussian noise on the raw actions")
    p.add_argument("--reset-type", choices=RESET_TYPES, default="reaching", help="the starts (reaching: the full task)")
    p.add_argument("--out", required=True, help="folder for seed_selection.json and .png")
    p.set_defaults(func=cmd_select_seeds)
    p = sub.add_parser("export", help="TorchScript policy with metadata for the deployment runtime")
    _common(p, train=False)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", help="output file (default: policy.pt beside the checkpoint)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("isaaclab-assets", help="USD assets of the cell for Isaac Lab, converted from the MJCF")
    p.add_argument("--force", action="store_true", help="convert again even if the cached assets exist")
    p.set_defaults(func=cmd_isaaclab_assets)
    p = sub.add_parser("pipeline", help="resets -> train -> evaluate -> export -> reload, at a scale")
    _common(p)
    p.add_argument("--out", required=True)
    p.add_argument("--toy-resets", action="store_true", help="use the geometric toy fixture, not the generator")
    p.add_argument("--resume", default=None, help=argparse.SUPPRESS)
    p.add_argument("--overwrite", action="store_true", help="replace a run already in OUT/train")
    p.set_defaults(func=cmd_pipeline)
    try:
        from omnireset_training.resets.cli import register
    except ImportError:
        pass
    else:
        register(sub)
    from omnireset_training.distill.cli import register as register_distill
    from omnireset_training.sysid.cli import register as register_sysid

    register_sysid(sub)
    register_distill(sub)
    return parser


def main(argv=None) -> int:
    """Exit 0 on success; a user error (bad value, missing file, wrong checkpoint) prints one line
    ``omnireset-train: error: ...`` and exits 2; Ctrl-C during training saves and exits 130."""
    parser = build_parser()
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    np.set_printoptions(precision=4)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, yaml.YAMLError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
