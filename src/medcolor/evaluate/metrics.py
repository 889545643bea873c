"""Per-image colorization metrics on uint8 RGB images.

Every function takes the ground truth and the prediction as ``uint8`` arrays of
shape ``(H, W, 3)`` (sRGB, the same size) and returns a Python float.

* :func:`psnr` -- RGB, data range 255, over all pixels and channels.
* :func:`ssim` -- Wang et al. 2004: 11x11 Gaussian window with sigma 1.5,
  K1 = 0.01, K2 = 0.03, population (co)variances, per RGB channel and averaged,
  mean over the *valid* region (no padding).  Equal to
  ``skimage.metrics.structural_similarity(gt, pred, channel_axis=-1,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``.
* :func:`delta_e2000` -- mean CIEDE2000 (Sharma et al. 2005 formula, via
  ``skimage.color.deltaE_ciede2000``) on Lab from :mod:`medcolor.color`.
* :func:`ab_rmse` -- sqrt(mean over pixels of (da*^2 + db*^2)), Lab units.
* :func:`colorfulness` -- Hasler & Suesstrunk 2003, on RGB in [0, 255];
  :func:`colorfulness_ratio` divides by the ground truth's.
* :func:`max_delta_l` -- max |L*(output) - L*(input gray)|: how far a method
  strays from the luminance it was given.

Lab conversions are done once per image by :class:`ImagePair`, which all the
metrics share; :func:`compute_all` returns every metric as a dict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..color import gray_to_lightness, rgb_to_lab_np

__all__ = ["METRICS", "PSNR_CAP", "ImagePair", "psnr", "ssim", "delta_e2000", "ab_rmse",
           "colorfulness", "colorfulness_ratio", "max_delta_l", "compute_all"]

# PSNR of identical images is infinite; it is capped so that means stay finite.
PSNR_CAP = 100.0
# SSIM constants of Wang et al. 2004.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03

# name -> (label, higher is better); the order is the order of every table.
METRICS: dict[str, tuple[str, bool]] = {
    "psnr": ("PSNR (dB)", True),
    "ssim": ("SSIM", True),
    "deltae2000": ("ΔE2000", False),
    "ab_rmse": ("ab RMSE", False),
    "colorfulness": ("colourfulness", True),
    "colorfulness_ratio": ("colourfulness ratio", True),
    "max_dl": ("max |ΔL*|", False),
}


def _check_rgb(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be uint8 of shape (H, W, 3), got {image.dtype} {image.shape}")
    return image


def _check_pair(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gt, pred = _check_rgb(gt, "gt"), _check_rgb(pred, "pred")
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred differ in shape: {gt.shape} vs {pred.shape}")
    return gt, pred


def psnr(gt: np.ndarray, pred: np.ndarray) -> float:
    """PSNR in dB of uint8 RGB ``(H, W, 3)`` images, data range 255 (capped at ``PSNR_CAP``)."""
    gt, pred = _check_pair(gt, pred)
    mse = float(np.mean((gt.astype(np.float64) - pred.astype(np.float64)) ** 2))
    if mse == 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(255.0 ** 2 / mse))


def _gaussian_kernel() -> np.ndarray:
    # 11 taps, sigma 1.5, normalised to sum 1 (scipy's gaussian_filter with truncate=3.5 -> radius 5)
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - (SSIM_WINDOW - 1) / 2
    g = np.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable Gaussian of ``(H, W, C)`` keeping only the valid region -> ``(H-10, W-10, C)``.

    The borders that would need padding are computed by scipy and then cropped,
    which is cheaper than a strided valid-mode convolution and gives the same values.
    """
    from scipy.ndimage import correlate1d

    r = (SSIM_WINDOW - 1) // 2
    x = correlate1d(x, g, axis=0, mode="nearest")
    x = correlate1d(x, g, axis=1, mode="nearest")
    return x[r:-r, r:-r]


