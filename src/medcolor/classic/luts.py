"""Pseudo-colour lookup tables: DICOM well-known colour palettes and matplotlib colormaps.

The clinical baseline for "colour" in radiology is a pseudo-colour LUT applied to
the windowed gray image.  The DICOM standard defines eight well-known colour
palettes (PS3.6 Annex B "Well-known Color Palettes", SOP Instance UIDs
1.2.840.10008.1.5.1 to .8): Hot Iron, PET, Hot Metal Blue, PET 20 Step, Spring,
Summer, Fall and Winter, each with 256 entries of 8 bits and first mapped value 0.

Encoding.  Each channel is stored below as control points ``(index, value)``
and expanded exactly as a Segmented Palette Color LUT (PS3.3 C.7.9.2): the first
point is a one-entry discrete segment (C.7.9.2.1) and each following point ends a
linear segment (C.7.9.2.2) of ``n = x1 - x0`` entries whose k-th entry is
``y0 + (y1 - y0) * k / n``, rounded to the nearest integer (ties to even).
Spring, Summer, Fall and Winter are published as segmented data and the points
are those segments.  Hot Iron, PET, Hot Metal Blue and PET 20 Step are published
as full 256-entry tables; their points are the fewest linear segments that
reproduce those tables entry for entry (checked in ``tests/test_classic_luts.py``
against the standard's palette SOP instances shipped by pydicom).

``rainbow`` is not a DICOM palette (the standard has none by that name); it is
matplotlib's ``rainbow`` colormap.  Any other matplotlib colormap name works too,
and ``matplotlib:NAME`` forces matplotlib where a DICOM name would shadow it
(``matplotlib:spring``).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..io.windowing import apply_window

__all__ = ["DICOM_PALETTES", "list_luts", "lut_table", "expand_segments", "window_gray", "apply_lut"]

_Points = tuple[tuple[int, int], ...]

# name -> (red, green, blue) control points; PS3.6 Annex B (B.1 ... B.8).
DICOM_PALETTES: dict[str, tuple[_Points, _Points, _Points]] = {
    "hot-iron": (  # B.1 Hot Iron, 1.2.840.10008.1.5.1
        ((0, 0), (127, 254), (128, 255), (255, 255)),
        ((0, 0), (128, 0), (254, 252), (255, 255)),
        ((0, 0), (191, 0), (254, 252), (255, 255)),
    ),
    "pet": (  # B.2 PET, 1.2.840.10008.1.5.2
        ((0, 0), (63, 0), (64, 1), (149, 170), (150, 171), (192, 255), (255, 255)),
        ((0, 0), (62, 125), (63, 128), (127, 1), (128, 0), (254, 252), (255, 255)),
        ((0, 0), (1, 1), (128, 255), (130, 248), (192, 0), (233, 165), (235, 174), (254, 250), (255, 255)),
    ),
    "hot-metal-blue": (  # B.3 Hot Metal Blue, 1.2.840.10008.1.5.3
        ((0, 0), (85, 0), (102, 50), (119, 90), (153, 190), (170, 255), (255, 255)),
        ((0, 0), (119, 0), (238, 224), (255, 255)),
        ((0, 0), (17, 33), (42, 83), (44, 86), (75, 147), (93, 183), (95, 186), (102, 200), (119, 150),
         (136, 50), (153, 0), (170, 0), (238, 200), (255, 255)),
    ),
    "pet-20-step": (  # B.4 PET 20 Step, 1.2.840.10008.1.5.4 (20 flat steps; each jump is a 1-entry segment)
        ((0, 0), (12, 0), (13, 96), (25, 96), (26, 48), (50, 48), (51, 80), (63, 80), (64, 96), (76, 96),
         (77, 112), (89, 112), (90, 128), (101, 128), (102, 48), (127, 48), (128, 80), (140, 80), (141, 64),
         (152, 64), (153, 224), (165, 224), (166, 208), (203, 208), (204, 192), (216, 192), (217, 176),
         (229, 176), (230, 255), (255, 255)),
        ((0, 0), (25, 0), (26, 48), (50, 48), (51, 80), (63, 80), (64, 96), (76, 96), (77, 112), (89, 112),
         (90, 128), (101, 128), (102, 96), (114, 96), (115, 144), (127, 144), (128, 192), (140, 192),
         (141, 224), (165, 224), (166, 208), (178, 208), (179, 176), (191, 176), (192, 144), (203, 144),
         (204, 96), (216, 96), (217, 48), (229, 48), (230, 0), (242, 0), (243, 255), (255, 255)),
        ((0, 0), (12, 0), (13, 80), (38, 80), (39, 112), (50, 112), (51, 128), (63, 128), (64, 176), (76, 176),
         (77, 192), (89, 192), (90, 224), (101, 224), (102, 48), (127, 48), (128, 80), (140, 80), (141, 64),
         (152, 64), (153, 80), (165, 80), (166, 96), (178, 96), (179, 64), (191, 64), (192, 0), (242, 0),
         (243, 255), (255, 255)),
    ),
    "spring": (  # B.5 Spring, 1.2.840.10008.1.5.5 (segmented in the standard)
        ((0, 255), (255, 255)),
        ((0, 0), (255, 255)),
        ((0, 255), (255, 0)),
    ),
    "summer": (  # B.6 Summer, 1.2.840.10008.1.5.6
        ((0, 0), (255, 0)),
        ((0, 255), (255, 128)),
        ((0, 0), (127, 0), (255, 254)),
    ),
    "fall": (  # B.7 Fall, 1.2.840.10008.1.5.7
        ((0, 255), (255, 255)),
        ((0, 255), (255, 0)),
        ((0, 0), (255, 0)),
    ),
    "winter": (  # B.8 Winter, 1.2.840.10008.1.5.8
        ((0, 0), (127, 0), (255, 127)),
        ((0, 0), (255, 255)),
        ((0, 255), (255, 128)),
    ),
}
_ALIASES = {"rainbow": "matplotlib:rainbow", "hotiron": "hot-iron", "hot_iron": "hot-iron",
            "hot-metal": "hot-metal-blue", "pet20": "pet-20-step"}
_MPL_PREFIX = "matplotlib:"


def expand_segments(points: _Points) -> np.ndarray:
    """Expand ``(index, value)`` control points into a uint8 table (PS3.3 C.7.9.2 linear segments).

    Returns ``(points[-1][0] + 1,)`` uint8.
    """
    x_prev, y_prev = points[0]
    if x_prev != 0:
        raise ValueError("the first control point must be at index 0")
    out = [float(y_prev)]
    for x, y in points[1:]:
        n = x - x_prev
        if n <= 0:
            raise ValueError(f"control point indices must increase, got {x_prev} then {x}")
        k = np.arange(1, n + 1, dtype=np.float64)
        out.extend(np.around(y_prev + (y - y_prev) * k / n))  # C.7.9.2.2, ties to even
        x_prev, y_prev = x, y
    return np.asarray(out, dtype=np.uint8)


def _matplotlib_names() -> list[str]:
    from matplotlib import colormaps

    return sorted(colormaps)


def list_luts(include_matplotlib: bool = False) -> list[str]:
    """Names accepted by :func:`apply_lut`: the DICOM palettes and ``rainbow`` (plus matplotlib's)."""
    names = sorted(DICOM_PALETTES) + ["rainbow"]
    if include_matplotlib:
        names += [_MPL_PREFIX + n for n in _matplotlib_names()]
    return names


@lru_cache(maxsize=64)
def lut_table(name: str) -> np.ndarray:
    """The ``(256, 3)`` uint8 RGB table of a LUT name (read-only array)."""
    if not isinstance(name, str):
        raise TypeError(f"LUT name must be a str, got {type(name).__name__}")
    key = _ALIASES.get(name.lower(), name.lower() if name.lower() in DICOM_PALETTES else name)
    if key in DICOM_PALETTES:
        table = np.stack([expand_segments(p) for p in DICOM_PALETTES[key]], axis=1)
    else:
        mpl_name = key[len(_MPL_PREFIX):] if key.startswith(_MPL_PREFIX) else key
        from matplotlib import colormaps

        if mpl_name not in colormaps:
            raise ValueError(f"unknown LUT {name!r}; choose one of {', '.join(list_luts())} "
                             "or a matplotlib colormap name")
        rgba = colormaps[mpl_name].resampled(256)(np.arange(256))  # (256, 4) float in [0, 1]
        table = np.round(rgba[:, :3] * 255.0).astype(np.uint8)
    if table.shape != (256, 3):
        raise ValueError(f"LUT {name!r} has {table.shape[0]} entries, expected 256")
    table.setflags(write=False)
    return table


def window_gray(gray: np.ndarray, window: tuple[float, float] | None = None) -> np.ndarray:
    """Map a gray image to display values in [0, 1] (float64, same shape).

    * ``window=(center, width)``: the DICOM linear VOI function (PS3.3 C.11.2.1.2.1)
      in the units of ``gray`` (e.g. Hounsfield units, or [0, 1] display values).
    * no window: uint8 is divided by 255; floats must already lie in [0, 1].
    """
    arr = np.asarray(gray)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"gray must be an integer or float array, got {arr.dtype}")
    if window is not None:
        center, width = (float(v) for v in window)
        if width <= 0:
            raise ValueError(f"window width must be > 0, got {width}")
        # Integer data: the DICOM LINEAR function (C.11.2.1.2.1, needs width >= 1);
        # floats: LINEAR_EXACT, which has no half-step offsets for continuous values.
        function = "LINEAR" if np.issubdtype(arr.dtype, np.integer) else "LINEAR_EXACT"
        return apply_window(arr, center, width, function).astype(np.float64)
    if arr.dtype == np.uint8:
        return arr / 255.0
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[np.isfinite(arr)]
        if finite.size and (finite.min() < -1e-6 or finite.max() > 1 + 1e-6):
            raise ValueError(f"float gray values span [{finite.min():g}, {finite.max():g}], not [0, 1]; "
                             "pass window=(center, width) for raw values")
        return np.clip(np.nan_to_num(arr.astype(np.float64)), 0.0, 1.0)
    raise ValueError(f"{arr.dtype} gray needs window=(center, width); only uint8 and [0, 1] floats map directly")


def apply_lut(gray: np.ndarray, name: str = "hot-iron", window: tuple[float, float] | None = None) -> np.ndarray:
    """Pseudo-colour a gray image with a named LUT.

    Args:
        gray: ``(H, W)`` (or any shape, e.g. ``(F, H, W)``): uint8, or float
            display values in [0, 1], or raw values with ``window``.
        name: a DICOM palette (:func:`list_luts`), ``rainbow``, or a matplotlib colormap.
        window: optional ``(center, width)`` in the units of ``gray``.

    Returns:
        ``gray.shape + (3,)`` uint8 RGB; the display value v in [0, 1] picks
        table entry ``round(255 * v)``.
    """
    table = lut_table(name)
    v = window_gray(gray, window)
    idx = np.rint(v * 255.0).astype(np.intp)
    return table[idx]
