"""DICOM reading: modality LUT, VOI, MONOCHROME1, multi-frame, compressed syntaxes, colour, bad files."""
from __future__ import annotations

import io as _io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

from medcolor.errors import InputError
from medcolor.io import WINDOW_PRESETS, apply_window, read

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _dataset(pixels: np.ndarray, **attrs) -> Dataset:
    """A minimal valid MONOCHROME2 CT-like image holding ``pixels`` ((H, W) or (F, H, W))."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "CT", "Test^Patient", "P1"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = int(pixels.dtype.kind == "i")
    ds.PixelData = pixels.tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def _save(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def test_rescale_then_file_window_then_user_window(tmp_path):
    stored = np.arange(0, 4096, 16, dtype=np.uint16).reshape(16, 16)
    hu = stored.astype(np.float32) - 1024
    p = _save(_dataset(stored, RescaleSlope="1", RescaleIntercept="-1024", WindowCenter="40",
                       WindowWidth="400"), tmp_path / "ct.dcm")
    arr, meta = read(p)
    np.testing.assert_allclose(arr[0], apply_window(hu, 40, 400), atol=1e-6)
    assert meta.window == (40.0, 400.0) and meta.format == "dicom" and meta.bits == 16
    assert meta.dataset.PatientID == "P1" and "PixelData" not in meta.dataset
    arr, meta = read(p, window="lung")
    np.testing.assert_allclose(arr[0], apply_window(hu, *WINDOW_PRESETS["lung"]), atol=1e-6)
    assert meta.window == WINDOW_PRESETS["lung"]
    arr, _ = read(p, window=(0, 2000))
    np.testing.assert_allclose(arr[0], apply_window(hu, 0, 2000), atol=1e-6)


def test_multi_valued_window_uses_the_first(tmp_path):
    stored = np.linspace(0, 1000, 64, dtype=np.int16).reshape(8, 8)
    p = _save(_dataset(stored, WindowCenter=["300", "50"], WindowWidth=["200", "800"]), tmp_path / "m.dcm")
    arr, meta = read(p)
    assert meta.window == (300.0, 200.0)
    np.testing.assert_allclose(arr[0], apply_window(stored, 300, 200), atol=1e-6)


def test_monochrome1_is_inverted(tmp_path):
    stored = np.linspace(0, 255, 64).astype(np.uint8).reshape(8, 8)
    p1 = _save(_dataset(stored, PhotometricInterpretation="MONOCHROME1"), tmp_path / "m1.dcm")
    p2 = _save(_dataset(stored), tmp_path / "m2.dcm")
    a1, _ = read(p1)
    a2, _ = read(p2)
    np.testing.assert_allclose(a2[0], stored / np.float32(255), atol=1e-7)
    np.testing.assert_allclose(a1, 1 - a2, atol=1e-6)


def test_real_monochrome1_chest_xray():
    arr, meta = read(EXAMPLES / "chest_xray_cr.dcm")
    assert meta.photometric == "MONOCHROME1" and meta.window == (15000.0, 30000.0)
    ds = pydicom.dcmread(EXAMPLES / "chest_xray_cr.dcm")
    expected = 1 - apply_window(ds.pixel_array, 15000, 30000)
    np.testing.assert_allclose(arr[0], expected, atol=1e-6)
    h, w = arr.shape[1:]
    # white = dense: the mediastinum/spine (centre column) is brighter than the lungs beside it
    centre = arr[0, h // 3: 2 * h // 3, w // 2 - 10: w // 2 + 10].mean()
    lung = arr[0, h // 3: 2 * h // 3, w // 4 - 10: w // 4 + 10].mean()
    assert centre > lung + 0.05


def test_real_ct_in_hounsfield_units():
    arr, meta = read(EXAMPLES / "head_ct.dcm", window="bone")
    ds = pydicom.dcmread(EXAMPLES / "head_ct.dcm")
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(arr[0], apply_window(hu, *WINDOW_PRESETS["bone"]), atol=1e-5)
    assert hu.min() < -500 and hu.max() > 500  # air and skull really are in HU


def test_voi_lut_sequence():
    path = get_testdata_file("vlut_04.dcm")
    ds = pydicom.dcmread(path)
    assert "VOILUTSequence" in ds
    arr, meta = read(path)
    assert meta.scaling == "voi-lut"
    from pydicom.pixels import apply_voi

    bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
    expected = apply_voi(ds.pixel_array, ds) / (2 ** bits - 1)
    np.testing.assert_allclose(arr[0], expected, atol=1e-6)


def test_enhanced_multiframe_functional_groups():
    path = get_testdata_file("eCT_Supplemental.dcm") or ""
    if not Path(path).is_file():
        pytest.skip("eCT_Supplemental.dcm not available")
    ds = pydicom.dcmread(path)
    arr, meta = read(path)
    assert arr.shape == (2, 512, 512) and meta.frames == 2
    shared = ds.SharedFunctionalGroupsSequence[0]
    rescale = shared.PixelValueTransformationSequence[0]
    voi = shared.FrameVOILUTSequence[0]
    hu = ds.pixel_array * float(rescale.RescaleSlope) + float(rescale.RescaleIntercept)
    np.testing.assert_allclose(arr, apply_window(hu, float(voi.WindowCenter), float(voi.WindowWidth)), atol=1e-5)


# Compressed transfer syntaxes must decode to the same display image as the uncompressed originals.
@pytest.mark.parametrize("compressed,reference", [
    ("MR_small_RLE.dcm", "MR_small.dcm"),
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
    ("emri_small_RLE.dcm", "emri_small.dcm"),
    ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),
    ("JPEG2000.dcm", "JPEG2000_UNC.dcm"),
])
def test_lossless_compressed_syntaxes_match_uncompressed(compressed, reference):
    a, ma = read(get_testdata_file(compressed))
    b, mb = read(get_testdata_file(reference))
    assert ma.dataset.file_meta.TransferSyntaxUID.is_compressed
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_jpeg_lossless_process14():
    path = get_testdata_file("JPEG-LL.dcm")
    arr, meta = read(path)
    assert meta.dataset.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.70"
    pixels = pydicom.dcmread(path).pixel_array.astype(np.float32)
    lo, hi = np.percentile(pixels, [0.5, 99.5])
    np.testing.assert_allclose(arr[0], np.clip((pixels - lo) / (hi - lo), 0, 1), atol=1e-5)


def test_multiframe_emri():
    arr, meta = read(get_testdata_file("emri_small.dcm"))
    assert arr.shape == (10, 64, 64) and meta.frames == 10
    assert len({float(f.mean()) for f in arr}) > 1  # frames are distinct


def test_jpeg_extended_12bit():
    arr, meta = read(get_testdata_file("JPGExtended.dcm"))
    assert arr.shape == (1, 1024, 256) and meta.bits == 12 and arr.std() > 0.05


def test_jpeg_baseline_gray(tmp_path):
    """A grayscale JPEG baseline DICOM (encapsulated by hand; pydicom-data has only colour ones)."""
    from pydicom.encaps import encapsulate

    gray = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))
    buf = _io.BytesIO()
    Image.fromarray(gray).save(buf, format="JPEG", quality=95)
    ds = _dataset(gray)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.LossyImageCompression = "01"
    arr, meta = read(_save(ds, tmp_path / "jpeg.dcm"))
    assert arr.shape == (1, 48, 64) and meta.scaling == "none"
    assert np.abs(arr[0] * 255 - gray).max() < 6


@pytest.mark.parametrize("name", ["SC_rgb.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_uncompressed.dcm",
                                  "SC_rgb_rle.dcm", "examples_palette.dcm"])
def test_colour_dicom_warns_and_becomes_gray(name):
    path = get_testdata_file(name)
    with pytest.warns(UserWarning, match="colour DICOM") as rec:
        arr, meta = read(path)
    ours = [str(w.message) for w in rec if "colour DICOM" in str(w.message)]
    assert len(ours) == 1 and str(path) in ours[0] and "\n" not in ours[0]
    assert arr.ndim == 3 and arr.shape[0] == 1 and 0 <= arr.min() and arr.max() <= 1 and arr.std() > 0.01
    assert meta.warnings == ours


def test_rgb_dicom_lightness_matches_colour():
    from medcolor.color import gray_to_lightness, rgb_to_lab_np

    ds = pydicom.dcmread(get_testdata_file("SC_rgb.dcm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr, _ = read(get_testdata_file("SC_rgb.dcm"))
    lightness = rgb_to_lab_np(ds.pixel_array / 255.0)[..., 0]
    np.testing.assert_allclose(gray_to_lightness(arr[0].astype(np.float64)), lightness, atol=0.05)


def test_bad_dicom_files(tmp_path):
    good = (EXAMPLES / "head_ct.dcm").read_bytes()
    cases = {}
    (tmp_path / "trunc.dcm").write_bytes(good[: len(good) // 2])
    cases["trunc.dcm"] = "DICOM"
    (tmp_path / "header_only.dcm").write_bytes(good[:140])
    cases["header_only.dcm"] = "DICOM"
    rtplan = pydicom.dcmread(get_testdata_file("rtplan.dcm"))
    rtplan.save_as(tmp_path / "plan.dcm")
    cases["plan.dcm"] = "no image pixel data"
    (tmp_path / "fake.dcm").write_text("not dicom at all " * 20)
    cases["fake.dcm"] = "not a valid DICOM"
    (tmp_path / "empty.dcm").write_bytes(b"")
    cases["empty.dcm"] = "empty"
    for name, needle in cases.items():
        with pytest.raises(InputError) as info:
            read(tmp_path / name)
        message = str(info.value)
        assert str(tmp_path / name) in message and needle in message and "\n" not in message, message


def test_max_pixels_checked_from_header(tmp_path):
    p = _save(_dataset(np.zeros((30, 40), np.uint16)), tmp_path / "s.dcm")
    with pytest.raises(InputError, match=r"s\.dcm: a frame is 40x30 = 1200 pixels, over the limit max_frame_pixels=1000; raise it with --max-pixels"):
        read(p, max_pixels=1000)


def test_dicom_without_preamble_or_extension(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    bare = tmp_path / "IM0001"
    ds.preamble = None
    del ds.file_meta
    ds.save_as(bare, implicit_vr=True, little_endian=True)
    assert bare.read_bytes()[128:132] != b"DICM"
    from medcolor.io import detect_format

    assert detect_format(bare) == "dicom"
    a, _ = read(bare)
    b, _ = read(get_testdata_file("MR_small.dcm"))
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name", ["SC_ybr_full_422_uncompressed.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
def test_ycbcr_dicom_is_converted_to_rgb_once(name):
    """pydicom decodes YBR_FULL(_422) to RGB already; converting again would shift the gray levels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference, _ = read(get_testdata_file("SC_rgb.dcm"))  # the same picture stored as RGB
        arr, _ = read(get_testdata_file(name))
    assert np.abs(arr - reference).max() < 0.02
