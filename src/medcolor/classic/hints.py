"""Levin refinement: user colour hints on top of a network's chroma (the classic baseline).

Reading hints (images, arrays, ``(rgb, mask)``) lives in :mod:`medcolor.hints`, which
builds on this module (never the other way round); a hint fixes the pixel's a*b* to
the mark's a*b*, the image's own L* is kept.  :func:`masked_pool` is the one
mask-weighted pooling of sparse values (hint maps, corrections).

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
import torch
import torch.nn.functional as F

from ._checks import bool_mask, rgb_uint8
from .levin import levin_propagate

__all__ = ["refine_ab", "refine_ab_lab", "masked_pool", "colours_to_ab", "hint_ab", "SOLVE_PIXELS"]

REACH_FRACTION = 0.25  # decay length of a correction in flat regions, as a fraction of max(H, W)
# The correction is solved at most at this many pixels (then upsampled bilinearly): it is
# smooth away from edges, and a 128x128 solve is direct (no AMG set-up), which keeps a hint
# re-run interactive.
SOLVE_PIXELS = 128 * 128


def masked_pool(values: torch.Tensor, mask: torch.Tensor, shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Area-pool sparse ``values`` ``(B, C, H, W)`` known where ``mask`` ``(B, 1, H, W)`` (in [0, 1]) to ``shape``.

    Returns ``(mean of the masked values per cell, mask coverage per cell)``; a cell holding
    any masked pixel has coverage > 0, so a one-pixel mark is never lost.
    """
    weighted = F.adaptive_avg_pool2d(values * mask, shape)
    coverage = F.adaptive_avg_pool2d(mask, shape)
    return weighted / coverage.clamp(min=1e-12), coverage


def colours_to_ab(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``(..., 3)`` sRGB -> float64 ``(..., 2)`` a*b*, converting each distinct colour once.

    Hint images hold few distinct colours, so this is much faster than a per-pixel conversion.
    """
    from ..color import rgb_to_lab_np

    flat = rgb.reshape(-1, 3).astype(np.uint32)
    colours, index = np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2], return_inverse=True)
    table = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=-1).astype(np.float64) / 255.0
    ab = rgb_to_lab_np(table)[:, 1:] if colours.size else np.zeros((0, 2))
    return ab[index.ravel()].reshape(*rgb.shape[:-1], 2)


def hint_ab(hints_rgb: np.ndarray) -> np.ndarray:
    """a*b* of hint colours: uint8 ``(H, W, 3)`` -> float64 ``(H, W, 2)`` in Lab units."""
    return colours_to_ab(np.asarray(hints_rgb, dtype=np.uint8))


def _channels_first(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # (1, C, H, W)


def _bilinear_resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]  # (1, C, h, w)
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0].numpy().transpose(1, 2, 0)


def refine_ab(L: np.ndarray, ab: np.ndarray, hints_rgb: np.ndarray, hints_mask: np.ndarray,
              strength: float = 1.0, *, max_pixels: int = SOLVE_PIXELS) -> np.ndarray:
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
                  strength: float = 1.0, *, max_pixels: int = SOLVE_PIXELS) -> np.ndarray:
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
        mean, coverage = masked_pool(_channels_first(delta), _channels_first(hints_mask[..., None].astype(np.float64)),
                                     (sh, sw))
        fixed = coverage[0, 0].numpy() > 0
        values = mean[0].numpy().transpose(1, 2, 0)
        L_small = F.adaptive_avg_pool2d(_channels_first(L[..., None]), (sh, sw))[0, 0].numpy()
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
