"""Expert rollouts with cameras, the student's training data.

A state expert (a TorchScript checkpoint of kind ``state``) runs deterministically in the MuJoCo
env from reset states; at every policy step each world's cameras are rendered
(``WorldCameras``). Only successful episodes are kept (``keep_failed`` keeps the rest too, for
tests). Per step an episode stores:

- ``images`` (T, n_cameras, H, W, 3) uint8, cameras in ``cameras`` order, the picture of the
  state the expert acted on;
- ``actor_step`` (T, D) float32: the actor contract's per-step observation (all terms of
  ``default_actor_observation``; the student's proprioception is a selection of it);
- ``expert_mean``, ``expert_std`` (T, 7) float32: the expert's Gaussian at that state (the std
  from the checkpoint's ``action_std`` when it exports one, else the constant ``expert_std``);
- ``object_pose_b`` (T, 12) float32: insertive then receptive pose in frame b, each (x, y, z [m],
  rotation vector [rad]), the auxiliary target.

On disk (``RolloutDataset``): ``manifest.json`` plus one ``episodes/NNNNNN.npz`` per episode, each
written atomically and listed with its SHA-256 once complete. A killed collection resumes from
the episodes listed; a folder made with a different config is refused.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from omnireset_core.config import check_int, check_positive, check_range
from omnireset_core.files import (
    atomic_write_bytes,
    atomic_write_text,
    load_npz,
    npz_bytes,
    read_json_manifest,
    remove_stale_temporaries,
    sha256_bytes,
    sha256_file,
    software_versions,
    utc_now,
)
from omnireset_core.policy.metadata import DEFAULT_CAMERAS
from omnireset_core.policy.runtime import read_checkpoint
from omnireset_core.spec.contract import default_actor_observation
from omnireset_core.spec.terms import pose6
from omnireset_training.datasets import config_differences
from omnireset_training.distill.cameras import CameraJitter, WorldCameras
from omnireset_training.env_config import EnvConfig
from omnireset_training.reset_source import RESET_TYPES, ResetSource

FORMAT_NAME = "omnireset-rollouts"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
EPISODE_ARRAYS = ("images", "actor_step", "expert_mean", "expert_std", "object_pose_b")


@dataclass(frozen=True)
class RolloutConfig:
    episodes: int = 100  # successful episodes to keep
    num_envs: int = 8
    task: str = "peg"
    reset_mix: dict = field(default_factory=lambda: {"near_goal": 1.0})
    episode_length_s: float = 8.0
    cameras: tuple[str, ...] = DEFAULT_CAMERAS
    image_hw: tuple[int, int] = (224, 224)
    camera_jitter: CameraJitter = CameraJitter(pos_m=0.01, rot_rad=0.02)
    expert_std: float = 0.1  # used only when the expert exports no action_std
    keep_failed: bool = False
    max_attempts_per_episode: int = 20  # give up when the expert succeeds this rarely
    seed: int = 0

    def __post_init__(self):
        check_int("RolloutConfig.episodes", self.episodes, 1)
        check_int("RolloutConfig.num_envs", self.num_envs, 1, 256)
        check_positive("RolloutConfig.episode_length_s", self.episode_length_s)
        if not self.cameras or len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"RolloutConfig.cameras must be distinct names, got {self.cameras!r}")
        if len(self.image_hw) != 2:
            raise ValueError(f"RolloutConfig.image_hw must be (height, width), got {self.image_hw!r}")
        for i, v in enumerate(self.image_hw):
            check_int(f"RolloutConfig.image_hw[{i}]", v, 16, 1024)
        check_range("RolloutConfig.expert_std", self.expert_std, 1e-3, 10.0)
        check_int("RolloutConfig.max_attempts_per_episode", self.max_attempts_per_episode, 1)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["cameras"], data["image_hw"] = list(self.cameras), list(self.image_hw)
        return data

    def env_config(self) -> EnvConfig:
        return EnvConfig(num_envs=self.num_envs, task=self.task, episode_length_s=self.episode_length_s,
                         reset_probabilities=dict(self.reset_mix), physics_workers=1, seed=self.seed)


# --- the dataset on disk -------------------------------------------------------------------------
class RolloutDataset:
    """Read side: ``len``, ``episode(i)`` (arrays, checksum-verified), ``manifest``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.names = sorted(self.manifest["episodes"])
        if not self.names:
            raise ValueError(f"{self.folder}: the rollout dataset has no episodes")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(self.manifest["config"]["cameras"])

    @property
    def image_hw(self) -> tuple[int, int]:
        height, width = self.manifest["config"]["image_hw"]
        return int(height), int(width)

    def episode(self, i: int) -> dict[str, np.ndarray]:
        name = self.names[i]
        return load_npz(self.folder / name, self.manifest["episodes"][name]["sha256"])


def read_manifest(folder: Path) -> dict:
    return read_json_manifest(folder, FORMAT_NAME, FORMAT_VERSION, "rollout dataset", MANIFEST_NAME)


def _write_manifest(folder: Path, manifest: dict) -> None:
    manifest["updated_utc"] = utc_now()
    manifest["counts"]["episodes"] = len(manifest["episodes"])
    manifest["counts"]["steps"] = sum(e["steps"] for e in manifest["episodes"].values())
    atomic_write_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")


