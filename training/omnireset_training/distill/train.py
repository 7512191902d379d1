"""Distil a rollout dataset (``rollouts.py``) into an RGB student and export it.

A sample is one step t of one episode: per camera the frames t-K+1 .. t (K = frames per camera;
before the episode's first frame, the first frame again: the runtime's first-sample padding),
the proprioception history t-H+1 .. t laid out as the runtime builds it, and the expert's
Gaussian and the object poses at t. Episodes are split into training and validation (never one
episode in both). AdamW, cosine learning rate over ``iterations``, batch ``batch_size``.

Files in the run folder: ``config.json``, ``metrics.jsonl`` (one row per evaluation),
tensorboard events, ``curves.png``, ``student_train.pt`` (model, optimiser, schedule, iteration: ``resume``
continues it; written atomically every ``save_interval`` iterations and on SIGINT/SIGTERM) and
the export ``student.pt`` (TorchScript, kind rgb, loaded by ``PolicyRuntime``).
"""
from __future__ import annotations

import copy
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from omnireset_core.config import check_int, check_positive, check_range, from_dict
from omnireset_core.control.osc import OscGains
from omnireset_core.files import atomic_write_bytes, atomic_write_text
from omnireset_core.policy import export_policy, new_metadata
from omnireset_core.policy.metadata import VisionSpec
from omnireset_core.spec.contract import ActionSpec, ObservationSpec, default_actor_observation
from omnireset_training.distill.rollouts import RolloutDataset
from omnireset_training.distill.student import AugmentConfig, DistillStudent, augment, distill_loss, load_imagenet_weights
from omnireset_training.cli import drop_metrics_from
from omnireset_training.rl.runner import StopRequest

TRAIN_STATE = "student_train.pt"
EXPORT_NAME = "student.pt"


@dataclass(frozen=True)
class DistillConfig:
    iterations: int = 350_000
    batch_size: int = 64
    learning_rate: float = 1e-4
    weight_decay: float = 1e-2
    frames_per_camera: int = 5
    proprio_terms: tuple[str, ...] = ("last_action", "joint_pos", "ee_pose_b")
    hidden: tuple[int, ...] = (512, 512, 512, 512)
    aux_weight: float = 1.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    val_fraction: float = 0.1
    eval_interval: int = 500
    save_interval: int = 1000
    imagenet_weights: str = ""  # a torchvision resnet18 state dict; "" = random initialisation
    seed: int = 0

    def __post_init__(self):
        check_int("DistillConfig.iterations", self.iterations, 1)
        check_int("DistillConfig.batch_size", self.batch_size, 1)
        check_positive("DistillConfig.learning_rate", self.learning_rate)
        check_range("DistillConfig.weight_decay", self.weight_decay, 0.0, 1.0)
        check_int("DistillConfig.frames_per_camera", self.frames_per_camera, 1, 16)
        check_range("DistillConfig.aux_weight", self.aux_weight, 0.0, 100.0)
        check_range("DistillConfig.val_fraction", self.val_fraction, 0.0, 0.5)
        check_int("DistillConfig.eval_interval", self.eval_interval, 1)
        check_int("DistillConfig.save_interval", self.save_interval, 1)
        default_actor_observation().select(self.proprio_terms)  # ValueError naming unknown terms

    def proprio_spec(self) -> ObservationSpec:
        return default_actor_observation().select(self.proprio_terms)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


def distill_config_from_dict(data: dict) -> DistillConfig:
    try:  # unknown keys are a ValueError naming them
        return from_dict(DistillConfig, data, "distillation config")
    except (TypeError, AttributeError) as exc:  # a missing value, a mapping given a number
        raise ValueError(f"distillation config: {exc}") from None


