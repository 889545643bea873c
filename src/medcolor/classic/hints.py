"""User colour hints on top of a network's chroma.

Hints image.  The same size as the input image: coloured marks (scribbles, dots)
on transparent or neutral-gray pixels.  A pixel is a hint when

    * its alpha is > 0 (images without alpha count as opaque), and
    * its colour is not neutral: Lab chroma C*ab = sqrt(a*^2 + b*^2) > 6.

So a hints file can be a transparent PNG with strokes, or a copy of the gray
image painted over in colour (the gray pixels, chroma near 0, are ignored).  A
hint fixes the pixel's a*b* to the mark's a*b*; the image's own L* is kept.

Refinement (:func:`refine_ab`).  The correction delta = hint_ab - net_ab is
known at hinted pixels; it is spread with the Levin affinities of the image's L*
(:func:`medcolor.classic.levin.levin_propagate`) plus a weak data term pulling
delta to 0, so a correction stops at edges and fades with distance, and regions
far from every hint keep the network's colour.  In a flat region the correction
decays over about ``strength * 0.25 * max(H, W)`` pixels.  Images above
``max_pixels`` are solved at a reduced size (area-downsampled L* and delta) and
the correction is upsampled bilinearly; the hinted pixels are then set exactly.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ._checks import bool_mask, rgb_uint8
from .levin import levin_propagate

__all__ = ["HINT_MIN_CHROMA", "load_hints", "hint_ab", "refine_ab"]

HINT_MIN_CHROMA = 6.0  # C*ab above which a mark counts as a colour hint (gray marks are ignored)
REACH_FRACTION = 0.25  # decay length of a correction in flat regions, as a fraction of max(H, W)
DEFAULT_MAX_PIXELS = 512 * 512


def _mask_from_rgba(rgba: np.ndarray) -> np.ndarray:
    from ..color import rgb_to_lab_np

    lab = rgb_to_lab_np(rgba[..., :3].astype(np.float32) / 255.0)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return (rgba[..., 3] > 0) & (chroma > HINT_MIN_CHROMA)


def load_hints(path_or_array, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Read a hints image (file or array) and find the hint pixels.

    Args:
        path_or_array: a path to an image PIL can read, or a uint8 array
            ``(H, W, 3)`` / ``(H, W, 4)`` (RGB / RGBA).
        shape: ``(H, W)`` of the image being colorized.

    Returns:
        ``(hints_rgb, mask)``: ``(H, W, 3)`` uint8 and ``(H, W)`` bool.

    Raises:
        InputError: the file cannot be read or its size differs from ``shape``.
    """
    shape = tuple(int(v) for v in shape)
    if isinstance(path_or_array, (str, os.PathLike)):
        from PIL import Image, UnidentifiedImageError

        path = Path(path_or_array)
        try:
            with Image.open(path) as im:
                rgba = np.asarray(im.convert("RGBA"))
        except FileNotFoundError:
            raise InputError(path, "hints file not found") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(path, f"cannot read the hints image ({exc})") from None
        name = path
    else:
        arr = np.asarray(path_or_array)
        if arr.dtype != np.uint8:
            raise TypeError(f"a hints array must be uint8, got {arr.dtype}")
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise ValueError(f"a hints array must have shape (H, W, 3) or (H, W, 4), got {arr.shape}")
        alpha = arr[..., 3] if arr.shape[-1] == 4 else np.full(arr.shape[:2], 255, np.uint8)
        rgba = np.dstack([arr[..., :3], alpha])
        name = "hints array"
    if rgba.shape[:2] != shape:
        raise InputError(name, f"hints image is {rgba.shape[1]}x{rgba.shape[0]} (WxH) "
                               f"but the input image is {shape[1]}x{shape[0]}")
    return np.ascontiguousarray(rgba[..., :3]), _mask_from_rgba(rgba)


def hint_ab(hints_rgb: np.ndarray) -> np.ndarray:
    """a*b* of hint colours: uint8 ``(H, W, 3)`` -> float64 ``(H, W, 2)`` in Lab units."""
    from ..color import rgb_to_lab_np

    return rgb_to_lab_np(hints_rgb.astype(np.float64) / 255.0)[..., 1:]


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
    """Refine network chroma with user hints (see the module docstring).

    Args:
        L: ``(H, W)`` float L* in [0, 100], the image's lightness.
        ab: ``(H, W, 2)`` float network a*b* in Lab units, at the same size.
        hints_rgb: ``(H, W, 3)`` uint8 hint colours.
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
    hints_rgb = rgb_uint8(hints_rgb, "hints_rgb", L.shape)
    hints_mask = bool_mask(hints_mask, "hints_mask", L.shape)
    if not strength > 0:
        raise ValueError(f"strength must be > 0, got {strength}")
    if not hints_mask.any():
        return ab.copy()
    h, w = L.shape
    target = hint_ab(hints_rgb)  # (H, W, 2)
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
