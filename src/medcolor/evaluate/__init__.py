"""Reproducible, colour-aware evaluation of colorization methods (``medcolor evaluate``).

>>> from medcolor.evaluate import EvalConfig, evaluate
>>> result = evaluate(EvalConfig(data="photos/val", out="report", models=["default"]))
>>> result.summary["zero-chroma"]["psnr"]          # mean PSNR in dB

Modules: :mod:`.protocol` (ground truth and inputs), :mod:`.metrics`
(per-image scores), :mod:`.baselines` (zero-chroma and classic methods),
:mod:`.runner` (apply and time every method), :mod:`.report` (files),
:mod:`.perceptual` (optional LPIPS) and :mod:`.api` (the whole run).
"""
from __future__ import annotations

from .api import EvalConfig, EvalResult, evaluate, evaluate_sets, side_by_side
from .metrics import METRICS, ab_rmse, colorfulness, compute_all, delta_e2000, max_delta_l, psnr, ssim

__all__ = ["EvalConfig", "EvalResult", "evaluate", "evaluate_sets", "side_by_side", "METRICS", "compute_all", "psnr", "ssim",
           "delta_e2000", "ab_rmse", "colorfulness", "max_delta_l"]
