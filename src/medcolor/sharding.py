"""Splitting a batch between the processes ``torchrun`` starts.

``torchrun --nproc_per_node N -m medcolor colorize DIR -o OUT`` starts N copies
of the command, each with ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` set (and
``MASTER_ADDR``/``MASTER_PORT`` for the rendezvous; several nodes work the same
way with a shared output folder).  Every rank lists the same inputs in the same
order, so each can compute its own share without talking to the others:
:meth:`Shard.take` deals the units out by size, largest first, each to the rank
with the least work so far (ties to the lower rank).  A unit (one file, or one
series or volume) always stays whole on one rank, and each output belongs to
exactly one unit, so every output is written exactly once.

Only small Python objects (the per-rank tallies) travel between ranks, over a
CPU ``gloo`` process group, whatever device the ranks colorize on.  Without
``WORLD_SIZE`` > 1 everything runs in one process and the helpers do nothing.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch

__all__ = ["RankInfo", "rank_from_env", "Shard", "shard_from_env"]

T = TypeVar("T")


@dataclass(frozen=True)
class RankInfo:
    """This process's place in a ``torchrun`` job (rank 0 of 1 when not launched by torchrun).

    Shared by batch colorization (:class:`Shard`) and training
    (:class:`~medcolor.train.distributed.DistInfo`).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def rank_from_env() -> RankInfo:
    """The rank, world size and local rank torchrun's environment sets (rank 0 of 1 without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return RankInfo()
    return RankInfo(rank=int(os.environ["RANK"]), world_size=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


@dataclass(frozen=True)
class Shard(RankInfo):
    """A :class:`RankInfo` that deals out a batch's units and gathers the ranks' tallies."""

    def device(self, requested: str) -> torch.device:
        """The device for ``requested`` (``auto|cpu|cuda|mps``); each rank of a node gets its own GPU."""
        from .device import resolve_device

        dev = resolve_device(requested)
        if self.enabled and dev.type == "cuda":
            dev = torch.device("cuda", self.local_rank % max(1, torch.cuda.device_count()))
            torch.cuda.set_device(dev)
        return dev

    def take(self, items: Sequence[T], cost: Callable[[T], float]) -> list[T]:
        """This rank's share of ``items`` (order kept): largest ``cost`` first, each to the least-loaded rank.

        Deterministic: every rank computes the same split from the same list.
        """
        if not self.enabled:
            return list(items)
        load = [0.0] * self.world_size
        owner = [0] * len(items)
        costs = [float(cost(item)) for item in items]
        for i in sorted(range(len(items)), key=lambda i: (-costs[i], i)):
            rank = min(range(self.world_size), key=lambda r: (load[r], r))
            owner[i] = rank
            load[rank] += max(costs[i], 1.0)
        return [item for item, r in zip(items, owner) if r == self.rank]

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, obj) -> list:
        """Every rank's ``obj`` (picklable), in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out: list = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def shard_from_env(timeout_s: float = 7 * 24 * 3600.0) -> Shard:
    """The :class:`Shard` torchrun's environment describes; joins its CPU (gloo) process group.

    ``timeout_s`` bounds how long the final tally waits for the slowest rank; it
    is long because a rank may have hours of work left (if a rank dies, torchrun
    stops the others itself).
    """
    info = rank_from_env()
    if not info.enabled:
        return Shard()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo", rank=info.rank, world_size=info.world_size,
                                timeout=timedelta(seconds=timeout_s))
    return Shard(rank=info.rank, world_size=info.world_size, local_rank=info.local_rank)
