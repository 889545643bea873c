"""NIfTI-1/2 volumes via nibabel: slicing for display, and RGB24 writing.

Slicing convention (read and write are exact inverses):

* ``axis`` (default 2) picks the stored array axis to slice along; for the
  usual RAS/LAS-stored scans axis 2 gives axial slices, 1 coronal, 0 sagittal.
  The stored array is *not* reoriented, so slice ``k`` of the output is slice
  ``k`` of the file.
* Each 2-D slice ``s`` with axes ``(i, j)`` (the two remaining stored axes, in
  order) is displayed as ``s.T[::-1]``: rows run along ``j`` with the highest
  ``j`` at the top, columns along ``i``.  This is matplotlib's
  ``imshow(s.T, origin="lower")``, the convention of nibabel's docs; for a
  RAS-stored axial slice anterior is at the top and the patient's left on the
  right (neurological view).
* A 2-D NIfTI is one frame shown the same way; trailing singleton dimensions
  (``X, Y, Z, 1``) are dropped; a real 4-D (or higher) image is refused.

Values: ``get_fdata`` (applies ``scl_slope``/``scl_inter``), then the window, else
the header's ``cal_min``/``cal_max`` display range when set, else robust
percentile scaling over the whole volume (so every slice shares one mapping).
RGB24 files (as written by :func:`write_nifti`) are read back as gray with a warning.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import InputError, MedcolorError
from .common import check_pixels, color_to_gray, new_meta, warn_input
from .windowing import display_values, scale_range

__all__ = ["read_nifti", "write_nifti", "to_display_slices", "from_display_slices", "RGB24"]

#: nibabel's structured dtype for NIFTI_TYPE_RGB24.
RGB24 = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])


def to_display_slices(volume: np.ndarray, axis: int) -> np.ndarray:
    """``(X, Y, Z[, C])`` stored volume -> ``(F, H, W[, C])`` display slices along ``axis``."""
    moved = np.moveaxis(volume, axis, 0)  # (F, i, j[, C])
    return np.ascontiguousarray(np.swapaxes(moved, 1, 2)[:, ::-1])  # (F, j reversed, i[, C])


def from_display_slices(slices: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of :func:`to_display_slices`: ``(F, H, W[, C])`` -> stored ``(X, Y, Z[, C])``."""
    moved = np.swapaxes(slices[:, ::-1], 1, 2)  # (F, i, j[, C])
    return np.ascontiguousarray(np.moveaxis(moved, 0, axis))


def _load(path):
    import nibabel as nib

    try:
        return nib.load(str(path))
    except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError, zlib errors, ...
        raise InputError(path, f"corrupt or unreadable NIfTI file ({type(exc).__name__}: {exc})") from None


