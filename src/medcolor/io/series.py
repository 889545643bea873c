"""DICOM series: the files of one SeriesInstanceUID (a :class:`DicomSeries`) read as one volume.

:func:`~medcolor.io.grouping.group_inputs` turns a list of input files into
*units*: the single-frame DICOM files of one series (left-out copies, truncated
files and several images per position dealt with there), and everything else
as a path of its own.

A series is ordered as MONAI's ``PydicomReader`` and dicom2nifti do: along the
slice normal (the cross product of the ImageOrientationPatient row and column
directions) by the projection of each ImagePositionPatient, falling back to
InstanceNumber when the geometry is missing.  The geometry comes from
ImageOrientationPatient and PixelSpacing.  Inconsistent series are refused or
flagged, naming the first file:

* mixed orientations, frame sizes or colour models, or two files at one
  position that nothing tells apart: :class:`~medcolor.errors.InputError`
  (naming the files at the first shared position);
* uneven slice spacing (missing slices) or mixed pixel spacing: a warning.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from ..limits import DEFAULT_LIMITS, Limits
from .dicom import DicomDisplay, DicomPixels
from .dicom_header import FileWarnings, dicom_uids, error_reason, file_window, float_values, read_header
from .grouping import DicomSeries, group_inputs, same_position
from .meta import Geometry, ImageMeta, series_affine
from .source import ImageSource

__all__ = ["DicomSeries", "group_inputs", "open_series", "SeriesSource"]

_ORIENTATION_TOL = 1e-3  # direction cosines
_GAP_TOL = 0.2  # relative deviation from the median slice spacing that counts as uneven


def _order(series: DicomSeries) -> tuple[list[int], dict]:
    """Frame order (indices into ``series.paths``) and the geometry facts found on the way."""
    first = series.path
    heads = series.headers
    sizes = {(int(h.get("Rows", 0) or 0), int(h.get("Columns", 0) or 0)) for h in heads}
    if len(sizes) > 1:
        raise InputError(first, f"DICOM series {series.uid} mixes frame sizes "
                                f"({', '.join(f'{c}x{r}' for r, c in sorted(sizes))}); split it first")
    photometrics = {str(h.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper() for h in heads}
    if len(photometrics - {"MONOCHROME1", "MONOCHROME2"}) and len(photometrics) > 1:
        raise InputError(first, f"DICOM series {series.uid} mixes colour models ({', '.join(sorted(photometrics))})")
    orients = [float_values(h.get("ImageOrientationPatient") or (), 6) for h in heads]
    positions = [float_values(h.get("ImagePositionPatient") or (), 3) for h in heads]
    numbers = [h.get("InstanceNumber") for h in heads]
    facts: dict = {"orientation": None, "positions": None}
    if all(o is not None for o in orients) and all(p is not None for p in positions):
        ref = np.asarray(orients[0])
        if any(np.abs(np.asarray(o) - ref).max() > _ORIENTATION_TOL for o in orients):
            raise InputError(first, f"DICOM series {series.uid} mixes image orientations "
                                    "(ImageOrientationPatient differs between files); split it first")
        normal = np.cross(ref[:3], ref[3:])
        depth = np.array([float(np.dot(normal, p)) for p in positions])
        order = sorted(range(len(heads)), key=lambda i: (depth[i], i))
        steps = np.diff(depth[order])
        if steps.size and np.min(steps) < 1e-4:
            shared = same_position(heads)
            dup = sum(len(g) - 1 for g in shared)
            names = ", ".join(str(series.paths[i]) for i in shared[0])
            raise InputError(first, f"DICOM series {series.uid} has {dup} file(s) at an ImagePositionPatient "
                                    f"already taken, and nothing tells them apart (echo, temporal position, "
                                    f"trigger time, acquisition); at {positions[shared[0][0]]}: {names}"
                                    + (f" and {len(shared) - 1} more position(s)" if len(shared) > 1 else "")
                                    + "; split it first")
        facts.update(orientation=tuple(ref), positions=[positions[i] for i in order], steps=steps)
        return order, facts
    if all(n not in (None, "") for n in numbers):
        return sorted(range(len(heads)), key=lambda i: (int(numbers[i]), i)), facts
    facts["unordered"] = True
    return sorted(range(len(heads)), key=lambda i: str(series.paths[i])), facts


class SeriesSource(DicomDisplay, ImageSource):
    """A DICOM series, decoded one file (frame) at a time in slice order."""

    def __init__(self, series: DicomSeries, *, window=None, limits: Limits = DEFAULT_LIMITS) -> None:
        if not series.headers:  # a DicomSeries made by hand: every file must be complete
            for path in series.paths:
                caught = FileWarnings(path)
                series.headers.append(read_header(path, caught=caught))
                series.notes.extend(f"{path}: {m}" for m in caught.messages)
        order, facts = _order(series)
        self.paths = [series.paths[i] for i in order]
        self.headers = [series.headers[i] for i in order]
        first = self.headers[0]
        rows, cols = int(first.get("Rows", 0) or 0), int(first.get("Columns", 0) or 0)
        n = len(self.paths)
        limits.check(series.path, frames=n, height=rows, width=cols)
        self.pixels = [DicomPixels(p, h, 1) for p, h in zip(self.paths, self.headers)]
        px = self.pixels[0]
        modality = str(first.get("Modality", "") or "")
        uids = dicom_uids(first)
        uids.sop_instances = [str(h.get("SOPInstanceUID", "") or "") for h in self.headers]
        uids.instance_numbers = [int(h.InstanceNumber) if h.get("InstanceNumber") not in (None, "") else None
                                 for h in self.headers]
        uids.part = series.part
        meta = ImageMeta(path=str(self.paths[0]), format="dicom", kind="series", shape=(n, rows, cols),
                         bits=px.bits, modality=modality, hu_available=modality == "CT" and not px.colour,
                         photometric=px.photometric, uids=uids, dataset=first,
                         source_paths=[str(p) for p in self.paths])
        meta.geometry = self._geometry(meta, facts)
        super().__init__(meta, window=window)
        for note in series.notes:  # left-out copies, the split, pydicom's warnings: each names its file
            name, _, text = note.partition(": ")
            meta.warn(text, path=name)
        if facts.get("unordered"):
            meta.warn(f"series of {n} files without ImagePositionPatient or InstanceNumber: ordered by file name")
        if px.colour:
            meta.warn(f"colour DICOM ({px.photometric}) converted to gray (luminance)")
        self._voi = None

    def _geometry(self, meta: ImageMeta, facts: dict) -> Geometry:
        spacings = {float_values(h.get("PixelSpacing") or (), 2) for h in self.headers}
        spacing = next(iter(spacings)) if len(spacings) == 1 else None
        if len(spacings) > 1:
            meta.warn(f"series mixes pixel spacings {sorted(s for s in spacings if s)}; the first is used")
            spacing = float_values(self.headers[0].get("PixelSpacing") or (), 2)
        thickness = self.headers[0].get("SliceThickness")
        geometry = Geometry(pixel_spacing=spacing, orientation=facts["orientation"],
                            positions=facts["positions"],
                            slice_thickness=float(thickness) if thickness not in (None, "") else None)
        steps = facts.get("steps")
        if steps is not None and steps.size:
            usual = float(np.median(steps))
            geometry.slice_spacing = usual
            worst = float(np.max(np.abs(steps - usual)))
            if worst > _GAP_TOL * usual:
                gap = float(steps[int(np.argmax(np.abs(steps - usual)))])
                meta.warn(f"uneven slice spacing in series {self.headers[0].SeriesInstanceUID}: a step of "
                          f"{gap:.3g} mm where {usual:.3g} mm is usual (missing slices?); volume outputs assume "
                          "even spacing")
        if spacing and geometry.orientation and geometry.positions:
            if len(geometry.positions) > 1:
                step = (np.asarray(geometry.positions[-1]) - np.asarray(geometry.positions[0])) \
                    / (len(geometry.positions) - 1)
            else:
                normal = np.cross(geometry.orientation[:3], geometry.orientation[3:])
                step = normal * (geometry.slice_thickness or 1.0)
            geometry.affine = series_affine(orientation=geometry.orientation, first_position=geometry.positions[0],
                                            pixel_spacing=spacing, slice_vector=step, rows=meta.shape[1])
        return geometry

    def _iter_picks(self, picks: list[int]) -> Iterator[np.ndarray]:
        return self._iter_raw(picks)  # decode only the sampled files

    def _iter_raw(self, indices) -> Iterator[np.ndarray]:
        from pydicom.pixels import pixel_array

        for k in indices:
            path, px = self.paths[k], self.pixels[k]
            caught = FileWarnings(path)  # the decoders' warnings, once each, naming the file
            try:
                with caught:
                    stored = pixel_array(path, transfer_syntax_uid=px.ds.file_meta.TransferSyntaxUID
                                         if "TransferSyntaxUID" in getattr(px.ds, "file_meta", {}) else
                                         "1.2.840.10008.1.2")
            except Exception as exc:  # each decoder plugin raises its own types (ValueError, RuntimeError ...)
                raise InputError(path, f"cannot decode DICOM pixel data ({error_reason(exc)})") from None
            for message in caught.messages:
                self.meta.warn(message, path=str(path))
            if stored.shape[:2] != self.meta.shape[1:]:
                raise InputError(path, f"decoded frame {stored.shape[:2]} does not match the series "
                                       f"{self.meta.shape[1:]}")
            yield px.values(stored, 0)

    def _resolve(self) -> None:
        px = self.pixels[0]
        middle = self.pixels[len(self.pixels) // 2]
        if px.colour:
            if self.window is not None:
                self._set_window(self.window, "window")
            else:
                self.meta.scaling = "none"
        elif self.window is not None:
            super()._resolve()
        elif all(p.voi_lut is not None for p in self.pixels):
            self.meta.scaling = "voi-lut"
        elif (own := file_window(middle.ds, 0)) is not None:
            # one window for the whole volume (the middle slice's), so the display does not flicker
            self._voi = own
            self._set_window(own[:2], "voi")
        elif all(p.small_unsigned for p in self.pixels):
            self.meta.scaling = "none"
        else:
            self._set_percentiles()

    def _frame_pixels(self, k: int) -> DicomPixels:
        return self.pixels[k]

    def _voi_window(self, k: int) -> tuple[float, float]:
        return self._voi


def open_series(series: DicomSeries, *, window=None, limits: Limits | None = None) -> SeriesSource:
    """Open a :class:`DicomSeries` (headers only; ordered, checked, limits applied)."""
    return SeriesSource(series, window=window, limits=limits or DEFAULT_LIMITS)
