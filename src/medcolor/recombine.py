"""Rejoin predicted chroma with the full-resolution lightness, without changing structure.

The network sees a downscaled L* and predicts a*b* at its working size.  Here the
chroma is upsampled to the original size and joined with the *original* L*, so
every edge and texture of the output comes from the input.  Where the Lab colour
falls outside the sRGB gamut, clipping the RGB channels would change the
lightness; instead the chroma of that pixel is scaled towards neutral (same hue
angle in a*b*, same L*) until the colour fits.  Neutral gray is always in gamut,
so a solution exists for every pixel.

Guarantee (tested): after rounding to uint8, the output's L* is within 1.0 of
the input's at every pixel.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .color import lab_to_rgb, lab_to_xyz, srgb_to_linear, xyz_to_linear_rgb

__all__ = ["upsample_ab", "fit_chroma_to_gamut", "recombine", "to_uint8"]

# Bisection steps for the chroma scale: 2**-8 of the chroma (< 0.5 a*b* units) is below one uint8 step.
_BISECT_STEPS = 8
# Slack (in sRGB units) tolerated before rounding to uint8 (< 1/4 of one uint8 step).
_GAMUT_TOL = 1e-3
# The same test in linear RGB (the sRGB transfer curve is monotone), used while bisecting.
_LINEAR_LO, _LINEAR_HI = srgb_to_linear(torch.tensor([-_GAMUT_TOL, 1 + _GAMUT_TOL], dtype=torch.float64)).tolist()


def upsample_ab(ab: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize ``(N, 2, h, w)`` chroma to ``size`` = (H, W)."""
    if tuple(ab.shape[-2:]) == tuple(size):
        return ab
    return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)


def _in_gamut(rgb: torch.Tensor) -> torch.Tensor:
    # (N, 3, H, W) -> (N, 1, H, W) bool
    return ((rgb >= -_GAMUT_TOL) & (rgb <= 1 + _GAMUT_TOL)).all(dim=1, keepdim=True)


def fit_chroma_to_gamut(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Scale ``ab`` per pixel by the largest factor in [0, 1] that keeps Lab in the sRGB gamut.

    Args:
        L: ``(N, 1, H, W)`` L* in [0, 100].
        ab: ``(N, 2, H, W)`` a*b* in Lab units.

    Returns:
        ``(N, 3, H, W)`` sRGB in [0, 1] whose L* equals ``L`` (up to float error).
    """
    rgb = lab_to_rgb(torch.cat([L, ab], dim=1), clip=False)
    ok = _in_gamut(rgb)
    if bool(ok.all()):
        return rgb.clamp(0, 1)
    # Bisect the chroma scale only on the out-of-gamut pixels (usually a small minority).
    idx = (~ok).flatten().nonzero().squeeze(1)
    n, _, h, w = L.shape
    Lf = L.permute(0, 2, 3, 1).reshape(-1, 1)[idx]  # (K, 1)
    abf = ab.permute(0, 2, 3, 1).reshape(-1, 2)[idx]  # (K, 2)
    lo = torch.zeros_like(Lf)  # always in gamut (neutral gray)
    hi = torch.ones_like(Lf)  # known out of gamut
    for _ in range(_BISECT_STEPS):  # tested in linear RGB: no transfer curve per step
        mid = (lo + hi) / 2
        lab = torch.cat([Lf, abf * mid], dim=1).T.reshape(1, 3, -1, 1)
        lin = xyz_to_linear_rgb(lab_to_xyz(lab))
        fits = ((lin >= _LINEAR_LO) & (lin <= _LINEAR_HI)).all(dim=1).reshape(-1, 1)
        lo = torch.where(fits, mid, lo)
        hi = torch.where(fits, hi, mid)
    lab = torch.cat([Lf, abf * lo], dim=1).T.reshape(1, 3, -1, 1)
    fixed = lab_to_rgb(lab, clip=False).reshape(3, -1).T  # (K, 3)
    flat = rgb.permute(0, 2, 3, 1).reshape(-1, 3).clone()
    flat[idx] = fixed
    return flat.reshape(n, h, w, 3).permute(0, 3, 1, 2).clamp(0, 1)


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` float in [0, 1] -> numpy ``(N, H, W, 3)`` uint8 (rounded)."""
    return (rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def recombine(L: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """Join full-resolution ``L`` with (possibly lower-resolution) ``ab``; return uint8 RGB.

    Args:
        L: ``(N, 1, H, W)`` L* in [0, 100], the input's own lightness.
        ab: ``(N, 2, h, w)`` a*b* in Lab units at any resolution.

    Returns:
        numpy ``(N, H, W, 3)`` uint8 sRGB.
    """
    if L.dim() != 4 or L.shape[1] != 1:
        raise ValueError(f"L must have shape (N, 1, H, W), got {tuple(L.shape)}")
    if ab.dim() != 4 or ab.shape[1] != 2 or ab.shape[0] != L.shape[0]:
        raise ValueError(f"ab must have shape (N, 2, h, w) matching L, got {tuple(ab.shape)}")
    ab = upsample_ab(ab.to(L.dtype), tuple(L.shape[-2:]))
    return to_uint8(fit_chroma_to_gamut(L, ab))
