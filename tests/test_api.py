"""The Python API: medcolor.colorize / colorize_gray / load_model on paths, arrays and hints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import medcolor
from medcolor.color import gray_to_lightness, rgb_to_lab_np
from medcolor.pipeline import as_gray, model_working_size, working_shape

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_colorize_path_dicom_and_volume(tiny_model_path):
    rgb = medcolor.colorize(EXAMPLES / "head_ct.dcm", model=tiny_model_path, device="cpu")
    assert rgb.shape == (256, 256, 3) and rgb.dtype == np.uint8
    vol = medcolor.colorize(EXAMPLES / "head_ct_slab.nii.gz", model=tiny_model_path, device="cpu", window="brain")
    assert vol.ndim == 4 and vol.shape[-1] == 3 and vol.shape[0] == 8


def test_colorize_rgb_array_keeps_its_lightness(tiny_model_path, rng):
    rgb_in = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out = medcolor.colorize(rgb_in, model=tiny_model_path, device="cpu")
    L_in = rgb_to_lab_np(rgb_in)[..., 0]
    assert np.abs(rgb_to_lab_np(out)[..., 0] - L_in).max() <= 1.0


def test_as_gray_dtypes():
    assert as_gray(np.full((4, 4), 255, np.uint8)).max() == 1.0
    assert as_gray(np.full((4, 4), 65535, np.uint16)).max() == 1.0
    assert as_gray(np.full((4, 4), 2.0)).max() == 1.0
    with pytest.raises(TypeError):
        as_gray(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError):
        as_gray(np.zeros((2, 2, 4, 4)))


def test_working_size_rules(tiny_model_path):
    assert working_shape(300, 600, 256) == (256, 512)
    assert working_shape(300, 600, None) == (300, 600)
    net = medcolor.load_model(tiny_model_path)
    assert model_working_size(net) == 256  # no card entry: the photo default
    net.medcolor_card.working_size = None  # the card decides, e.g. dermoscopy's native 32-px patches
    assert model_working_size(net) is None


def test_hints_pin_colour_and_keep_lightness(tiny_model_path):
    g = np.full((64, 64), 128, np.uint8)
    g[:, 32:] = 200  # an edge between two regions
    hints = np.zeros((64, 64, 4), np.uint8)
    hints[10:14, 5:9] = (30, 90, 200, 255)  # a blue scribble in the left region
    out = medcolor.colorize(g, model=tiny_model_path, device="cpu", hints=(hints[..., :3], hints[..., 3] > 0))
    lab = rgb_to_lab_np(out)
    assert lab[12, 7, 2] < -10  # b* of the hint (blue) survives at the hinted pixel
    assert np.abs(lab[..., 0] - gray_to_lightness(g / 255.0)).max() <= 1.0


def test_hints_need_a_single_image(tiny_model_path):
    with pytest.raises(medcolor.UsageError, match="hints apply to a one-frame image, this has 2 frames"):
        medcolor.colorize_gray(np.zeros((2, 8, 8)), model=tiny_model_path, hints=(np.zeros((8, 8, 3)),
                                                                                  np.zeros((8, 8), bool)))


def test_load_model_contract(tiny_model_path):
    net = medcolor.load_model(tiny_model_path)
    x = torch.rand(3, 1, 45, 77) * 100
    with torch.no_grad():
        ab = net(x)
    assert ab.shape == (3, 2, 45, 77) and torch.isfinite(ab).all()
