"""Colour core, kornia-style: smoke, shapes, exceptions, skimage reference, round trip, gradcheck.

The torch conversions run over float32 and float64, on the CPU and on CUDA when present.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from medcolor import color
from medcolor.pipeline import as_gray

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.float32, torch.float64]
ATOL = {torch.float32: 2e-3, torch.float64: 1e-6}


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


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_device_matches_skimage_and_round_trips(device, dtype, rng):
    rgb = rng.random((12, 10, 3))
    rgb[0, :3] = [[0, 0, 0], [1, 1, 1], [0.01, 0.02, 0.03]]  # both branches of every curve
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device=device, dtype=dtype)  # (1, 3, H, W)
    lab = color.rgb_to_lab(x)
    assert lab.dtype == dtype and lab.device.type == device
    ref = skcolor.rgb2lab(rgb)
    np.testing.assert_allclose(lab[0].permute(1, 2, 0).double().cpu().numpy(), ref, atol=1e-3 if dtype == torch.float64 else 2e-2)
    back = color.lab_to_rgb(lab)
    np.testing.assert_allclose(back.double().cpu().numpy(), x.double().cpu().numpy(), atol=ATOL[dtype])
    # composed path equals the primitives called one after another
    step = color.xyz_to_lab(color.linear_rgb_to_xyz(color.srgb_to_linear(x)))
    torch.testing.assert_close(step, lab)
    # gray: the sRGB level whose L* is the colour's L*
    gray = color.rgb_to_gray(x)
    assert gray.shape == (1, 1, 12, 10)
    torch.testing.assert_close(color.gray_to_lightness(gray[:, 0]), lab[:, 0], atol=50 * ATOL[dtype], rtol=0)
    assert color.RgbToGray()(x).shape == gray.shape


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_transfer_curve_round_trip(device, dtype):
    v = torch.linspace(0, 1, 1001, device=device, dtype=dtype)
    torch.testing.assert_close(color.linear_to_srgb(color.srgb_to_linear(v)), v, atol=ATOL[dtype], rtol=0)
    torch.testing.assert_close(color.lightness_to_gray(color.gray_to_lightness(v)), v, atol=ATOL[dtype], rtol=0)
    # the knees: 0.04045 encoded is 0.0031308 linear on both segments
    assert abs(float(color.srgb_to_linear(torch.tensor(0.04045, dtype=torch.float64))) - 0.0031308) < 1e-6


def test_primitives_gradcheck():
    x = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(color.rgb_to_gray, (x,))
    assert torch.autograd.gradcheck(color.srgb_to_linear, (x,))
    xyz = color.linear_rgb_to_xyz(x.detach()).requires_grad_()
    assert torch.autograd.gradcheck(color.xyz_to_lab, (xyz,))


def test_numpy_curves_match_torch(rng):
    v = rng.random(50)
    np.testing.assert_allclose(color.srgb_to_linear(v), color.srgb_to_linear(torch.from_numpy(v)).numpy())
    assert isinstance(color.linear_to_srgb(v), np.ndarray)
    with pytest.raises(TypeError):
        color.srgb_to_linear(torch.arange(3))


def test_rgb_to_gray_np_integer_dtypes(rng):
    rgb8 = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    rgb16 = rgb8.astype(np.uint16) * 257  # the same colours in 16 bits
    g8, g16 = color.rgb_to_gray_np(rgb8), color.rgb_to_gray_np(rgb16)
    assert g8.dtype == np.float32 and g8.shape == (6, 7)
    np.testing.assert_allclose(g16, g8, atol=1e-6)
    L = skcolor.rgb2lab(rgb8)[..., 0]
    np.testing.assert_allclose(color.gray_to_lightness(g8), L, atol=1e-2)
    flat = np.repeat(rng.random((4, 5, 1)).astype(np.float32), 3, axis=-1)
    assert np.array_equal(color.rgb_to_gray_np(flat), flat[..., 0])  # already gray: bit-exact


def test_as_gray_uint16_rgb_is_not_white(rng):
    rgb8 = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    g16 = as_gray(rgb8.astype(np.uint16) * 257)
    assert g16.max() < 1.0
    np.testing.assert_allclose(g16, as_gray(rgb8), atol=1e-6)


def test_is_near_gray():
    gray = np.full((16, 16, 3), 120, np.uint8)
    assert color.is_near_gray(gray)
    tinted = gray.copy()
    tinted[..., 0] = 160
    assert not color.is_near_gray(tinted)
    speck = gray.copy()
    speck[0, 0] = (255, 0, 0)  # one coloured pixel in 256 is under the 1% allowance
    assert color.is_near_gray(speck)
