"""ct-tissue: chroma from Hounsfield units, lightness from the window; API, CLI, `medcolor models`, web."""
from __future__ import annotations

import io
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch
from _dicom_series import write_series
from PIL import Image

import medcolor
from medcolor.cli import main
from medcolor.color import gray_to_lightness, rgb_to_lab_np
from medcolor.ct_tissue import CARD, CONTROL_POINTS, colorize_hu, hu_to_ab
from medcolor.io import read
from medcolor.io.nifti import from_display_slices, to_display_slices

FAT, MUSCLE = -100.0, 50.0
HEAD_CT = Path(__file__).resolve().parents[1] / "examples" / "head_ct.dcm"


def _hue(lab: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


def _chroma(lab: np.ndarray) -> np.ndarray:
    return np.hypot(lab[..., 1], lab[..., 2])


def _phantom(h: int = 16, w: int = 24) -> np.ndarray:
    """HU ``(H, W)``: air, fat, muscle and bone in vertical bands."""
    hu = np.full((h, w), -1000.0, np.float32)
    hu[:, 6:12], hu[:, 12:18], hu[:, 18:] = FAT, MUSCLE, 1000.0
    return hu


def test_fat_and_muscle_get_distinct_hues_at_the_same_gray():
    gray = np.full((2, 8), 0.6, np.float32)  # one gray for both: the window cannot tell them apart
    hu = np.repeat(np.array([[FAT], [MUSCLE]], np.float32), 8, axis=1)
    lab = rgb_to_lab_np(colorize_hu(gray, hu))
    assert np.ptp(lab[..., 0]) < 1.0  # same lightness
    fat, muscle = lab[0].mean(0), lab[1].mean(0)
    assert 60 < _hue(fat) < 100 and 15 < _hue(muscle) < 50  # yellow vs red
    assert _chroma(fat) > 20 and _chroma(muscle) > 20


def test_lightness_is_the_windows_and_air_is_neutral():
    hu = _phantom()
    for center, width in ((40, 400), (-600, 1500)):
        gray = np.clip((hu - (center - width / 2)) / width, 0, 1)
        lab = rgb_to_lab_np(colorize_hu(gray, hu))
        assert np.abs(lab[..., 0] - gray_to_lightness(gray.astype(np.float64))).max() <= 1.0
        assert _chroma(lab[:, :6]).max() < 1.0  # air


def test_chroma_is_continuous_in_hu_no_banding():
    hu = torch.arange(-1100.0, 3100.0, 1.0).reshape(1, 1, 1, -1)
    ab = hu_to_ab(hu)[0, :, 0]  # (2, N)
    step = torch.linalg.vector_norm(ab[:, 1:] - ab[:, :-1], dim=0)
    assert float(step.max()) < 1.0  # no jumps: under 1 a*b* unit per HU (steepest ramp: water to soft tissue)
    points = torch.tensor([[p[0] for p in CONTROL_POINTS]]).reshape(1, 1, 1, -1)
    np.testing.assert_allclose(hu_to_ab(points)[0, :, 0].T.numpy(), [p[1:3] for p in CONTROL_POINTS], atol=1e-4)
    nan = hu_to_ab(torch.tensor([float("nan")]).reshape(1, 1, 1, 1))
    assert torch.equal(nan, torch.zeros_like(nan))  # NaN HU: neutral


def test_api_on_the_bundled_head_ct_and_refusals(tmp_path):
    rgb = medcolor.colorize(HEAD_CT, model="ct-tissue", window="soft-tissue")
    gray, _ = read(HEAD_CT, window="soft-tissue")
    lab = rgb_to_lab_np(rgb)
    assert rgb.shape == (*gray.shape[1:], 3)
    assert np.abs(lab[..., 0] - gray_to_lightness(gray[0].astype(np.float64))).max() <= 1.0
    assert np.percentile(_chroma(lab), 90) > 10  # the head is coloured
    Image.fromarray((gray[0] * 255).astype(np.uint8)).save(tmp_path / "slice.png")
    with pytest.raises(medcolor.InputError, match=r"slice\.png: ct-tissue colours Hounsfield units"):
        medcolor.colorize(tmp_path / "slice.png", model="ct-tissue")
    with pytest.raises(medcolor.UsageError):
        medcolor.colorize(gray[0], model="ct-tissue")


def _ct_series(folder, *, n=3):
    """A tiny CT series whose slices are the phantom (stored = HU + 1024)."""
    paths, _ = write_series(folder, n=n, shape=(16, 24))
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.PixelData = (_phantom() + 1024).astype(np.int16).tobytes()
        ds.save_as(p)
    return paths


def test_cli_ct_series_and_nifti_end_to_end(tmp_path, capsys):
    _ct_series(tmp_path / "ct")
    nii = tmp_path / "head.nii.gz"
    nib.save(nib.Nifti1Image(from_display_slices(np.stack([_phantom()] * 4).astype(np.int16), 2), np.eye(4)), nii)
    assert main(["colorize", str(tmp_path / "ct"), str(nii), "-o", str(tmp_path / "out"), "--model", "ct-tissue",
                 "--window=-25,3000", "--format", "nii", "-q"]) == 0
    outs = sorted((tmp_path / "out").rglob("*.nii.gz"))
    assert len(outs) == 2  # one volume for the series, one for the NIfTI
    gray = np.clip((_phantom() + 1525) / 3000, 0, 1)  # the window "-25,3000"
    for out in outs:
        img = np.asarray(nib.load(out).dataobj)
        rgb = to_display_slices(np.stack([img["R"], img["G"], img["B"]], -1), 2)
        lab = rgb_to_lab_np(rgb)
        assert np.abs(lab[..., 0] - gray_to_lightness(gray.astype(np.float64))).max() <= 1.0
        fat, muscle = lab[:, :, 6:12].reshape(-1, 3).mean(0), lab[:, :, 12:18].reshape(-1, 3).mean(0)
        assert abs(fat[0] - muscle[0]) < 6  # nearly the same gray in this wide window ...
        assert abs(_hue(fat) - _hue(muscle)) > 30  # ... but told apart by colour
    assert main(["colorize", str(tmp_path / "ct"), "-o", str(tmp_path / "dcm"), "--model", "ct-tissue",
                 "--format", "dcm", "-q"]) == 0
    (out_dir,) = [p for p in (tmp_path / "dcm").iterdir() if p.is_dir()]
    ds = pydicom.dcmread(sorted(out_dir.iterdir())[0])
    assert ds.PhotometricInterpretation == "RGB" and "ct-tissue" in str(ds.SeriesDescription)


def test_cli_refuses_inputs_without_hu_with_one_line(tmp_path, capsys):
    Image.fromarray(np.full((8, 8), 128, np.uint8)).save(tmp_path / "photo.png")
    mr = pydicom.dcmread(pydicom.data.get_testdata_file("MR_small.dcm"))
    mr.save_as(tmp_path / "mr.dcm")
    code = main(["colorize", str(tmp_path / "photo.png"), str(tmp_path / "mr.dcm"), "-o", str(tmp_path / "out"),
                 "--model", "ct-tissue", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and not (tmp_path / "out" / "photo.png").exists()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all("ct-tissue colours Hounsfield units" in line for line in errors)
    assert any("photo.png" in line and "PNG" in line for line in errors)
    assert any("mr.dcm" in line and "DICOM MR" in line for line in errors)


def test_models_lists_ct_tissue_with_its_card(capsys):
    assert main(["models", "--kind", "discriminator"]) == 0
    out = capsys.readouterr().out
    assert "ct-tissue" in out and CARD.does_not_encode in out and "HU" in out
    assert main(["models", "--kind", "discriminator", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["renderings"]
    assert rows[0]["name"] == "ct-tissue" and "diagnosis" in rows[0]["does_not_encode"]


def test_web_offers_ct_tissue_and_refuses_a_png(tiny_model_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from medcolor.web.app import create_app
    from medcolor.web.config import WebConfig

    with TestClient(create_app(WebConfig(model=str(tiny_model_path), device="cpu"))) as client:
        assert "ct-tissue" in client.get("/api/models").json()["models"]
        ct = HEAD_CT.read_bytes()
        r = client.post("/api/colorize", files={"file": ("head.dcm", ct)}, data={"model": "ct-tissue"})
        assert r.status_code == 200 and r.headers["X-Medcolor-Model"] == "ct-tissue"
        png = Image.open(io.BytesIO(r.content))
        assert png.mode == "RGB" and np.percentile(_chroma(rgb_to_lab_np(np.asarray(png))), 90) > 10
        buf = io.BytesIO()
        Image.fromarray(np.full((8, 8), 128, np.uint8)).save(buf, format="PNG")
        r = client.post("/api/colorize", files={"file": ("photo.png", buf.getvalue())}, data={"model": "ct-tissue"})
        assert r.status_code == 422 and "Hounsfield" in r.json()["error"] and "photo.png" in r.json()["error"]
