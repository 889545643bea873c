"""Base class of the discriminators: ``(L*, a*b*) -> logits``, normalisation owned by the model.

A discriminator sees the image as the generator's output would be judged: the
input L* (the condition) concatenated with a real or generated a*b*, both
normalised with the constants of :mod:`medcolor.color`.
"""
from __future__ import annotations

import abc

import torch
from torch import nn

from ..color import normalize_ab, normalize_l

__all__ = ["Discriminator"]


class Discriminator(nn.Module, abc.ABC):
    """``forward(L, ab)``: ``(B, 1, H, W)`` L* in [0, 100] and ``(B, 2, H, W)`` a*b* -> logits."""

    @abc.abstractmethod
    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` normalised (L, a, b) -> logits (shape set by the subclass)."""

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        if L.dim() != 4 or L.shape[1] != 1 or ab.dim() != 4 or ab.shape[1] != 2:
            raise ValueError(f"expected L (B, 1, H, W) and ab (B, 2, H, W), got "
                             f"{tuple(L.shape)} and {tuple(ab.shape)}")
        if L.shape[0] != ab.shape[0] or L.shape[-2:] != ab.shape[-2:]:
            raise ValueError(f"L {tuple(L.shape)} and ab {tuple(ab.shape)} differ in batch or size")
        return self.forward_normalized(torch.cat([normalize_l(L), normalize_ab(ab)], dim=1))
