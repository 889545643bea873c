"""Input checks shared by the classic methods (kornia-style: TypeError for a wrong
type or dtype, ValueError for a wrong shape or value range)."""
from __future__ import annotations

import numpy as np

__all__ = ["gray01", "rgb01", "rgb_uint8", "bool_mask"]


def _unit_float(arr: np.ndarray, name: str) -> np.ndarray:
    """uint8, or finite float in [0, 1] -> float64 in [0, 1] (same shape)."""
    if arr.dtype == np.uint8:
        return arr / 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 or float in [0, 1], got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if arr.min() < -1e-6 or arr.max() > 1 + 1e-6:
        raise ValueError(f"float {name} must lie in [0, 1], got [{arr.min():g}, {arr.max():g}]")
    return np.clip(arr.astype(np.float64), 0.0, 1.0)


def gray01(gray, name: str = "gray") -> np.ndarray:
    """``(H, W)`` uint8, or float in [0, 1] -> float64 ``(H, W)`` in [0, 1]."""
    if not isinstance(gray, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(gray).__name__}")
    if gray.ndim != 2:
        raise ValueError(f"{name} must have shape (H, W), got {gray.shape}")
    if gray.shape[0] < 2 or gray.shape[1] < 2:
        raise ValueError(f"{name} must be at least 2x2, got {gray.shape}")
    return _unit_float(gray, name)


def rgb01(image, name: str = "image") -> np.ndarray:
    """``(H, W, 3)`` RGB or ``(H, W)`` gray, uint8 or float in [0, 1] -> float64 ``(H, W, 3)`` in [0, 1]."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim == 2:
        return np.repeat(gray01(image, name)[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) or (H, W), got {image.shape}")
    return _unit_float(image, name)


def rgb_uint8(rgb, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Check a uint8 ``(H, W, 3)`` RGB array (matching ``shape`` when given)."""
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"{name} must be uint8, got {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {rgb.shape}")
    if shape is not None and rgb.shape[:2] != tuple(shape):
        raise ValueError(f"{name} is {rgb.shape[:2]} but the image is {tuple(shape)}")
    return rgb


def bool_mask(mask, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Check a bool ``(H, W)`` mask matching ``shape``."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != bool:
        raise TypeError(f"{name} must be a bool array, got {mask.dtype}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} is {mask.shape} but the image is {tuple(shape)}")
    return mask
