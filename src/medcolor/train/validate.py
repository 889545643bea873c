"""Validation during training, through the same prediction and metrics path as ``medcolor evaluate``.

Each validation set is loaded by the evaluation protocol
(:mod:`medcolor.evaluate.protocol`: native size, near-gray images skipped,
the gray input rendered from the ground truth's L*), the model colorizes it
through :class:`~medcolor.evaluate.runner.ModelMethod` at its working size,
and :func:`~medcolor.evaluate.metrics.compute_all` scores it.  So the trainer
and ``medcolor evaluate --data SET --models RUN`` report the same numbers for
the same model and images.

After training, models that decode a predicted distribution
(:class:`~medcolor.models.ab_bins.BinClassifier`) are *calibrated*: their decoding
policy (the annealed-mean temperature ``T`` and the confidence shrinkage
``confidence_power``, see :func:`~medcolor.models.ab_bins.decode`) is chosen on the
first validation set as the pair with the lowest ΔE2000 among those whose
colourfulness ratio is at least :data:`MIN_COLORFULNESS_RATIO`, and the whole
grid is recorded in the model's card.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..evaluate.baselines import build_baselines
from ..evaluate.protocol import Sample, load_files, load_ground_truth, set_names
from ..evaluate.runner import ModelMethod, mean_metrics, run_methods
from ..options import LEARNED_HINT_METHODS

__all__ = ["load_val_sets", "validate", "zero_chroma", "calibrate_decoding", "hint_sweep", "image_grid",
           "TEMPERATURES", "CONFIDENCE_POWERS", "MIN_COLORFULNESS_RATIO", "HINT_POINTS", "HINT_KINDS",
           "choose_hint_method"]

# Annealed-mean temperatures tried by the calibration: below 1 sharpens the predicted
# distribution towards its mode, 1.0 is its mean, above 1 flattens an over-confident
# distribution so that colour is held back most where the model is least sure.
TEMPERATURES = (0.65, 1.0, 1.5)
# Confidence shrinkage tried: chroma x confidence ** power (0 = none, 0.5 = square root, 1 = proportional).
CONFIDENCE_POWERS = (0.0, 0.5, 1.0)
# The calibration keeps colour at least this vivid relative to the ground truth.
MIN_COLORFULNESS_RATIO = 0.45
# Simulated hint counts of the hint sweep that decides a hint model's default hint method.
HINT_POINTS = (5, 10, 20)
# The hint methods the sweep compares: Levin refinement of the automatic colours, the network's own
# hint input, and the network's hinted colours refined by Levin.
HINT_KINDS = ("levin", *LEARNED_HINT_METHODS)
_PREVIEW = 160  # side of the preview tiles (pixels)


def load_val_sets(folders: list[str], held_out: list[str] | None = None,
                  limit: int | None = None) -> dict[str, list[Sample]]:
    """``{set name: samples}``: one set per validation folder, or the held-out training files.

    Set names are those of ``medcolor evaluate`` (:func:`~medcolor.evaluate.protocol.set_names`);
    the held-out part of the training data is called ``held-out``.
    """
    sets = {name: load_ground_truth(folder, limit=limit).samples
            for name, folder in zip(set_names(folders), folders)}
    if held_out:
        sets["held-out"] = load_files(sorted(held_out), root=Path(held_out[0]).parent, limit=limit).samples
    return {k: v for k, v in sets.items() if v}


def _score(method, samples: list[Sample], grid: int = 0):
    result = run_methods(samples, [method], grid=grid)
    return mean_metrics(result, method.name), result


@torch.no_grad()
def validate(model: nn.Module, sets: dict[str, list[Sample]], *, working_size: int | None,
             device: torch.device) -> tuple[dict[str, dict[str, float]], torch.Tensor]:
    """Mean metrics of ``model`` on every set, and a preview of the first set.

    Returns:
        ``({set: {metric: mean}}, preview)`` where ``preview`` is ``(3K, 3, 160, 160)``
        in [0, 1]: input gray, prediction, target for up to K = 4 images.
    """
    was_training = model.training
    model.eval()
    method = _method(model, working_size, device)
    out, preview = {}, torch.zeros(0, 3, _PREVIEW, _PREVIEW)
    try:
        for i, (name, samples) in enumerate(sets.items()):
            out[name], result = _score(method, samples, grid=4 if i == 0 else 0)
            if i == 0:
                preview = _preview(result.grid)
    finally:
        model.train(was_training)
    return out, preview


def _method(model: nn.Module, working_size: int | None, device: torch.device) -> ModelMethod:
    return ModelMethod("model", spec="", device=str(device), work_size=working_size, model=model)


@torch.no_grad()
def hint_sweep(model: nn.Module, samples: list[Sample], *, working_size: int | None, device: torch.device,
               points: tuple[int, ...] = HINT_POINTS, seed: int = 0) -> dict:
    """The network's hint input (alone, and followed by Levin refinement) against Levin refinement of
    its automatic colours, with N simulated points (the ``medcolor evaluate --hints`` protocol).

    Returns ``{"method": "learned" | "learned+levin" | "levin", "rule", "auto": {psnr, deltae2000},
    "curve": [{points, method, psnr, deltae2000}]}``: of the learned methods that beat Levin refinement
    in PSNR at every count, the one with the higher mean PSNR; Levin refinement if neither does.
    ``auto`` hint dispatch follows ``method``.
    """
    from ..evaluate.hinted import HintedModelMethod

    was_training = model.training
    model.eval()
    try:
        method = _method(model, working_size, device)
        auto = _score(method, samples)[0]
        curve = []
        for n in points:
            for kind in HINT_KINDS:
                m = _score(HintedModelMethod(method, n, kind, seed), samples)[0]
                curve.append({"points": n, "method": kind, "psnr": round(m["psnr"], 3),
                              "deltae2000": round(m["deltae2000"], 3)})
    finally:
        model.train(was_training)
    return {"method": choose_hint_method(curve, points),
            "rule": "of learned and learned+levin, those whose PSNR beats Levin refinement at "
                    f"{', '.join(map(str, points))} points, the higher mean PSNR; else levin",
            "auto": {"psnr": round(auto["psnr"], 3), "deltae2000": round(auto["deltae2000"], 3)}, "curve": curve}


def choose_hint_method(curve: list[dict], points: tuple[int, ...]) -> str:
    """The rule of :func:`hint_sweep` on its ``curve`` (rows ``{points, method, psnr}``)."""
    psnr = {(c["points"], c["method"]): c["psnr"] for c in curve}
    winners = [k for k in LEARNED_HINT_METHODS if all((n, k) in psnr and psnr[(n, k)] > psnr[(n, "levin")] for n in points)]
    if not winners:
        return "levin"
    return max(winners, key=lambda k: sum(psnr[(n, k)] for n in points))


def zero_chroma(sets: dict[str, list[Sample]]) -> dict[str, dict[str, float]]:
    """The gray baseline's metrics on every set (what a model must beat)."""
    out = {}
    for name, samples in sets.items():
        (method,) = build_baselines(["zero-chroma"], samples)
        out[name] = _score(method, samples)[0]
    return out


