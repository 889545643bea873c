"""Optimizers, learning-rate schedules and mixed-precision settings from the config.

Schedules are multiplicative factors on the base learning rate, applied by
:class:`torch.optim.lr_scheduler.LambdaLR` (whose state dict resumes exactly):

* ``constant``: 1 after warm-up;
* ``cosine``: half a cosine from 1 down to ``min_lr_ratio`` at the last step;
* ``linear``: straight line from 1 down to ``min_lr_ratio`` (pix2pix-style decay).

All of them ramp linearly from ``1 / warmup`` to 1 over the first ``warmup`` steps.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

from ..errors import UsageError
from .config import OPTIMIZERS, SCHEDULES, OptimConfig, ScheduleConfig

__all__ = ["build_optimizer", "lr_factor", "build_scheduler", "amp_dtype"]


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum ``betas[0]``) over ``params``."""
    params = [p for p in params if p.requires_grad]
    name = cfg.name.lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.betas[0], weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.name!r} (TrainConfig.validate admits only {OPTIMIZERS})")


def lr_factor(step: int, total: int, cfg: ScheduleConfig) -> float:
    """Multiplier of the base LR at 0-based ``step`` of ``total`` steps."""
    if cfg.warmup > 0 and step < cfg.warmup:
        return (step + 1) / cfg.warmup
    span = max(1, total - cfg.warmup)
    t = min(1.0, (step - cfg.warmup) / span)  # progress after warm-up, in [0, 1]
    lo = cfg.min_lr_ratio
    if cfg.name == "constant":
        return 1.0
    if cfg.name == "cosine":
        return lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * t))
    if cfg.name == "linear":
        return lo + (1.0 - lo) * (1.0 - t)
    raise ValueError(f"unknown schedule {cfg.name!r} (TrainConfig.validate admits only {SCHEDULES})")


def build_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, cfg: ScheduleConfig) -> LambdaLR:
    lr_factor(0, total_steps, cfg)  # fails now, not at the first step, on a config that skipped validate()
    return LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, cfg))


def amp_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or ``None`` for full float32.

    ``auto`` means bf16 on a GPU that supports it, fp16 on older GPUs, and
    float32 on CPU (CPU autocast is slower than float32 for these small convnets).
    """
    if setting == "off":
        return None
    if setting == "bf16":
        return torch.bfloat16
    if setting == "fp16":
        if device.type != "cuda":
            raise UsageError("amp=fp16 needs a CUDA GPU; use amp=bf16 or amp=off on this device")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None
