"""Rebuild the bundled sample images in ``examples/`` from the shared data set.

    python examples/make_samples.py [--data ../shared/data]

``--data`` is the data set folder; by default the one beside the repository
(``../shared/data`` from the repository root).

Every sample is small (< 300 KB), real, and grayscale; sources and licences are
listed in ``examples/README.md``.  The DICOM samples stay valid DICOM: pixel
data resampled, Rows/Columns/spacings updated, new SOP/Series UIDs, ImageType
DERIVED and a DerivationDescription saying what was done; the original VOI
window and rescale are kept, so they display as the originals do.  The head CT
slice is written from the InVesalius NIfTI volume as a CT image with an HU rescale.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _resize(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize of a 2-D integer image, keeping its dtype and value scale."""
    from skimage.transform import resize

    out = resize(pixels.astype(np.float64), shape, order=1, anti_aliasing=True, preserve_range=True)
    info = np.iinfo(pixels.dtype)
    return np.clip(np.rint(out), info.min, info.max).astype(pixels.dtype)


def downscale_dicom(src: Path, dst: Path, long_side: int, note: str, compress: bool = False) -> None:
    """Resample a single-frame grayscale DICOM to ``long_side`` pixels and save it as a derived image."""
    import pydicom
    from pydicom.uid import JPEG2000Lossless, generate_uid

    ds = pydicom.dcmread(src)
    # new UIDs derived from the source's, so a rebuild writes the same file
    uid = lambda what: generate_uid(entropy_srcs=[str(ds.SOPInstanceUID), str(long_side), what])  # noqa: E731
    pixels = ds.pixel_array
    rows, cols = pixels.shape
    scale = long_side / max(rows, cols)
    shape = (round(rows * scale), round(cols * scale))
    small = _resize(pixels, shape)
    factor = rows / shape[0]
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        if keyword in ds and all(float(v) > 0 for v in ds[keyword].value):
            ds[keyword].value = [f"{float(v) * factor:.6g}" for v in ds[keyword].value]
        elif keyword in ds:  # a zero spacing is invalid: drop it rather than copy the error
            del ds[keyword]
    # Repair what dciodvfy flags in the originals, so the samples are clean DICOM.
    if str(ds.get("PatientIdentityRemoved", "")).upper() == "YES" and "DeidentificationMethod" not in ds:
        ds.DeidentificationMethod = "de-identified by the pydicom-data distributors"
    if not {"Laterality", "ImageLaterality", "BodyPartExamined"} & set(ds.dir()):
        ds.Laterality = ""
    if "ImagePositionPatient" in ds and "FrameOfReferenceUID" not in ds:
        ds.FrameOfReferenceUID = uid("frame")
        ds.PositionReferenceIndicator = ""
    ds.Rows, ds.Columns = shape
    ds.PixelData = small.tobytes()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.ImageType = ["DERIVED", "PRIMARY"] + list(ds.get("ImageType", ["", ""]))[2:]
    ds.DerivationDescription = note
    ds.SeriesInstanceUID = uid("series")
    ds.SOPInstanceUID = uid("sop")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for private in [e.tag for e in ds if e.tag.is_private]:
        del ds[private]
    if compress:  # lossless JPEG 2000 keeps the 15-bit X-ray under the size budget
        ds.compress(JPEG2000Lossless, small, generate_instance_uid=False)
    ds.save_as(dst, enforce_file_format=True)