def read_nifti(path: str | Path, *, window=None, axis: int | None = None, max_pixels: int | None = None
               ) -> tuple[np.ndarray, dict]:
    """Read a 2-D or 3-D NIfTI -> ``((F, H, W) float32 display values in [0, 1], meta)``.

    ``meta`` adds ``"affine"`` (4x4), ``"header"`` (nibabel header), ``"axis"``
    and ``"volume_shape"`` (the stored shape).
    """
    img = _load(path)
    shape = tuple(int(n) for n in img.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) > 3:
        raise InputError(path, f"{len(shape)}-D NIfTI is not supported; medcolor reads 2-D images and 3-D "
                               f"volumes (shape {'x'.join(map(str, img.shape))}); extract a 3-D volume first")
    if len(shape) < 2:
        raise InputError(path, f"NIfTI image is {len(shape)}-D (shape {img.shape}); need 2-D or 3-D")
    ndim = len(shape)
    axis = 2 if axis is None else int(axis)
    if ndim == 2:
        axis = 2  # one slice; the frame axis is the (virtual) third one
    elif not -3 <= axis <= 2:
        raise InputError(path, f"axis {axis} is out of range for a 3-D volume (use 0, 1 or 2)")
    axis %= 3
    in_plane = [n for k, n in enumerate(shape + (1,) * (3 - ndim)) if k != axis]
    check_pixels(path, in_plane[1], in_plane[0], max_pixels)

    meta = new_meta(path, "nifti")
    dtype = img.get_data_dtype()
    try:
        if dtype.names and set("RGB") <= set(dtype.names):
            raw = np.asarray(img.dataobj).reshape(shape)
            rgb = np.stack([raw["R"], raw["G"], raw["B"]], axis=-1).astype(np.float32) / np.float32(255)
            warn_input(meta, path, "RGB NIfTI converted to gray (luminance)")
            data = color_to_gray(rgb) * np.float32(255)
            eight_bit, bits = True, 8
        else:
            data = np.asarray(img.get_fdata(dtype=np.float32)).reshape(shape)
            eight_bit, bits = False, int(dtype.itemsize * 8)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated NIfTI data ({type(exc).__name__}: {exc})") from None
    volume = data if ndim == 3 else data[:, :, None]  # (X, Y, Z)

    header = img.header
    cal_min, cal_max = float(header.get("cal_min", 0) or 0), float(header.get("cal_max", 0) or 0)
    if window is None and not eight_bit and cal_max > cal_min:
        display, applied, how = scale_range(volume, cal_min, cal_max), \
            ((cal_min + cal_max) / 2, cal_max - cal_min), "cal-range"
    else:
        display, applied, how = display_values(volume, window, eight_bit=eight_bit)
    display = to_display_slices(display, axis).astype(np.float32, copy=False)  # (F, H, W)
    meta.update(shape=display.shape, frames=display.shape[0], bits=bits, window=applied, scaling=how,
                affine=np.asarray(img.affine, dtype=np.float64), header=header, axis=axis,
                volume_shape=shape)
    return display, meta


def write_nifti(path: Path, rgb: np.ndarray, meta: dict, model_name: str, *, compress: bool = True) -> None:
    """Write ``(F, H, W, 3)`` uint8 as an RGB24 NIfTI at ``path`` (already a temporary name).

    ``compress`` gzips the file (for ``.nii.gz``).  Slices are reassembled along ``meta["axis"]`` (2 when absent).  The input's
    affine and header are kept when ``meta`` has them (a 2-D input gives a 2-D
    output); otherwise the affine is the identity, or the DICOM pixel spacing.
    """
    import nibabel as nib

    axis = int(meta.get("axis", 2) if meta.get("axis") is not None else 2)
    volume = from_display_slices(np.asarray(rgb, dtype=np.uint8), axis)  # (X, Y, Z, 3)
    out = np.empty(volume.shape[:-1], dtype=RGB24)
    out["R"], out["G"], out["B"] = volume[..., 0], volume[..., 1], volume[..., 2]
    if len(meta.get("volume_shape", ())) == 2 and out.shape[2] == 1:
        out = out[:, :, 0]
    header = meta.get("header")
    affine = meta.get("affine")
    if header is not None and isinstance(header, nib.Nifti1Header):
        header = header.copy()
        if tuple(header.get_data_shape()[:out.ndim]) != out.shape:
            raise MedcolorError(f"{path}: colorized slices {out.shape} do not match the source volume "
                                f"{header.get_data_shape()}")
    else:
        header = nib.Nifti1Header()
        affine = _affine_from_meta(meta) if affine is None else affine
    header.set_data_dtype(RGB24)
    header.set_slope_inter(1.0, 0.0)
    header["cal_min"], header["cal_max"] = 0, 0
    header["descrip"] = f"colorized by medcolor ({model_name})"[:79].encode()
    klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    image = klass(out, affine, header=header)
    # ``path`` is a temporary name without the .nii(.gz) suffix nibabel keys on: serialise ourselves.
    data = image.to_bytes()
    path.write_bytes(gzip.compress(data, compresslevel=6) if compress else data)


def _affine_from_meta(meta: dict) -> np.ndarray:
    """Voxel-size affine for non-NIfTI inputs (DICOM PixelSpacing / SliceThickness when present)."""
    affine = np.eye(4)
    ds = meta.get("dataset")
    if ds is not None:
        spacing = ds.get("PixelSpacing")
        if spacing is not None and len(spacing) == 2:
            affine[0, 0], affine[1, 1] = float(spacing[1]), float(spacing[0])  # columns, rows
        thickness = ds.get("SliceThickness")
        if thickness not in (None, ""):
            affine[2, 2] = float(thickness)
    return affine
