"""Exception types shared by the API, the CLI and the web app.

A :class:`MedcolorError` is a *user* error (bad file, bad option): the CLI prints
its message on one line with no traceback.  Anything else is a bug.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["MedcolorError", "InputError", "UsageError", "UnknownModelError", "WeightsMismatchError"]


class MedcolorError(Exception):
    """Base class for errors caused by the user's input or options."""


class InputError(MedcolorError):
    """An input file that cannot be read or processed; names the file."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class UsageError(MedcolorError):
    """A bad combination of options or arguments (CLI exit code 2)."""


class UnknownModelError(MedcolorError, ValueError):
    """A model name that is neither registered, shipped, nor an existing path."""


class WeightsMismatchError(UnknownModelError):
    """A weights file whose tensors do not fit the architecture it names (or the one asked for)."""
