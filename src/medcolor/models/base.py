"""Base class that gives every colorizer the same contract.

A :class:`Colorizer` maps ``(B, 1, H, W)`` L* in [0, 100] to ``(B, 2, H, W)``
a*b* in Lab units, for any H and W.  Subclasses implement only
:meth:`forward_normalized`, which sees the padded, normalised input and may
return chroma at a lower resolution (as richzhang/colorization does); the base
class pads to ``stride``, upsamples the chroma back and crops.
"""
from __future__ import annotations

import abc

import torch
import torch.nn.functional as F
from torch import nn

from ..color import denormalize_ab, normalize_l

__all__ = ["Colorizer", "pad_to_multiple"]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad ``(B, C, H, W)`` on the bottom/right so H and W divide ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        # reflect needs pad < size; fall back to replicate for tiny inputs
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


class Colorizer(nn.Module, abc.ABC):
    """L* -> a*b* model; the model owns its normalisation.

    Attributes:
        stride: the input H and W are padded to a multiple of this.
    """

    stride: int = 1

    @abc.abstractmethod
    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H', W')`` normalised L -> ``(B, 2, h, w)`` normalised ab (any h, w)."""

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        if L.dim() != 4 or L.shape[1] != 1:
            raise ValueError(f"expected L* of shape (B, 1, H, W), got {tuple(L.shape)}")
        x, (h, w) = pad_to_multiple(normalize_l(L), self.stride)
        ab = self.forward_normalized(x)  # (B, 2, h', w') normalised
        if ab.shape[-2:] != x.shape[-2:]:
            ab = F.interpolate(ab, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return denormalize_ab(ab[..., :h, :w])  # (B, 2, H, W) a*b* in Lab units
