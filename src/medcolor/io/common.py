"""Helpers shared by the readers: colour -> luminance, warnings, size limits."""
from __future__ import annotations

import warnings
from pathlib import Path

from ..color import rgb_to_gray_np as color_to_gray  # the one colour -> gray conversion
from ..errors import InputError

__all__ = ["color_to_gray", "warn_input", "check_pixels", "new_meta"]


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
