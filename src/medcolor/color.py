"""sRGB <-> linear RGB <-> CIE XYZ <-> CIE L*a*b* (D65, 2 degree observer), and gray.

Small primitives composed, kornia style: each conversion is a function plus,
where a network wants one, a thin ``nn.Module``.  The sRGB transfer curve, the
XYZ matrix and the L* curve are written once here; every other module uses them.

* Torch functions take channel-first tensors ``(*, 3, H, W)``; they are batched,
  differentiable and run on any device and floating dtype.
* ``*_np`` functions take channel-last arrays ``(..., 3)`` like ``skimage.color``,
  whose formulas and constants they reproduce (tested against it to 1e-3).
  uint8 and uint16 arrays are scaled by 255 and 65535.
* Elementwise curves (:func:`srgb_to_linear`, :func:`linear_to_srgb`,
  :func:`gray_to_lightness`, :func:`lightness_to_gray`) take a tensor or an
  array of any shape and return the same kind (arrays in float64).

Value ranges:
    * sRGB and linear RGB in [0, 1]; XYZ with Y in [0, 1];
    * L* in [0, 100], a* and b* in roughly [-128, 127] (Lab units).

This module is also the one home of the network normalisation constants: every
model sees ``(L - L_CENTER) / L_SCALE`` and predicts ``ab / AB_SCALE``.
"""
from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
import torch
from torch import nn

__all__ = [
    "L_CENTER", "L_SCALE", "AB_SCALE", "WHITE_D65",
    "srgb_to_linear", "linear_to_srgb", "linear_rgb_to_xyz", "xyz_to_linear_rgb", "xyz_to_lab", "lab_to_xyz",
    "rgb_to_lab", "lab_to_rgb", "rgb_to_gray", "rgb_to_lab_np", "lab_to_rgb_np", "rgb_to_gray_np",
    "to_unit_float", "gray_to_lightness", "lightness_to_gray", "chroma", "is_near_gray",
    "NEAR_GRAY_CHROMA", "NEAR_GRAY_QUANTILE",
    "normalize_l", "normalize_ab", "denormalize_ab",
    "RgbToLab", "LabToRgb", "RgbToGray",
]

# Network normalisation: L* in [0, 100] -> [-1, 1]; a*b* in Lab units / 110 -> about [-1, 1].
L_CENTER = 50.0
L_SCALE = 50.0
AB_SCALE = 110.0

# D65 reference white, 2 degree observer (as in skimage.color).
WHITE_D65 = (0.95047, 1.0, 1.08883)
# Linear sRGB -> XYZ (skimage.color.xyz_from_rgb); its middle row gives the luminance Y.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
# sRGB transfer curve (IEC 61966-2-1).
_SRGB_KNEE = 0.04045  # encoded value where the linear segment ends
_LIN_KNEE = 0.0031308  # the same point in linear light
# CIE L* curve.
_EPS = 0.008856  # (6/29)**3, CIE's threshold for the cube root
_KAPPA = 7.787  # slope of the linear segment of f(t)
_DELTA = 16.0 / 116.0
_F_KNEE = 0.2068966  # f(_EPS) = 6/29
_L_KNEE = 8.0  # L* at Y = _EPS
_L_SLOPE = 903.3  # L* = 903.3 Y below the threshold (skimage's constant)

T = TypeVar("T", torch.Tensor, np.ndarray)


