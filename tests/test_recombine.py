"""Structure preservation: the output's L* equals the input's L* within 1.0 at every pixel."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import torch

from medcolor.color import gray_to_lightness, rgb_to_lab_np
from medcolor.pipeline import colorize_gray
from medcolor.recombine import fit_chroma_to_gamut, recombine


def _max_dl(gray01: np.ndarray, rgb_u8: np.ndarray) -> float:
    return float(np.abs(rgb_to_lab_np(rgb_u8.astype(np.float64) / 255)[..., 0] - gray_to_lightness(gray01)).max())


def test_recombine_shapes_and_errors():
    L = torch.rand(2, 1, 33, 47) * 100
    out = recombine(L, torch.randn(2, 2, 9, 12) * 30)
    assert out.shape == (2, 33, 47, 3) and out.dtype == np.uint8
    with pytest.raises(ValueError):
        recombine(L[:, 0], torch.zeros(2, 2, 9, 12))
    with pytest.raises(ValueError):
        recombine(L, torch.zeros(1, 2, 9, 12))


def test_extreme_chroma_keeps_lightness(rng):
    # Every 8-bit gray level against huge chroma of every hue: pure clipping would break L*.
    g = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    L = gray_to_lightness(torch.from_numpy(g / 255.0))[None, None].float()
    ab = torch.from_numpy(rng.uniform(-150, 150, (1, 2, 16, 256))).float()
    out = recombine(L, ab)[0]
    assert _max_dl(g / 255.0, out) <= 1.0
    assert out.std(axis=-1).mean() > 1.0  # it really is coloured, not just gray


def test_in_gamut_colour_is_untouched():
    rgb = torch.tensor([0.8, 0.3, 0.2]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    from medcolor.color import rgb_to_lab

    lab = rgb_to_lab(rgb)
    fitted = fit_chroma_to_gamut(lab[:, :1], lab[:, 1:])
    assert torch.allclose(fitted, rgb, atol=1e-4)


@pytest.mark.parametrize("shape", [(64, 64), (97, 131), (300, 41)])
def test_random_8bit_inputs_guarantee(tiny_model_path, rng, shape):
    g = rng.integers(0, 256, shape, dtype=np.uint8)
    out = colorize_gray(g, model=tiny_model_path, working_size=64, device="cpu")
    assert out.shape == (*shape, 3)
    assert _max_dl(g / 255.0, out) <= 1.0


def test_real_photo_guarantee(tiny_model_path):
    from PIL import Image

    files = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "data", "photo", "*.jpg")))
    assert files
    g = np.asarray(Image.open(files[0]).convert("L"))
    out = colorize_gray(g, model=tiny_model_path, working_size=128, device="cpu")
    assert _max_dl(g / 255.0, out) <= 1.0


def test_stack_and_float_input(tiny_model_path, rng):
    g = rng.random((3, 40, 50)).astype(np.float32)  # e.g. windowed 16-bit frames
    out = colorize_gray(g, model=tiny_model_path, working_size=32, device="cpu", batch_size=2)
    assert out.shape == (3, 40, 50, 3)
    for i in range(3):
        assert _max_dl(g[i], out[i]) <= 1.0
