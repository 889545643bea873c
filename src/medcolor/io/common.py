"""Helpers shared by the readers: colour -> luminance, warnings, size limits."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..color import lightness_to_gray, rgb_to_lab_np
from ..errors import InputError

__all__ = ["color_to_gray", "warn_input", "check_pixels", "new_meta"]


def color_to_gray(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(..., 3)`` in [0, 1] -> float32 gray ``(...)`` in [0, 1] with the same CIE L*.

    Using L* (rather than a luma formula) means a colour photo converted here
    and colorized again keeps the lightness of the original exactly.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.size and np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])  # already gray: keep the values bit-exact
    lightness = rgb_to_lab_np(rgb)[..., 0]
    return np.clip(np.asarray(lightness_to_gray(lightness), dtype=np.float32), 0.0, 1.0)


def warn_input(meta: dict, path: str | Path, message: str) -> None:
    """One-line ``warnings.warn`` naming the file, also recorded in ``meta["warnings"]``."""
    text = f"{path}: {message}"
    meta.setdefault("warnings", []).append(text)
    warnings.warn(text, UserWarning, stacklevel=3)


def check_pixels(path: str | Path, height: int, width: int, max_pixels: int | None) -> None:
    """Refuse frames over ``max_pixels`` (H * W) before decoding them."""
    if height <= 0 or width <= 0:
        raise InputError(path, f"image has no pixels ({width}x{height})")
    if max_pixels is not None and height * width > max_pixels:
        raise InputError(path, f"image is {width}x{height} = {height * width} pixels, over the limit of "
                               f"{max_pixels} pixels per frame (raise max_pixels / --max-pixels to allow it)")


def new_meta(path: str | Path, fmt: str) -> dict:
    """The keys every reader fills; readers update them."""
    return {"path": str(path), "format": fmt, "shape": None, "frames": 0, "bits": None,
            "window": None, "scaling": None, "warnings": []}
