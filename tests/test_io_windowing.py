"""Window presets, ``C,W`` parsing and the DICOM VOI window functions."""
from __future__ import annotations

import numpy as np
import pytest

from medcolor.errors import UsageError
from medcolor.io import WINDOW_PRESETS, apply_window, parse_window
from medcolor.io.windowing import robust_range, scale_range


def test_presets_cover_the_ct_windows():
    assert set(WINDOW_PRESETS) == {"lung", "mediastinum", "bone", "brain", "soft-tissue", "abdomen"}
    assert parse_window("lung") == (-600.0, 1500.0)
    assert parse_window("Brain") == WINDOW_PRESETS["brain"]
    assert parse_window("soft_tissue") == WINDOW_PRESETS["soft-tissue"]
    for center, width in WINDOW_PRESETS.values():
        assert width > 0 and -1500 < center < 1500


@pytest.mark.parametrize("text,expected", [("40,400", (40.0, 400.0)), (" -600 , 1500 ", (-600.0, 1500.0)),
                                           ("1e3,2.5e3", (1000.0, 2500.0)), (".5,10", (0.5, 10.0))])
def test_parse_center_width(text, expected):
    assert parse_window(text) == expected


def test_parse_none_and_pairs():
    assert parse_window(None) is None
    assert parse_window((40, 80)) == (40.0, 80.0)


@pytest.mark.parametrize("bad", ["", "lungs-wide", "40", "40,", "40,400,3", "a,b", "40;400", "40,0", "40,-5",
                                 "nan,400", (1, 2, 3), ("x", 1)])
def test_bad_windows_are_usage_errors(bad):
    with pytest.raises(UsageError) as info:
        parse_window(bad)
    assert "\n" not in str(info.value) and "window" in str(info.value)


def test_linear_window_matches_dicom_formula():
    x = np.array([-1000, -161, -160, 0, 39.5, 40, 239, 240, 3000], dtype=np.float32)
    y = apply_window(x, 40, 400)
    # PS3.3 C.11.2.1.2.1: (x - (c - 0.5)) / (w - 1) + 0.5, clipped
    expected = np.clip((x - 39.5) / 399 + 0.5, 0, 1)
    np.testing.assert_allclose(y, expected, atol=1e-6)
    assert y[0] == 0 and y[-1] == 1 and y.dtype == np.float32
    assert abs(apply_window(np.float32(39.5), 40, 400) - 0.5) < 1e-6


def test_linear_exact_and_sigmoid():
    x = np.linspace(-500, 500, 11).astype(np.float32)
    np.testing.assert_allclose(apply_window(x, 0, 1000, "LINEAR_EXACT"), x / 1000 + 0.5, atol=1e-6)
    s = apply_window(x, 0, 1000, "SIGMOID")
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-4 * x / 1000)), atol=1e-6)
    assert np.all(np.diff(s) > 0)


def test_robust_range_ignores_outliers():
    values = np.concatenate([np.linspace(100, 200, 10_000), [1e9, -1e9]])
    lo, hi = robust_range(values)
    assert 100 <= lo < 102 and 198 < hi <= 200
    assert robust_range(np.full(10, 7.0)) == (7.0, 7.0)
    np.testing.assert_array_equal(scale_range(np.array([6.0, 7.0, 8.0]), 7.0, 7.0), [0, 0, 1])
