"""Colour core, kornia-style: smoke, shapes, exceptions, skimage reference, round trip, gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from medcolor import color


def test_smoke_shapes():
    x = torch.rand(2, 4, 3, 5, 7)
    lab = color.rgb_to_lab(x)
    assert lab.shape == x.shape
    assert color.lab_to_rgb(lab).shape == x.shape
    assert color.RgbToLab()(x).shape == x.shape
    assert color.LabToRgb()(lab).shape == x.shape


@pytest.mark.parametrize("bad", [torch.rand(3, 4), torch.rand(1, 4, 5, 5)])
def test_bad_shape(bad):
    with pytest.raises(ValueError):
        color.rgb_to_lab(bad)


def test_bad_type():
    with pytest.raises(TypeError):
        color.rgb_to_lab(np.zeros((3, 4, 4)))
    with pytest.raises(TypeError):
        color.lab_to_rgb(torch.zeros(3, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError):
        color.rgb_to_lab_np(np.zeros((4, 4, 2)))


def test_rgb_to_lab_matches_skimage(rng):
    rgb = rng.random((16, 16, 3))
    rgb[0, :4] = [[0, 0, 0], [1, 1, 1], [0.01, 0.02, 0.03], [1, 0, 0]]  # both branches of f(t)
    ref = skcolor.rgb2lab(rgb)
    t = color.rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(t, ref, atol=1e-3)
    np.testing.assert_allclose(color.rgb_to_lab_np(rgb), ref, atol=1e-3)


def test_lab_to_rgb_matches_skimage(rng):
    lab = np.stack([rng.uniform(0, 100, (16, 16)), rng.uniform(-80, 80, (16, 16)),
                    rng.uniform(-80, 80, (16, 16))], axis=-1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = skcolor.lab2rgb(lab)
    t = color.lab_to_rgb(torch.from_numpy(lab).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(t, ref, atol=1e-3)
    np.testing.assert_allclose(color.lab_to_rgb_np(lab), ref, atol=1e-3)


def test_uint8_numpy_input(rng):
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    np.testing.assert_allclose(color.rgb_to_lab_np(rgb), skcolor.rgb2lab(rgb), atol=1e-3)


def test_round_trip(rng):
    x = torch.from_numpy(rng.random((2, 3, 9, 11)))
    np.testing.assert_allclose(color.lab_to_rgb(color.rgb_to_lab(x)).numpy(), x.numpy(), atol=1e-6)


def test_gray_lightness_round_trip():
    g = np.linspace(0, 1, 256)
    L = color.gray_to_lightness(g)
    ref = skcolor.rgb2lab(np.repeat(g[:, None], 3, axis=1)[None])[0, :, 0]
    np.testing.assert_allclose(L, ref, atol=1e-3)
    np.testing.assert_allclose(color.lightness_to_gray(L), g, atol=1e-6)
    t = color.gray_to_lightness(torch.from_numpy(g))
    np.testing.assert_allclose(t.numpy(), L, atol=1e-9)


def test_gradcheck():
    x = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(color.rgb_to_lab, (x,))
    lab = color.rgb_to_lab(x.detach()).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: color.lab_to_rgb(t, clip=False), (lab,))


def test_normalisation_constants_round_trip():
    ab = torch.randn(2, 2, 4, 4) * 50
    assert torch.allclose(color.denormalize_ab(color.normalize_ab(ab)), ab)
    assert color.normalize_l(torch.tensor([0.0, 100.0])).tolist() == [-1.0, 1.0]
