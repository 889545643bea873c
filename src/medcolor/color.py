"""sRGB <-> CIE L*a*b* (D65, 2 degree observer) for torch tensors and numpy arrays.

Torch functions take channel-first tensors ``(*, 3, H, W)``; they are batched,
differentiable and run on any device.  The numpy functions take channel-last
arrays ``(..., 3)`` like ``skimage.color``, whose formulas and constants they
reproduce (tested against it to 1e-3 in float64).

Value ranges:
    * sRGB in [0, 1];
    * L* in [0, 100], a* and b* in roughly [-128, 127] (Lab units).

This module is the one home of the network normalisation constants: every model
sees ``(L - L_CENTER) / L_SCALE`` and predicts ``ab / AB_SCALE``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "L_CENTER", "L_SCALE", "AB_SCALE", "WHITE_D65",
    "rgb_to_lab", "lab_to_rgb", "rgb_to_lab_np", "lab_to_rgb_np",
    "gray_to_lightness", "lightness_to_gray", "normalize_l", "normalize_ab", "denormalize_ab",
    "RgbToLab", "LabToRgb",
]

# Network normalisation: L* in [0, 100] -> [-1, 1]; a*b* in Lab units / 110 -> about [-1, 1].
L_CENTER = 50.0
L_SCALE = 50.0
AB_SCALE = 110.0

# D65 reference white, 2 degree observer (as in skimage.color).
WHITE_D65 = (0.95047, 1.0, 1.08883)
# Linear sRGB -> XYZ (skimage.color.xyz_from_rgb).
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_EPS = 0.008856  # (6/29)**3, CIE's threshold for the cube root
_KAPPA = 7.787  # slope of the linear segment of f(t)
_DELTA = 16.0 / 116.0


def _check(image: torch.Tensor, name: str) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.dim() < 3 or image.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (*, 3, H, W), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {image.dtype}")


def _matrix(like: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    m = torch.tensor(_XYZ_FROM_RGB, dtype=torch.float64)
    if inverse:
        m = torch.linalg.inv(m)
    return m.to(device=like.device, dtype=like.dtype)


def _apply_matrix(m: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    # (3, 3) x (*, 3, H, W) -> (*, 3, H, W)
    return torch.einsum("ij,...jhw->...ihw", m, image)


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """Convert sRGB ``(*, 3, H, W)`` in [0, 1] to Lab ``(*, 3, H, W)`` (L* in [0, 100])."""
    _check(image, "image")
    # sRGB gamma -> linear; the clamp keeps the pow differentiable at 0.
    lin = torch.where(image > 0.04045, ((image.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, image / 12.92)
    xyz = _apply_matrix(_matrix(image), lin)
    white = torch.tensor(WHITE_D65, dtype=image.dtype, device=image.device).view(3, 1, 1)
    xyz = xyz / white
    f = torch.where(xyz > _EPS, xyz.clamp(min=_EPS) ** (1.0 / 3.0), _KAPPA * xyz + _DELTA)
    fx, fy, fz = f.unbind(-3)
    y = xyz[..., 1, :, :]
    # skimage uses 903.3 * y below the threshold, which equals 116 * f(y) - 16 there to 1e-4.
    L = torch.where(y > _EPS, 116.0 * fy - 16.0, 903.3 * y)
    a = 500.0 * (fx - fy)
    b = 200.0 * (fy - fz)
    return torch.stack([L, a, b], dim=-3)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Convert Lab ``(*, 3, H, W)`` to sRGB ``(*, 3, H, W)``.

    With ``clip=True`` (as skimage) the result is clamped to [0, 1]; with
    ``clip=False`` out-of-gamut values are returned so callers can detect them.
    """
    _check(lab, "lab")
    L, a, b = lab.unbind(-3)
    fy = (L + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = (fy - b / 200.0).clamp(min=0.0)  # skimage clamps negative z
    f = torch.stack([fx, fy, fz], dim=-3)
    xyz = torch.where(f > 0.2068966, f.clamp(min=0.2068966) ** 3, (f - _DELTA) / _KAPPA)
    white = torch.tensor(WHITE_D65, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    lin = _apply_matrix(_matrix(lab, inverse=True), xyz * white)
    rgb = torch.where(lin > 0.0031308, 1.055 * lin.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055, 12.92 * lin)
    return rgb.clamp(0.0, 1.0) if clip else rgb


def _np_call(fn, arr: np.ndarray, name: str, **kw) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3), got {arr.shape}")
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    if arr.dtype == np.uint8:
        arr = arr / 255.0
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=dtype))
    # (..., 3) -> (1, 3, N, 1) so the channel-first functions apply, then back.
    shape = t.shape
    t = t.reshape(-1, 3).T.reshape(1, 3, -1, 1)
    out = fn(t, **kw).reshape(3, -1).T.reshape(shape)
    return out.numpy()


def rgb_to_lab_np(rgb: np.ndarray) -> np.ndarray:
    """numpy sRGB ``(..., 3)`` (float in [0, 1], or uint8) -> Lab ``(..., 3)``."""
    return _np_call(rgb_to_lab, rgb, "rgb")


def lab_to_rgb_np(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """numpy Lab ``(..., 3)`` -> sRGB ``(..., 3)`` float in [0, 1] (clipped when ``clip``)."""
    return _np_call(lab_to_rgb, lab, "lab", clip=clip)


def gray_to_lightness(gray):
    """L* of a neutral sRGB gray in [0, 1] (any shape, numpy or torch)."""
    if isinstance(gray, torch.Tensor):
        lin = torch.where(gray > 0.04045, ((gray.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, gray / 12.92)
        return torch.where(lin > _EPS, 116.0 * lin.clamp(min=_EPS) ** (1.0 / 3.0) - 16.0, 903.3 * lin)
    g = np.asarray(gray, dtype=np.float64)
    lin = np.where(g > 0.04045, ((np.maximum(g, 0.04045) + 0.055) / 1.055) ** 2.4, g / 12.92)
    return np.where(lin > _EPS, 116.0 * np.cbrt(np.maximum(lin, _EPS)) - 16.0, 903.3 * lin)


def lightness_to_gray(L):
    """Inverse of :func:`gray_to_lightness`: the sRGB gray level in [0, 1] whose L* is ``L``."""
    if isinstance(L, torch.Tensor):
        y = torch.where(L > 8.0, ((L + 16.0) / 116.0).clamp(min=0) ** 3, L / 903.3)
        return torch.where(y > 0.0031308, 1.055 * y.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * y).clamp(0, 1)
    L = np.asarray(L, dtype=np.float64)
    y = np.where(L > 8.0, ((L + 16.0) / 116.0).clip(min=0) ** 3, L / 903.3)
    return np.clip(np.where(y > 0.0031308, 1.055 * np.maximum(y, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * y), 0, 1)


def normalize_l(L: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] -> network input in [-1, 1]."""
    return (L - L_CENTER) / L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """a*b* in Lab units -> network target scale (about [-1, 1])."""
    return ab / AB_SCALE


def denormalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Network output scale -> a*b* in Lab units."""
    return ab * AB_SCALE


class RgbToLab(nn.Module):
    """Module form of :func:`rgb_to_lab`: ``(*, 3, H, W)`` sRGB -> Lab."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(image)


class LabToRgb(nn.Module):
    """Module form of :func:`lab_to_rgb`: ``(*, 3, H, W)`` Lab -> sRGB."""

    def __init__(self, clip: bool = True) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, lab: torch.Tensor) -> torch.Tensor:
        return lab_to_rgb(lab, clip=self.clip)
