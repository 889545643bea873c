"""Writing colorized images as DICOM RGB Secondary Capture instances, series-aware.

One frame gives a Secondary Capture Image (1.2.840.10008.5.1.4.1.1.7), several
frames in one file a Multi-frame True Color Secondary Capture Image
(1.2.840.10008.5.1.4.1.1.7.4).  The pixel data is 8-bit RGB, interleaved
(PlanarConfiguration 0), uncompressed Explicit VR Little Endian.

Series
    A DICOM series is written as one output series of single-frame instances,
    in the source's study.  The caller passes the output SeriesInstanceUID, the
    SOPInstanceUID and the InstanceNumber (as highdicom's constructors take
    them); :func:`output_series_uid` and :func:`output_instance_uid` derive them
    *deterministically* from the source UIDs and the model name with
    ``pydicom.uid.generate_uid(entropy_srcs=...)``, so colorizing a series in two
    runs, or twice, gives one series with the same UIDs.  Non-DICOM sources get
    fresh UIDs and a fresh anonymous patient/study.

Geometry
    Each instance keeps the source frame's InstanceNumber, ImagePositionPatient,
    ImageOrientationPatient, PixelSpacing, SliceThickness and FrameOfReferenceUID
    (with PositionReferenceIndicator), so viewers and SimpleITK/GDCM stack the
    output as the source volume.  The SC Image IOD has no Image Plane or Frame
    of Reference module; the attributes are standard ones added to it, which
    dciodvfy accepts (it reports them as not in the IOD, a warning, not an error).
    A colour IOD with a mandatory plane geometry would need the enhanced
    multi-frame functional groups, which few viewers stack from a folder.

Why not highdicom
    highdicom's ``SCImage`` builds the same Secondary Capture IOD, but its
    geometry is the 2-D PatientOrientation only, not the per-frame
    ImagePositionPatient/FrameOfReferenceUID a stackable series needs; we would
    add the same attributes by hand after it.  This module stays a short,
    dciodvfy-checked attribute list on pydicom alone, with no extra dependency.

SeriesNumber is 9000 + the source's (a derived series next to it);
SeriesDescription says ``colorized by medcolor (MODEL)`` and the source's
description; ``ImageType`` is ``DERIVED\\SECONDARY``.

Confidence maps
    ``content="confidence"`` writes the per-pixel confidence of the colours as a
    separate derived series in the same study: 8-bit MONOCHROME2 (0 = none,
    255 = full), Secondary Capture or Multi-frame Grayscale Byte Secondary
    Capture, SeriesNumber 9500 + the source's, its own SeriesInstanceUID derived
    from the source's, the model name and ``confidence``, the same geometry.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from .._version import __version__
from .meta import ImageMeta

__all__ = ["build_dataset", "write_dicom", "output_series_uid", "output_instance_uid", "SC_IMAGE",
           "MULTIFRAME_TRUE_COLOR_SC", "MULTIFRAME_GRAYSCALE_BYTE_SC", "CONTENTS"]

SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_TRUE_COLOR_SC = "1.2.840.10008.5.1.4.1.1.7.4"
MULTIFRAME_GRAYSCALE_BYTE_SC = "1.2.840.10008.5.1.4.1.1.7.2"
#: What an output holds: the colour image, or the per-pixel confidence of its colours (a derived gray series).
CONTENTS = ("colour", "confidence")

# Patient module, Patient Study module (demographics) and General Study module attributes.
_PATIENT = ("PatientName", "PatientID", "IssuerOfPatientID", "TypeOfPatientID", "OtherPatientIDsSequence",
            "PatientBirthDate", "PatientBirthTime", "PatientSex", "PatientComments", "EthnicGroup",
            "PatientSpeciesDescription", "PatientBreedDescription", "PatientIdentityRemoved",
            "DeidentificationMethod", "PatientAge", "PatientSize", "PatientWeight")
_STUDY = ("StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
          "AccessionNumber", "StudyDescription", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy",
          "ProcedureCodeSequence")
# Type 2 attributes that must be present (possibly empty).
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "StudyID", "AccessionNumber")


def _copy(src, dst, keywords) -> None:
    for keyword in keywords:
        if keyword in src:
            dst[keyword] = src[keyword]


def output_series_uid(meta: ImageMeta, model_name: str, *, content: str = "colour") -> str:
    """The output SeriesInstanceUID: derived from the source series (else SOP instance) UID and the model.

    A part of a split source series (``meta.uids.part``, e.g. ``echo 2``) and a
    ``content`` other than colour (``"confidence"``) each give a series of their
    own.  Non-DICOM sources (no UIDs) get a fresh random UID.
    """
    from pydicom.uid import generate_uid

    key = meta.uids.series or (meta.uids.sop_instances[0] if meta.uids.sop_instances else None)
    if not key:
        return generate_uid()
    extra = ([meta.uids.part] if meta.uids.part else []) + ([content] if content != "colour" else [])
    return generate_uid(entropy_srcs=["medcolor-series", key, model_name, *extra])


def output_instance_uid(series_uid: str, meta: ImageMeta, frame: int | None) -> str:
    """The output SOPInstanceUID for source ``frame`` (None: one instance holding every frame)."""
    from pydicom.uid import generate_uid

    sops = meta.uids.sop_instances
    if not sops or not any(sops):
        return generate_uid()
    source = sops[frame] if frame is not None and frame < len(sops) else sops[0]
    part = "all" if frame is None else str(frame if len(sops) == 1 else 0)
    return generate_uid(entropy_srcs=["medcolor-instance", series_uid, source, part])


def _geometry(ds, meta: ImageMeta, src, frame: int | None) -> None:
    """Image Plane and Frame of Reference attributes of source ``frame`` (single-frame outputs)."""
    from pydicom.uid import generate_uid

    g = meta.geometry
    spacing = g.pixel_spacing
    if spacing is not None and all(v > 0 for v in spacing):
        # PixelSpacing only: NominalScannedPixelSpacing belongs to scanned film/documents (ConversionType
        # DF, SD or SI), and these instances are workstation output (WSD)
        ds.PixelSpacing = [f"{v:.10g}" for v in spacing]
    if frame is None or not g.positions or not g.orientation:
        return
    ds.ImagePositionPatient = [f"{v:.10g}" for v in g.positions[frame]]
    ds.ImageOrientationPatient = [f"{v:.10g}" for v in g.orientation]
    # Type 2 in the Image Plane module: present, empty when the source does not say
    ds.SliceThickness = f"{g.slice_thickness:.10g}" if g.slice_thickness else ""
    normal = np.cross(g.orientation[:3], g.orientation[3:])
    ds.SliceLocation = f"{float(np.dot(normal, g.positions[frame])):.10g}"
    key = meta.uids.frame_of_reference or (
        generate_uid(entropy_srcs=["medcolor-frame-of-reference", meta.uids.series or meta.uids.sop_instances[0]])
        if meta.uids.series or meta.uids.sop_instances else None)
    if key:
        ds.FrameOfReferenceUID = key
        ds.PositionReferenceIndicator = src.get("PositionReferenceIndicator", "") if src is not None else ""


def build_dataset(rgb: np.ndarray, meta: ImageMeta, model_name: str, *, series_uid: str, sop_instance_uid: str,
                  instance_number: int, frame: int | None = 0, content: str = "colour"):
    """A complete pydicom ``Dataset`` (with file meta) for ``(F, H, W, 3)`` uint8 ``rgb``.

    Args:
        rgb: the colorized frames; F > 1 gives a multi-frame instance.  With
            ``content="confidence"``: ``(F, H, W)`` uint8 confidence (255 = full).
        meta: the source's :class:`~medcolor.io.meta.ImageMeta` (patient, study, geometry, UIDs).
        model_name: named in the descriptions.
        series_uid: the output SeriesInstanceUID (see :func:`output_series_uid`).
        sop_instance_uid: this instance's SOPInstanceUID (see :func:`output_instance_uid`).
        instance_number: this instance's InstanceNumber.
        frame: the source frame a single-frame output shows (its position and source
            image are referenced); None for a multi-frame output.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    frames, rows, cols = rgb.shape[:3]
    multi = frames > 1
    gray = content == "confidence"
    sop_class = (MULTIFRAME_GRAYSCALE_BYTE_SC if gray else MULTIFRAME_TRUE_COLOR_SC) if multi else SC_IMAGE
    now = _dt.datetime.now()
    src = meta.dataset

    ds = Dataset()
    if src is not None:
        if "SpecificCharacterSet" in src:
            ds.SpecificCharacterSet = src.SpecificCharacterSet
        _copy(src, ds, _PATIENT)
        _copy(src, ds, _STUDY)
    if "StudyInstanceUID" not in ds or not ds.StudyInstanceUID:
        ds.StudyInstanceUID = generate_uid()
        ds.StudyDate, ds.StudyTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
        ds.StudyID = "1"
        ds.StudyDescription = "medcolor"
    if src is None:
        ds.PatientName, ds.PatientID = "Anonymous^", "medcolor-" + sop_instance_uid.split(".")[-1][-10:]
    for keyword in _TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, "")
    if str(ds.get("PatientIdentityRemoved", "")).upper() == "YES" and "DeidentificationMethod" not in ds \
            and "DeidentificationMethodCodeSequence" not in ds:
        # Type 1C once identity is flagged removed; the source did not record how.
        ds.DeidentificationMethod = "de-identified source; method not recorded in the source"

    # General Series
    modality = str(src.get("Modality", "") or "") if src is not None else ""
    ds.Modality = modality or "OT"
    ds.SeriesInstanceUID = series_uid
    base_number = 9500 if gray else 9000
    ds.SeriesNumber = int(src.get("SeriesNumber", 0) or 0) + base_number if src is not None else base_number
    source_description = str(src.get("SeriesDescription", "") or "") if src is not None else ""
    if meta.uids.part:
        source_description = f"{source_description} [{meta.uids.part}]".strip()
    what = f"confidence map of medcolor ({model_name})" if gray else f"colorized by medcolor ({model_name})"
    description = what + (f": {source_description}" if source_description else "")
    ds.SeriesDescription = description[:64]
    series_date = src.get("SeriesDate") if src is not None else None
    if series_date:  # the same for every instance and run of this series
        ds.SeriesDate, ds.SeriesTime = series_date, src.get("SeriesTime", "") or ""
    else:
        ds.SeriesDate, ds.SeriesTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    # Type 2C: dciodvfy cannot tell whether the body part is paired, so always send it (maybe empty).
    ds.Laterality = src.Laterality if src is not None and "Laterality" in src else ""
    # General Equipment / SC Equipment
    ds.Manufacturer = "medcolor"
    ds.ConversionType = "WSD"  # workstation
    ds.SecondaryCaptureDeviceManufacturer = "medcolor"
    ds.SecondaryCaptureDeviceManufacturerModelName = model_name[:64]
    ds.SecondaryCaptureDeviceSoftwareVersions = __version__
    ds.SoftwareVersions = __version__
    # General Image
    ds.InstanceNumber = int(instance_number)
    ds.PatientOrientation = src.get("PatientOrientation", "") if src is not None and not multi else ""
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DerivationDescription = (
        f"Confidence of the colours medcolor {__version__} gave with model {model_name}: pixel value / 255, "
        "1 = sure (not a probability of being right)" if gray else
        f"Colorized by medcolor {__version__} with model {model_name}; "
        "lightness kept from the source display image")[:1024]
    ds.BurnedInAnnotation = "NO"
    sops = meta.uids.sop_instances
    if src is not None and meta.uids.sop_class and sops:
        refs = []
        for sop in ([sops[frame]] if frame is not None and frame < len(sops) and len(sops) > 1 else sops[:1]):
            ref = Dataset()
            ref.ReferencedSOPClassUID = meta.uids.sop_class
            ref.ReferencedSOPInstanceUID = sop
            refs.append(ref)
        ds.SourceImageSequence = Sequence(refs)
    lossy = src is not None and str(src.get("LossyImageCompression", "00")) == "01"
    ds.LossyImageCompression = "01" if lossy else "00"
    _geometry(ds, meta, src, None if multi else frame)
    # Image Pixel
    if gray:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
    else:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    if multi:  # Multi-frame and SC Multi-frame Image modules
        if gray:  # Multi-frame Grayscale Byte SC: an identity rescale and presentation
            ds.PresentationLUTShape = "IDENTITY"
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = 0x00182001  # Page Number Vector
        ds.PageNumberVector = list(range(1, frames + 1))
    data = rgb.tobytes()
    ds.PixelData = data + b"\x00" if len(data) % 2 else data  # OB values have even length
    ds["PixelData"].VR = "OB"
    # SOP Common
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_instance_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = f"MEDCOLOR_{__version__}"[:16]
    return ds


