"""DICOM reading: headers first, then one frame at a time through the grayscale display chain.

The display pipeline follows the DICOM grayscale standard display chain:

1. decode one frame (pydicom, with the pylibjpeg plugins for JPEG
   baseline/extended/lossless, JPEG-LS, JPEG 2000 and RLE);
2. modality LUT: RescaleSlope/RescaleIntercept (also from the shared or
   per-frame functional groups of enhanced multi-frame objects), or a Modality
   LUT Sequence via :func:`pydicom.pixels.apply_modality_lut`.  CT values are
   then Hounsfield units, which is what the window presets expect and what
   ``frames(values="hu")`` yields;
3. VOI: the user's ``window`` if given; else the file's own VOI LUT Sequence
   (:func:`pydicom.pixels.apply_voi`) or WindowCenter/WindowWidth (the first of
   multi-valued ones, honouring VOILUTFunction); else robust percentile scaling
   over sampled frames (8-bit data without rescale is shown as ``value / 255``);
4. MONOCHROME1 is inverted, so that the display is "white = dense" as
   radiologists read it.

Colour DICOM (RGB, YBR_*, PALETTE COLOR) is converted to gray with the same CIE
L*, with a one-line warning.  The header is read without the pixel data; the
limits are checked from it before any frame is decoded.  A deflated file is
inflated to a temporary file (size checked from its header first), so it too
is decoded frame by frame.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import DEFAULT_LIMITS, Limits
from .common import color_to_gray
from .dicom_header import (
    DEFLATED,
    FileWarnings,
    dicom_geometry,
    dicom_uids,
    error_reason,
    file_window,
    frame_rescale,
    inflate,
    read_header,
)
from .meta import ImageMeta
from .source import ImageSource

__all__ = ["open_dicom", "DicomFileSource", "DicomPixels"]


class DicomPixels:
    """The per-dataset part of the display chain: stored frame -> values (modality LUT) -> display.

    Built from a header (no pixel data); checks the header for what would fail
    later (RescaleSlope 0, an empty VOI LUT Sequence, a palette image without
    its palette).
    """

    def __init__(self, path, ds, frames: int) -> None:
        self.path, self.ds = path, ds
        self.photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
        self.colour = self.photometric not in ("MONOCHROME1", "MONOCHROME2")
        self.bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)) or 8)
        self.modality_lut = "ModalityLUTSequence" in ds and bool(ds.ModalityLUTSequence)
        self.rescales = [] if self.colour or self.modality_lut else [frame_rescale(ds, f) for f in range(frames)]
        self.rescaled = self.modality_lut or any(r != (1.0, 0.0) for r in self.rescales)
        if any(slope == 0 for slope, _ in self.rescales):
            raise InputError(path, "RescaleSlope is 0: every pixel would map to the RescaleIntercept, "
                                   "so the image has no content")
        if self.photometric == "PALETTE COLOR":
            missing = [c for c in ("Red", "Green", "Blue")
                       if f"{c}PaletteColorLookupTableDescriptor" not in ds
                       or (f"{c}PaletteColorLookupTableData" not in ds
                           and f"Segmented{c}PaletteColorLookupTableData" not in ds)]
            if missing:
                raise InputError(path, "PALETTE COLOR image without its palette "
                                       f"({', '.join(missing)} Palette Color Lookup Table missing)")
        self.voi_lut = None
        if not self.colour and "VOILUTSequence" in ds:
            seq = ds.VOILUTSequence
            if not seq:
                raise InputError(path, "empty VOI LUT Sequence (the file names a VOI LUT but holds none)")
            item = seq[0]
            if "LUTDescriptor" not in item or "LUTData" not in item or len(item.LUTDescriptor) != 3:
                raise InputError(path, "VOI LUT Sequence item without a valid LUT Descriptor and LUT Data")
            self.voi_lut = item
        float_data = "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
        self.small_unsigned = (not self.rescaled and not float_data and int(ds.get("PixelRepresentation", 0)) == 0
                               and self.bits <= 8)

    def values(self, stored: np.ndarray, frame: int) -> np.ndarray:
        """One decoded frame -> ``(H, W)`` values: gray in [0, 1] for colour, modality-LUT output otherwise."""
        if self.colour:
            return self._colour_gray(stored)
        if self.modality_lut:
            from pydicom.pixels import apply_modality_lut

            return apply_modality_lut(stored, self.ds).astype(np.float32)
        slope, intercept = self.rescales[frame] if frame < len(self.rescales) else self.rescales[-1]
        if (slope, intercept) == (1.0, 0.0):
            return stored
        return stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)

    def _colour_gray(self, stored: np.ndarray) -> np.ndarray:
        """Colour pixels (RGB after decoding, or palette indices) -> gray ``(H, W)`` in [0, 1]."""
        if self.photometric == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut

            try:
                rgb = apply_color_lut(stored, self.ds)
            except (ValueError, KeyError, IndexError, AttributeError) as exc:
                raise InputError(self.path, f"cannot apply the PALETTE COLOR lookup table ({error_reason(exc)})") from None
            peak = float(2 ** int(self.ds.RedPaletteColorLookupTableDescriptor[2]) - 1)
            if rgb.max(initial=0) > peak:
                peak = 65535.0
        else:
            rgb, peak = stored, float(2 ** self.bits - 1)
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise InputError(self.path, f"colour DICOM ({self.photometric}) decoded to shape {rgb.shape}")
        return color_to_gray(rgb.astype(np.float32) / np.float32(peak))

    def voi_lut_display(self, values: np.ndarray) -> np.ndarray:
        """Apply the VOI LUT Sequence's first item; output scaled by the LUT's bit depth to [0, 1]."""
        from pydicom.pixels import apply_voi

        lut_input = values if values.dtype.kind in "iu" else np.rint(values).astype(np.int64)
        try:
            out = apply_voi(lut_input, self.ds, index=0).astype(np.float32)
        except (ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
            raise InputError(self.path, f"cannot apply the VOI LUT ({error_reason(exc)})") from None
        peak = float(2 ** int(self.voi_lut.LUTDescriptor[2]) - 1)
        if out.max(initial=0) > peak:  # some writers declare fewer bits than they use
            peak = float(out.max())
        return np.clip(out / np.float32(peak), 0.0, 1.0)



class DicomDisplay:
    """The display mapping of DICOM frames, shared by a file's frames and a series' slices.

    The source provides ``_frame_pixels(k)`` (the :class:`DicomPixels` of frame ``k``)
    and ``_voi_window(k)`` (its own VOI ``(center, width)``, used when the scaling is
    ``voi``); ``_window_display`` and ``_percentile_display`` come from
    :class:`~medcolor.io.source.ImageSource`.
    """

    def _display(self, raw: np.ndarray, k: int) -> np.ndarray:
        px, how = self._frame_pixels(k), self.meta.scaling
        if px.colour:
            out = self._window_display(raw * np.float32(255), *self.window) if how == "window" else raw
            return np.ascontiguousarray(out, dtype=np.float32)
        if how == "window":
            out = self._window_display(raw, *self.window)
        elif how == "voi-lut":
            out = px.voi_lut_display(raw)
        elif how == "voi":
            out = self._window_display(raw, *self._voi_window(k))
        elif how == "none":
            out = raw.astype(np.float32) / np.float32(2 ** px.bits - 1)
        else:
            out = self._percentile_display(raw)
        if px.photometric == "MONOCHROME1":
            out = np.subtract(1.0, out, dtype=np.float32)  # white = dense
        return np.ascontiguousarray(out, dtype=np.float32)


class DicomFileSource(DicomDisplay, ImageSource):
    """One DICOM file (single or multi-frame), decoded one frame at a time."""

    _own_temp = False
    _limits = DEFAULT_LIMITS

    def __init__(self, path: Path, ds, *, window=None, limits: Limits = DEFAULT_LIMITS,
                 decode_path: Path | None = None) -> None:
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        n = int(ds.get("NumberOfFrames", 1) or 1)
        limits.check(path, frames=n, height=rows, width=cols)
        pixels = DicomPixels(path, ds, n)
        modality = str(ds.get("Modality", "") or "")
        meta = ImageMeta(path=str(path), format="dicom", kind="stack" if n > 1 else "image", shape=(n, rows, cols),
                         bits=pixels.bits, modality=modality, hu_available=modality == "CT" and not pixels.colour,
                         photometric=pixels.photometric, uids=dicom_uids(ds), dataset=ds)
        meta.geometry = dicom_geometry(ds, meta.shape)
        super().__init__(meta, window=window)
        self.pixels = pixels
        self._limits = limits
        self._decode_path = decode_path or path
        self._own_temp = decode_path is not None
        self._frame_windows: list | None = None
        if pixels.colour:
            meta.warn(f"colour DICOM ({pixels.photometric}) converted to gray (luminance)")

    def close(self) -> None:
        if self._own_temp:
            self._own_temp = False
            try:
                os.unlink(self._decode_path)
            except FileNotFoundError:
                pass

    def __del__(self) -> None:
        self.close()

    def _stored(self, indices: range) -> Iterator[np.ndarray]:
        from pydicom.pixels import iter_pixels

        if not len(indices):
            return
        opts = {"transfer_syntax_uid": self.pixels.ds.file_meta.TransferSyntaxUID}
        done = 0
        caught = FileWarnings(self.meta.path)  # the decoders' warnings, once each, naming the file
        try:
            decoded = iter_pixels(self._decode_path, indices=indices, **opts)
            while True:
                with caught:
                    frame = next(decoded, None)
                for message in caught.messages:
                    self.meta.warn(message)
                if frame is None:
                    return
                yield frame
                done += 1
        except Exception as exc:  # each decoder plugin raises its own types (ValueError, RuntimeError ...)
            failure = exc
        # Some files decode only through the full dataset parser (e.g. an odd Basic Offset Table):
        # read the whole file when it is small enough to hold.
        if done or self._decode_path.stat().st_size > (self._limits.max_buffer_bytes or float("inf")):
            raise InputError(self.meta.path, f"cannot decode DICOM pixel data ({error_reason(failure)})") from None
        import pydicom

        try:
            with caught:
                full = pydicom.dcmread(self._decode_path, force=True)
                if "TransferSyntaxUID" not in getattr(full, "file_meta", {}):
                    full.file_meta.TransferSyntaxUID = opts["transfer_syntax_uid"]
                frames = list(iter_pixels(full, indices=indices)) if len(indices) < self.meta.frames or \
                    self.meta.frames > 1 else [full.pixel_array]
        except Exception:  # the decoders' own error types; the first failure is the one reported
            raise InputError(self.meta.path, f"cannot decode DICOM pixel data ({error_reason(failure)})") from None
        for message in caught.messages:
            self.meta.warn(message)
        yield from frames

    def _iter_picks(self, picks: list[int]) -> Iterator[np.ndarray]:
        return self._iter_raw(picks)  # decode only the sampled frames

    def _iter_raw(self, indices) -> Iterator[np.ndarray]:
        for k, stored in zip(indices, self._stored(indices)):
            yield self.pixels.values(stored, k)

    def _resolve(self) -> None:
        px = self.pixels
        if px.colour:
            if self.window is not None:  # a window on a colour image acts on 0..255 luminance
                self._set_window(self.window, "window")
            else:
                self.meta.scaling = "none"
        elif self.window is not None:
            super()._resolve()
        elif px.voi_lut is not None:
            self.meta.scaling = "voi-lut"
        else:
            own = [file_window(px.ds, f) for f in range(self.meta.frames)]
            if all(w is not None for w in own):
                self._frame_windows = own
                self._set_window(own[0][:2], "voi")
            elif px.small_unsigned:  # e.g. 8-bit or 1-bit: full range as is
                self.meta.scaling = "none"
            else:
                self._set_percentiles()

    def _frame_pixels(self, k: int) -> DicomPixels:
        return self.pixels

    def _voi_window(self, k: int) -> tuple[float, float]:
        return self._frame_windows[k]


def open_dicom(path: str | Path, *, window=None, limits: Limits | None = None) -> DicomFileSource:
    """Open one DICOM file (headers only; the limits are checked here) -> :class:`DicomFileSource`."""
    path = Path(path)
    limits = limits or DEFAULT_LIMITS
    decode_path = None
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ts = str(pydicom.filereader.read_file_meta_info(path).get("TransferSyntaxUID", ""))
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError, struct.error):
        ts = ""  # bare datasets have no file meta; read_header reports real problems
    if ts == DEFLATED:
        decode_path = inflate(path, limits)
    try:
        caught = FileWarnings(path)
        ds = read_header(decode_path or path, caught=caught)
        try:
            with caught:  # pydicom's warnings on values read while the source is built
                src = DicomFileSource(path, ds, window=window, limits=limits, decode_path=decode_path)
        except (ValueError, TypeError) as exc:  # malformed header values (pydicom converts lazily)
            raise InputError(path, f"invalid DICOM header value ({error_reason(exc)})") from None
        for message in caught.messages:
            src.meta.warn(message)
        return src
    except BaseException:
        if decode_path is not None:
            os.unlink(decode_path)
        raise