def ct_slice_from_nifti(src: Path, dst: Path, k: int) -> None:
    """Axial slice ``k`` of a NIfTI head CT in HU -> a CT Image Storage DICOM with HU rescale.

    Stored values are ``HU + 1024`` (unsigned 16-bit) with RescaleIntercept -1024, so the
    HU survive exactly. The slice is written in the usual axial orientation (rows anterior
    to posterior, columns patient right to left: ImageOrientationPatient 1\\0\\0\\0\\1\\0).
    UIDs are derived from the source, so a rebuild writes the same file.
    """
    import nibabel as nib
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    img = nib.load(src)
    if nib.aff2axcodes(img.affine) != ("R", "A", "S"):
        raise ValueError(f"{src}: expected an RAS volume, got {nib.aff2axcodes(img.affine)}")
    hu = np.asarray(img.dataobj)[:, :, k].astype(np.int32)  # (i: toward right, j: toward anterior)
    pixels = hu[::-1, ::-1].T  # rows: anterior -> posterior; columns: patient right -> left
    if pixels.min() < -1024 or pixels.max() > 65535 - 1024:
        raise ValueError(f"{src}: HU outside the stored range")
    ni, nj = hu.shape
    spacing = [float(z) for z in img.header.get_zooms()[:3]]
    corner = img.affine @ np.array([ni - 1, nj - 1, k, 1.0])  # voxel of pixel (0, 0), RAS mm
    uid = lambda what: generate_uid(entropy_srcs=[src.name, str(k), what])  # noqa: E731

    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = uid("sop")
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = "Anonymous^Cranium", "INVESALIUS-CRANIUM"
    ds.PatientBirthDate, ds.PatientSex = "", ""
    ds.PatientIdentityRemoved, ds.DeidentificationMethod = "YES", "public sample volume without identifiers"
    ds.StudyInstanceUID, ds.StudyID, ds.AccessionNumber = uid("study"), "1", ""
    ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName = "", "", ""
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = "CT", uid("series"), 1
    ds.SeriesDescription = "head CT, axial slice"
    ds.BodyPartExamined, ds.PatientPosition = "HEAD", "HFS"
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = uid("frame"), ""
    ds.Manufacturer = ""
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "PRIMARY", "AXIAL"]
    ds.DerivationDescription = (f"axial slice {k} of the InVesalius sample head CT (Cranium), "
                                "NIfTI int16 HU written as DICOM for medcolor examples")
    ds.AcquisitionNumber = None
    ds.KVP = None
    ds.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[0]:g}"]  # between rows, between columns
    ds.SliceThickness = f"{spacing[2]:g}"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [f"{-corner[0]:g}", f"{-corner[1]:g}", f"{corner[2]:g}"]  # RAS -> LPS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.WindowCenter, ds.WindowWidth = "40", "80"  # brain
    ds.WindowCenterWidthExplanation = "BRAIN"
    ds.PixelData = (pixels + 1024).astype("<u2").tobytes()
    ds.save_as(dst, enforce_file_format=True)


def dicom_to_png(src: Path, dst: Path, long_side: int) -> None:
    """Window a DICOM with its own VOI (medcolor.io.read) and save an 8-bit gray PNG."""
    from PIL import Image

    from medcolor.io import read

    frames, _ = read(src)
    gray = np.rint(frames[0] * 255).astype(np.uint8)
    im = Image.fromarray(gray)
    im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    im.save(dst, optimize=True)


def color_to_gray_file(src: Path, dst: Path, long_side: int, **save) -> None:
    """A colour image -> gray with the same CIE L* (medcolor's own conversion), resized."""
    from PIL import Image

    from medcolor.io.common import color_to_gray

    im = Image.open(src).convert("RGB")
    im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    gray = color_to_gray(np.asarray(im, dtype=np.float32) / 255)
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.rint(gray * 255).astype(np.uint8)).save(dst, **save)


def nifti_slab(src: Path, dst: Path, step: int = 4, slices: int = 8) -> None:
    """Whole-head 64x64 in-plane, 8 axial slices: block means over ``step`` pixels, every ``step``-th slice."""
    import nibabel as nib
    from skimage.transform import downscale_local_mean

    img = nib.load(src)
    data = np.asarray(img.dataobj)  # (X, Y, Z) int16 HU
    mid = data.shape[2] // 2
    picks = mid + step * (np.arange(slices) - slices // 2)
    small = downscale_local_mean(data[:, :, picks].astype(np.float32), (step, step, 1))
    small = np.rint(small).astype(np.int16)
    affine = img.affine.copy()
    affine[:3, :2] *= step  # in-plane voxels are `step` times larger
    affine[:3, 2] *= step  # every `step`-th slice
    affine[:3, 3] = img.affine[:3, :3] @ np.array([0.0, 0.0, picks[0]]) + img.affine[:3, 3]
    out = nib.Nifti1Image(small, affine)
    out.header["descrip"] = b"medcolor example: 4x downsampled slab of the InVesalius head CT"
    out.header.set_xyzt_units("mm")
    nib.save(out, dst)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    gray, out = args.data / "medical_gray", args.out
    out.mkdir(parents=True, exist_ok=True)
    downscale_dicom(gray / "RG1_UNCI.dcm", out / "chest_xray_cr.dcm", 512,
                    "downscaled to 512 px (anti-aliased) from pydicom-data RG1_UNCI.dcm for medcolor examples",
                    compress=True)
    ct_slice_from_nifti(gray / "head_ct_invesalius.nii.gz", out / "head_ct.dcm", k=60)
    dicom_to_png(gray / "MR2_UNCI.dcm", out / "shoulder_mr.png", 512)
    color_to_gray_file(args.data / "photos/val/chicky_512.jpg", out / "photo_gray.jpg", 512, quality=92)
    color_to_gray_file(args.data / "medical_color/val/he_cmu_tile08.png", out / "histology" / "he_tile_gray.png", 256,
                       optimize=True)
    nifti_slab(gray / "head_ct_invesalius.nii.gz", out / "head_ct_slab.nii.gz")
    for p in sorted(out.iterdir()):
        if p.suffix != ".py" and p.suffix != ".md":
            print(f"{p.name:24s} {p.stat().st_size / 1024:7.1f} KB")


if __name__ == "__main__":
    main()
