"""Levin refinement of network chroma with user hints (reading hints: tests/test_hints.py)."""
from __future__ import annotations

import numpy as np
import pytest

from medcolor.classic import refine_ab
from medcolor.color import lab_to_rgb_np
from medcolor.hints import hint_ab


def _rgb(lab):
    return np.rint(lab_to_rgb_np(np.asarray(lab, dtype=np.float64)) * 255).astype(np.uint8)


def _scene(h=64, w=96):
    """L*: 35 left of column 40, 70 right of it; network chroma differs per side."""
    L = np.where(np.arange(w)[None, :] < 40, 35.0, 70.0) * np.ones((h, 1))
    ab = np.zeros((h, w, 2))
    ab[:, :40] = (20.0, -10.0)
    ab[:, 40:] = (-15.0, 25.0)
    return L, ab


@pytest.mark.parametrize("max_pixels", [10**7, 1500])  # full resolution, and a reduced-size solve
def test_refine_hinted_pixels_exact_and_far_regions_keep_network_colour(max_pixels):
    L, ab = _scene()
    hints = np.zeros(L.shape + (3,), np.uint8)
    mask = np.zeros(L.shape, bool)
    hints[20:44, 10:12] = _rgb((35, 45, 35))  # a stroke in the left region
    mask[20:44, 10:12] = True
    out = refine_ab(L, ab, hints, mask, max_pixels=max_pixels)
    target = hint_ab(hints)
    assert out.shape == ab.shape
    np.testing.assert_array_equal(out[mask], target[mask])  # exact at hints
    # The right region, across the edge, keeps the network's chroma.
    assert np.abs(out[:, 44:] - ab[:, 44:]).max() < 1.0
    # Next to the stroke (2-3 px away) at least 70% of the way to the hint's colour.
    before = np.abs(ab[28:36, 13:15] - target[30, 10]).max()
    assert np.abs(out[28:36, 13:15] - target[30, 10]).max() < 0.3 * before
    # Over the whole left region the colour moved at least half-way to the hint (measured 0.42).
    assert np.abs(out[:, :38] - target[30, 10]).mean() < 0.5 * np.abs(ab[:, :38] - target[30, 10]).mean()


def test_refine_keeps_network_colour_far_away_in_a_flat_region():
    h, w = 24, 480
    L = np.full((h, w), 60.0)
    ab = np.tile(np.array([10.0, 30.0]), (h, w, 1))
    hints = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), bool)
    hints[6:18, 2:4] = _rgb((60, -40, -20))
    mask[6:18, 2:4] = True
    delta = np.abs(hint_ab(hints)[10, 2] - ab[10, 2]).max()
    out = refine_ab(L, ab, hints, mask)  # decay length about 0.25 * 480 = 120 px
    assert np.abs(out[:, 20] - ab[:, 20]).max() > 0.5 * delta  # near the hint it was pulled
    assert np.abs(out[:, 440:] - ab[:, 440:]).max() < 0.04 * delta  # ~exp(-440 / 120) of it is left
    short = refine_ab(L, ab, hints, mask, strength=0.5)  # decay length about 60 px
    assert np.abs(short[:, 300:] - ab[:, 300:]).max() < 1.0
    far = refine_ab(L, ab, hints, mask, strength=4.0)  # a stronger pull reaches further
    assert np.abs(far[:, 300] - ab[:, 300]).max() > 2 * np.abs(out[:, 300] - ab[:, 300]).max()


def test_refine_without_hints_is_identity_and_checks_inputs():
    L, ab = _scene(16, 16)
    none = np.zeros((16, 16), bool)
    np.testing.assert_array_equal(refine_ab(L, ab, np.zeros((16, 16, 3), np.uint8), none), ab)
    with pytest.raises(ValueError):
        refine_ab(L, ab[:, :8], np.zeros((16, 16, 3), np.uint8), none)
    with pytest.raises(ValueError):
        refine_ab(L, ab, np.zeros((16, 16, 3), np.uint8), none, strength=0)
    with pytest.raises(TypeError):
        refine_ab(L, ab, np.zeros((16, 16, 3)), none)
    with pytest.raises(TypeError):
        refine_ab(L, ab, np.zeros((16, 16, 3), np.uint8), none.astype(np.uint8))
