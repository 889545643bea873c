"""Medical-grade image input/output.

>>> from medcolor.io import read, write
>>> frames, meta = read("RG1_UNCI.dcm")            # (F, H, W) float32 display values in [0, 1]
>>> write("out.dcm", rgb, meta, model_name="photo")  # rgb: (F, H, W, 3) uint8

Readers: PNG, JPEG, BMP, TIFF (8/16-bit, float), DICOM (all pydicom/pylibjpeg
transfer syntaxes, modality LUT, VOI, MONOCHROME1, multi-frame), NIfTI (2-D/3-D).
Writers: PNG, TIFF, JPEG, DICOM (Secondary Capture RGB), NIfTI (RGB24).
Files are typed by content (:func:`detect_format`), never by name alone.
"""
from __future__ import annotations

from .discover import discover, output_stem
from .formats import (DEFAULT_MAX_PIXELS, SUPPORTED, SUPPORTED_EXTENSIONS, WRITE_FORMATS, OutputExistsError,
                      detect_format, supported_list)
from .reader import read
from .windowing import WINDOW_PRESETS, apply_window, parse_window
from .writer import format_for_path, write

__all__ = ["read", "write", "discover", "detect_format", "parse_window", "apply_window", "output_stem",
           "format_for_path", "supported_list", "OutputExistsError", "WINDOW_PRESETS", "DEFAULT_MAX_PIXELS",
           "SUPPORTED", "SUPPORTED_EXTENSIONS", "WRITE_FORMATS"]
