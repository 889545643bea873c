"""Choosing the torch device from a user's ``auto|cpu|cuda|mps`` option, and the CPU cores to use."""
from __future__ import annotations

import os

import torch

from .errors import UsageError

__all__ = ["resolve_device", "cpu_cores", "DEVICE_CHOICES"]

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; an unavailable explicit choice is a usage error."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise UsageError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if base == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was requested but no CUDA GPU is available")
    if base == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("--device mps was requested but Apple MPS is not available")
    return torch.device(name)


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