def write_dicom(path: Path, rgb: np.ndarray, meta: ImageMeta, model_name: str, *, series_uid: str,
                sop_instance_uid: str, instance_number: int, frame: int | None = 0, pixel_file=None,
                content: str = "colour") -> None:
    """Write ``(F, H, W, 3)`` uint8 as one DICOM RGB instance at ``path`` (already a temporary name).

    ``pixel_file``: an open binary file holding the frames' bytes instead of
    ``rgb``'s (``rgb`` then only gives the shape, e.g. ``np.empty`` of it), so a
    long multi-frame output is written without holding it in memory.
    """
    ds = build_dataset(rgb if pixel_file is None else np.zeros((min(rgb.shape[0], 2), *rgb.shape[1:]), np.uint8),
                       meta, model_name, series_uid=series_uid, sop_instance_uid=sop_instance_uid,
                       instance_number=instance_number, frame=frame, content=content)
    if pixel_file is not None:
        frames = rgb.shape[0]
        ds.NumberOfFrames = frames
        ds.PageNumberVector = list(range(1, frames + 1))
        if frames > 1 and ds.SOPClassUID == SC_IMAGE:
            raise ValueError("pixel_file is for multi-frame outputs")
        ds.PixelData = pixel_file
        ds["PixelData"].VR = "OB"
    ds.save_as(str(path), enforce_file_format=True)
