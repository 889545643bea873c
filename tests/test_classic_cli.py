"""End-to-end tests of ``medcolor classic levin|welsh|reinhard|lut``."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import medcolor.io
from medcolor.classic.luts import lut_table
from medcolor.cli import main
from medcolor.color import gray_to_lightness, rgb_to_lab_np


def _pil_read(path, *, window=None, axis=None, **_):
    """Stand-in for medcolor.io.read while it is being written: (1, H, W) float gray in [0, 1]."""
    with Image.open(path) as im:
        return (np.asarray(im.convert("L"), dtype=np.float32) / 255.0)[None], {}


@pytest.fixture(autouse=True)
def _io_read(monkeypatch):
    if not hasattr(medcolor.io, "read"):
        monkeypatch.setattr(medcolor.io, "read", _pil_read, raising=False)


@pytest.fixture
def images(tmp_path):
    h, w = 48, 64
    gray = np.where(np.arange(w)[None, :] < 32, 80, 190).astype(np.uint8) * np.ones((h, 1), np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    hints = np.zeros((h, w, 4), np.uint8)
    hints[10:40, 5:7] = (200, 30, 30, 255)
    hints[10:40, 55:57] = (40, 60, 220, 255)
    Image.fromarray(hints, "RGBA").save(tmp_path / "hints.png")
    yy, xx = np.mgrid[:40, :40]
    ref = np.stack([120 + 100 * (xx > 20), 90 + 0 * yy, 60 + 80 * (yy > 20)], -1).astype(np.uint8)
    Image.fromarray(ref).save(tmp_path / "ref.png")
    return tmp_path, gray


def _read(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_levin_cli(images):
    d, gray = images
    assert main(["classic", "levin", str(d / "gray.png"), "--hints", str(d / "hints.png"), "-o", str(d / "o.png")]) == 0
    out = _read(d / "o.png")
    assert out.shape == gray.shape + (3,)
    assert out[24, 10, 0] > out[24, 10, 2] + 40  # left region red
    assert out[24, 50, 2] > out[24, 50, 0] + 40  # right region blue
    L = rgb_to_lab_np(out / 255.0)[..., 0]
    assert np.abs(L - gray_to_lightness(gray / 255.0)).max() <= 1.0
    # Refuses to overwrite without --overwrite (usage error, exit 2), then replaces with it.
    assert main(["classic", "levin", str(d / "gray.png"), "--hints", str(d / "hints.png"), "-o", str(d / "o.png")]) == 2
    assert main(["classic", "levin", str(d / "gray.png"), "--hints", str(d / "hints.png"), "-o", str(d / "o.png"),
                 "--overwrite"]) == 0


def test_levin_cli_hints_size_mismatch(images, capsys):
    d, _ = images
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(d / "small.png")
    code = main(["classic", "levin", str(d / "gray.png"), "--hints", str(d / "small.png"), "-o", str(d / "o.png")])
    err = capsys.readouterr().err
    assert code == 1 and "small.png" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (d / "o.png").exists()


def test_welsh_cli(images):
    d, gray = images
    assert main(["classic", "welsh", str(d / "gray.png"), "--reference", str(d / "ref.png"), "-o", str(d / "w.png")]) == 0
    out = _read(d / "w.png")
    assert out.shape == gray.shape + (3,)
    assert np.ptp(rgb_to_lab_np(out / 255.0)[..., 1]) > 5  # took colour from the reference
    # Swatch mode and a bad swatch box.
    assert main(["classic", "welsh", str(d / "gray.png"), "--reference", str(d / "ref.png"), "-o", str(d / "s.png"),
                 "--swatch", "5,5,40,30:0,0,20,20", "--swatch", "5,35,40,60:25,25,40,40"]) == 0
    assert main(["classic", "welsh", str(d / "gray.png"), "--reference", str(d / "ref.png"), "-o", str(d / "x.png"),
                 "--swatch", "1,2,3"]) == 2
    assert main(["classic", "welsh", str(d / "gray.png"), "--reference", str(d / "gray.png"), "-o", str(d / "x.png")]) == 1


def test_reinhard_cli(images):
    d, gray = images
    assert main(["classic", "reinhard", str(d / "ref.png"), "--reference", str(d / "ref.png"), "-o", str(d / "r.png")]) == 0
    np.testing.assert_allclose(_read(d / "r.png").astype(int), _read(d / "ref.png").astype(int), atol=2)
    assert main(["classic", "reinhard", str(d / "gray.png"), "--reference", str(d / "ref.png"), "-o", str(d / "g.jpg")]) == 0
    assert _read(d / "g.jpg").shape == gray.shape + (3,)


def test_lut_cli(images, capsys):
    d, gray = images
    assert main(["classic", "lut", str(d / "gray.png"), "--lut", "hot-iron", "-o", str(d / "l.png")]) == 0
    np.testing.assert_array_equal(_read(d / "l.png"), lut_table("hot-iron")[gray])
    assert main(["classic", "lut", "--list"]) == 0
    assert "pet-20-step" in capsys.readouterr().out
    assert main(["classic", "lut", str(d / "gray.png"), "--lut", "nope", "-o", str(d / "n.png")]) == 2
    assert main(["classic", "lut", str(d / "gray.png"), "--lut", "pet", "-o", str(d / "n.xyz")]) == 2


def test_lut_cli_dicom(tmp_path):
    """A real multi-frame MR (pydicom test data): every frame coloured into a multi-page TIFF."""
    if not hasattr(medcolor.io, "read") or medcolor.io.read is _pil_read:
        pytest.skip("medcolor.io.read not available yet")
    from pydicom.data import get_testdata_file

    path = get_testdata_file("emri_small.dcm")
    out = tmp_path / "mr.tif"
    assert main(["classic", "lut", path, "--lut", "pet", "-o", str(out)]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 10 and im.size == (64, 64)
