"""Pseudo-colour LUTs: DICOM well-known palettes (PS3.6 Annex B) at their control points."""
from __future__ import annotations

import numpy as np
import pytest

from medcolor.classic import apply_lut, list_luts
from medcolor.classic.luts import DICOM_PALETTES, expand_segments, lut_table, window_gray

# The standard's palette SOP instances, as shipped by pydicom (no network needed).
_FILES = {"hot-iron": "hotiron.dcm", "pet": "pet.dcm", "hot-metal-blue": "hotmetalblue.dcm",
          "pet-20-step": "pet20step.dcm", "spring": "spring.dcm", "summer": "summer.dcm",
          "fall": "fall.dcm", "winter": "winter.dcm"}


def _dicom_palette(name):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.data import get_palette_files
    from pydicom.pixels import apply_color_lut

    (path,) = get_palette_files(_FILES[name])
    ds = pydicom.dcmread(path)
    return ds, apply_color_lut(np.arange(256, dtype=np.uint8), ds)


@pytest.mark.parametrize("name", sorted(_FILES))
def test_palette_equals_the_dicom_definition(name):
    _, table = _dicom_palette(name)
    np.testing.assert_array_equal(lut_table(name), table)


@pytest.mark.parametrize("name", sorted(_FILES))
def test_palette_control_points(name):
    table = lut_table(name)
    for channel, points in enumerate(DICOM_PALETTES[name]):
        assert points[0][0] == 0 and points[-1][0] == 255
        for x, y in points:
            assert table[x, channel] == y


@pytest.mark.parametrize("name", ["spring", "summer", "fall", "winter"])
def test_segmented_palettes_use_the_published_segments(name):
    """These four are published as Segmented Palette Color LUT Data: our points are those segments."""
    ds, _ = _dicom_palette(name)
    for channel, colour in enumerate(("Red", "Green", "Blue")):
        data = list(ds[f"Segmented{colour}PaletteColorLookupTableData"].value)  # 8-bit entries
        points, i, x = [], 0, 0
        while i + 1 < len(data):
            opcode, length = data[i], data[i + 1]
            if opcode == 0:  # discrete segment
                for v in data[i + 2:i + 2 + length]:
                    points.append((x, v))
                    x += 1
                i += 2 + length
            else:
                assert opcode == 1  # linear segment to (x + length - 1, y1)
                x += length
                points.append((x - 1, data[i + 2]))
                i += 3
        assert tuple(points) == DICOM_PALETTES[name][channel]


def test_hot_iron_known_entries():
    t = lut_table("hot-iron")
    assert tuple(t[0]) == (0, 0, 0) and tuple(t[255]) == (255, 255, 255)
    assert tuple(t[64]) == (128, 0, 0) and tuple(t[200]) == (255, 144, 36)


def test_expand_segments_follows_the_linear_segment_rule():
    np.testing.assert_array_equal(expand_segments(((0, 0), (5, 10))), [0, 2, 4, 6, 8, 10])
    np.testing.assert_array_equal(expand_segments(((0, 0), (4, 10))), [0, 2, 5, 8, 10])  # 2.5, 7.5: ties to even
    np.testing.assert_array_equal(expand_segments(((0, 0), (2, 1))), [0, 0, 1])  # 0.5 rounds to even
    with pytest.raises(ValueError):
        expand_segments(((1, 0), (2, 1)))
    with pytest.raises(ValueError):
        expand_segments(((0, 0), (0, 1)))


def test_apply_lut_indexing_and_window():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = apply_lut(gray, "pet")
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out.reshape(256, 3), lut_table("pet"))
    np.testing.assert_array_equal(apply_lut(gray / 255.0, "pet"), out)  # float display values
    # A CT window in Hounsfield units: below the window -> entry 0, above -> entry 255.
    hu = np.array([[-1000.0, 40.0, 3000.0]])
    rgb = apply_lut(hu, "hot-iron", window=(40, 400))
    assert tuple(rgb[0, 0]) == (0, 0, 0) and tuple(rgb[0, 2]) == (255, 255, 255)
    np.testing.assert_array_equal(rgb[0, 1], lut_table("hot-iron")[128])
    # Frames: any leading shape.
    assert apply_lut(np.zeros((3, 4, 5), np.uint8), "fall").shape == (3, 4, 5, 3)


def test_integer_window_follows_dicom_voi_formula():
    x = np.array([0, 1, 2, 3], dtype=np.int16)
    v = window_gray(x, (1.5, 4))  # ((x - 1) / 3 + 0.5)
    np.testing.assert_allclose(v, np.clip((x - 1.0) / 3.0 + 0.5, 0, 1))


def test_matplotlib_and_rainbow():
    names = list_luts()
    assert {"hot-iron", "pet", "rainbow"} <= set(names)
    viridis = lut_table("viridis")
    assert viridis.shape == (256, 3) and tuple(viridis[0]) == (68, 1, 84)
    rainbow = lut_table("rainbow")
    assert rainbow[0, 2] > rainbow[0, 0] and rainbow[255, 0] > rainbow[255, 2]  # violet/blue -> red
    # matplotlib's own spring differs from DICOM's spring only by name resolution.
    assert lut_table("matplotlib:spring").shape == (256, 3)


@pytest.mark.parametrize("gray, name, window, exc", [
    (np.zeros((4, 4)), "no-such-lut", None, ValueError),
    (np.zeros((4, 4)), 3, None, TypeError),
    (np.full((4, 4), 500.0), "pet", None, ValueError),  # raw values need a window
    (np.zeros((4, 4), np.int16), "pet", None, ValueError),
    (np.zeros((4, 4), bool), "pet", None, TypeError),
    (np.zeros((4, 4)), "pet", (0.5, 0.0), ValueError),
])
def test_apply_lut_input_checks(gray, name, window, exc):
    with pytest.raises(exc):
        apply_lut(gray, name, window=window)
