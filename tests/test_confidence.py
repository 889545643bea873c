"""Confidence maps as an output: the Python API, the web app and ``medcolor colorize --confidence``
(PNG, NIfTI, DICOM), and the one-line refusal for a model without one."""
from __future__ import annotations

import io
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

import medcolor
from medcolor.cli import main
from medcolor.errors import UsageError
from medcolor.io.nifti import from_display_slices


@pytest.fixture(scope="module")
def conf_model_path(tmp_path_factory):
    """A small untrained effcolor (a bin classifier: it has a confidence), saved like a trained one."""
    from medcolor.models import create_model
    from medcolor.weights import save_model

    torch.manual_seed(0)
    net = create_model("effcolor_lite0", widths=[32, 24, 16, 16])
    path = tmp_path_factory.mktemp("conf") / "conf.safetensors"
    save_model(net.eval(), path, meta={"description": "random init for tests", "working_size": 64})
    return path


@pytest.fixture
def photo(tmp_path):
    yy, xx = np.mgrid[0:48, 0:64]
    Image.fromarray((xx * 3 + yy).astype(np.uint8)).save(tmp_path / "a.png")
    return tmp_path / "a.png"


def _writer_has_confidence():
    from medcolor.io import writer

    if not hasattr(writer, "confidence_paths"):
        pytest.skip("medcolor.io.writer has no confidence writer yet")
    return writer.confidence_paths


def test_api_returns_a_confidence_map_in_range(photo, conf_model_path, tiny_model_path):
    rgb, conf = medcolor.colorize(photo, model=conf_model_path, return_confidence=True)
    assert rgb.shape == (48, 64, 3) and conf.shape == (48, 64) and conf.dtype == np.float32
    assert 0.0 <= conf.min() and conf.max() <= 1.0 and conf.std() > 0
    np.testing.assert_array_equal(rgb, medcolor.colorize(photo, model=conf_model_path))  # same colours
    stack = medcolor.colorize_gray(np.random.default_rng(0).random((3, 20, 30)), model=conf_model_path,
                                   return_confidence=True)
    assert stack.rgb.shape == (3, 20, 30, 3) and stack.confidence.shape == (3, 20, 30)
    with pytest.raises(UsageError, match="has no confidence"):
        medcolor.colorize(photo, model=tiny_model_path, return_confidence=True)


def test_a_smoothed_volume_smooths_its_confidence(tmp_path, conf_model_path):
    z, y, x = np.mgrid[0:6, 0:24, 0:20]
    vol = (400 * np.sin(x / 4.0 + z) + 200).astype(np.int16)
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(from_display_slices(vol, 2), np.eye(4)), path)
    on = medcolor.colorize(path, model=conf_model_path, return_confidence=True).confidence
    off = medcolor.colorize(path, model=conf_model_path, return_confidence=True, smooth=False).confidence
    assert on.shape == off.shape == (6, 24, 20)
    assert np.abs(np.diff(on, axis=0)).mean() < np.abs(np.diff(off, axis=0)).mean()


def test_web_answers_the_confidence_map_as_gray_png(photo, conf_model_path, tiny_model_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from medcolor.web import WebConfig, create_app

    app = create_app(WebConfig(model=str(conf_model_path), device="cpu"),
                     models={"tiny": medcolor.load_model(tiny_model_path)})
    files = {"file": ("a.png", photo.read_bytes(), "image/png")}
    with TestClient(app) as client:
        r = client.post("/api/colorize", files=files, data={"confidence": "true"})
        assert r.status_code == 200, r.text
        gray = np.asarray(Image.open(io.BytesIO(r.content)))
        refused = client.post("/api/colorize", files=files, data={"confidence": "true", "model": "tiny"})
    _, conf = medcolor.colorize(photo, model=conf_model_path, return_confidence=True)
    assert gray.shape == (48, 64) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray, np.round(conf * 255).astype(np.uint8))
    assert refused.status_code == 400 and "has no confidence" in refused.json()["error"]


def test_cli_refuses_a_model_without_confidence_in_one_line(tmp_path, photo, tiny_model_path, capsys):
    code = main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(tiny_model_path),
                 "--confidence", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "has no confidence" in err[0]
    assert not (tmp_path / "out").exists()
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "ct-tissue", "--confidence"]) == 2


def test_cli_writes_a_png_confidence_beside_the_output(tmp_path, photo, conf_model_path):
    confidence_paths = _writer_has_confidence()
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(conf_model_path),
                 "--confidence", "-q"]) == 0
    (conf_path,) = confidence_paths([tmp_path / "out" / "a.png"])
    assert conf_path == tmp_path / "out" / "a_confidence.png" and (tmp_path / "out" / "a.png").is_file()
    im = Image.open(conf_path)
    values = np.asarray(im).astype(np.float64)
    scale = 255.0 if values.max() <= 255 else 65535.0
    assert values.shape == (48, 64)
    _, conf = medcolor.colorize(photo, model=conf_model_path, return_confidence=True)
    assert np.abs(values / scale - conf).max() <= 1.0 / 255 + 1e-6


def test_cli_writes_a_nifti_confidence_volume(tmp_path, conf_model_path):
    confidence_paths = _writer_has_confidence()
    z, y, x = np.mgrid[0:5, 0:24, 0:20]
    vol = (300 * np.cos(x / 3.0 + z) + 100).astype(np.int16)
    src = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(from_display_slices(vol, 2), np.diag([0.7, 0.7, 2.0, 1.0])), src)
    assert main(["colorize", str(src), "-o", str(tmp_path / "out"), "--model", str(conf_model_path),
                 "--format", "nii", "--confidence", "-q"]) == 0
    (conf_path,) = confidence_paths([tmp_path / "out" / "v.nii.gz"])
    assert conf_path.is_file() and (tmp_path / "out" / "v.nii.gz").is_file()
    img = nib.load(conf_path)
    data = np.asarray(img.dataobj).astype(np.float64)
    assert data.shape == (20, 24, 5)
    np.testing.assert_allclose(img.affine, np.diag([0.7, 0.7, 2.0, 1.0]))
    data = data / (255.0 if data.max() > 1.0 else 1.0)
    assert 0.0 <= data.min() and data.max() <= 1.0 and data.std() > 0


def test_cli_writes_a_dicom_confidence_series_in_the_same_study(tmp_path, conf_model_path):
    import pydicom
    from pydicom.data import get_testdata_file

    confidence_paths = _writer_has_confidence()
    src = Path(get_testdata_file("CT_small.dcm"))
    assert main(["colorize", str(src), "-o", str(tmp_path / "out"), "--model", str(conf_model_path),
                 "--format", "dcm", "--confidence", "-q"]) == 0
    colour_path = tmp_path / "out" / "CT_small.dcm"
    (conf_path,) = confidence_paths([colour_path])
    colour, conf = pydicom.dcmread(colour_path), pydicom.dcmread(conf_path)
    assert conf.PhotometricInterpretation == "MONOCHROME2" and conf.pixel_array.shape == (128, 128)
    assert conf.StudyInstanceUID == colour.StudyInstanceUID == pydicom.dcmread(src).StudyInstanceUID
    assert conf.SeriesInstanceUID != colour.SeriesInstanceUID
    assert conf.pixel_array.max() > conf.pixel_array.min()