# --- samples -------------------------------------------------------------------------------------
class Samples:
    """The dataset in memory with the index arithmetic of frame stacks and proprio histories."""

    def __init__(self, data: RolloutDataset, episodes: list[int], cfg: DistillConfig):
        spec = default_actor_observation()
        offsets = np.cumsum([0] + [t.dim for t in spec.terms])
        start = {t.name: int(o) for t, o in zip(spec.terms, offsets)}
        columns = np.concatenate([np.arange(start[t.name], start[t.name] + t.dim) for t in cfg.proprio_spec().terms])
        eps = [data.episode(i) for i in episodes]
        self.images = np.concatenate([e["images"] for e in eps])  # (S, C, H, W, 3)
        self.proprio = np.concatenate([e["actor_step"][:, columns] for e in eps]).astype(np.float32)
        self.expert_mean = torch.from_numpy(np.concatenate([e["expert_mean"] for e in eps]))
        self.expert_std = torch.from_numpy(np.concatenate([e["expert_std"] for e in eps]))
        self.poses = torch.from_numpy(np.concatenate([e["object_pose_b"] for e in eps]))
        lengths = [len(e["images"]) for e in eps]
        first = np.repeat(np.cumsum([0] + lengths[:-1]), lengths)  # each row's episode start
        self.first, self.rows = first, np.arange(len(first))
        self.frames, self.history = cfg.frames_per_camera, spec.history

    def __len__(self) -> int:
        return len(self.rows)

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
        """images (B, C, K, 3, H, W) uint8, proprio (B, H_p * P), expert mean, std, poses."""
        back = np.arange(self.frames - 1, -1, -1)
        frame_rows = np.maximum(rows[:, None] - back, self.first[rows, None])  # oldest first
        images = torch.from_numpy(self.images[frame_rows]).permute(0, 2, 1, 5, 3, 4)  # (B, C, K, 3, H, W)
        back = np.arange(self.history - 1, -1, -1)
        hist_rows = np.maximum(rows[:, None] - back, self.first[rows, None])
        proprio = torch.from_numpy(self.proprio[hist_rows].reshape(len(rows), -1))
        return images, proprio, self.expert_mean[rows], self.expert_std[rows], self.poses[rows]


