"""User hints: sparse a*b* points that steer the colours (Zhang et al. 2017, SIGGRAPH).

A hint map is ``(B, 3, H, W)``: a*, b* in Lab units where the mask is 1, and
the mask (channel 2) in {0, 1}.  Models with ``accepts_hints = True``
(:mod:`medcolor.models.effcolor`) take it as a second input.

:func:`simulate_hints` draws hints from the ground truth the way the paper
trains and evaluates: each point is a square patch given the patch's mean
a*b*.  Training draws the number of points from a geometric distribution
(zero included), patch sizes from 1 to 9 px and locations uniformly or from a
Gaussian around the centre; evaluation uses a fixed number of 5x5 patches.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["HintSampling", "simulate_hints", "sample_counts"]


@dataclass(frozen=True)
class HintSampling:
    """How simulated hints are drawn.

    Attributes:
        p_none: probability that an image gets no hints at all (automatic mode).
        geometric_p: success probability of the geometric number of points (mean 1/p).
        max_points: cap on the number of points per image.
        patch_min, patch_max: range of the square patch side in pixels.
        gaussian: probability that a point's location is drawn from a Gaussian
            around the centre (std = a quarter of the side) rather than uniformly.
    """

    p_none: float = 0.5
    geometric_p: float = 0.125
    max_points: int = 64
    patch_min: int = 1
    patch_max: int = 9
    gaussian: float = 0.5


def sample_counts(batch: int, sampling: HintSampling, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(batch,)`` int64 numbers of points: 0 with ``p_none``, else 1 + Geometric(``geometric_p``)."""
    u = torch.rand(batch, generator=generator)
    v = torch.rand(batch, generator=generator).clamp(min=1e-12)
    geo = 1 + torch.floor(torch.log(v) / torch.log1p(torch.tensor(-sampling.geometric_p)))
    counts = torch.where(u < sampling.p_none, torch.zeros_like(geo), geo)
    return counts.clamp(max=sampling.max_points).long()


def simulate_hints(ab: torch.Tensor, counts: torch.Tensor | int, *, patch: int | tuple[int, int] = 5,
                   gaussian: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Hints drawn from ground-truth chroma.

    Args:
        ab: ``(B, 2, H, W)`` true a*b* in Lab units.
        counts: points per image, an int for all or a ``(B,)`` tensor.
        patch: the patch side in pixels, or a ``(min, max)`` range drawn per point.
        gaussian: probability that a point is placed by a Gaussian around the centre
            (std a quarter of each side, clipped) instead of uniformly.
        generator: RNG for reproducible hints (CPU generator).

    Returns:
        ``(B, 3, H, W)``: a*, b* set to each patch's mean true a*b* inside the patch,
        0 elsewhere, and the mask. Overlapping patches: the later one wins.
    """
    if ab.dim() != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected a*b* of shape (B, 2, H, W), got {tuple(ab.shape)}")
    b, _, h, w = ab.shape
    counts = torch.full((b,), int(counts)) if isinstance(counts, int) else counts.cpu().long()
    lo, hi = (patch, patch) if isinstance(patch, int) else patch
    out = torch.zeros(b, 3, h, w, dtype=ab.dtype)
    ab_cpu = ab.detach().float().cpu()
    # Integral image: the mean over any patch in O(1).
    integral = F.pad(ab_cpu.cumsum(2).cumsum(3), (1, 0, 1, 0))
    for i in range(b):
        n = int(counts[i])
        if n == 0:
            continue
        sizes = torch.randint(lo, hi + 1, (n,), generator=generator)
        gauss = torch.rand(n, generator=generator) < gaussian
        cy = torch.where(gauss, (h / 2 + torch.randn(n, generator=generator) * h / 4),
                         torch.rand(n, generator=generator) * h)
        cx = torch.where(gauss, (w / 2 + torch.randn(n, generator=generator) * w / 4),
                         torch.rand(n, generator=generator) * w)
        for s, y, x in zip(sizes.tolist(), cy.tolist(), cx.tolist()):
            s = min(s, h, w)
            y0 = min(max(int(y) - s // 2, 0), h - s)
            x0 = min(max(int(x) - s // 2, 0), w - s)
            y1, x1 = y0 + s, x0 + s
            total = integral[i, :, y1, x1] - integral[i, :, y0, x1] - integral[i, :, y1, x0] + integral[i, :, y0, x0]
            out[i, :2, y0:y1, x0:x1] = (total / (s * s))[:, None, None]
            out[i, 2, y0:y1, x0:x1] = 1.0
    return out.to(ab.device)
