"""``open_image`` / ``read``: one entry point for every input format, with uniform error reporting.

``open_image(unit)`` reads the headers only, checks the
:class:`~medcolor.limits.Limits` and returns an
:class:`~medcolor.io.source.ImageSource` that yields frames one at a time;
``read(path)`` is ``open_image(path).read()`` for callers that want the whole
array.  A *unit* is a path (a file) or a :class:`~medcolor.io.series.DicomSeries`
(the files of one SeriesInstanceUID, see :func:`~medcolor.io.series.group_inputs`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import DEFAULT_LIMITS, Limits
from .formats import detect_format, extension_of, format_of_extension, supported_list
from .meta import ImageMeta
from .source import ImageSource
from .windowing import parse_window, preset_name

__all__ = ["read", "open_image"]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a regular file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot access the file ({exc.strerror})") from None
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")


def _warn_preset(src: ImageSource, window) -> None:
    """A CT window preset on an image without Hounsfield units shows garbage: say so, naming the modality."""
    name = preset_name(window)
    meta = src.meta
    if name is None or meta.hu_available:
        return
    what = f"modality {meta.modality}" if meta.modality else \
        ("DICOM without a modality" if meta.format == "dicom" else f"a {(meta.codec or meta.format).upper()} image")
    meta.warn(f"window preset '{name}' is a CT window in Hounsfield units, but this is {what} "
              "without Hounsfield units: the display may be black or white; use 'C,W' in its own values")


def open_image(unit, *, window=None, axis: int | None = None, limits: Limits | None = None,
               max_pixels: int | None = None) -> ImageSource:
    """Open an input unit (headers only) -> :class:`~medcolor.io.source.ImageSource`.

    ``unit``: a file path, or a :class:`~medcolor.io.series.DicomSeries`.
    ``window``: None (the file's own VOI, else robust 0.5-99.5 % scaling), a CT
    preset name (``lung``, ``mediastinum``, ``bone``, ``brain``, ``soft-tissue``,
    ``abdomen``), a ``"C,W"`` string or a ``(center, width)`` pair.  ``axis``:
    the NIfTI slicing axis (default 2).  ``limits``: :class:`~medcolor.limits.Limits`
    (default :data:`~medcolor.limits.DEFAULT_LIMITS`); ``max_pixels`` overrides its
    ``max_frame_pixels``.

    Raises :class:`~medcolor.errors.InputError` (one line naming the file) for
    missing, empty, truncated, corrupt, mislabelled, unsupported or too-large
    inputs (:class:`~medcolor.limits.LimitError` for the last), and
    :class:`~medcolor.errors.UsageError` for a bad ``window``.
    """
    from .series import DicomSeries

    parsed = parse_window(window)
    limits = limits or DEFAULT_LIMITS
    if max_pixels is not None:
        limits = limits.replace(max_frame_pixels=max_pixels)
    if isinstance(unit, DicomSeries) and len(unit) == 1:  # one file left (copies of it dropped): a file
        src = open_image(unit.path, window=window, axis=axis, limits=limits)
        src.meta.uids.part = unit.part
        for note in unit.notes:
            name, _, text = note.partition(": ")
            src.meta.warn(text, path=name)
        return src
    if isinstance(unit, DicomSeries):
        from .series import open_series

        src = open_series(unit, window=parsed, limits=limits)
        _warn_preset(src, window)
        return src
    path = Path(unit)
    _check_file(path)
    fmt = detect_format(path)
    claimed = format_of_extension(path)
    if fmt is None:
        if claimed is None:
            ext = extension_of(path) or "(no extension)"
            raise InputError(path, f"unsupported format {ext}: not a recognised image; supported: {supported_list()}")
        raise InputError(path, f"not a valid {claimed.upper()} file: its content is not {claimed.upper()} "
                               "(wrong extension, or a corrupt or non-image file)")
    if fmt == "dicom":
        from .dicom import open_dicom

        src = open_dicom(path, window=parsed, limits=limits)
    elif fmt == "nifti":
        from .nifti import open_nifti

        src = open_nifti(path, window=parsed, axis=axis, limits=limits)
    else:
        from .images import open_image_file

        src = open_image_file(path, window=parsed, limits=limits, fmt=fmt)
    _warn_preset(src, window)
    return src


def read(unit, *, window=None, axis: int | None = None, max_pixels: int | None = None,
         limits: Limits | None = None) -> tuple[np.ndarray, ImageMeta]:
    """Read any supported input whole -> ``(array, meta)``.

    ``array`` is float32 ``(F, H, W)`` display values in [0, 1]: F = 1 for a
    2-D image, the frames of a multi-frame DICOM or TIFF stack, the slices of a
    NIfTI volume along ``axis`` (default 2), the files of a DICOM series along
    its slice normal.  8-bit gray images give exactly ``uint8 / 255``.
    ``meta`` is the typed :class:`~medcolor.io.meta.ImageMeta`.  Arguments as
    for :func:`open_image`; prefer :func:`open_image` and ``frames()`` for
    volumes, which then never need to be held whole.
    """
    with open_image(unit, window=window, axis=axis, limits=limits, max_pixels=max_pixels) as src:
        return src.read(), src.meta
