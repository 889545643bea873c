"""Run every method on the same inputs and score each output.

:class:`ModelMethod` wraps a trained model (shipped name, ``.safetensors`` file
or run directory) behind the baselines' convention ``method(sample) -> uint8
(H, W, 3)``.  :func:`run_methods` loops image by image, calls each method on the
same :class:`~medcolor.evaluate.protocol.Sample`, times the call alone, scores
the output with :func:`~medcolor.evaluate.metrics.compute_all` and keeps the
outputs of a few images for the report grid.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metrics import compute_all
from .protocol import Sample

__all__ = ["ModelMethod", "RunResult", "run_methods", "grid_indices", "mean_metrics"]


@dataclass
class ModelMethod:
    """A colorization model applied through :func:`medcolor.colorize_gray`.

    ``name`` is the string given on the command line; the model is loaded once
    at construction (an unknown model raises ``UnknownModelError`` before any
    image is processed).
    """

    name: str
    spec: str
    device: str = "auto"
    work_size: int | str | None = "auto"
    model: Any = None  # an already loaded model (the trainer's validation); else loaded from ``spec``

    def __post_init__(self) -> None:
        from ..device import resolve_device
        from ..pipeline import model_working_size
        from ..weights import load_model

        self.torch_device = resolve_device(self.device)  # where the model runs
        if self.model is None:
            self.model = load_model(self.spec, device=self.torch_device)
        # "auto": the size the model was trained for (from its card); None = native size
        self.working_size = model_working_size(self.model) if self.work_size == "auto" else self.work_size

    def warmup(self, sample: Sample) -> None:
        """One untimed call, so that one-off costs (kernel selection, caches) are not timed."""
        self(sample)

    def __call__(self, sample: Sample) -> np.ndarray:
        from ..pipeline import colorize_gray

        gray = sample.gray.astype(np.float32) / 255.0  # (H, W) display gray in [0, 1]
        return colorize_gray(gray, model=self.model, working_size=self.working_size, device=self.torch_device)


@dataclass
class RunResult:
    """Per-image rows and the outputs kept for the grid.

    Attributes:
        rows: one dict per (image, method): ``image, method, width, height,
            time_s`` and every metric of :data:`~medcolor.evaluate.metrics.METRICS`.
        grid: ``{image name: {"input": gray rgb, "ground truth": gt, method: output}}``
            for the images chosen by :func:`grid_indices`, all uint8 ``(H, W, 3)``.
    """

    rows: list[dict] = field(default_factory=list)
    grid: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def grid_indices(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (all of them when ``k >= n``)."""
    if k <= 0 or n == 0:
        return []
    if k >= n:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})


def _check_output(out: np.ndarray, sample: Sample, method: str) -> np.ndarray:
    out = np.asarray(out)
    if out.shape != sample.gt.shape or out.dtype != np.uint8:
        raise RuntimeError(f"method {method!r} returned {out.dtype} {out.shape} for {sample.name}, "
                           f"expected uint8 {sample.gt.shape}")
    return out


def run_methods(samples: list[Sample], methods: list, grid: int = 6, log=None,
                extra_metrics: dict | None = None) -> RunResult:
    """Apply each method to each sample (same inputs for all) and score the outputs.

    ``extra_metrics`` maps a column name to ``fn(gt, pred) -> float`` (e.g. LPIPS).
    """
    result = RunResult()
    keep = set(grid_indices(len(samples), grid))
    for method in methods:
        if samples and hasattr(method, "warmup"):
            method.warmup(samples[0])
    for i, sample in enumerate(samples):
        h, w = sample.gray.shape
        if i in keep:
            result.grid[sample.name] = {"input": sample.gray_rgb, "ground truth": sample.gt}
        for method in methods:
            start = time.perf_counter()
            out = method(sample)
            elapsed = time.perf_counter() - start
            out = _check_output(out, sample, method.name)
            row = {"image": sample.name, "method": method.name, "width": w, "height": h}
            row.update(compute_all(sample.gt, sample.gray, out))
            for key, fn in (extra_metrics or {}).items():
                row[key] = fn(sample.gt, out)
            row["time_s"] = elapsed
            result.rows.append(row)
            if i in keep:
                result.grid[sample.name][method.name] = out
        if log:
            log(f"[{i + 1}/{len(samples)}] {sample.name} ({w}x{h})")
    return result


def mean_metrics(result: RunResult, method: str) -> dict[str, float]:
    """Mean of every numeric column of ``method``'s rows (what the reports' tables show)."""
    rows = [r for r in result.rows if r["method"] == method]
    keys = [k for k, v in rows[0].items() if isinstance(v, float) and k != "time_s"] if rows else []
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}
