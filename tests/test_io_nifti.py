"""NIfTI: slicing along each axis, 2-D, 4-D refusal, windowing, RGB24 round trip with affine and header."""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medcolor.errors import InputError
from medcolor.io import WINDOW_PRESETS, apply_window, read, write
from medcolor.io.nifti import RGB24, from_display_slices, to_display_slices

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _save(tmp_path, data, name="v.nii.gz", affine=None):
    affine = np.diag([0.5, 0.7, 2.0, 1.0]) if affine is None else affine
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


@pytest.fixture
def volume():
    # int16 "HU" volume (X, Y, Z) = (6, 5, 4) with distinct values everywhere
    return (np.arange(6 * 5 * 4).reshape(6, 5, 4) * 10 - 500).astype(np.int16)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_slicing_along_each_axis(tmp_path, volume, axis):
    path = _save(tmp_path, volume)
    arr, meta = read(path, axis=axis, window=(0, 2000))
    expected = apply_window(np.moveaxis(volume, axis, 0), 0, 2000)  # (F, i, j)
    assert arr.shape == (volume.shape[axis], expected.shape[2], expected.shape[1])
    for k in range(arr.shape[0]):  # each frame is stored slice k, shown as s.T[::-1]
        np.testing.assert_allclose(arr[k], expected[k].T[::-1], atol=1e-6)
    assert meta.axis == axis and meta.format == "nifti" and meta.frames == volume.shape[axis]
    np.testing.assert_allclose(meta.affine, np.diag([0.5, 0.7, 2.0, 1.0]), atol=1e-6)


def test_default_axis_is_2_and_display_orientation(tmp_path, volume):
    arr, meta = read(_save(tmp_path, volume), window=(0, 2000))
    assert meta.axis == 2 and arr.shape == (4, 5, 6)
    # highest j at the top row, i along the columns
    top_left = apply_window(np.float32(volume[0, 4, 0]), 0, 2000)
    assert arr[0, 0, 0] == pytest.approx(float(top_left))


def test_display_slice_helpers_are_inverse():
    v = np.random.default_rng(0).random((3, 4, 5, 3))
    for axis in range(3):
        np.testing.assert_array_equal(from_display_slices(to_display_slices(v, axis), axis), v)


def test_2d_and_trailing_singleton(tmp_path):
    img2d = np.arange(12, dtype=np.float32).reshape(4, 3)
    arr, meta = read(_save(tmp_path, img2d, "flat.nii"))
    assert arr.shape == (1, 3, 4) and meta.frames == 1
    arr4, _ = read(_save(tmp_path, np.zeros((4, 3, 2, 1), np.int16) + 5, "t1.nii.gz"))
    assert arr4.shape == (2, 3, 4)


def test_4d_refused(tmp_path):
    path = _save(tmp_path, np.zeros((4, 3, 2, 5), np.int16), "fmri.nii.gz")
    with pytest.raises(InputError, match=r"fmri\.nii\.gz: 4-D NIfTI is not supported; "):
        read(path)


def test_hu_window_presets_and_robust_default(tmp_path):
    vol = np.linspace(-1000, 1000, 8 * 8 * 3).reshape(8, 8, 3).astype(np.int16)
    path = _save(tmp_path, vol)
    arr, meta = read(path, window="brain")
    np.testing.assert_allclose(arr, apply_window(to_display_slices(vol, 2), *WINDOW_PRESETS["brain"]), atol=1e-6)
    assert meta.window == WINDOW_PRESETS["brain"]
    arr, meta = read(path)  # no VOI in NIfTI: one robust mapping for the whole volume
    assert meta.scaling == "percentile" and arr.min() == 0 and arr.max() == 1


def test_cal_range_is_the_file_window(tmp_path):
    vol = np.linspace(0, 100, 4 * 4 * 2).reshape(4, 4, 2).astype(np.float32)
    img = nib.Nifti1Image(vol, np.eye(4))
    img.header["cal_min"], img.header["cal_max"] = 20, 60
    nib.save(img, tmp_path / "c.nii.gz")
    arr, meta = read(tmp_path / "c.nii.gz")
    assert meta.scaling == "cal-range"
    np.testing.assert_allclose(arr, np.clip((to_display_slices(vol, 2) - 20) / 40, 0, 1), atol=1e-6)


@pytest.mark.parametrize("axis", [0, 2])
def test_rgb24_round_trip_keeps_affine_and_header(tmp_path, volume, axis):
    affine = np.array([[0, 0, 2.0, -10], [0.5, 0, 0, 3], [0, 0.7, 0, 7], [0, 0, 0, 1]])
    path = _save(tmp_path, volume, affine=affine)
    src = nib.load(path)
    frames, meta = read(path, axis=axis)
    rgb = np.random.default_rng(1).integers(0, 256, (*frames.shape, 3), dtype=np.uint8)
    out = write(tmp_path / "col.nii.gz", rgb, meta, model_name="tiny")
    img = nib.load(out)
    assert img.get_data_dtype() == RGB24 and img.header["datatype"] == 128  # NIFTI_TYPE_RGB24
    np.testing.assert_allclose(img.affine, affine)
    np.testing.assert_array_equal(img.header.get_zooms(), src.header.get_zooms())
    assert img.shape == volume.shape
    data = np.asarray(img.dataobj)
    stored = np.stack([data["R"], data["G"], data["B"]], axis=-1)  # (X, Y, Z, 3)
    np.testing.assert_array_equal(stored, from_display_slices(rgb, axis))
    # voxel (i, j, k) of the output is the colour of the voxel (i, j, k) of the input
    assert b"medcolor" in img.header["descrip"].tobytes()


def test_nifti_write_uncompressed_and_2d(tmp_path):
    path = _save(tmp_path, np.arange(12, dtype=np.float32).reshape(4, 3), "flat.nii")
    frames, meta = read(path)
    rgb = np.zeros((*frames.shape, 3), np.uint8)
    out = write(tmp_path / "flat_col.nii", rgb, meta)
    assert out.read_bytes()[344:348] == b"n+1\x00"  # plain, not gzipped
    assert nib.load(out).shape == (4, 3)


def test_example_slab_and_dicom_to_nifti(tmp_path):
    arr, meta = read(EXAMPLES / "head_ct_slab.nii.gz", window="brain")
    assert arr.shape == (8, 64, 64) and 0.05 < arr.mean() < 0.95
    frames, meta = read(EXAMPLES / "head_ct.dcm")
    rgb = np.zeros((*frames.shape, 3), np.uint8)
    img = nib.load(write(tmp_path / "ct.nii.gz", rgb, meta))
    assert img.shape == (256, 256, 1)
    assert abs(img.affine[0, 0]) > 0.5  # pixel spacing of the source, not the identity


def test_bad_nifti(tmp_path):
    good = (EXAMPLES / "head_ct_slab.nii.gz").read_bytes()
    (tmp_path / "trunc.nii.gz").write_bytes(good[: len(good) // 3])
    with pytest.raises(InputError, match=r"trunc\.nii\.gz: corrupt"):
        read(tmp_path / "trunc.nii.gz")
    with pytest.raises(InputError, match=r"v\.nii\.gz: a frame is 6x5 = 30 pixels, over the limit max_frame_pixels=29"):
        read(_save(tmp_path, np.zeros((6, 5, 4), np.int16)), max_pixels=29)