def ssim(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) over the valid region, averaged over R, G, B.

    Images smaller than 11x11 have no valid region and raise ``ValueError``.
    """
    gt, pred = _check_pair(gt, pred)
    h, w = gt.shape[:2]
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {w}x{h}")
    x, y = gt.astype(np.float64), pred.astype(np.float64)  # (H, W, 3) on [0, 255]
    g = _gaussian_kernel()
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
    # population (co)variances E[xy] - E[x]E[y] (use_sample_covariance=False)
    var_x = _filter_valid(x * x, g) - mu_x ** 2
    var_y = _filter_valid(y * y, g) - mu_y ** 2
    cov = _filter_valid(x * y, g) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * 255.0) ** 2, (SSIM_K2 * 255.0) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    # (H-10, W-10, 3): every channel has the same valid area, so one mean = mean of channel means
    return float(s.mean())


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M of uint8 RGB ``(H, W, 3)``.

    ``rg = R - G``, ``yb = (R + G) / 2 - B`` on [0, 255];
    ``M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)``.
    0 for a gray image; about 30-60 for ordinary photographs.
    """
    rgb = _check_rgb(rgb, "rgb").astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


@dataclass
class ImagePair:
    """One ground truth, the gray input it produced and a method's output.

    Attributes:
        gt: uint8 ``(H, W, 3)`` ground truth.
        gray: uint8 ``(H, W)`` the input every method received.
        pred: uint8 ``(H, W, 3)`` the method's output.
    """

    gt: np.ndarray
    gray: np.ndarray
    pred: np.ndarray

    def __post_init__(self) -> None:
        self.gt, self.pred = _check_pair(self.gt, self.pred)
        if self.gray.shape != self.gt.shape[:2] or self.gray.dtype != np.uint8:
            raise ValueError(f"gray must be uint8 {self.gt.shape[:2]}, got {self.gray.dtype} {self.gray.shape}")

    @cached_property
    def gt_lab(self) -> np.ndarray:
        return rgb_to_lab_np(self.gt.astype(np.float64) / 255.0)  # (H, W, 3) L* a* b*

    @cached_property
    def pred_lab(self) -> np.ndarray:
        return rgb_to_lab_np(self.pred.astype(np.float64) / 255.0)

    @cached_property
    def gt_colorfulness(self) -> float:
        return colorfulness(self.gt)


def delta_e2000(pair: ImagePair) -> float:
    """Mean CIEDE2000 colour difference between ``pair.gt`` and ``pair.pred``."""
    from skimage.color import deltaE_ciede2000

    return float(np.mean(deltaE_ciede2000(pair.gt_lab, pair.pred_lab, channel_axis=-1)))


def ab_rmse(pair: ImagePair) -> float:
    """Root mean square over pixels of the a*b* distance ``sqrt(da^2 + db^2)``, in Lab units."""
    d = pair.gt_lab[..., 1:] - pair.pred_lab[..., 1:]  # (H, W, 2)
    return float(np.sqrt(np.mean(np.sum(d ** 2, axis=-1))))


def colorfulness_ratio(pair: ImagePair) -> float:
    """Colourfulness of the output over that of the ground truth (NaN if the GT has none)."""
    ref = pair.gt_colorfulness
    return colorfulness(pair.pred) / ref if ref > 0 else float("nan")


def max_delta_l(pair: ImagePair) -> float:
    """max |L*(pred) - L*(gray input)| over pixels: 0 when a method keeps the given luminance."""
    l_in = gray_to_lightness(pair.gray.astype(np.float64) / 255.0)  # (H, W) L* in [0, 100]
    return float(np.max(np.abs(pair.pred_lab[..., 0] - l_in)))


def compute_all(gt: np.ndarray, gray: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one image, as ``{name: value}``."""
    pair = ImagePair(gt, gray, pred)
    return {
        "psnr": psnr(pair.gt, pair.pred),
        "ssim": ssim(pair.gt, pair.pred),
        "deltae2000": delta_e2000(pair),
        "ab_rmse": ab_rmse(pair),
        "colorfulness": colorfulness(pair.pred),
        "colorfulness_ratio": colorfulness_ratio(pair),
        "max_dl": max_delta_l(pair),
    }