# ---------------------------------------------------------------- checks and numpy bridges
def _check_float(x, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")


def _check(image, name: str) -> None:
    _check_float(image, name)
    if image.dim() < 3 or image.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (*, 3, H, W), got {tuple(image.shape)}")


def to_unit_float(arr: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint8 / uint16 / bool / float array -> float ``dtype`` with integers scaled to [0, 1].

    uint8 is divided by 255 and uint16 by 65535; floats are converted unchanged
    (not clipped). Other dtypes raise ``TypeError``.
    """
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        return arr.astype(dtype)
    if arr.dtype in (np.uint8, np.uint16):
        return arr.astype(dtype) / dtype(np.iinfo(arr.dtype).max)
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(dtype, copy=False)
    raise TypeError(f"unsupported image dtype {arr.dtype}; pass uint8, uint16 or float in [0, 1]")


def _elementwise(fn: Callable[[torch.Tensor], torch.Tensor], x: T, name: str) -> T:
    """Apply a torch curve to a tensor, or to a numpy array in float64 (returned as numpy)."""
    if isinstance(x, torch.Tensor):
        _check_float(x, name)
        return fn(x)
    arr = np.asarray(x, dtype=np.float64)
    return fn(torch.from_numpy(np.ascontiguousarray(arr))).numpy()


def _np_call(fn, arr: np.ndarray, name: str, scale: bool = True, **kw) -> np.ndarray:
    """Run a channel-first torch conversion on a channel-last ``(..., 3)`` array.

    With ``scale``, uint8/uint16 input is scaled to [0, 1] (image values); without, any
    numeric array is taken as it is (Lab values).
    """
    arr = np.asarray(arr)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3), got {arr.shape}")
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    arr = to_unit_float(arr, dtype) if scale else arr.astype(dtype, copy=False)
    t = torch.from_numpy(np.ascontiguousarray(arr))
    # (..., 3) -> (1, 3, N, 1) so the channel-first functions apply, then back.
    shape = t.shape
    out = fn(t.reshape(-1, 3).T.reshape(1, 3, -1, 1), **kw)
    return out.reshape(out.shape[-3], -1).T.reshape(*shape[:-1], out.shape[-3]).numpy()


def _matrix(like: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    m = torch.tensor(_XYZ_FROM_RGB, dtype=torch.float64)
    if inverse:
        m = torch.linalg.inv(m)
    return m.to(device=like.device, dtype=like.dtype)


def _apply_matrix(m: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    # (k, 3) x (*, 3, H, W) -> (*, k, H, W)
    return torch.einsum("ij,...jhw->...ihw", m, image)


def _white(like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(WHITE_D65, dtype=like.dtype, device=like.device).view(3, 1, 1)


# ---------------------------------------------------------------- the curves, written once
def _decode(v: torch.Tensor) -> torch.Tensor:
    # the clamp keeps the pow differentiable (and finite) below the knee
    return torch.where(v > _SRGB_KNEE, ((v.clamp(min=_SRGB_KNEE) + 0.055) / 1.055) ** 2.4, v / 12.92)


def _encode(v: torch.Tensor) -> torch.Tensor:
    return torch.where(v > _LIN_KNEE, 1.055 * v.clamp(min=_LIN_KNEE) ** (1.0 / 2.4) - 0.055, 12.92 * v)


def _f(t: torch.Tensor) -> torch.Tensor:
    """CIE f(t): cube root above (6/29)^3, linear below."""
    return torch.where(t > _EPS, t.clamp(min=_EPS) ** (1.0 / 3.0), _KAPPA * t + _DELTA)


def _f_inv(f: torch.Tensor) -> torch.Tensor:
    return torch.where(f > _F_KNEE, f.clamp(min=_F_KNEE) ** 3, (f - _DELTA) / _KAPPA)


def _lightness(y: torch.Tensor) -> torch.Tensor:
    """Relative luminance Y in [0, 1] -> L* in [0, 100]."""
    # skimage uses 903.3 * y below the threshold, which equals 116 * f(y) - 16 there to 1e-4.
    return torch.where(y > _EPS, 116.0 * _f(y) - 16.0, _L_SLOPE * y)


def _luminance(L: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_lightness`: L* -> Y."""
    return torch.where(L > _L_KNEE, ((L + 16.0) / 116.0).clamp(min=0) ** 3, L / _L_SLOPE)


def srgb_to_linear(image: T) -> T:
    """sRGB-encoded values in [0, 1] -> linear light in [0, 1] (any shape, elementwise)."""
    return _elementwise(_decode, image, "image")


def linear_to_srgb(image: T) -> T:
    """Linear light -> sRGB-encoded values (any shape, elementwise; not clipped)."""
    return _elementwise(_encode, image, "image")


# ---------------------------------------------------------------- composed conversions
def linear_rgb_to_xyz(image: torch.Tensor) -> torch.Tensor:
    """Linear RGB ``(*, 3, H, W)`` in [0, 1] -> CIE XYZ ``(*, 3, H, W)`` (Y in [0, 1])."""
    _check(image, "image")
    return _apply_matrix(_matrix(image), image)


def xyz_to_linear_rgb(xyz: torch.Tensor) -> torch.Tensor:
    """CIE XYZ ``(*, 3, H, W)`` -> linear RGB ``(*, 3, H, W)`` (not clipped)."""
    _check(xyz, "xyz")
    return _apply_matrix(_matrix(xyz, inverse=True), xyz)


def xyz_to_lab(xyz: torch.Tensor) -> torch.Tensor:
    """CIE XYZ ``(*, 3, H, W)`` -> L*a*b* ``(*, 3, H, W)`` relative to D65."""
    _check(xyz, "xyz")
    xyz = xyz / _white(xyz)
    fx, fy, fz = _f(xyz).unbind(-3)
    L = _lightness(xyz[..., 1, :, :])
    return torch.stack([L, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_xyz(lab: torch.Tensor) -> torch.Tensor:
    """L*a*b* ``(*, 3, H, W)`` -> CIE XYZ ``(*, 3, H, W)`` relative to D65."""
    _check(lab, "lab")
    L, a, b = lab.unbind(-3)
    fy = (L + 16.0) / 116.0
    fz = (fy - b / 200.0).clamp(min=0.0)  # skimage clamps negative z
    return _f_inv(torch.stack([fy + a / 500.0, fy, fz], dim=-3)) * _white(lab)


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """sRGB ``(*, 3, H, W)`` in [0, 1] -> Lab ``(*, 3, H, W)`` (L* in [0, 100])."""
    _check(image, "image")
    return xyz_to_lab(linear_rgb_to_xyz(_decode(image)))


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Lab ``(*, 3, H, W)`` -> sRGB ``(*, 3, H, W)``.

    With ``clip=True`` (as skimage) the result is clamped to [0, 1]; with
    ``clip=False`` out-of-gamut values are returned so callers can detect them.
    """
    rgb = _encode(xyz_to_linear_rgb(lab_to_xyz(lab)))
    return rgb.clamp(0.0, 1.0) if clip else rgb


def rgb_to_gray(image: torch.Tensor) -> torch.Tensor:
    """sRGB ``(*, 3, H, W)`` in [0, 1] -> sRGB gray ``(*, 1, H, W)`` in [0, 1] with the same L*.

    The gray level is the sRGB encoding of the luminance Y, so a colour image
    converted here and colorized again keeps the lightness of the original.
    """
    _check(image, "image")
    y = _apply_matrix(_matrix(image)[1:2], _decode(image))
    return _encode(y).clamp(0.0, 1.0)


def rgb_to_lab_np(rgb: np.ndarray) -> np.ndarray:
    """numpy sRGB ``(..., 3)`` (float in [0, 1], uint8 or uint16) -> Lab ``(..., 3)``."""
    return _np_call(rgb_to_lab, rgb, "rgb")


def lab_to_rgb_np(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """numpy Lab ``(..., 3)`` -> sRGB ``(..., 3)`` float in [0, 1] (clipped when ``clip``)."""
    return _np_call(lab_to_rgb, lab, "lab", scale=False, clip=clip)


def rgb_to_gray_np(rgb: np.ndarray) -> np.ndarray:
    """numpy sRGB ``(..., 3)`` (float, uint8 or uint16) -> float32 gray ``(...)`` in [0, 1], same L*.

    Floats are clipped to [0, 1] first. An image whose three channels are equal
    is already gray: its values are returned bit-exact (scaled to [0, 1]).
    """
    rgb = np.clip(to_unit_float(rgb, np.float32), 0.0, 1.0)
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb must have shape (..., 3), got {rgb.shape}")
    if rgb.size and np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])
    return np.ascontiguousarray(_np_call(rgb_to_gray, rgb, "rgb")[..., 0])


def gray_to_lightness(gray: T) -> T:
    """L* in [0, 100] of a neutral sRGB gray in [0, 1] (any shape, numpy or torch)."""
    return _elementwise(lambda g: _lightness(_decode(g)), gray, "gray")


def lightness_to_gray(L: T) -> T:
    """Inverse of :func:`gray_to_lightness`: the sRGB gray level in [0, 1] whose L* is ``L``."""
    return _elementwise(lambda v: _encode(_luminance(v)).clamp(0.0, 1.0), L, "L")


def chroma(lab: T) -> T:
    """C*ab = sqrt(a*^2 + b*^2) of Lab ``(..., 3)`` channel-last (numpy) or ``(*, 3, H, W)`` (torch)."""
    if isinstance(lab, torch.Tensor):
        _check(lab, "lab")
        return torch.hypot(lab[..., 1, :, :], lab[..., 2, :, :])
    lab = np.asarray(lab)
    return np.hypot(lab[..., 1], lab[..., 2])


#: An image whose chroma is at most this many Lab units (about one just-noticeable
#: difference) at ``NEAR_GRAY_QUANTILE`` of its pixels has no colour worth learning or scoring.
NEAR_GRAY_CHROMA = 2.0
NEAR_GRAY_QUANTILE = 0.99


def is_near_gray(rgb: np.ndarray, max_chroma: float = NEAR_GRAY_CHROMA,
                 quantile: float = NEAR_GRAY_QUANTILE) -> bool:
    """True when ``quantile`` of the pixels of sRGB ``(..., 3)`` have chroma <= ``max_chroma``.

    The one near-gray test: training skips such images and evaluation does not score them.
    ``rgb`` is uint8, uint16 or float in [0, 1].
    """
    c = chroma(rgb_to_lab_np(rgb))
    return bool(c.size == 0 or float(np.quantile(c, quantile)) <= max_chroma)


# ---------------------------------------------------------------- network normalisation
def normalize_l(L: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] -> network input in [-1, 1]."""
    return (L - L_CENTER) / L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """a*b* in Lab units -> network target scale (about [-1, 1])."""
    return ab / AB_SCALE


def denormalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Network output scale -> a*b* in Lab units."""
    return ab * AB_SCALE


# ---------------------------------------------------------------- modules
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


class RgbToGray(nn.Module):
    """Module form of :func:`rgb_to_gray`: ``(*, 3, H, W)`` sRGB -> ``(*, 1, H, W)`` gray."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_gray(image)
