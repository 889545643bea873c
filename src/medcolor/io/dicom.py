"""DICOM reading: pixel decoding, modality LUT, VOI (window or LUT), MONOCHROME1 inversion.

The display pipeline follows the DICOM grayscale standard display chain:

1. decode the pixel data (pydicom, with the pylibjpeg plugins for JPEG
   baseline/extended/lossless, JPEG-LS, JPEG 2000 and RLE);
2. modality LUT: RescaleSlope/RescaleIntercept (also from the shared or
   per-frame functional groups of enhanced multi-frame objects), or a Modality
   LUT Sequence via :func:`pydicom.pixels.apply_modality_lut`.  CT values are
   then Hounsfield units, which is what the window presets expect;
3. VOI: the user's ``window`` if given; else the file's own VOI LUT Sequence
   (:func:`pydicom.pixels.apply_voi`) or WindowCenter/WindowWidth (the first of
   multi-valued ones, honouring VOILUTFunction); else robust percentile scaling
   over all frames (8-bit data without rescale is shown as ``value / 255``);
4. MONOCHROME1 is inverted, so that the display is "white = dense" as
   radiologists read it.

Colour DICOM (RGB, YBR_*, PALETTE COLOR) is converted to gray with the same CIE
L*, with a one-line warning.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .common import check_pixels, color_to_gray, new_meta, warn_input
from .windowing import apply_window, display_values

__all__ = ["read_dicom"]


def _functional_item(ds, sequence: str, frame: int):
    """The item of ``sequence`` for ``frame`` from the per-frame, else the shared functional groups."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        if seq and len(seq) > index and sequence in seq[index] and len(seq[index][sequence].value):
            return seq[index][sequence].value[0]
    return None


def _rescale(ds, frame: int) -> tuple[float, float]:
    """``(slope, intercept)`` for ``frame`` (top level, else functional groups); (1, 0) if none."""
    source = ds if "RescaleSlope" in ds or "RescaleIntercept" in ds else \
        _functional_item(ds, "PixelValueTransformationSequence", frame)
    if source is None:
        return 1.0, 0.0
    slope = source.get("RescaleSlope", 1.0)
    intercept = source.get("RescaleIntercept", 0.0)
    return float(slope if slope not in (None, "") else 1.0), float(intercept if intercept not in (None, "") else 0.0)


def _first(value) -> float | None:
    """The first of a possibly multi-valued DS, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or hasattr(value, "__getitem__") and not isinstance(value, str):
        value = value[0] if len(value) else None
    return None if value is None else float(value)


def _file_window(ds, frame: int) -> tuple[float, float, str] | None:
    """The file's own ``(center, width, function)`` for ``frame``, or None."""
    source = ds if "WindowCenter" in ds else _functional_item(ds, "FrameVOILUTSequence", frame)
    if source is None:
        return None
    center, width = _first(source.get("WindowCenter")), _first(source.get("WindowWidth"))
    if center is None or width is None or width <= 0:
        return None
    function = str(source.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if function == "LINEAR" and width < 1:
        return None
    return center, width, function


def _voi_lut_display(frames: np.ndarray, ds) -> np.ndarray:
    """Apply the first VOI LUT Sequence item; output scaled by the LUT's bit depth to [0, 1]."""
    from pydicom.pixels import apply_voi

    item = ds.VOILUTSequence[0]
    descriptor = item.LUTDescriptor
    bits = int(descriptor[2])
    out = apply_voi(frames, ds, index=0).astype(np.float32)
    peak = float(2 ** bits - 1)
    if out.max(initial=0) > peak:  # some writers declare fewer bits than they use
        peak = float(out.max())
    return np.clip(out / np.float32(peak), 0.0, 1.0)


def _color_frames(path, ds, pixels: np.ndarray, meta: dict) -> np.ndarray:
    """Colour pixel data (``(F, H, W, 3)`` or palette indices) -> raw gray ``(F, H, W)`` in [0, 1]."""
    from pydicom.pixels import apply_color_lut, convert_color_space

    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)
        peak = float(2 ** int(ds.RedPaletteColorLookupTableDescriptor[2]) - 1)
        if rgb.max(initial=0) > peak:
            peak = 65535.0
    else:
        rgb = pixels
        if photometric.startswith("YBR") and not photometric.startswith("YBR_RCT") \
                and not photometric.startswith("YBR_ICT"):
            rgb = convert_color_space(rgb, photometric, "RGB")
        peak = float(2 ** int(ds.get("BitsStored", 8)) - 1)
    warn_input(meta, path, f"colour DICOM ({photometric}) converted to gray (luminance)")
    return color_to_gray(rgb.astype(np.float32) / np.float32(peak))


