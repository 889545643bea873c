"""DICOM headers: reading without pixel data, functional groups, UIDs, geometry, deflate.

Helpers shared by the single-file reader (:mod:`medcolor.io.dicom`) and the
series reader (:mod:`medcolor.io.series`).  A deflated file is inflated to a
temporary Explicit VR Little Endian copy, after its size has been checked from
the header, so it too can be decoded frame by frame.
"""
from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import Limits
from .meta import Geometry, SourceUIDs, series_affine

__all__ = ["read_header", "dicom_uids", "dicom_geometry", "inflate", "file_window", "frame_rescale", "float_values",
           "error_reason", "FileWarnings", "DEFLATED"]

_DEFER = 64 * 1024  # header values larger than this (pixel data) stay on disk
_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_PIXEL_TAG_NUMBERS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
DEFLATED = "1.2.840.10008.1.2.1.99"  # Deflated Explicit VR Little Endian


def error_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class FileWarnings:
    """Collects the warnings raised while one file is read, as one-line messages (each once).

    pydicom's warnings name no file (``UserWarning: Invalid value for VR UI ...``); inside
    ``with FileWarnings(path) as caught:`` they are held back, and the caller re-issues
    ``caught.messages`` naming the file (:meth:`medcolor.io.meta.ImageMeta.warn`) or
    :meth:`reissue` does, as ``"PATH: message"``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.messages: list[str] = []
        self._context = None
        self._caught: list = []

    def __enter__(self) -> FileWarnings:  # may be entered again: each time collects more
        self._context = warnings.catch_warnings(record=True)
        self._caught = self._context.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)
        prefix = f"{self.path}: "
        for w in self._caught:
            text = " ".join(str(w.message).split())  # one line
            if text.startswith(prefix):  # medcolor's own (already naming the file): passed on as they came
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                continue
            if text and text not in self.messages:
                self.messages.append(text)

    def reissue(self) -> None:
        """``warnings.warn`` each message once, as one line naming the file."""
        for text in self.messages:
            warnings.warn(f"{self.path}: {text}", UserWarning, stacklevel=2)


def _pixel_extent_problem(path: str | Path, ds) -> str | None:
    """Why the pixel data of ``ds`` (read with deferred values) is incomplete, or None."""
    from pydicom.dataelem import RawDataElement

    for tag in _PIXEL_TAGS:
        if tag not in ds:
            continue
        elem = ds.get_item(tag, keep_deferred=True)  # never read the pixel data here
        if not isinstance(elem, RawDataElement) or elem.length == 0xFFFFFFFF:
            return None  # already parsed (encapsulated data is read whole, so it is complete)
        if elem.value is not None:
            got = len(elem.value)
        else:  # deferred: the value is still on disk
            try:
                got = max(0, os.path.getsize(path) - elem.value_tell)
            except OSError:
                return None
        if got < elem.length:
            return (f"truncated DICOM file: its pixel data needs {elem.length} bytes and only {got} are there "
                    "(an incomplete copy or transfer)")
    return None


def read_header(path: str | Path, *, limits: Limits | None = None, caught: FileWarnings | None = None):
    """The pydicom header of ``path`` without loading its pixel data (which is deleted from it).

    Raises :class:`InputError` for a corrupt or truncated file or one without image pixel data.
    pydicom's warnings are collected in ``caught`` when given (else re-issued naming the file).
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    own = caught is None
    caught = caught if caught is not None else FileWarnings(path)
    with caught:
        try:
            ds = pydicom.dcmread(path, force=True, defer_size=_DEFER)
        except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError, struct.error,
                zlib.error) as exc:
            raise InputError(path, f"corrupt or truncated DICOM file ({type(exc).__name__}: {exc})") from None
        for tag in list(ds.keys()):  # convert the top-level values now, so that their warnings are caught here
            if tag not in _PIXEL_TAG_NUMBERS:  # (the pixel data stays on disk)
                ds[tag]
    if own:
        caught.reissue()
    if not any(tag in ds for tag in _PIXEL_TAGS):
        sop = ds.get("SOPClassUID")
        kind = f" ({sop.name})" if sop is not None and hasattr(sop, "name") else ""
        raise InputError(path, f"DICOM file has no image pixel data{kind}"
                               + ("" if kind else " (not an image, or truncated before its pixel data)"))
    problem = _pixel_extent_problem(path, ds)
    if problem:
        raise InputError(path, problem)
    for tag in _PIXEL_TAGS:
        if tag in ds:
            del ds[tag]
    if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian  # bare datasets without meta
    return ds


