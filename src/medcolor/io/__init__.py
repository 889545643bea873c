"""Medical-grade image input/output.

>>> from medcolor.io import open_image, read, write
>>> frames, meta = read("RG1_UNCI.dcm")            # (F, H, W) float32 display values in [0, 1]
>>> write("out.dcm", rgb, meta, model_name="photo")  # rgb: (F, H, W, 3) uint8
>>> with open_image("ct.nii.gz") as src:            # headers only; frames decoded one at a time
...     for gray in src.frames(): ...

Readers: PNG, JPEG, BMP, TIFF (8/16-bit, float), DICOM (all pydicom/pylibjpeg
transfer syntaxes, modality LUT, VOI, MONOCHROME1, multi-frame, series of
files grouped by :func:`group_inputs`), NIfTI (2-D/3-D).  Metadata is the typed
:class:`ImageMeta`.  Writers: PNG, TIFF, JPEG, DICOM (Secondary Capture RGB, one
output series per input series), NIfTI (RGB24).  Files are typed by content
(:func:`detect_format`), never by name alone.
"""
from __future__ import annotations

from .discover import discover, output_stem
from .formats import (
                      DEFAULT_MAX_PIXELS,
                      SUPPORTED,
                      SUPPORTED_EXTENSIONS,
                      WRITE_FORMATS,
                      OutputExistsError,
                      detect_format,
                      supported_list,
)
from .grouping import DicomSeries, group_inputs
from .meta import Geometry, ImageMeta, SourceUIDs
from .reader import open_image, read
from .source import ImageSource
from .windowing import WINDOW_PRESETS, apply_window, parse_window
from .writer import FrameWriter, format_for_path, open_writer, write

__all__ = ["read", "open_image", "write", "open_writer", "FrameWriter", "group_inputs", "DicomSeries",
           "ImageSource", "ImageMeta", "Geometry", "SourceUIDs", "discover", "detect_format", "parse_window",
           "apply_window", "output_stem", "format_for_path", "supported_list", "OutputExistsError",
           "WINDOW_PRESETS", "DEFAULT_MAX_PIXELS", "SUPPORTED", "SUPPORTED_EXTENSIONS", "WRITE_FORMATS"]
