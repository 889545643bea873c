"""Argument types shared by several sub-commands."""
from __future__ import annotations

import argparse

__all__ = ["working_size_arg"]


def working_size_arg(text: str):
    """``--size``/``--work-size``: pixels (>= 16), ``auto`` (the model's own) or ``native`` (no resize -> None)."""
    if text in ("auto", "native"):
        return None if text == "native" else "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels, 'auto' or 'native', got {text!r}") from None
    if value < 16:
        raise argparse.ArgumentTypeError(f"must be at least 16 pixels, got {value}")
    return value