def split_episodes(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_val = min(n - 1, max(1 if val_fraction > 0 and n > 1 else 0, round(val_fraction * n)))
    return sorted(order[n_val:]), sorted(order[:n_val])


# --- training ------------------------------------------------------------------------------------
def cosine_learning_rate(cfg: DistillConfig, iteration: int) -> float:
    """The rate of ``iteration`` (0-based): cosine from ``learning_rate`` to 0 over the run."""
    return 0.5 * cfg.learning_rate * (1.0 + math.cos(math.pi * min(iteration, cfg.iterations) / cfg.iterations))


def _augmented(images: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    shape = images.shape
    return augment(images.reshape(-1, *shape[3:]), cfg, generator).view(shape)


@torch.no_grad()
def evaluate_split(model: DistillStudent, samples: Samples, cfg: DistillConfig, max_rows: int = 512) -> dict:
    model.eval()
    rows = samples.rows[np.linspace(0, len(samples) - 1, min(max_rows, len(samples))).astype(int)]
    totals: dict[str, float] = {}
    for chunk in np.array_split(rows, max(1, math.ceil(len(rows) / cfg.batch_size))):
        dev = next(model.parameters()).device
        images, proprio, mean_e, std_e, poses = (t.to(dev) for t in samples.batch(chunk))
        mean, log_std, pred = model(images, proprio)
        _, terms = distill_loss(model, mean, log_std, pred, mean_e, std_e, poses, cfg.aux_weight)
        for k, v in terms.items():
            totals[k] = totals.get(k, 0.0) + float(v) * len(chunk)
    model.train()
    return {k: v / len(rows) for k, v in totals.items()}


def train_student(data_folder: str | Path, out: str | Path, cfg: DistillConfig, resume: bool = False,
                  progress: bool = True, device: str = "cpu") -> Path:
    """Train to ``cfg.iterations`` (the total, also when resuming) on ``device`` and export; returns
    the export (on the CPU: the runtime's device)."""
    from torch.utils.tensorboard import SummaryWriter

    out = Path(out)
    data = RolloutDataset(data_folder)
    state_path = out / TRAIN_STATE
    if state_path.exists() and not resume:
        raise ValueError(f"{out} already holds a distillation run ({TRAIN_STATE}); resume it or use another folder")
    if resume and not state_path.exists():
        raise ValueError(f"nothing to resume: {state_path} does not exist")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    episodes = {name: data.manifest["episodes"][name]["sha256"] for name in data.names}
    train_eps, val_eps = split_episodes(len(data), cfg.val_fraction, cfg.seed)
    train, val = Samples(data, train_eps, cfg), (Samples(data, val_eps, cfg) if val_eps else None)
    pose_scale = train.poses.std(0).clamp_min(0.01)  # 1 cm / 0.01 rad at least (a fixed part has no spread)
    model = DistillStudent(len(data.cameras), cfg.frames_per_camera, train.proprio.shape[1] * train.history,
                           cfg.hidden, pose_scale)
    if cfg.imagenet_weights and not resume:
        for encoder in model.student.encoders:
            load_imagenet_weights(encoder, cfg.imagenet_weights)
    dev = torch.device(device)
    model.to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    iteration = 0
    if resume:
        saved = torch.load(str(state_path), map_location="cpu", weights_only=False)  # optimizer state follows the params
        if saved["config"] != cfg.to_dict() | {"iterations": saved["config"]["iterations"]}:
            raise ValueError(f"{state_path} was trained with another config; resume with the same one")
        if saved["episodes"] != episodes:
            raise ValueError(f"{state_path} was trained on other rollouts than {data_folder} holds now "
                             f"({len(saved['episodes'])} vs {len(episodes)} episodes); resume with the same data")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        rng.bit_generator.state = saved["rng"]
        iteration = saved["iteration"]
        drop_metrics_from(out / "metrics.jsonl", iteration + 1)  # rows after the save come again
    if iteration >= cfg.iterations:
        raise ValueError(f"{state_path} is already at iteration {iteration}; raise iterations to train on")
    atomic_write_text(out / "config.json", json.dumps({"distill": cfg.to_dict(), "data": str(data_folder),
                                                       "train_episodes": train_eps, "val_episodes": val_eps}, indent=1))
    writer = SummaryWriter(str(out / "tensorboard"))

    def save() -> None:
        buffer = io.BytesIO()
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration,
                    "config": cfg.to_dict(), "episodes": episodes, "generator": generator.get_state(),
                    "rng": rng.bit_generator.state},
                   buffer)
        atomic_write_bytes(state_path, buffer.getvalue())

    def record(row: dict) -> None:
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        for k, v in row.items():
            if k != "iteration":
                writer.add_scalar(k, v, row["iteration"])

    bar = tqdm(total=cfg.iterations, initial=iteration, desc="distillation", unit="it", disable=not progress)
    running: dict[str, float] = {}
    started, count = time.monotonic(), 0  # running: sums of the terms since the last row, over count iterations
    model.train()
    try:
        with StopRequest() as stop:
            while iteration < cfg.iterations and not stop.requested:
                for group in optimizer.param_groups:
                    group["lr"] = cosine_learning_rate(cfg, iteration)
                batch = train.batch(rng.integers(0, len(train), cfg.batch_size))
                images, proprio, mean_e, std_e, poses = (t.to(dev, non_blocking=True) for t in batch)
                mean, log_std, pred = model(_augmented(images, cfg.augment, generator), proprio)
                loss, terms = distill_loss(model, mean, log_std, pred, mean_e, std_e, poses, cfg.aux_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                iteration += 1
                bar.update(1)
                count += 1
                for k, v in terms.items():
                    running[k] = running.get(k, 0.0) + float(v)
                if iteration % cfg.eval_interval == 0 or iteration == cfg.iterations:
                    row = {"iteration": iteration, "wall_s": time.monotonic() - started,
                           "learning_rate": cosine_learning_rate(cfg, iteration - 1),
                           **{f"train/{k}": v / count for k, v in running.items()}}
                    if val is not None:
                        row.update({f"val/{k}": v for k, v in evaluate_split(model, val, cfg).items()})
                    record(row)
                    bar.set_postfix(kl=f"{row['train/kl']:.3f}", pos_mm=f"{row['train/aux_pos_err_mm']:.1f}")
                    running, count = {}, 0
                if iteration % cfg.save_interval == 0:
                    save()
    finally:
        bar.close()
        writer.close()
    save()
    if stop.requested:
        raise KeyboardInterrupt(f"stopped by {stop.requested} at iteration {iteration}; saved {state_path}")
    plot_curves(out)
    return export_student(model.cpu(), out / EXPORT_NAME, cfg, data)


def plot_curves(run: Path) -> Path:
    """``run/curves.png``: KL to the expert, action error and auxiliary position error, training
    and validation, against the iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (key, label) in zip(axes, (("kl", "KL(expert || student)"), ("action_mae", "|mean - expert mean|"),
                                       ("aux_pos_err_mm", "object position error [mm]"))):
        for split in ("train", "val"):
            points = [(r["iteration"], r[f"{split}/{key}"]) for r in rows if f"{split}/{key}" in r]
            if points:
                ax.plot(*zip(*points), label=split)
        ax.set_xlabel("iteration")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = run / "curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def export_student(model: DistillStudent, path: Path, cfg: DistillConfig, data: RolloutDataset) -> Path:
    expert = data.manifest["expert"]["metadata"]
    vision = VisionSpec(cameras=data.cameras, image_hw=data.image_hw, frames_per_camera=cfg.frames_per_camera,
                        feature_dim=model.student.feature_dim)
    action = from_dict(ActionSpec, expert["action"])
    gains = from_dict(OscGains, expert["gains"])
    metadata = new_metadata(
        "rgb", data.manifest["task"], cfg.proprio_spec(), {"distill": cfg.to_dict(), "rollouts": data.manifest["config"]},
        action=action, gains=gains, normalizer_folded=True, vision=vision,
        notes=f"RGB student distilled from {Path(data.manifest['expert']['path']).name} ({len(data)} episodes)")
    return export_policy(copy.deepcopy(model.student).eval(), path, metadata)  # encoders + Gaussian head
