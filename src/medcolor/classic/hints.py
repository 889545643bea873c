"""Levin refinement: user colour hints on top of a network's chroma (the classic baseline).

Reading hints (images, arrays, ``(rgb, mask)``) lives in :mod:`medcolor.hints`;
a hint fixes the pixel's a*b* to the mark's a*b*, the image's own L* is kept.

Refinement (:func:`refine_ab_lab`, :func:`refine_ab` for hint colours in RGB).
The correction delta = hint_ab - net_ab is known at hinted pixels; it is spread
with the Levin affinities of the image's L*
(:func:`medcolor.classic.levin.levin_propagate`) plus a weak data term pulling
delta to 0, so a correction stops at edges and fades with distance, and regions
far from every hint keep the network's colour.  In a flat region the correction
decays over about ``strength * 0.25 * max(H, W)`` pixels.  Images above
``max_pixels`` are solved at a reduced size (area-downsampled L* and delta) and
the correction is upsampled bilinearly; the hinted pixels are then set exactly.
"""
from __future__ import annotations

import numpy as np

from ..hints import hint_ab
from ._checks import bool_mask, rgb_uint8
from .levin import levin_propagate

__all__ = ["refine_ab", "refine_ab_lab"]

REACH_FRACTION = 0.25  # decay length of a correction in flat regions, as a fraction of max(H, W)
DEFAULT_MAX_PIXELS = 512 * 512


def _area_resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``(H, W, C)`` to ``size`` (h, w)."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # (1, C, H, W)
    return F.interpolate(t, size=size, mode="area")[0].numpy().transpose(1, 2, 0)


def _bilinear_resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # (1, C, h, w)
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0].numpy().transpose(1, 2, 0)


def refine_ab(L: np.ndarray, ab: np.ndarray, hints_rgb: np.ndarray, hints_mask: np.ndarray,
              strength: float = 1.0, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Refine network chroma with user hints given as colours (see :func:`refine_ab_lab`).

    Args:
        hints_rgb: ``(H, W, 3)`` uint8 hint colours (read where ``hints_mask``).
        hints_mask: ``(H, W)`` bool hint pixels.
        L, ab, strength, max_pixels: as in :func:`refine_ab_lab`.
    """
    L = np.asarray(L, dtype=np.float64)
    hints_rgb = rgb_uint8(hints_rgb, "hints_rgb", L.shape)
    return refine_ab_lab(L, ab, hint_ab(hints_rgb), hints_mask, strength, max_pixels=max_pixels)


def refine_ab_lab(L: np.ndarray, ab: np.ndarray, target: np.ndarray, hints_mask: np.ndarray,
                  strength: float = 1.0, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Refine network chroma with user hints given in a*b* (see the module docstring).

    Args:
        L: ``(H, W)`` float L* in [0, 100], the image's lightness.
        ab: ``(H, W, 2)`` float network a*b* in Lab units, at the same size.
        target: ``(H, W, 2)`` float hint a*b* in Lab units (read where ``hints_mask``).
        hints_mask: ``(H, W)`` bool hint pixels.
        strength: > 0; how far a correction reaches (1.0: about 0.25 * max(H, W)
            pixels in flat regions; 2.0 twice as far).
        max_pixels: above this many pixels the propagation runs at a reduced size.

    Returns:
        ``(H, W, 2)`` float64 a*b*: the hint's a*b* exactly at hinted pixels, the
        network's a*b* plus a propagated correction elsewhere.
    """
    L = np.asarray(L, dtype=np.float64)
    ab = np.asarray(ab, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError(f"L must have shape (H, W), got {L.shape}")
    if ab.shape != L.shape + (2,):
        raise ValueError(f"ab must have shape {L.shape + (2,)}, got {ab.shape}")
    target = np.asarray(target, dtype=np.float64)
    if target.shape != L.shape + (2,):
        raise ValueError(f"target must have shape {L.shape + (2,)}, got {target.shape}")
    hints_mask = bool_mask(hints_mask, "hints_mask", L.shape)
    if not strength > 0:
        raise ValueError(f"strength must be > 0, got {strength}")
    if not hints_mask.any():
        return ab.copy()
    h, w = L.shape
    delta = np.where(hints_mask[..., None], target - ab, 0.0)  # (H, W, 2) correction at hints
    scale = min(1.0, float(np.sqrt(max_pixels / (h * w))))
    sh, sw = max(2, round(h * scale)), max(2, round(w * scale))
    if (sh, sw) != (h, w):
        # Average the corrections over the hint pixels inside each low-resolution cell.
        pooled = _area_resize(np.dstack([delta, hints_mask.astype(np.float64), L]), (sh, sw))
        weight = pooled[..., 2]
        fixed = weight > 0
        values = pooled[..., :2] / np.maximum(weight, 1e-12)[..., None]
        L_small = pooled[..., 3]
    else:
        fixed, values, L_small = hints_mask, delta, L
    reach = strength * REACH_FRACTION * max(sh, sw)  # pixels at the solve size
    # 8-neighbour graph with unit weights ~ 3 * Laplacian, so decay length = sqrt(3 / lambda).
    lam = 3.0 / reach**2
    correction = levin_propagate(L_small, values, fixed, prior_weight=lam)  # (sh, sw, 2)
    if (sh, sw) != (h, w):
        correction = _bilinear_resize(correction, (h, w))
    out = ab + correction
    out[hints_mask] = target[hints_mask]
    return out
