"""Typed metadata of an input unit (a file, a volume or a DICOM series), filled by the readers.

:class:`ImageMeta` is what :func:`medcolor.io.open_image` knows from the headers
(before any pixel is decoded) plus, once frames have been read, how the display
values were made.  The writers consume it: DICOM output copies the patient and
study and keeps the geometry and frame order, NIfTI output keeps the affine.

Conventions
    * frames are the ``(F, H, W)`` display frames in reading order; for a DICOM
      series that is the order along the slice normal;
    * ``Geometry.positions`` and ``orientation`` are DICOM patient coordinates
      (LPS, millimetres), ``Geometry.affine`` is a NIfTI-style RAS affine of the
      *stored* volume (see :mod:`medcolor.io.nifti` for the stored <-> display
      slicing convention).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Geometry", "SourceUIDs", "ImageMeta", "series_affine"]


@dataclass
class Geometry:
    """Where the frames are in space (all optional: plain images have none).

    The frames' shape has one home, :attr:`ImageMeta.shape`.

    Attributes:
        pixel_spacing: ``(row spacing, column spacing)`` in mm (DICOM PixelSpacing order).
        slice_spacing: distance between consecutive frames' centres in mm (None for one frame).
        slice_thickness: the source's SliceThickness in mm.
        orientation: DICOM ImageOrientationPatient, six direction cosines (row, then column direction).
        positions: DICOM ImagePositionPatient of each frame (LPS mm), in frame order.
        affine: 4x4 RAS affine of the stored volume (NIfTI inputs, and DICOM with a full geometry).
        axis: the stored-volume axis the frames run along (NIfTI convention, default 2).
        volume_shape: the stored NIfTI shape (2-D or 3-D), when the source is NIfTI.
    """

    pixel_spacing: tuple[float, float] | None = None
    slice_spacing: float | None = None
    slice_thickness: float | None = None
    orientation: tuple[float, ...] | None = None
    positions: list[tuple[float, float, float]] | None = None
    affine: np.ndarray | None = None
    axis: int = 2
    volume_shape: tuple[int, ...] | None = None


@dataclass
class SourceUIDs:
    """DICOM identity of the source (empty for non-DICOM inputs).

    ``sop_instances`` and ``instance_numbers`` have one entry per frame for a
    series (one file per frame) and one entry for a single or multi-frame file.
    ``part`` names the part of a source series split by what tells its images
    apart (``"echo 2"``, see :mod:`medcolor.io.grouping`); None for a whole series.
    """

    study: str | None = None
    series: str | None = None
    frame_of_reference: str | None = None
    sop_class: str | None = None
    sop_instances: list[str] = field(default_factory=list)
    instance_numbers: list[int | None] = field(default_factory=list)
    series_number: int | None = None
    part: str | None = None


@dataclass
class ImageMeta:
    """What medcolor knows about one input unit.

    Attributes:
        path: the file (for a series: its first file in frame order).
        format: ``"image"`` (PNG/JPEG/BMP/TIFF), ``"dicom"`` or ``"nifti"``.
        kind: ``"image"`` (one frame), ``"stack"`` (multi-page TIFF or multi-frame DICOM),
            ``"volume"`` (NIfTI) or ``"series"`` (DICOM files of one SeriesInstanceUID).
        shape: ``(F, H, W)`` display frames.
        frames: F.
        bits: stored bits per sample.
        modality: DICOM Modality (``"CT"``, ``"MR"`` ...); ``""`` when unknown (NIfTI, images).
        hu_available: ``frames(values="hu")`` gives Hounsfield units (DICOM CT through its
            modality LUT; NIfTI scalar volumes, which are *assumed* to be in HU, see ``hu_assumed``).
        hu_assumed: True when the HU are an assumption (NIfTI has no modality).
        window: the applied display ``(center, width)``, or None; set once the display mapping is resolved.
        scaling: how display values were made: ``"window"``, ``"voi"``, ``"voi-lut"``, ``"cal-range"``,
            ``"percentile"`` or ``"none"``; ``""`` until resolved.
        photometric: DICOM PhotometricInterpretation (None otherwise).
        codec: the image codec for ``format == "image"`` (``png``, ``jpeg``, ``tiff`` ...).
        geometry: :class:`Geometry`.
        uids: :class:`SourceUIDs`.
        warnings: one-line warnings, each naming the file.
        source_paths: the files read; for a series one per frame, in frame order.
        dataset: the (first) source's pydicom header without pixel data, for the writers.
        header: the nibabel header of a NIfTI source.
    """

    path: str
    format: str
    kind: str = "image"
    shape: tuple[int, int, int] = (0, 0, 0)
    bits: int | None = None
    modality: str = ""
    hu_available: bool = False
    hu_assumed: bool = False
    window: tuple[float, float] | None = None
    scaling: str = ""
    photometric: str | None = None
    codec: str | None = None
    geometry: Geometry | None = None
    uids: SourceUIDs = field(default_factory=SourceUIDs)
    warnings: list[str] = field(default_factory=list)
    source_paths: list[str] = field(default_factory=list)
    dataset: Any = None
    header: Any = None

    def __post_init__(self) -> None:
        if self.geometry is None:
            self.geometry = Geometry()
        if not self.source_paths:
            self.source_paths = [self.path]

    @property
    def frames(self) -> int:
        """Number of display frames F."""
        return int(self.shape[0])

    @property
    def axis(self) -> int:
        """The NIfTI slicing axis (2 unless a NIfTI was sliced otherwise)."""
        return self.geometry.axis

    @property
    def affine(self) -> np.ndarray | None:
        """4x4 RAS affine of the stored volume, when known."""
        return self.geometry.affine

    def set_shape(self, shape: tuple[int, int, int]) -> None:
        """Record ``(F, H, W)`` (known once a source decoded whole has been decoded)."""
        self.shape = tuple(int(n) for n in shape)

    def warn(self, message: str, *, path: str | None = None) -> None:
        """One-line ``warnings.warn`` naming the file, once per message; also kept in :attr:`warnings`."""
        text = f"{path or self.path}: {message}"
        if text in self.warnings:
            return
        self.warnings.append(text)
        warnings.warn(text, UserWarning, stacklevel=3)


def series_affine(*, orientation, first_position, pixel_spacing, slice_vector, rows: int) -> np.ndarray:
    """RAS affine of the stored volume for DICOM frames, in the NIfTI slicing convention.

    Display frame ``k`` pixel ``(r, c)`` lies at LPS ``first_position + k * slice_vector
    + c * col_spacing * row_dir + r * row_spacing * col_dir``.  The stored volume
    (:func:`medcolor.io.nifti.from_display_slices`, axis 2) holds it at
    ``(i, j, k) = (c, rows - 1 - r, k)``.

    Args:
        orientation: ImageOrientationPatient (6 floats).
        first_position: ImagePositionPatient of frame 0 (LPS mm).
        pixel_spacing: ``(row spacing, column spacing)`` mm.
        slice_vector: LPS displacement from one frame to the next (mm).
        rows: H, the number of rows of a frame.
    """
    row_dir = np.asarray(orientation[:3], dtype=np.float64)
    col_dir = np.asarray(orientation[3:6], dtype=np.float64)
    dr, dc = (float(v) for v in pixel_spacing)
    lps = np.eye(4)
    lps[:3, 0] = row_dir * dc
    lps[:3, 1] = -col_dir * dr
    lps[:3, 2] = np.asarray(slice_vector, dtype=np.float64)
    lps[:3, 3] = np.asarray(first_position, dtype=np.float64) + (rows - 1) * dr * col_dir
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps  # LPS -> RAS
