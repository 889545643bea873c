"""Distributed data parallel (DDP) set-up from the environment torchrun provides.

``torchrun --nproc_per_node N -m medcolor train ...`` sets ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; we then
initialise a process group (NCCL on GPU, gloo on CPU), pin each process to its
GPU ``LOCAL_RANK``, and wrap models in
:class:`torch.nn.parallel.DistributedDataParallel`.  Without those variables
everything runs in one process and the helpers are no-ops.  Only rank 0 writes
logs, checkpoints and exported weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..device import resolve_device
from ..sharding import RankInfo, rank_from_env

__all__ = ["DistInfo", "setup_distributed", "cleanup_distributed", "wrap_ddp", "unwrap", "barrier",
           "all_reduce_mean", "broadcast_object"]


@dataclass(frozen=True)
class DistInfo(RankInfo):
    """A training process's rank (:class:`~medcolor.sharding.RankInfo`), device and DDP backend."""

    device: torch.device = torch.device("cpu")
    backend: str = ""


def setup_distributed(device: str = "auto") -> DistInfo:
    """Initialise DDP when launched by torchrun (``WORLD_SIZE`` > 1); otherwise a single process."""
    env = rank_from_env()
    dev = resolve_device(device)
    if not env.enabled:
        return DistInfo(device=dev)
    rank, local_rank, world = env.rank, env.local_rank, env.world_size
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, local_rank=local_rank, world_size=world, device=dev, backend=backend)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(model: nn.Module, info: DistInfo) -> nn.Module:
    """Wrap ``model`` (already on ``info.device``) in DDP when distributed; else return it."""
    if not info.enabled:
        return model
    ids = [info.device.index] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The underlying module of a DDP wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_reduce_mean(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Average scalar metrics over all ranks (identity in one process)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def broadcast_object(obj, info: DistInfo):
    """Rank 0's ``obj`` on every rank (identity in one process)."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
