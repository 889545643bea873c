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

Scalar volumes sliced along axis 2 (the default) are read one slice at a time
from the (gzip) stream, so a 512 x 512 x 1500 CT is never held whole; other
axes and RGB24 files are decoded whole, within ``Limits.max_buffer_bytes``.
NIfTI carries no modality: scalar volumes are *assumed* to hold Hounsfield
units for ``frames(values="hu")`` (``meta.hu_assumed``).
"""
from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError, MedcolorError
from ..limits import DEFAULT_LIMITS, Limits
from .common import color_to_gray
from .meta import Geometry, ImageMeta
from .source import ImageSource

__all__ = ["open_nifti", "NiftiSource", "NiftiWriter", "write_nifti", "to_display_slices", "from_display_slices",
           "RGB24"]

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


def _open_stream(path):
    """The file as a binary stream, gunzipped when its content is gzip (whatever its name)."""
    f = open(path, "rb")
    if f.read(2) == b"\x1f\x8b":
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb")
    f.seek(0)
    return f


def _read_header(path):
    import nibabel as nib

    try:
        with _open_stream(path) as f:
            head = f.read(4)
            size = struct.unpack("<i", head)[0] if len(head) == 4 else 0
            if size not in (348, 540):
                size = struct.unpack(">i", head)[0] if len(head) == 4 else 0
            klass = nib.Nifti2Header if size == 540 else nib.Nifti1Header
            f.seek(0)
            return klass.from_fileobj(f)
    except (OSError, EOFError, ValueError, zlib.error, struct.error, nib.spatialimages.HeaderDataError) as exc:
        raise InputError(path, f"corrupt or unreadable NIfTI file ({type(exc).__name__}: {exc})") from None


class NiftiSource(ImageSource):
    """A 2-D or 3-D NIfTI; slices along axis 2 stream from the file one at a time."""

    def __init__(self, path: Path, *, window=None, axis: int | None = None, limits: Limits = DEFAULT_LIMITS
                 ) -> None:
        header = _read_header(path)
        full = tuple(int(n) for n in header.get_data_shape())
        shape = full
        while len(shape) > 3 and shape[-1] == 1:
            shape = shape[:-1]
        if len(shape) > 3:
            raise InputError(path, f"{len(shape)}-D NIfTI is not supported; medcolor reads 2-D images and 3-D "
                                   f"volumes (shape {'x'.join(map(str, full))}); extract a 3-D volume first")
        if len(shape) < 2:
            raise InputError(path, f"NIfTI image is {len(shape)}-D (shape {full}); need 2-D or 3-D")
        axis = 2 if axis is None or len(shape) == 2 else int(axis)
        if not -3 <= axis <= 2:
            raise InputError(path, f"axis {axis} is out of range for a 3-D volume (use 0, 1 or 2)")
        axis %= 3
        self._xyz = shape + (1,) * (3 - len(shape))
        self._dtype = header.get_data_dtype()
        self._rgb = bool(self._dtype.names) and set("RGB") <= set(self._dtype.names)
        self.may_be_nan = self._dtype.kind == "f"
        in_plane = [n for k, n in enumerate(self._xyz) if k != axis]
        frames = self._xyz[axis]
        self._whole = axis != 2 or self._rgb
        limits.check(path, frames=frames, height=in_plane[1], width=in_plane[0],
                     bytes_per_pixel=self._dtype.itemsize + 8 if self._whole else None)
        affine = header.get_best_affine()
        meta = ImageMeta(path=str(path), format="nifti", kind="volume" if len(shape) == 3 else "image",
                         shape=(frames, in_plane[1], in_plane[0]), bits=int(self._dtype.itemsize * 8),
                         hu_available=not self._rgb, hu_assumed=not self._rgb, header=header)
        zooms = tuple(float(z) for z in header.get_zooms()[:3]) + (1.0,) * (3 - min(3, len(shape)))
        plane = [z for k, z in enumerate(zooms[:3]) if k != axis]
        meta.geometry = Geometry(pixel_spacing=(plane[1], plane[0]), slice_spacing=zooms[axis],
                                 affine=np.asarray(affine, dtype=np.float64), axis=axis, volume_shape=shape)
        super().__init__(meta, window=window)
        self.path, self._header = path, header
        self._volume: np.ndarray | None = None
        self._cal = (float(header.get("cal_min", 0) or 0), float(header.get("cal_max", 0) or 0))
        if self._rgb:
            meta.warn("RGB NIfTI converted to gray (luminance)")

    # ------------------------------------------------------------ decoding
    def _slices(self, wanted: set[int] | None = None) -> Iterator[np.ndarray]:
        """Stored ``(X, Y)`` slices along axis 2 in file order (scaled values; RGB24 -> gray in 0..255).

        With ``wanted``, only those slices are yielded (the others are skipped, not converted).
        """
        from nibabel.volumeutils import apply_read_scaling

        x, y, z = self._xyz
        nbytes = x * y * self._dtype.itemsize
        slope, inter = self._header.get_slope_inter()
        try:
            with _open_stream(self.path) as f:
                f.seek(int(self._header.get_data_offset()))
                for k in range(z):
                    if wanted is not None:
                        if k > max(wanted):
                            return
                        if k not in wanted:
                            f.read(nbytes)  # one large read: gzip seek() goes 8 KiB at a time
                            continue
                    buf = f.read(nbytes)
                    if len(buf) != nbytes:
                        raise EOFError(f"the data ends after {len(buf)} of {nbytes} bytes of a slice")
                    raw = np.frombuffer(buf, dtype=self._dtype).reshape((x, y), order="F")
                    if self._rgb:
                        rgb = np.stack([raw["R"], raw["G"], raw["B"]], axis=-1).astype(np.float32) / np.float32(255)
                        yield color_to_gray(rgb) * np.float32(255)
                    else:
                        yield np.asarray(apply_read_scaling(raw, slope, inter), dtype=np.float32)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise InputError(self.path, f"corrupt or truncated NIfTI data ({type(exc).__name__}: {exc})") from None

    def _iter_picks(self, picks: list[int]) -> Iterator[np.ndarray]:
        if self._whole:
            yield from super()._iter_picks(picks)
            return
        for s in self._slices(set(picks)):
            yield np.ascontiguousarray(s.T[::-1])

    def _load(self) -> np.ndarray:
        """The whole volume as display-ordered raw frames ``(F, H, W)`` (axis 0/1 and RGB24 only)."""
        if self._volume is None:
            volume = np.empty(self._xyz, dtype=np.float32)
            for k, s in enumerate(self._slices()):
                volume[:, :, k] = s
            self._volume = to_display_slices(volume, self.meta.axis)
        return self._volume

    def _iter_raw(self, indices: range) -> Iterator[np.ndarray]:
        if self._whole:
            volume = self._load()
            for k in indices:
                yield volume[k]
            return
        if not len(indices):
            return
        for k, s in enumerate(self._slices()):
            if k >= indices.stop:
                break
            if k >= indices.start:
                yield np.ascontiguousarray(s.T[::-1])

    # ------------------------------------------------------------ display
    def _resolve(self) -> None:
        low, high = self._cal
        if self.window is not None:
            super()._resolve()
        elif self._rgb:
            self.meta.scaling = "none"
        elif high > low:
            self._range = (low, high)
            self._set_window(((low + high) / 2, high - low), "cal-range")
            if self.may_be_nan:
                self._check_finite(self._sample())
        else:
            sample = self._check_finite(self._sample())
            if sample.size and sample.min() >= 0.0 and sample.max() <= 1.0:
                self.meta.scaling = "none"  # already display values
            else:
                self._set_percentiles()

    def _display(self, raw: np.ndarray, k: int) -> np.ndarray:
        how = self.meta.scaling
        if how == "window":
            out = self._window_display(raw, *self.window)
        elif how == "none":
            out = raw / np.float32(255) if self._rgb else np.clip(np.nan_to_num(raw), 0.0, 1.0)
        else:  # cal-range or percentile
            out = self._percentile_display(raw)
        return np.ascontiguousarray(out, dtype=np.float32)


def open_nifti(path: str | Path, *, window=None, axis: int | None = None, limits: Limits | None = None
               ) -> NiftiSource:
    """Open a 2-D or 3-D NIfTI (header only; the limits are checked here) -> :class:`NiftiSource`."""
    return NiftiSource(Path(path), window=window, axis=axis, limits=limits or DEFAULT_LIMITS)



class NiftiWriter:
    """Write RGB24 NIfTI frame by frame into ``path`` (already a temporary name).

    Frames sliced along axis 2 (the default, and every DICOM input) are streamed
    straight into the (gzip) file, so a 1500-slice volume is never held whole;
    other axes are gathered in memory (their source was decoded whole too).
    The input's affine and header are kept when ``meta`` has them (a 2-D input
    gives a 2-D output); otherwise the DICOM geometry's affine, else pixel spacing.
    """

    def __init__(self, path: Path, meta: ImageMeta, model_name: str, *, compress: bool = True,
                 content: str = "colour") -> None:
        import nibabel as nib

        self.path, self.meta = Path(path), meta
        self.gray = content == "confidence"  # a uint8 volume, scaled by 1/255 to a confidence in [0, 1]
        frames, h, w = meta.shape
        self.axis = meta.geometry.axis if meta.format == "nifti" else 2
        stored = [frames if k == self.axis else None for k in range(3)]
        plane = [k for k in range(3) if k != self.axis]
        stored[plane[0]], stored[plane[1]] = w, h
        shape = tuple(stored)
        if meta.geometry.volume_shape is not None and len(meta.geometry.volume_shape) == 2 and shape[2] == 1:
            shape = shape[:2]
        self.shape = shape
        header = meta.header
        if isinstance(header, nib.Nifti1Header):  # also NIfTI-2
            header = header.copy()
            if tuple(header.get_data_shape()[:len(shape)]) != shape:
                raise MedcolorError(f"{path}: colorized slices {shape} do not match the source volume "
                                    f"{header.get_data_shape()}")
            affine = header.get_best_affine()
        else:
            header, affine = nib.Nifti1Header(), _affine_from_meta(meta)
        header.set_data_dtype(np.uint8 if self.gray else RGB24)
        header["cal_min"], header["cal_max"] = (0, 1) if self.gray else (0, 0)
        what = "confidence (1 = sure) of medcolor" if self.gray else "colorized by medcolor"
        header["descrip"] = f"{what} ({model_name})"[:79].encode()
        klass = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
        # np.empty reserves but never touches the pages: only the header is built from it
        image = klass(np.empty(shape, dtype=np.uint8 if self.gray else RGB24), affine, header=header)
        image.update_header()
        hdr = image.header
        hdr.set_slope_inter(1.0 / 255.0 if self.gray else 1.0, 0.0)  # confidence: stored 0..255 -> 0..1
        hdr.extensions.clear()
        offset = 544 if isinstance(hdr, nib.Nifti2Header) else 352
        hdr.set_data_offset(offset)
        raw = open(self.path, "wb")
        self._file = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) if compress else raw
        self._raw = raw
        block = hdr.binaryblock
        self._file.write(block + b"\x00" * (offset - len(block)))
        self._count = 0
        self._gather = None if self.axis == 2 else np.zeros((frames, h, w) + (() if self.gray else (3,)), np.uint8)

    def add(self, rgb: np.ndarray) -> None:
        """Append the next ``(H, W, 3)`` uint8 display frame (``(H, W)`` uint8 for a confidence map)."""
        if self._gather is not None:
            self._gather[self._count] = rgb
        else:  # stored slice k in Fortran order = the display frame's rows reversed
            self._file.write(np.ascontiguousarray(rgb[::-1], dtype=np.uint8).tobytes())
        self._count += 1

    def close(self) -> None:
        """Finish the file; raises when fewer frames came than the source has."""
        try:
            if self._count != self.meta.frames:
                raise MedcolorError(f"{self.path}: {self._count} of {self.meta.frames} frames were written")
            if self._gather is not None:
                volume = from_display_slices(self._gather, self.axis)  # (X, Y, Z[, 3])
                for k in range(volume.shape[2]):
                    self._file.write(np.ascontiguousarray(np.swapaxes(volume[:, :, k], 0, 1)).tobytes())
        finally:
            self._file.close()
            if self._raw is not self._file:
                self._raw.close()


def write_nifti(path: Path, rgb: np.ndarray, meta: ImageMeta, model_name: str, *, compress: bool = True) -> None:
    """Write ``(F, H, W, 3)`` uint8 as an RGB24 NIfTI at ``path`` (already a temporary name)."""
    writer = NiftiWriter(path, meta, model_name, compress=compress)
    for frame in np.asarray(rgb, dtype=np.uint8):
        writer.add(frame)
    writer.close()


def _affine_from_meta(meta: ImageMeta) -> np.ndarray:
    """Affine for non-NIfTI inputs: the DICOM geometry's, else pixel spacing / slice thickness, else identity."""
    g = meta.geometry
    if g.affine is not None:
        return np.asarray(g.affine, dtype=np.float64)
    affine = np.eye(4)
    if g.pixel_spacing is not None:
        affine[0, 0], affine[1, 1] = float(g.pixel_spacing[1]), float(g.pixel_spacing[0])  # columns, rows
    if g.slice_spacing or g.slice_thickness:
        affine[2, 2] = float(g.slice_spacing or g.slice_thickness)
    return affine
