"""``write(path, rgb, meta)``: atomic, no-overwrite output in PNG, TIFF, JPEG, DICOM or NIfTI."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MedcolorError, UsageError
from ..fileio import atomic_write
from .formats import WRITE_FORMATS, OutputExistsError, extension_of

__all__ = ["write", "format_for_path"]

_SUFFIX_FORMATS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpg", ".jpeg": "jpg",
                   ".dcm": "dcm", ".dicom": "dcm", ".nii": "nii", ".nii.gz": "nii"}
_FORMAT_ALIASES = {"tif": "tiff", "jpeg": "jpg", "dicom": "dcm", "nifti": "nii", "nii.gz": "nii"}


def format_for_path(path: str | Path, fmt: str | None = None) -> str:
    """The output format for ``path``: ``fmt`` if given (aliases allowed), else from the suffix, else png."""
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        key = _FORMAT_ALIASES.get(key, key)
        if key not in WRITE_FORMATS:
            raise UsageError(f"unknown output format {fmt!r}; choose one of {', '.join(WRITE_FORMATS)}")
        return key
    return _SUFFIX_FORMATS.get(extension_of(path), "png")


def write(path: str | Path, rgb: np.ndarray, meta: dict | None = None, *, fmt: str | None = None,
          model_name: str = "medcolor", overwrite: bool = False) -> Path:
    """Write colorized ``rgb`` uint8 ``(F, H, W, 3)`` (or ``(H, W, 3)``) to ``path``; returns the path.

    ``fmt``: ``png`` | ``tiff`` | ``jpg`` | ``dcm`` | ``nii`` (``.nii.gz``); from
    the suffix when None (png when the suffix says nothing).  png/tiff/jpg take
    one frame.  ``meta`` is the reader's meta: DICOM output copies the source's
    patient/study, NIfTI output keeps its affine, header and slicing axis.
    The file appears atomically (temporary file + rename); an existing file
    raises :class:`OutputExistsError` unless ``overwrite``.
    """
    path = Path(path)
    meta = meta or {}
    rgb = np.asarray(rgb)
    if rgb.ndim == 3:
        rgb = rgb[None]
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise MedcolorError(f"{path}: expected uint8 RGB (F, H, W, 3), got {rgb.dtype} {rgb.shape}")
    fmt = format_for_path(path, fmt)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    if path.exists() and not path.is_file():
        raise MedcolorError(f"{path}: output path exists and is not a file")

    if fmt == "dcm":
        from .dicom_writer import write_dicom

        atomic_write(path, lambda tmp: write_dicom(tmp, rgb, meta, model_name))
    elif fmt == "nii":
        from .nifti import write_nifti

        compress = extension_of(path) != ".nii"
        atomic_write(path, lambda tmp: write_nifti(tmp, rgb, meta, model_name, compress=compress))
    else:
        from .images import write_image

        if rgb.shape[0] != 1:  # check before creating a temporary file
            raise MedcolorError(f"{path}: {fmt} holds one frame, got {rgb.shape[0]}; write frames one by "
                                "one (e.g. name_z000.png) or use dcm/nii")
        atomic_write(path, lambda tmp: write_image(tmp, rgb, fmt, model_name))
    return path
