"""Validation during training: PSNR, SSIM and ΔE2000 on uint8 RGB, plus image grids.

The metrics follow the definitions of :mod:`medcolor.evaluate.metrics`:
PSNR on uint8 RGB (data range 255), SSIM of Wang et al. (Gaussian window
sigma 1.5, via ``skimage.metrics.structural_similarity``) and mean CIEDE2000
(``skimage.color.deltaE_ciede2000``) on Lab from :mod:`medcolor.color`.
Prediction joins the model's a*b* with the input's L*
and converts to sRGB with clipping, at the validation size.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..color import lab_to_rgb, rgb_to_lab_np
from .steps import LabBatch, to_lab_batch

__all__ = ["predict_rgb", "image_metrics", "validate", "image_grid"]


def _psnr(gt: np.ndarray, pred: np.ndarray) -> float:
    mse = float(np.mean((gt.astype(np.float64) - pred.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10.0 * math.log10(255.0 ** 2 / mse))


def _ssim(gt: np.ndarray, pred: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(gt, pred, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, data_range=255))


def _delta_e2000(gt: np.ndarray, pred: np.ndarray) -> float:
    from skimage.color import deltaE_ciede2000

    return float(np.mean(deltaE_ciede2000(rgb_to_lab_np(gt), rgb_to_lab_np(pred), channel_axis=-1)))


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N, H, W, 3)`` uint8."""
    return (rgb.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def predict_rgb(model: nn.Module, batch: LabBatch) -> torch.Tensor:
    """sRGB ``(N, 3, H, W)`` in [0, 1]: the input L* with the model's a*b* (``model=None``: zero chroma)."""
    ab = torch.zeros_like(batch.ab) if model is None else model(batch.L).float()  # (N, 2, H, W)
    return lab_to_rgb(torch.cat([batch.L, ab], dim=1))


def image_metrics(gt: np.ndarray, pred: np.ndarray) -> dict[str, list[float]]:
    """Per-image PSNR, SSIM and ΔE2000 of uint8 ``(N, H, W, 3)`` arrays."""
    out: dict[str, list[float]] = {"psnr": [], "ssim": [], "deltae2000": []}
    for g, p in zip(gt, pred):
        out["psnr"].append(_psnr(g, p))
        out["ssim"].append(_ssim(g, p))
        out["deltae2000"].append(_delta_e2000(g, p))
    return out


@torch.no_grad()
def validate(model: nn.Module | None, val: dict[str, torch.Tensor], device: torch.device,
             batch_size: int = 8) -> tuple[dict[str, float], torch.Tensor]:
    """Mean metrics of ``model`` on the preloaded validation batch.

    Args:
        model: the colorizer (``None`` scores zero chroma, the gray baseline).
        val: ``{"rgb": (N, 3, S, S) uint8, "gray": optional (N, 1, S, S) uint8}``.

    Returns:
        ``({"val/psnr", "val/ssim", "val/deltae2000"}, preview)`` where ``preview``
        is ``(min(N, 4) * 3, 3, S, S)`` in [0, 1]: input gray, prediction, target.
    """
    was_training = model.training if model is not None else False
    if model is not None:
        model.eval()
    scores: dict[str, list[float]] = {"psnr": [], "ssim": [], "deltae2000": []}
    preview = []
    n = val["rgb"].shape[0]
    for i in range(0, n, batch_size):
        chunk = {k: v[i:i + batch_size] for k, v in val.items()}
        lab = to_lab_batch(chunk, device)
        pred = predict_rgb(model, lab)  # (b, 3, S, S)
        for k, v in image_metrics(_to_uint8(lab.rgb), _to_uint8(pred)).items():
            scores[k].extend(v)
        if i == 0:
            gray = lab_to_rgb(torch.cat([lab.L, torch.zeros_like(lab.ab)], dim=1))
            for j in range(min(4, pred.shape[0])):
                preview += [gray[j], pred[j], lab.rgb[j]]
    if model is not None and was_training:
        model.train()
    return {f"val/{k}": float(np.mean(v)) for k, v in scores.items()}, torch.stack(preview).cpu()


def image_grid(preview: torch.Tensor) -> torch.Tensor:
    """``(3K, 3, H, W)`` triples -> one ``(3, H', W')`` grid image, one triple per row."""
    from torchvision.utils import make_grid

    return make_grid(preview, nrow=3, padding=2, pad_value=1.0)
