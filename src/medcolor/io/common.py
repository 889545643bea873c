"""Helpers shared by the readers."""
from __future__ import annotations

from ..color import rgb_to_gray_np as color_to_gray  # the one colour -> gray conversion

__all__ = ["color_to_gray"]
