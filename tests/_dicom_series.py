"""Synthetic DICOM CT series for the io tests (written with pydicom into a tmp folder)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def ct_slice(pixels: np.ndarray, *, position, orientation=(1, 0, 0, 0, 1, 0), number: int | None = None,
             uids: dict, spacing=(0.7, 0.8), thickness=2.5, **attrs) -> Dataset:
    """One CT slice of a series (``uids``: study, series, for), int16 stored values, HU = stored - 1024."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["for"]
    ds.Modality, ds.PatientName, ds.PatientID, ds.PatientSex, ds.PatientBirthDate = "CT", "Test^Series", "P7", "O", ""
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = \
        "20240101", "120000", "S1", "A1", ""
    ds.SeriesNumber, ds.SeriesDescription = 4, "AX HEAD"
    if number is not None:
        ds.InstanceNumber = number
    if position is not None:
        ds.ImagePositionPatient = [f"{v:g}" for v in position]
        ds.ImageOrientationPatient = [f"{v:g}" for v in orientation]
    ds.PixelSpacing = [f"{v:g}" for v in spacing]
    ds.SliceThickness = f"{thickness:g}"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.int16).tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def write_series(folder: Path, *, n: int = 5, shape=(12, 16), step=(0.0, 0.0, 2.5), origin=(-50.0, -60.0, 10.0),
                 orientation=(1, 0, 0, 0, 1, 0), shuffle: bool = True, seed: int = 0, skip=(),
                 with_position: bool = True, uids: dict | None = None) -> tuple[list[Path], np.ndarray]:
    """``n`` slices (minus ``skip``) in files with random names; returns ``(paths, stored (n, H, W) in slice order)``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    uids = uids or {"study": generate_uid(), "series": generate_uid(), "for": generate_uid()}
    h, w = shape
    base = (np.arange(h * w, dtype=np.int16).reshape(h, w) * 7) % 1500
    stored = np.stack([base + 40 * k for k in range(n)]).astype(np.int16)
    paths = []
    for k in range(n):
        if k in skip:
            continue
        pos = tuple(o + k * s for o, s in zip(origin, step)) if with_position else None
        ds = ct_slice(stored[k], position=pos, orientation=orientation, number=k + 1, uids=uids)
        path = folder / f"slice_{rng.randrange(10**8):08d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    if shuffle:
        rng.shuffle(paths)
    return paths, stored
