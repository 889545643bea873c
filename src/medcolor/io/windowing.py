"""Display windowing: CT presets, ``"C,W"`` parsing, the DICOM VOI functions and robust scaling.

Everything here maps raw values (Hounsfield units for CT, stored or rescaled
values for anything else) to *display* values in [0, 1], float32.

The linear window follows DICOM PS3.3 C.11.2.1.2.1 exactly (the ``- 0.5`` and
``W - 1`` terms), so a window read from a DICOM header shows the image as a
DICOM viewer would.  ``LINEAR_EXACT`` and ``SIGMOID`` are the other two VOI
LUT functions of the standard.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import UsageError

__all__ = ["WINDOW_PRESETS", "ROBUST_PERCENTILES", "parse_window", "apply_window", "robust_range",
           "scale_range", "range_as_window", "display_values", "preset_name"]

#: CT window presets in Hounsfield units: name -> (center, width).
#: Values as commonly used in radiology (e.g. Radiopaedia "Windowing (CT)").
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "soft-tissue": (40.0, 400.0),
    "abdomen": (60.0, 400.0),
}
_ALIASES = {"soft_tissue": "soft-tissue", "softtissue": "soft-tissue", "soft": "soft-tissue",
            "abdominal": "abdomen", "lungs": "lung"}

#: Percentiles for robust scaling when a file carries no window (ignores outlier pixels).
ROBUST_PERCENTILES = (0.5, 99.5)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


def parse_window(window) -> tuple[float, float] | None:
    """Turn a ``--window`` value into ``(center, width)``.

    Accepts None (returns None), a preset name from :data:`WINDOW_PRESETS`
    (case-insensitive; ``soft_tissue`` also works), a ``"C,W"`` string such as
    ``"-600,1500"``, or a ``(center, width)`` pair.  The width must be > 0.
    Raises :class:`~medcolor.errors.UsageError` (one line) for anything else.
    """
    if window is None:
        return None
    if isinstance(window, str):
        key = window.strip().lower()
        key = _ALIASES.get(key, key)
        if key in WINDOW_PRESETS:
            return WINDOW_PRESETS[key]
        m = re.fullmatch(rf"\s*({_NUMBER})\s*,\s*({_NUMBER})\s*", window)
        if not m:
            raise UsageError(f"invalid window {window!r}: expected a preset "
                             f"({', '.join(WINDOW_PRESETS)}) or 'CENTER,WIDTH' such as '40,400'")
        center, width = float(m.group(1)), float(m.group(2))
    else:
        try:
            center, width = (float(v) for v in window)
        except (TypeError, ValueError):
            raise UsageError(f"invalid window {window!r}: expected (center, width)") from None
    if not (np.isfinite(center) and np.isfinite(width)) or width <= 0:
        raise UsageError(f"invalid window {window!r}: the width must be a positive number")
    return center, width


def apply_window(values: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """Map raw ``values`` (any shape) through a VOI window to float32 display values in [0, 1].

    ``function`` is the DICOM VOI LUT Function: ``LINEAR`` (default),
    ``LINEAR_EXACT`` or ``SIGMOID``.
    """
    x = np.asarray(values, dtype=np.float32)
    function = (function or "LINEAR").upper()
    if function == "SIGMOID":
        out = 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
    elif function == "LINEAR_EXACT":
        out = (x - center) / width + 0.5
    else:
        if width < 1:
            raise ValueError(f"a LINEAR window needs width >= 1, got {width}")
        if width == 1:  # degenerate DICOM window: a threshold at the centre
            return (x >= center - 0.5).astype(np.float32)
        out = (x - (center - 0.5)) / (width - 1.0) + 0.5
    return np.clip(out, 0.0, 1.0, out=np.asarray(out, dtype=np.float32))


def robust_range(values: np.ndarray, percentiles=ROBUST_PERCENTILES, max_samples: int = 2_000_000
                 ) -> tuple[float, float]:
    """``(low, high)`` percentiles of the finite values; falls back to min/max if they coincide.

    Large arrays are subsampled on a regular stride (percentiles of millions of
    pixels barely change, and this keeps a 2k x 2k X-ray fast).
    """
    flat = np.asarray(values).reshape(-1)
    if flat.size > max_samples:
        flat = flat[:: flat.size // max_samples + 1]
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(flat, percentiles))
    if hi <= lo:
        lo, hi = float(flat.min()), float(flat.max())
    return lo, hi


def scale_range(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear map ``low -> 0``, ``high -> 1``, clipped; a flat range gives 0 (or 1 above it)."""
    x = np.asarray(values, dtype=np.float32)
    if high <= low:
        return (x > low).astype(np.float32)
    out = (x - np.float32(low)) * np.float32(1.0 / (high - low))
    out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(out, 0.0, 1.0, out=out)


def range_as_window(low: float, high: float) -> tuple[float, float]:
    """The ``(center, width)`` equivalent of a ``low..high`` linear scaling (for ``meta["window"]``)."""
    return (low + high) / 2.0, high - low



def display_values(raw: np.ndarray, window: tuple[float, float] | None, *, eight_bit: bool = False
                   ) -> tuple[np.ndarray, tuple[float, float] | None, str]:
    """Raw values -> ``(display float32 in [0, 1], applied (center, width) or None, how)``.

    ``window`` (already parsed) wins; else 8-bit data is shown as ``raw / 255``
    exactly; else float data already inside [0, 1] is kept; else robust
    percentile scaling.  ``how`` is ``"window"``, ``"none"`` or ``"percentile"``.
    """
    if window is not None:
        return apply_window(raw, *window), (float(window[0]), float(window[1])), "window"
    if eight_bit:
        return np.asarray(raw, dtype=np.float32) / np.float32(255), None, "none"  # exactly uint8 / 255
    raw = np.asarray(raw)
    if raw.dtype.kind == "f" and raw.size and np.nanmin(raw) >= 0.0 and np.nanmax(raw) <= 1.0:
        return np.nan_to_num(raw.astype(np.float32, copy=False)), None, "none"
    low, high = robust_range(raw)
    return scale_range(raw, low, high), range_as_window(low, high), "percentile"


def preset_name(window) -> str | None:
    """The canonical preset name when ``window`` names one of :data:`WINDOW_PRESETS`, else None."""
    if not isinstance(window, str):
        return None
    key = window.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in WINDOW_PRESETS else None
