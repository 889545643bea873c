"""The working shape is bounded in both dimensions, whatever the aspect ratio."""
from __future__ import annotations

import numpy as np
import pytest

from medcolor.pipeline import colorize_gray
from medcolor.predictor import MAX_ASPECT, MAX_NATIVE_SIDE, working_shape


@pytest.mark.parametrize("hw, size, expected", [
    ((300, 600), 256, (256, 512)),  # normal images keep their aspect ratio
    ((600, 300), 256, (512, 256)),
    ((100, 100), 256, (256, 256)),
    ((1, 1000), 256, (256, 256 * MAX_ASPECT)),  # not 256 x 256000
    ((3000, 1), 256, (256 * MAX_ASPECT, 256)),
    ((1, 1), 32, (32, 32)),
    ((300, 600), None, (300, 600)),  # native size
    ((1, 1000), None, (1, 1000)),
    ((8000, 4000), None, (MAX_NATIVE_SIDE, MAX_NATIVE_SIDE // 2)),
])
def test_working_shape(hw, size, expected):
    assert working_shape(*hw, size) == expected


@pytest.mark.parametrize("h, w", [(1, 1), (1, 50_000), (7, 3), (40_000, 2)])
@pytest.mark.parametrize("size", [32, 256, 1024, None])
def test_working_shape_is_bounded(h, w, size):
    wh, ww = working_shape(h, w, size)
    limit = MAX_ASPECT * size if size else MAX_NATIVE_SIDE
    assert 1 <= wh <= limit and 1 <= ww <= limit


def test_a_thin_strip_is_colorized_at_a_small_working_shape():
    from medcolor.models import create_model

    seen = []
    net = create_model("fastcolor", widths=[8, 8, 8, 8, 8]).eval()
    net.register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape)))
    gray = np.linspace(0, 1, 1000, dtype=np.float32)[None]  # (1, 1000)
    rgb = colorize_gray(gray, model=net, working_size=256, device="cpu")
    assert rgb.shape == (1, 1000, 3) and rgb.dtype == np.uint8
    assert seen == [(1, 1, 256, 256 * MAX_ASPECT)]