def read_dicom(path: str | Path, *, window=None, max_pixels: int | None = None) -> tuple[np.ndarray, dict]:
    """Read a DICOM image -> ``((F, H, W) float32 display values in [0, 1], meta)``.

    ``window`` is an already-parsed ``(center, width)`` or None.  ``meta`` adds
    ``"dataset"`` (the pydicom Dataset without its pixel data), ``"photometric"``
    and ``"modality"``.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    meta = new_meta(path, "dicom")
    try:
        ds = pydicom.dcmread(path, force=True)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"corrupt or truncated DICOM file ({type(exc).__name__}: {exc})") from None
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        sop = ds.get("SOPClassUID")
        kind = f" ({sop.name})" if sop is not None and hasattr(sop, "name") else ""
        raise InputError(path, f"DICOM file has no image pixel data{kind}")
    if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian  # bare datasets without meta
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    check_pixels(path, rows, cols, max_pixels)
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # each decoder plugin raises its own types (ValueError, RuntimeError ...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"cannot decode DICOM pixel data ({reason})") from None

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    colour = photometric not in ("MONOCHROME1", "MONOCHROME2")
    # Bring to (F, H, W[, 3]).
    if colour and photometric != "PALETTE COLOR":
        pixels = pixels.reshape((-1, rows, cols, pixels.shape[-1]))
    else:
        pixels = pixels.reshape((-1, rows, cols))
    frames = pixels.shape[0]
    if frames != n_frames and n_frames > 1:
        meta["warnings"].append(f"{path}: NumberOfFrames says {n_frames}, decoded {frames}")

    bits = int(ds.get("BitsStored", pixels.dtype.itemsize * 8) or 8)
    if colour:
        gray = _color_frames(path, ds, pixels, meta)  # (F, H, W) in [0, 1]
        if window is not None:  # a window on a colour image acts on 0..255 luminance
            display, applied, how = apply_window(gray * np.float32(255), *window), tuple(window), "window"
        else:
            display, applied, how = gray, None, "none"
    else:
        display, applied, how = _gray_display(ds, pixels, window, bits)
        if photometric == "MONOCHROME1":
            display = np.subtract(1.0, display, dtype=np.float32)  # white = dense

    # Drop the pixel data: meta keeps the header for the writers, not a second copy of the image.
    for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if tag in ds:
            del ds[tag]
    display = np.ascontiguousarray(display, dtype=np.float32)
    meta.update(shape=display.shape, frames=display.shape[0], bits=bits,
                window=None if applied is None else (float(applied[0]), float(applied[1])), scaling=how,
                dataset=ds, photometric=photometric, modality=str(ds.get("Modality", "")))
    return display, meta


def _gray_display(ds, pixels: np.ndarray, window, bits: int):
    """Grayscale ``(F, H, W)`` stored values -> ``(display, applied window, how)`` (before MONOCHROME1)."""
    from pydicom.pixels import apply_modality_lut

    frames = pixels.shape[0]
    if "ModalityLUTSequence" in ds:
        values = apply_modality_lut(pixels, ds).astype(np.float32)
        rescaled = True
    else:
        rescales = [_rescale(ds, f) for f in range(frames)]
        rescaled = any(r != (1.0, 0.0) for r in rescales)
        if rescaled and len(set(rescales)) == 1:
            slope, intercept = rescales[0]
            values = pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)
        elif rescaled:
            values = np.stack([pixels[f].astype(np.float32) * np.float32(s) + np.float32(i)
                               for f, (s, i) in enumerate(rescales)])
        else:
            values = pixels

    if window is not None:
        return apply_window(values, *window), tuple(window), "window"
    if "VOILUTSequence" in ds:  # preferred over WindowCenter/Width when both exist, as pydicom does
        lut_input = values if values.dtype.kind in "iu" else np.rint(values).astype(np.int64)
        return _voi_lut_display(lut_input, ds), None, "voi-lut"
    own = [_file_window(ds, f) for f in range(frames)]
    if all(w is not None for w in own):
        if len(set(own)) == 1:
            center, width, function = own[0]
            return apply_window(values, center, width, function), (center, width), "voi"
        display = np.stack([apply_window(values[f], *own[f]) for f in range(frames)])
        return display, own[0][:2], "voi"
    if not rescaled and pixels.dtype.kind == "u" and bits <= 8:  # e.g. 8-bit or 1-bit: full range as is
        return values.astype(np.float32) / np.float32(2 ** bits - 1), None, "none"
    return display_values(values, None)