def _open(folder: Path, cfg: RolloutConfig, expert: dict) -> dict:
    """The manifest of ``folder``, new or resumed (same config apart from ``episodes``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "episodes").mkdir(exist_ok=True)
    remove_stale_temporaries(folder / "episodes")
    config = cfg.to_dict()
    if (folder / MANIFEST_NAME).exists():
        manifest = read_manifest(folder)
        old = {k: v for k, v in manifest["config"].items() if k != "episodes"}
        new = {k: v for k, v in json.loads(json.dumps(config)).items() if k != "episodes"}  # tuples as lists
        diff = config_differences(old, new)
        if diff or manifest["expert"]["sha256"] != expert["sha256"]:
            raise ValueError(f"{folder} holds rollouts made with a different config or expert "
                             f"({', '.join(diff) or 'expert'}); use a new folder")
        manifest["config"] = config
        return manifest
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "task": cfg.task, "seed": cfg.seed,
            "created_utc": utc_now(), "updated_utc": utc_now(), "config": config, "expert": expert,
            "actor_terms": [[t.name, t.dim] for t in default_actor_observation().terms],
            "software": software_versions(), "counts": {"episodes": 0, "steps": 0, "attempts": 0},
            "episodes": {}}


# --- collection ----------------------------------------------------------------------------------
class _Expert:
    """The checkpoint's mean and std on batched raw actor observations."""

    def __init__(self, path: Path, task: str, fallback_std: float):
        self.module, self.metadata = read_checkpoint(path)
        if self.metadata.kind != "state" or self.metadata.task != task:
            raise ValueError(f"{path}: expert must be a 'state' policy for task {task!r}, "
                             f"got a {self.metadata.kind!r} policy for {self.metadata.task!r}")
        self.has_std = hasattr(self.module, "action_std")
        self.fallback_std = fallback_std

    def __call__(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            mean = self.module(obs)
            std = self.module.action_std(obs) if self.has_std else torch.full_like(mean, self.fallback_std)
        return mean, std


def collect_rollouts(expert_path: str | Path, resets: ResetSource, out: str | Path, cfg: RolloutConfig,
                     progress: bool = True) -> dict:
    """Run until ``cfg.episodes`` episodes are stored in ``out``; returns the manifest."""
    from omnireset_training.mujoco_env import OmniResetEnv  # rsl_rl and MuJoCo only when collecting

    out, expert_path = Path(out), Path(expert_path)
    expert = _Expert(expert_path, cfg.task, cfg.expert_std)
    manifest = _open(out, cfg, {"path": str(expert_path), "sha256": sha256_file(expert_path),
                                "metadata": expert.metadata.to_dict(),
                                "std": "action_std" if expert.has_std else f"constant {cfg.expert_std}"})
    _write_manifest(out, manifest)
    have = len(manifest["episodes"])
    if have >= cfg.episodes:
        return manifest
    attempts0 = manifest["counts"]["attempts"]
    md = expert.metadata  # the rollouts run the controller the expert was trained with
    env = OmniResetEnv(replace(cfg.env_config(), seed=cfg.seed + attempts0, action=md.action, gains=md.gains), resets)
    cams = WorldCameras(env.physics, cfg.cameras, cfg.image_hw, cfg.camera_jitter, seed=cfg.seed + attempts0)
    n = cfg.num_envs
    for i in range(n):
        cams.draw(i)
    buffers: list[dict[str, list]] = [_empty() for _ in range(n)]
    step_dim = env.obs_spec.step_dim
    budget = cfg.max_attempts_per_episode * (cfg.episodes - have)
    bar = tqdm(total=cfg.episodes, initial=have, desc="rollouts (successful episodes)", unit="ep",
               disable=not progress)
    started = time.monotonic()
    try:
        while len(manifest["episodes"]) < cfg.episodes:
            if manifest["counts"]["attempts"] - attempts0 >= budget:
                raise RuntimeError(f"the expert succeeded in {len(manifest['episodes']) - have} of "
                                   f"{budget} episodes; stopped (max_attempts_per_episode "
                                   f"{cfg.max_attempts_per_episode})")
            obs = env.get_observations()["policy"]
            mean, std = expert(obs)
            s = env._state
            objects = torch.cat((pose6(s.insertive_pos_b_m, s.insertive_quat_b),
                                 pose6(s.receptive_pos_b_m, s.receptive_quat_b)), -1)
            for i in range(n):
                b = buffers[i]
                b["images"].append(cams.render(i))
                b["actor_step"].append(obs[i, -step_dim:].numpy())
                b["expert_mean"].append(mean[i].numpy())
                b["expert_std"].append(std[i].numpy())
                b["object_pose_b"].append(objects[i].numpy())
            reset_types = env.reset_type.clone()  # a world that ends this step is given its next start
            _, _, dones, extras = env.step(mean)
            for i in torch.nonzero(dones).flatten().tolist():
                manifest["counts"]["attempts"] += 1
                success = bool(extras["success"][i])
                if (success or cfg.keep_failed) and len(manifest["episodes"]) < cfg.episodes:
                    _store(out, manifest, buffers[i], success, RESET_TYPES[int(reset_types[i])])
                    bar.update(1)
                buffers[i] = _empty()
                cams.draw(i)
            _write_manifest(out, manifest)
    finally:
        bar.close()
        cams.close()
        env.close()
    manifest["collection_wall_s"] = manifest.get("collection_wall_s", 0.0) + time.monotonic() - started
    _write_manifest(out, manifest)
    return manifest


def _empty() -> dict[str, list]:
    return {k: [] for k in EPISODE_ARRAYS}


def _store(folder: Path, manifest: dict, buffer: dict[str, list], success: bool, reset_type: str) -> None:
    arrays = {k: np.stack(v).astype(np.uint8 if k == "images" else np.float32) for k, v in buffer.items()}
    name = f"episodes/{len(manifest['episodes']):06d}.npz"
    data = npz_bytes(arrays)
    atomic_write_bytes(folder / name, data)
    manifest["episodes"][name] = {"steps": len(buffer["images"]), "sha256": sha256_bytes(data),
                                  "success": success, "reset_type": reset_type}
