"""Size and cost of a model: parameter count and FLOPs at a given input size.

FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode`, which
counts a multiply-add as 2 floating-point operations (convolutions, matmuls,
transposed convolutions); element-wise operations are not counted.
"""
from __future__ import annotations

import torch
from torch import nn

from .discriminator import Discriminator
from .registry import model_capabilities

__all__ = ["count_params", "example_inputs", "count_flops"]


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def example_inputs(model: nn.Module, size: int | tuple[int, int] = 256, batch: int = 1,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right kind: ``(L,)`` for colorizers, ``(L, hints)`` for colorizers that
    take learned hints, ``(L, ab)`` for discriminators.

    L* is uniform in [0, 100] ``(batch, 1, H, W)``; a*b* normal with std 30 ``(batch, 2, H, W)``.
    """
    h, w = (size, size) if isinstance(size, int) else size
    L = torch.rand(batch, 1, h, w, generator=generator) * 100.0
    if isinstance(model, Discriminator):
        return L, torch.randn(batch, 2, h, w, generator=generator) * 30.0
    if model_capabilities(model).hints:  # (B, 3, H, W): a*b* on about 1 % of the pixels, and the mask
        mask = (torch.rand(batch, 1, h, w, generator=generator) < 0.01).float()
        return L, torch.cat([torch.randn(batch, 2, h, w, generator=generator) * 30.0 * mask, mask], dim=1)
    return (L,)


@torch.no_grad()
def count_flops(model: nn.Module, size: int | tuple[int, int] = 256) -> int:
    """FLOPs (multiply-add = 2) of one forward pass on one image of ``size`` in eval mode."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        inputs = example_inputs(model, size, batch=1)
        with FlopCounterMode(display=False) as counter:
            model(*inputs)
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)
