"""Levin et al. 2004 scribble colorization: known answers on synthetic images."""
from __future__ import annotations

import numpy as np
import pytest

from medcolor.classic import SolverOptions, levin_colorize, levin_propagate
from medcolor.classic.levin import affinity_matrix
from medcolor.color import gray_to_lightness, lab_to_rgb_np, rgb_to_lab_np

RED_LAB = (40.0, 45.0, 30.0)
BLUE_LAB = (62.0, -5.0, -35.0)


def _two_regions(h=40, w=60):
    """Flat gray 0.33 | 0.75 split at column w//2; one scribble stroke per side."""
    gray = np.where(np.arange(w)[None, :] < w // 2, 0.33, 0.75) * np.ones((h, 1))
    hints = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), bool)
    for lab, cols in ((RED_LAB, slice(4, 6)), (BLUE_LAB, slice(w - 6, w - 4))):
        rgb = np.rint(lab_to_rgb_np(np.array(lab)) * 255).astype(np.uint8)
        hints[3:h - 3, cols] = rgb  # a stroke along most of the region
        mask[3:h - 3, cols] = True
    return gray, hints, mask


@pytest.mark.parametrize("solver", ["direct", "amg"])
def test_each_region_takes_its_scribble_colour_up_to_the_edge(solver):
    gray, hints, mask = _two_regions()
    out = levin_colorize(gray, hints, mask, SolverOptions(solver=solver))
    assert out.shape == gray.shape + (3,) and out.dtype == np.uint8
    lab = rgb_to_lab_np(out / 255.0)
    w = gray.shape[1]
    hint_ab = rgb_to_lab_np(hints / 255.0)[..., 1:]
    red_ab, blue_ab = hint_ab[20, 5], hint_ab[20, w - 5]
    # The propagated chroma: every pixel, including the columns touching the edge,
    # within 1 a*b* unit of its own region's scribble.
    ab = levin_propagate(gray_to_lightness(gray), hint_ab, mask, options=SolverOptions(solver=solver))
    assert np.abs(ab[:, : w // 2] - red_ab).max() < 1.0
    assert np.abs(ab[:, w // 2:] - blue_ab).max() < 1.0
    # The rendered uint8 image: within 3 units (uint8 quantisation of a*b* is up to about 1.5).
    assert np.abs(lab[:, : w // 2, 1:] - red_ab).max() < 3.0
    assert np.abs(lab[:, w // 2:, 1:] - blue_ab).max() < 3.0
    # Lightness is the input's.
    assert np.abs(lab[..., 0] - gray_to_lightness(gray)).max() <= 1.0


def test_direct_and_amg_agree_and_hints_are_exact():
    rng = np.random.default_rng(1)
    L = 100 * np.clip(0.5 + 0.2 * np.sin(np.arange(70)[:, None] / 6.0) * np.cos(np.arange(90)[None] / 9.0)
                      + 0.02 * rng.standard_normal((70, 90)), 0, 1)
    fixed = rng.random(L.shape) < 0.01
    values = rng.uniform(-60, 60, L.shape + (2,))
    a = levin_propagate(L, values, fixed, options=SolverOptions(solver="direct"))
    b = levin_propagate(L, values, fixed, options=SolverOptions(solver="amg", tol=1e-8))
    assert np.abs(a - b).max() < 0.05
    np.testing.assert_array_equal(a[fixed], values[fixed])
    # The interpolation is a weighted average: it stays within the hint range.
    assert a.min() >= values[fixed].min() - 1e-6 and a.max() <= values[fixed].max() + 1e-6


def test_affinity_matrix_is_symmetric_and_cut_by_edges():
    L = np.zeros((6, 8))
    L[:, 4:] = 80.0
    W = affinity_matrix(L)
    assert W.shape == (48, 48)
    assert abs(W - W.T).max() == 0
    assert W[0, 1] == pytest.approx(1.0)  # same flat region
    assert W[3, 4] < 0.02  # across the edge
    assert W.diagonal().max() == 0


def test_no_hints_gives_the_gray_image():
    gray = np.linspace(0, 1, 20 * 30).reshape(20, 30)
    out = levin_colorize(gray, np.zeros((20, 30, 3), np.uint8), np.zeros((20, 30), bool))
    out = out.astype(int)
    # Neutral: the channels differ by at most one uint8 step (float rounding of the gray axis).
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 1 and np.abs(out[..., 2] - out[..., 1]).max() <= 1


def test_uint8_gray_is_accepted():
    gray, hints, mask = _two_regions()
    a = levin_colorize(np.rint(gray * 255).astype(np.uint8), hints, mask)
    b = levin_colorize(np.rint(gray * 255).astype(np.uint8) / 255.0, hints, mask)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("gray, hints, mask, exc", [
    ([[0.1, 0.2]], np.zeros((1, 2, 3), np.uint8), np.zeros((1, 2), bool), TypeError),  # list, not array
    (np.zeros((4, 4, 3)), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), bool), ValueError),  # RGB gray
    (np.zeros((4, 4), np.int32), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), bool), TypeError),
    (np.full((4, 4), 2.0), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), bool), ValueError),  # out of range
    (np.zeros((4, 4)), np.zeros((4, 4, 3)), np.zeros((4, 4), bool), TypeError),  # float hints
    (np.zeros((4, 4)), np.zeros((4, 5, 3), np.uint8), np.zeros((4, 4), bool), ValueError),  # size mismatch
    (np.zeros((4, 4)), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), TypeError),  # mask dtype
    (np.zeros((4, 4)), np.zeros((4, 4, 3), np.uint8), np.zeros((3, 4), bool), ValueError),  # mask shape
])
def test_input_checks(gray, hints, mask, exc):
    with pytest.raises(exc):
        levin_colorize(gray, hints, mask)


def test_propagate_rejects_bad_arguments():
    L = np.full((5, 5), 50.0)
    with pytest.raises(ValueError):
        levin_propagate(L, np.zeros((5, 5, 2)), np.zeros((5, 5), bool))  # nothing fixed, no data term
    with pytest.raises(ValueError):
        levin_propagate(L, np.zeros((5, 5, 2)), np.ones((5, 5), bool), prior_weight=-1.0)
    with pytest.raises(ValueError):
        levin_propagate(L, np.zeros((5, 5, 2)), np.eye(5, dtype=bool), options=SolverOptions(solver="magic"))


def test_amg_at_default_tolerance_matches_a_direct_solve_with_few_scribbles():
    """The hard case (two strokes on large noisy flat regions) at the default CG tolerance."""
    n = 120
    rng = np.random.default_rng(0)
    gray = np.clip(0.35 + 0.3 * (np.arange(n)[None, :] > n // 2) + 0.03 * rng.standard_normal((n, n)), 0, 1)
    values = np.zeros((n, n, 2))
    fixed = np.zeros((n, n), bool)
    for col, ab in ((n // 4, (50.0, 30.0)), (3 * n // 4, (-10.0, -45.0))):
        fixed[n // 2 - 8:n // 2 + 8, col - 2:col + 2] = True
        values[n // 2 - 8:n // 2 + 8, col - 2:col + 2] = ab
    L = gray_to_lightness(gray)
    exact = levin_propagate(L, values, fixed, options=SolverOptions(solver="direct"))
    amg = levin_propagate(L, values, fixed, options=SolverOptions(solver="amg"))  # tol 1e-4
    assert np.abs(amg - exact).max() < 0.5  # well below one uint8 step of a*b*
    np.testing.assert_array_equal(amg[fixed], values[fixed])
    # each region leans to its own stroke's colour (noise lets some colour leak over the edge)
    assert exact[:, : n // 2 - 3, 0].mean() > exact[:, n // 2 + 3:, 0].mean() + 20


def test_sa_hierarchy_leaves_identity_rows_out_of_coarse_levels():
    from medcolor.classic.levin import linear_system, sa_hierarchy

    rng = np.random.default_rng(2)
    L = 100 * rng.random((60, 70))
    fixed = rng.random(L.shape) < 0.05
    values = rng.uniform(-50, 50, L.shape + (1,))
    a, b, x0 = linear_system(L, values, fixed, prior=np.zeros_like(values), prior_weight=np.zeros(L.shape))
    assert abs(a - a.T).max() == 0
    np.testing.assert_array_equal(a.diagonal()[fixed.ravel()], 1.0)
    ml = sa_hierarchy(a, max_coarse=50)
    assert len(ml.levels) >= 2 and ml.levels[1].A.shape[0] < (~fixed).sum()
    x = ml.solve(b[:, 0], x0=x0[:, 0], tol=1e-10, maxiter=200, accel="cg")
    np.testing.assert_allclose(x[fixed.ravel()], values[fixed][:, 0], atol=1e-8)
