"""Subcommands of ``omnireset-train`` for the RGB student::

    distill-rollouts  OUT   expert rollouts with cameras (successful episodes) -> a rollout dataset
    distill           OUT   train the student on a rollout dataset -> OUT/student.pt (TorchScript, kind rgb)
    distill-evaluate        success of expert and/or student in the env, same starts, through the runtime

``--config`` takes YAML with any subset of ``RolloutConfig`` (rollouts, evaluation) or
``DistillConfig`` (distill); flags override it. Without ``--resets`` the toy fixture is used.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import fields, replace
from pathlib import Path

from omnireset_core.config import read_yaml
from omnireset_training.distill.cameras import CameraJitter
from omnireset_training.distill.rollouts import RolloutConfig


def rollout_config(args) -> RolloutConfig:
    data = read_yaml(args.config, "rollout config") if args.config else {}
    unknown = sorted(set(data) - {f.name for f in fields(RolloutConfig)})
    if unknown:
        raise ValueError(f"{args.config}: unknown RolloutConfig key(s) {unknown}")
    try:
        if "camera_jitter" in data:
            data["camera_jitter"] = CameraJitter(**dict(data["camera_jitter"]))
        data = {k: tuple(v) if k in ("cameras", "image_hw") else v for k, v in data.items()}
        cfg = RolloutConfig(**data)
    except (TypeError, AttributeError) as exc:  # an unknown camera_jitter key, a mapping given a number
        raise ValueError(f"{args.config}: {exc}") from None
    flags = {"episodes": args.episodes, "num_envs": args.num_envs, "episode_length_s": args.episode_length_s,
             "seed": args.seed, "image_hw": tuple(args.image_size) if args.image_size else None,
             "reset_mix": json.loads(args.reset_mix) if args.reset_mix else None}
    return replace(cfg, **{k: v for k, v in flags.items() if v is not None})


def _rollouts(args) -> int:
    from omnireset_training.cli import resets_or_toy
    from omnireset_training.distill.rollouts import collect_rollouts

    cfg = rollout_config(args)
    out = Path(args.out)
    if args.keep_failed:
        cfg = replace(cfg, keep_failed=True)
    manifest = collect_rollouts(args.expert, resets_or_toy(args.resets, out, cfg.seed), out, cfg)
    c = manifest["counts"]
    print(f"{c['episodes']} episodes ({c['steps']} steps) from {c['attempts']} attempts -> {out}")
    return 0


def _distill(args) -> int:
    from omnireset_training.distill.train import distill_config_from_dict, train_student

    data = read_yaml(args.config, "distillation config") if args.config else {}
    flags = {"iterations": args.iterations, "batch_size": args.batch_size, "frames_per_camera": args.frames,
             "imagenet_weights": args.imagenet_weights, "eval_interval": args.eval_interval,
             "save_interval": args.save_interval, "seed": args.seed}
    cfg = distill_config_from_dict({**data, **{k: v for k, v in flags.items() if v is not None}})
    path = train_student(args.data, args.out, cfg, resume=args.resume, device=args.device)
    print(f"student: {path}")
    return 0


def _evaluate(args) -> int:
    from omnireset_training.cli import resets_or_toy
    from omnireset_training.distill.evaluate import evaluate_checkpoint

    cfg = rollout_config(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    resets = resets_or_toy(args.resets, out.parent, cfg.seed)
    rows = [evaluate_checkpoint(c, resets, cfg.episodes, cfg) for c in args.checkpoint]
    out.write_text(json.dumps(rows, indent=1) + "\n")
    for row in rows:
        print(f"{row['kind']:5s} {Path(row['checkpoint']).name}: success {row['success']:.3f} over "
              f"{row['episodes']} episodes (step p50 {row['step_ms_p50']:.1f} ms, p99 {row['step_ms_p99']:.1f} ms)")
    return 0


def _env_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML with any subset of RolloutConfig")
    p.add_argument("--resets", help="reset dataset folder (default: the toy fixture)")
    p.add_argument("--episodes", type=int)
    p.add_argument("--num-envs", type=int)
    p.add_argument("--episode-length-s", type=float)
    p.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), help="render size (intrinsics scale with it)")
    p.add_argument("--reset-mix", help='JSON reset type probabilities (default {"near_goal": 1})')
    p.add_argument("--seed", type=int)


def register(sub) -> None:
    p = sub.add_parser("distill-rollouts", help="expert rollouts with cameras for the RGB student")
    p.add_argument("out", help="rollout dataset folder (resumed if it exists)")
    p.add_argument("--expert", required=True, help="state policy checkpoint (TorchScript)")
    p.add_argument("--keep-failed", action="store_true", help="keep unsuccessful episodes too")
    _env_flags(p)
    p.set_defaults(func=_rollouts)
    p = sub.add_parser("distill", help="train the RGB student on a rollout dataset and export it")
    p.add_argument("out", help="run folder")
    p.add_argument("--data", required=True, help="rollout dataset folder")
    p.add_argument("--config", help="YAML with any subset of DistillConfig")
    p.add_argument("--iterations", type=int, help="total iterations (also when resuming)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--frames", type=int, help="frames per camera")
    p.add_argument("--imagenet-weights", help="torchvision resnet18 state dict (.pth) for the encoders")
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--save-interval", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", action="store_true", help="continue the run in OUT")
    p.add_argument("--device", default="cpu", help="training device (cpu, cuda); the export is for the CPU")
    p.set_defaults(func=_distill)
    p = sub.add_parser("distill-evaluate", help="success of expert/student checkpoints in the env, same starts")
    p.add_argument("--checkpoint", action="append", required=True, help="state or rgb policy; repeat to compare")
    p.add_argument("--out", required=True, help="JSON file for the results")
    _env_flags(p)
    p.set_defaults(func=_evaluate)