def _functional_item(ds, sequence: str, frame: int):
    """The item of ``sequence`` for ``frame`` from the per-frame, else the shared functional groups."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        if seq and len(seq) > index and sequence in seq[index] and len(seq[index][sequence].value):
            return seq[index][sequence].value[0]
    return None


def frame_rescale(ds, frame: int) -> tuple[float, float]:
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


def file_window(ds, frame: int) -> tuple[float, float, str] | None:
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


def dicom_uids(ds) -> SourceUIDs:
    """The source UIDs of one DICOM header."""
    def text(key):
        value = ds.get(key)
        return str(value) if value not in (None, "") else None

    number = ds.get("InstanceNumber")
    series_number = ds.get("SeriesNumber")
    return SourceUIDs(study=text("StudyInstanceUID"), series=text("SeriesInstanceUID"),
                      frame_of_reference=text("FrameOfReferenceUID"), sop_class=text("SOPClassUID"),
                      sop_instances=[text("SOPInstanceUID") or ""],
                      instance_numbers=[int(number) if number not in (None, "") else None],
                      series_number=int(series_number) if series_number not in (None, "") else None)


def float_values(value, n: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(np.isfinite(out)) else None


def dicom_geometry(ds, shape: tuple[int, int, int]) -> Geometry:
    """Geometry of a single-file DICOM (plane attributes at top level or in the functional groups)."""
    plane = _functional_item(ds, "PixelMeasuresSequence", 0)
    spacing = float_values(ds.get("PixelSpacing") or (plane.get("PixelSpacing") if plane else None) or (), 2)
    thickness = ds.get("SliceThickness") or (plane.get("SliceThickness") if plane else None)
    orient_src = ds if "ImageOrientationPatient" in ds else _functional_item(ds, "PlaneOrientationSequence", 0)
    orientation = float_values(orient_src.get("ImageOrientationPatient") or (), 6) if orient_src is not None else None
    positions = []
    for f in range(shape[0]):
        src = _functional_item(ds, "PlanePositionSequence", f) if "ImagePositionPatient" not in ds else ds
        pos = float_values(src.get("ImagePositionPatient") or (), 3) if src is not None else None
        positions.append(pos)
    positions = positions if all(p is not None for p in positions) else None
    geometry = Geometry(pixel_spacing=spacing, orientation=orientation, positions=positions,
                        slice_thickness=float(thickness) if thickness not in (None, "") else None)
    if spacing and orientation and positions:
        if len(positions) > 1:
            step = (np.asarray(positions[-1]) - np.asarray(positions[0])) / (len(positions) - 1)
            geometry.slice_spacing = float(np.linalg.norm(step))
        else:
            normal = np.cross(orientation[:3], orientation[3:])
            step = normal * (geometry.slice_thickness or 1.0)
        geometry.affine = series_affine(orientation=orientation, first_position=positions[0],
                                        pixel_spacing=spacing, slice_vector=step, rows=shape[1])
    return geometry


def inflate(path: Path, limits: Limits) -> Path:
    """A deflated DICOM -> a temporary Explicit VR Little Endian copy (size checked from the header first)."""
    import pydicom
    from pydicom.filewriter import write_file_meta_info
    from pydicom.uid import ExplicitVRLittleEndian

    with open(path, "rb") as f:
        head = f.read(132 + 12)
        if len(head) < 144 or head[128:132] != b"DICM" or head[132:136] != b"\x02\x00\x00\x00":
            raise InputError(path, "deflated DICOM without a standard file meta header")
        offset = 144 + struct.unpack("<I", head[140:144])[0]
        file_meta = pydicom.filereader.read_file_meta_info(path)
        f.seek(offset)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            prefix = inflater.decompress(f.read(1 << 20), 4 << 20)
            header = pydicom.dcmread(io.BytesIO(prefix), force=True, stop_before_pixels=True)
            frames = int(header.get("NumberOfFrames", 1) or 1)
            rows, cols = int(header.get("Rows", 0) or 0), int(header.get("Columns", 0) or 0)
            limits.check(path, frames=frames, height=rows, width=cols)
            expected = frames * rows * cols * int(header.get("SamplesPerPixel", 1) or 1) \
                * max(1, int(header.get("BitsAllocated", 16) or 16) // 8) + (64 << 20)
            fd, tmp = tempfile.mkstemp(prefix=".medcolor-inflated-", suffix=".dcm")
            with os.fdopen(fd, "wb") as out:
                out.write(b"\x00" * 128 + b"DICM")
                file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
                write_file_meta_info(out, file_meta, enforce_standard=False)
                written, data = 0, prefix
                while True:
                    written += len(data)
                    if written > expected:
                        raise InputError(path, "deflated data inflates beyond what its header declares")
                    out.write(data)
                    if inflater.unconsumed_tail:
                        data = inflater.decompress(inflater.unconsumed_tail, 4 << 20)
                        continue
                    chunk = f.read(1 << 20)
                    if not chunk:
                        out.write(inflater.flush())
                        break
                    data = inflater.decompress(chunk, 4 << 20)
        except InputError:
            if "tmp" in locals():
                os.unlink(tmp)
            raise
        except (zlib.error, OSError, ValueError, EOFError, struct.error) as exc:
            if "tmp" in locals():
                os.unlink(tmp)
            raise InputError(path, f"corrupt deflated DICOM ({error_reason(exc)})") from None
    return Path(tmp)
