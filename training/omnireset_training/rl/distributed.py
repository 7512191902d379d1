"""Data-parallel PPO under torchrun, on either backend: one process per rank, each with its own
environments and seed (seed + rank); rank 0's weights are broadcast at the start, rsl_rl
all-reduces the gradients of every update, and rank 0 alone writes checkpoints and logs.

The process group is NCCL on CUDA devices (one GPU per rank) and gloo on CPU, so the same path
runs on a laptop with ``torchrun --nproc_per_node=2``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch
import torch.distributed as dist

from omnireset_training.rl.config import TrainConfig


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> Rank:
    """The rank torchrun gives this process (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``); one
    process when they are unset."""
    try:
        rank = Rank(int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)),
                    int(os.environ.get("WORLD_SIZE", 1)))
    except ValueError:
        raise ValueError("RANK, LOCAL_RANK and WORLD_SIZE must be integers (torchrun sets them)") from None
    if rank.world_size < 1 or not 0 <= rank.rank < rank.world_size or not 0 <= rank.local_rank < rank.world_size:
        raise ValueError(f"inconsistent torchrun ranks: {rank}")
    return rank


def rank_device(device: str, rank: Rank) -> str:
    """The device of this rank: ``cuda`` becomes ``cuda:<LOCAL_RANK>``; ``cpu`` stays."""
    if device.startswith("cuda") and rank.distributed:
        return f"cuda:{rank.local_rank}"
    return device


def rank_config(cfg: TrainConfig, rank: Rank) -> TrainConfig:
    """Seed + rank for the learner and the environments; the physics worker processes of the
    ranks share the machine's cores; rank 0 alone evaluates during training (it alone logs)."""
    env = replace(cfg.env, seed=cfg.env.seed + rank.rank)
    if rank.distributed and env.physics_workers == 0:
        env = replace(env, physics_workers=max(1, (os.cpu_count() or 1) // rank.world_size))
    return replace(cfg, seed=cfg.seed + rank.rank, env=env, eval_interval=cfg.eval_interval if rank.is_main else 0)


def init_process_group(rank: Rank, device: str) -> None:
    """Join the ranks (NCCL for a CUDA device, gloo for CPU); a no-op for one process."""
    if not rank.distributed or dist.is_initialized():
        return
    if device.startswith("cuda"):
        if device != f"cuda:{rank.local_rank}":
            raise ValueError(f"rank {rank.rank}: device {device!r} is not this rank's GPU cuda:{rank.local_rank}")
        torch.cuda.set_device(rank.local_rank)
        dist.init_process_group("nccl", rank=rank.rank, world_size=rank.world_size)
    else:
        dist.init_process_group("gloo", rank=rank.rank, world_size=rank.world_size)


def shutdown() -> None:
    """Leave the process group (at the end of a run, on every rank)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _on_backend_device(value: torch.Tensor) -> torch.Tensor:
    return value.cuda() if dist.get_backend() == "nccl" else value


def any_rank(flag: bool) -> bool:
    """True on every rank if ``flag`` is true on any (e.g. a stop request that reached one rank
    first): the ranks leave the training loop at the same iteration, so none waits in a collective."""
    if not dist.is_initialized():
        return flag
    value = _on_backend_device(torch.tensor([int(flag)]))
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def parameters_checksum(modules) -> torch.Tensor:
    """One float64 number per module set; equal on every rank while the ranks are in step."""
    total = torch.zeros((), dtype=torch.float64)
    for module in modules:
        for k, p in enumerate(module.parameters()):
            total += (p.detach().double().cpu().flatten() * (k + 1)).sum()
    return total


def check_in_step(modules) -> float:
    """Raise if the ranks' parameters differ (a missed broadcast or all-reduce); returns the
    largest difference of the checksums between ranks (0 in step)."""
    local = parameters_checksum(modules)
    if not dist.is_initialized():
        return 0.0
    local = _on_backend_device(local)
    low, high = local.clone(), local.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    spread = float(high - low)
    if spread > 1e-9 * max(1.0, abs(float(local))):
        raise RuntimeError(f"the ranks' parameters differ (checksums {float(low)} .. {float(high)})")
    return spread
