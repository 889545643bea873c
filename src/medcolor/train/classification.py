"""Helpers for classification colorizers (``eccv16``): decoded chroma, CE targets, rebalancing.

The network predicts logits ``(B, Q, h, w)`` over the Q = 313 a*b* bins of
:mod:`medcolor.models.ab_bins` at 1/4 resolution.  Training compares them with
the soft-encoded ground truth at the same resolution, weighting each pixel by
the class-rebalancing weight of its nearest bin (Zhang et al. 2016, eq. 2-4).
The weights are estimated from the training images once, at the start of a
run, and stored in the model's ``class_weights`` buffer so that they are saved
in checkpoints and exported weights.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..color import rgb_to_lab
from ..models.ab_bins import ab_histogram, downsample_ab, nearest_bin, rebalancing_weights, soft_encode
from ..models.registry import model_capabilities

__all__ = ["decode_logits", "CETarget", "estimate_class_weights"]


def decode_logits(colorizer: nn.Module, logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B, Q, h, w)`` logits -> ``(B, 2, H, W)`` a*b* in Lab units (the model's decoding, bilinear upsampling)."""
    ab = colorizer.decode(logits, need_confidence=False)[0]  # (B, 2, h, w)
    return F.interpolate(ab, size=tuple(size), mode="bilinear", align_corners=False)


class CETarget:
    """Callable ``(ab (B, 2, H, W), (h, w)) -> (target (B, Q, h, w), weights (B, 1, h, w))``.

    Reads the colorizer's ``bins`` and ``class_weights`` buffers at call time, so
    it follows the model's device and any weights restored from a checkpoint.
    """

    def __init__(self, colorizer: nn.Module) -> None:
        self.colorizer = colorizer

    def __call__(self, ab: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        bins = self.colorizer.bins
        small = downsample_ab(ab.float(), tuple(size))  # (B, 2, h, w) area-averaged
        target = soft_encode(small, bins)  # (B, Q, h, w)
        weights = self.colorizer.class_weights[nearest_bin(small, bins)].unsqueeze(1)  # (B, 1, h, w)
        return target, weights


@torch.no_grad()
def estimate_class_weights(dataset, colorizer: nn.Module, max_images: int = 256, seed: int = 0) -> torch.Tensor:
    """Rebalancing weights ``(Q,)`` from up to ``max_images`` augmented training crops.

    ``dataset`` is a :class:`~medcolor.train.data.TrainDataset` (indexed by
    ``(index, aug_seed)``); the crops are the same kind the network trains on.
    """
    bins = colorizer.bins.detach().cpu()
    counts = torch.zeros(bins.shape[0], dtype=torch.float64)
    n = min(len(dataset), max_images)
    for i in range(n):
        rgb = dataset[(i, seed * 7919 + i)]["rgb"].float()[None] / 255.0  # (1, 3, S, S)
        ab = rgb_to_lab(rgb)[:, 1:]
        small = downsample_ab(ab, (max(1, ab.shape[-2] // 4), max(1, ab.shape[-1] // 4)))
        counts += ab_histogram(small, bins)
    rebalance = model_capabilities(colorizer).rebalance
    return rebalancing_weights(counts, bins, lam=0.5 if rebalance is None else float(rebalance))
