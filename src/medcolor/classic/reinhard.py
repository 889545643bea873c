"""Colour transfer between images (Reinhard, Ashikhmin, Gooch & Shirley, 2001).

Each image is converted to the decorrelated l-alpha-beta space of Ruderman et al.:

    RGB -> LMS  (the paper's matrix, eq. 4; RGB is linear, i.e. sRGB decoded)
    LMS -> log10 LMS
    [l, alpha, beta] = diag(1/sqrt3, 1/sqrt6, 1/sqrt2) [[1, 1, 1], [1, 1, -2], [1, -1, 0]] log LMS  (eq. 6)

then every channel of the source is shifted and scaled so its mean and standard
deviation match the reference's (eqs. 10 and 11), and converted back (eq. 8, and
the exact inverse of eq. 4 in place of the rounded eq. 9).
A channel with no spread in the source (e.g. alpha and beta of a gray image) is
only shifted to the reference mean, which gives a uniform tint.
"""
from __future__ import annotations

import numpy as np

from ..color import linear_to_srgb, srgb_to_linear
from ._checks import rgb01

__all__ = ["rgb_to_lab_rd", "lab_rd_to_rgb", "reinhard_transfer"]

# Reinhard et al. 2001, eq. 4 (RGB -> LMS), as printed.
RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402],
                       [0.1967, 0.7244, 0.0782],
                       [0.0241, 0.1288, 0.8444]])
# eq. 9 as printed is only an approximate inverse of eq. 4 (its last row is off by up to
# 0.017, which tints a round trip by up to 5% in blue); we use the exact inverse instead.
LMS_TO_RGB_PRINTED = np.array([[4.4679, -3.5873, 0.1193],
                               [-1.2186, 2.3809, -0.1624],
                               [0.0497, -0.2439, 1.2045]])
LMS_TO_RGB = np.linalg.inv(RGB_TO_LMS)
# eq. 6 and eq. 8
LOGLMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]])
LAB_TO_LOGLMS = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, -1.0], [1.0, -2.0, 0.0]]) @ np.diag(
    [np.sqrt(3) / 3, np.sqrt(6) / 6, np.sqrt(2) / 2])
_LMS_FLOOR = 1e-4  # log10 of black is -inf; floor LMS at about 1/10 of the darkest uint8 step
_MIN_STD = 1e-6


def rgb_to_lab_rd(rgb: np.ndarray) -> np.ndarray:
    """uint8 or float [0, 1] sRGB ``(..., 3)`` -> l-alpha-beta ``(..., 3)`` float64."""
    rgb = np.asarray(rgb)
    x = rgb / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    lms = srgb_to_linear(x) @ RGB_TO_LMS.T
    return np.log10(np.maximum(lms, _LMS_FLOOR)) @ LOGLMS_TO_LAB.T


def lab_rd_to_rgb(lab: np.ndarray) -> np.ndarray:
    """l-alpha-beta ``(..., 3)`` -> sRGB ``(..., 3)`` float in [0, 1] (clipped)."""
    lms = 10.0 ** (np.asarray(lab, dtype=np.float64) @ LAB_TO_LOGLMS.T)
    return linear_to_srgb(np.clip(lms @ LMS_TO_RGB.T, 0.0, 1.0))


def reinhard_transfer(source_rgb: np.ndarray, reference_rgb: np.ndarray) -> np.ndarray:
    """Give ``source_rgb`` the colour statistics of ``reference_rgb``.

    Args:
        source_rgb: ``(H, W, 3)`` (or gray ``(H, W)``), uint8 or float in [0, 1].
        reference_rgb: ``(h, w, 3)`` (any size), uint8 or float in [0, 1].

    Returns:
        ``(H, W, 3)`` uint8 sRGB whose l, alpha and beta channels have the
        reference's means and standard deviations (up to gamut clipping).
    """
    src = rgb_to_lab_rd(rgb01(source_rgb, "source_rgb"))  # (H, W, 3)
    ref = rgb_to_lab_rd(rgb01(reference_rgb, "reference_rgb")).reshape(-1, 3)
    mu_s, sd_s = src.reshape(-1, 3).mean(0), src.reshape(-1, 3).std(0)
    mu_r, sd_r = ref.mean(0), ref.std(0)
    gain = np.where(sd_s > _MIN_STD, sd_r / np.maximum(sd_s, _MIN_STD), 1.0)
    out = (src - mu_s) * gain + mu_r
    return np.rint(lab_rd_to_rgb(out) * 255.0).astype(np.uint8)
