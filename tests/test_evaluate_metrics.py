"""Each evaluation metric against a reference implementation or a hand-computed value."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr

from medcolor.evaluate import metrics as M


def _pair(rng, shape=(37, 52, 3), noise=40):
    gt = rng.integers(0, 256, shape, dtype=np.uint8)
    # correlated prediction so SSIM/PSNR are in a realistic range, not ~0
    pred = np.clip(gt.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
    return gt, pred


def _smooth_pair(rng, shape=(48, 64, 3)):
    # smooth images (like photos) exercise the variance terms differently than white noise
    from scipy.ndimage import gaussian_filter

    base = gaussian_filter(rng.random(shape) * 255, sigma=(3, 3, 0))
    gt = np.clip(base, 0, 255).astype(np.uint8)
    pred = np.clip(base[..., ::-1] * 0.8 + 20, 0, 255).astype(np.uint8)
    return gt, pred


@pytest.mark.parametrize("shape", [(11, 11, 3), (37, 52, 3), (64, 33, 3)])
def test_ssim_matches_skimage(rng, shape):
    for gt, pred in (_pair(rng, shape), _smooth_pair(rng, shape)):
        ref = structural_similarity(gt, pred, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=255)
        assert M.ssim(gt, pred) == pytest.approx(ref, abs=1e-10)


def test_ssim_identical_is_one_and_small_images_raise(rng):
    gt, _ = _pair(rng)
    assert M.ssim(gt, gt) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="11x11"):
        M.ssim(gt[:10], gt[:10])


def test_psnr_matches_skimage_and_torchmetrics(rng):
    gt, pred = _pair(rng)
    ref = peak_signal_noise_ratio(gt, pred, data_range=255)
    tm = tm_psnr(torch.from_numpy(pred).double(), torch.from_numpy(gt).double(), data_range=255.0).item()
    assert M.psnr(gt, pred) == pytest.approx(ref, abs=1e-9)
    assert M.psnr(gt, pred) == pytest.approx(tm, abs=1e-6)
    assert M.psnr(gt, gt) == M.PSNR_CAP


def test_psnr_by_formula():
    gt = np.full((4, 4, 3), 100, np.uint8)
    pred = gt + np.uint8(10)  # MSE = 100
    assert M.psnr(gt, pred) == pytest.approx(10 * math.log10(255 ** 2 / 100))


def test_delta_e2000_matches_skimage(rng):
    gt, pred = _smooth_pair(rng)
    gray = np.zeros(gt.shape[:2], np.uint8)
    ref = deltaE_ciede2000(rgb2lab(gt), rgb2lab(pred), channel_axis=-1).mean()
    assert M.delta_e2000(M.ImagePair(gt, gray, pred)) == pytest.approx(ref, rel=1e-4)


def test_ab_rmse_by_formula(rng):
    gt, pred = _smooth_pair(rng)
    gray = np.zeros(gt.shape[:2], np.uint8)
    d = rgb2lab(gt)[..., 1:] - rgb2lab(pred)[..., 1:]
    ref = math.sqrt(float(np.mean(d[..., 0] ** 2 + d[..., 1] ** 2)))
    assert M.ab_rmse(M.ImagePair(gt, gray, pred)) == pytest.approx(ref, rel=1e-4)


def test_colorfulness_hand_computed():
    img = np.zeros((4, 6, 3), np.uint8)
    img[:, :3] = (255, 0, 0)  # red:  rg = 255, yb = 127.5
    img[:, 3:] = (0, 0, 255)  # blue: rg = 0,   yb = -255
    std_rg, mean_rg = 127.5, 127.5
    std_yb, mean_yb = (127.5 + 255) / 2, (127.5 - 255) / 2
    expected = math.hypot(std_rg, std_yb) + 0.3 * math.hypot(mean_rg, mean_yb)
    assert M.colorfulness(img) == pytest.approx(expected)
    assert M.colorfulness(np.full((5, 5, 3), 77, np.uint8)) == 0.0


def test_colorfulness_ratio_and_max_delta_l(rng):
    gt, _ = _smooth_pair(rng)
    gray = np.round(rgb2lab(gt)[..., 0] * 2.55).astype(np.uint8)  # any gray input
    gray_rgb = np.repeat(gray[..., None], 3, -1)
    pair = M.ImagePair(gt, gray, gray_rgb)
    assert M.colorfulness_ratio(pair) == 0.0
    assert M.max_delta_l(pair) < 1e-6  # the gray input itself keeps its L* exactly
    assert M.colorfulness_ratio(M.ImagePair(gt, gray, gt)) == pytest.approx(1.0)
    # brightening one pixel by 40 levels: max |dL*| is that pixel's L* change
    pred = gray_rgb.copy()
    pred[3, 4] = np.minimum(pred[3, 4].astype(int) + 40, 255)
    expected = abs(rgb2lab(pred[3:4, 4:5])[0, 0, 0] - rgb2lab(gray_rgb[3:4, 4:5])[0, 0, 0])
    assert M.max_delta_l(M.ImagePair(gt, gray, pred)) == pytest.approx(expected, abs=1e-3)


def test_compute_all_keys_and_input_checks(rng):
    gt, pred = _pair(rng)
    gray = np.zeros(gt.shape[:2], np.uint8)
    out = M.compute_all(gt, gray, pred)
    assert list(out) == list(M.METRICS)
    with pytest.raises(ValueError, match="uint8"):
        M.psnr(gt.astype(np.float32), pred)
    with pytest.raises(ValueError, match="differ in shape"):
        M.psnr(gt, pred[:-1])