@torch.no_grad()
def calibrate_decoding(model: nn.Module, samples: list[Sample], *, working_size: int | None,
                       device: torch.device) -> dict:
    """Choose ``model.T`` and ``model.confidence_power`` on ``samples`` (sets them); return the grid.

    Returns ``{"T", "confidence_power", "rule", "curve": [{"T", "confidence_power", "deltae2000", "psnr",
    "colorfulness_ratio"}]}``.
    """
    curve = []
    for t in TEMPERATURES:
        for power in CONFIDENCE_POWERS:
            model.T, model.confidence_power = t, power
            m = validate(model, {"calibration": samples}, working_size=working_size, device=device)[0]["calibration"]
            curve.append({"T": t, "confidence_power": power, "deltae2000": round(m["deltae2000"], 3),
                          "psnr": round(m["psnr"], 3), "colorfulness_ratio": round(m["colorfulness_ratio"], 3)})
    vivid = [c for c in curve if c["colorfulness_ratio"] >= MIN_COLORFULNESS_RATIO]
    best = min(vivid or curve, key=lambda c: c["deltae2000"])
    model.T, model.confidence_power = best["T"], best["confidence_power"]
    return {"T": model.T, "confidence_power": model.confidence_power, "curve": curve,
            "rule": f"lowest deltaE2000 with colourfulness ratio >= {MIN_COLORFULNESS_RATIO}"}


def _preview(grid: dict[str, dict[str, np.ndarray]]) -> torch.Tensor:
    tiles = []
    for images in list(grid.values())[:4]:
        for key in ("input", "model", "ground truth"):
            t = torch.from_numpy(images[key]).permute(2, 0, 1)[None].float() / 255.0
            tiles.append(F.interpolate(t, size=(_PREVIEW, _PREVIEW), mode="bilinear", antialias=True)[0])
    return torch.stack(tiles) if tiles else torch.zeros(0, 3, _PREVIEW, _PREVIEW)


def image_grid(preview: torch.Tensor) -> torch.Tensor:
    """``(3K, 3, H, W)`` triples -> one ``(3, H', W')`` grid image, one triple per row."""
    from torchvision.utils import make_grid

    return make_grid(preview, nrow=3, padding=2, pad_value=1.0)
