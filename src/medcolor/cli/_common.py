"""Command-line flags derived from the core's option types (:mod:`medcolor.options`).

Each option has one name, one set of bounds and one help text; the sub-commands add
them with these helpers rather than writing their own.
"""
from __future__ import annotations

import argparse

from ..errors import UsageError
from ..options import (
    CONFIDENCE_HELP,
    HINT_METHOD_HELP,
    HINT_METHODS,
    LIMIT_OPTIONS,
    WINDOW_HELP,
    WORKING_SIZE_HELP,
    limit_wording,
    parse_working_size,
)

__all__ = ["working_size_arg", "window_arg", "add_working_size", "add_window", "add_hint_method", "add_confidence",
           "add_limits", "limits_from_args", "positive_int"]


def working_size_arg(text: str):
    """``--working-size``: pixels in the bounds, ``auto`` (the model's own) or ``native`` (no resize -> None)."""
    try:
        return parse_working_size(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def window_arg(text: str):
    """``--window``: a preset name or ``CENTER,WIDTH`` (checked by :func:`medcolor.io.parse_window`)."""
    from ..io import parse_window

    try:
        return parse_window(text)
    except (UsageError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_working_size(p: argparse.ArgumentParser) -> None:
    p.add_argument("--working-size", type=working_size_arg, default="auto", metavar="PX", help=WORKING_SIZE_HELP)


def add_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", type=window_arg, default=None, metavar="PRESET|C,W", help=WINDOW_HELP)


def add_hint_method(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hint-method", choices=HINT_METHODS, default="auto", help=HINT_METHOD_HELP)


def add_confidence(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confidence", action="store_true", help=CONFIDENCE_HELP)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def add_limits(p: argparse.ArgumentParser, defaults) -> None:
    """One flag per :data:`~medcolor.options.LIMIT_OPTIONS` entry, defaulting to ``defaults`` (a Limits)."""
    for o in LIMIT_OPTIONS:
        value = getattr(defaults, o.field)
        p.add_argument(o.flag, dest=o.name, type=positive_int, default=value, metavar="N",
                       help=f"{o.help} (default {value})")


def limits_from_args(args: argparse.Namespace, how: str = ""):
    """The :class:`~medcolor.limits.Limits` the limit flags give; messages name the flags (after ``how``)."""
    from ..limits import Limits

    return Limits(**{o.field: getattr(args, o.name) for o in LIMIT_OPTIONS}, options=limit_wording(how))
