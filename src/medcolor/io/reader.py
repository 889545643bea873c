"""``read(path)``: one entry point for every input format, with uniform error reporting."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .formats import DEFAULT_MAX_PIXELS, detect_format, extension_of, format_of_extension, supported_list
from .windowing import parse_window

__all__ = ["read"]


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


def read(path: str | Path, *, window=None, axis: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS
         ) -> tuple[np.ndarray, dict]:
    """Read any supported image -> ``(array, meta)``.

    ``array`` is float32 ``(F, H, W)`` display values in [0, 1]: F = 1 for a
    2-D image, the frames of a multi-frame DICOM or TIFF stack, the slices of a
    NIfTI volume along ``axis`` (default 2).  8-bit gray images give exactly
    ``uint8 / 255``.

    ``window``: None (the file's own VOI, else robust 0.5-99.5 % scaling for
    16-bit/float data), a CT preset name (``lung``, ``mediastinum``, ``bone``,
    ``brain``, ``soft-tissue``, ``abdomen``), a ``"C,W"`` string, or a
    ``(center, width)`` pair.  ``max_pixels`` limits H * W per frame (None: no limit).

    ``meta`` holds ``path``, ``format`` (``image``/``dicom``/``nifti``),
    ``shape``, ``frames``, ``bits``, ``window`` (applied ``(center, width)`` or
    None), ``scaling`` (how display values were made), ``warnings``; DICOM adds
    ``dataset`` (pixel data removed), NIfTI adds ``affine``, ``header``, ``axis``.

    Raises :class:`~medcolor.errors.InputError` (one line naming the file) for
    missing, empty, truncated, corrupt, mislabelled, unsupported or too-large
    files, and :class:`~medcolor.errors.UsageError` for a bad ``window``.
    """
    window = parse_window(window)
    path = Path(path)
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
        from .dicom import read_dicom

        return read_dicom(path, window=window, max_pixels=max_pixels)
    if fmt == "nifti":
        from .nifti import read_nifti

        return read_nifti(path, window=window, axis=axis, max_pixels=max_pixels)
    from .images import read_image

    return read_image(path, window=window, max_pixels=max_pixels, fmt=fmt)
