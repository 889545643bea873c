"""Hostile and degenerate inputs: one clear InputError or warning naming the file, never a traceback."""
from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from medcolor.errors import InputError
from medcolor.io import read

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _dicom(path: Path, pixels: np.ndarray, **attrs) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.PixelData = pixels.tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_empty_voi_lut_sequence_is_an_input_error(tmp_path):
    path = _dicom(tmp_path / "voi.dcm", np.zeros((8, 8), np.uint16), VOILUTSequence=Sequence([]))
    with pytest.raises(InputError, match=r"voi\.dcm: empty VOI LUT Sequence"):
        read(path)
    item = Dataset()
    item.LUTDescriptor = [4, 0, 8]  # no LUT Data
    bad = _dicom(tmp_path / "voi2.dcm", np.zeros((8, 8), np.uint16), VOILUTSequence=Sequence([item]))
    with pytest.raises(InputError, match=r"voi2\.dcm: VOI LUT Sequence item without"):
        read(bad)


def test_palette_colour_without_its_palette_is_an_input_error(tmp_path):
    path = _dicom(tmp_path / "pal.dcm", np.zeros((8, 8), np.uint8), PhotometricInterpretation="PALETTE COLOR")
    with pytest.raises(InputError, match=r"pal\.dcm: PALETTE COLOR image without its palette \(Red, Green, Blue"):
        read(path)


def test_rescale_slope_zero_is_an_input_error(tmp_path):
    path = _dicom(tmp_path / "slope0.dcm", np.arange(64, dtype=np.uint16).reshape(8, 8), RescaleSlope="0",
                  RescaleIntercept="-1024")
    with pytest.raises(InputError, match=r"slope0\.dcm: RescaleSlope is 0"):
        read(path)


@pytest.mark.parametrize("window", [None, "brain"])
def test_all_nan_nifti_is_an_input_error(tmp_path, window):
    nib.save(nib.Nifti1Image(np.full((4, 5, 3), np.nan, np.float32), np.eye(4)), tmp_path / "nan.nii.gz")
    with pytest.raises(InputError, match=r"nan\.nii\.gz: every pixel value is NaN"):
        read(tmp_path / "nan.nii.gz", window=window)


def test_all_nan_float_tiff_is_an_input_error(tmp_path):
    tifffile.imwrite(tmp_path / "nan.tif", np.full((6, 7), np.nan, np.float32))
    with pytest.raises(InputError, match=r"nan\.tif: every pixel value is NaN"):
        read(tmp_path / "nan.tif")


def test_constant_images_warn(tmp_path):
    tifffile.imwrite(tmp_path / "flat.tif", np.full((6, 7), 1234.5, np.float32))
    with pytest.warns(UserWarning, match=r"flat\.tif: constant image: every pixel is 1234\.5"):
        arr, meta = read(tmp_path / "flat.tif")
    assert arr.shape == (1, 6, 7) and meta.warnings
    nib.save(nib.Nifti1Image(np.full((4, 5, 3), 300, np.int16), np.eye(4)), tmp_path / "flat.nii.gz")
    with pytest.warns(UserWarning, match=r"flat\.nii\.gz: constant image: every pixel is 300"):
        read(tmp_path / "flat.nii.gz")


def test_nan_pixels_among_real_ones_show_as_black(tmp_path):
    vol = np.linspace(-100, 100, 4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    vol[0, 0, 0] = np.nan
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "some.nii.gz")
    for window in (None, "0,200"):
        arr, _ = read(tmp_path / "some.nii.gz", window=window)
        assert np.isfinite(arr).all() and arr[0, -1, 0] == 0.0


def test_ct_window_preset_on_images_without_hu_warns_naming_the_modality(tmp_path):
    mr = _dicom(tmp_path / "mr.dcm", np.arange(64, dtype=np.uint16).reshape(8, 8), Modality="MR")
    with pytest.warns(UserWarning, match=r"mr\.dcm: window preset 'lung' is a CT window .* modality MR"):
        read(mr, window="lung")
    png = tmp_path / "xray.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(png)
    with pytest.warns(UserWarning, match=r"xray\.png: window preset 'bone' .* a PNG image"):
        read(png, window="bone")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read(EXAMPLES / "head_ct.dcm", window="lung")  # CT: no warning
        read(mr, window="40,400")  # an explicit C,W is the user's own choice
