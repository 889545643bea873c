"""End-to-end tests of `medcolor colorize`: formats, batches, bad inputs, exit codes, no overwrite."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from medcolor.cli import main
from medcolor.color import gray_to_lightness, rgb_to_lab_np
from medcolor.io import read

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _gray_png(path: Path, shape=(40, 56), seed=0) -> np.ndarray:
    g = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(g).save(path)
    return g


def _max_dl(gray01, rgb_u8) -> float:
    return float(np.abs(rgb_to_lab_np(rgb_u8 / 255.0)[..., 0] - gray_to_lightness(gray01)).max())


def _run(args, model):
    return main(["colorize", *map(str, args), "--model", str(model), "-q"])


def test_folder_keeps_subfolders_and_lightness(tmp_path, tiny_model_path, capsys):
    src = tmp_path / "in"
    g1 = _gray_png(src / "a.png")
    _gray_png(src / "sub" / "b.png", (33, 17), seed=1)
    assert _run([src, "-o", tmp_path / "out"], tiny_model_path) == 0
    out1 = np.asarray(Image.open(tmp_path / "out" / "a.png"))
    assert out1.shape == (40, 56, 3)
    assert (tmp_path / "out" / "sub" / "b.png").is_file()
    assert _max_dl(g1 / 255.0, out1) <= 1.0
    assert "colorized 2 image(s)" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["a.png", "b.png", "sub"]


def test_existing_output_is_skipped_unless_overwrite(tmp_path, tiny_model_path, capsys):
    _gray_png(tmp_path / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    assert _run([tmp_path / "a.png", "-o", out], tiny_model_path) == 0
    assert (out / "a.png").read_bytes() == b"keep me"
    assert "1 skipped" in capsys.readouterr().err
    assert _run([tmp_path / "a.png", "-o", out, "--overwrite"], tiny_model_path) == 0
    assert Image.open(out / "a.png").size == (56, 40)


def test_bad_inputs_are_reported_and_batch_carries_on(tmp_path, tiny_model_path, capsys):
    src = tmp_path / "in"
    _gray_png(src / "good.png")
    (src / "empty.png").write_bytes(b"")
    (src / "text.png").write_text("this is not an image\n")
    good = (src / "good.png").read_bytes()
    (src / "truncated.png").write_bytes(good[: len(good) // 2])
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 3, 2), np.float32), np.eye(4)), src / "four_d.nii.gz")
    (src / "notes.txt").write_text("hello")
    code = _run([src, src / "notes.txt", "-o", tmp_path / "out"], tiny_model_path)
    err = capsys.readouterr().err
    assert code == 1
    assert (tmp_path / "out" / "good.png").is_file()
    for name in ("empty.png", "text.png", "truncated.png", "four_d.nii.gz", "notes.txt"):
        assert name in err, name
    assert "Traceback" not in err
    assert not list((tmp_path / "out").rglob("*.tmp")) and not list((tmp_path / "out").rglob(".*"))


def test_pixel_limit(tmp_path, tiny_model_path, capsys):
    _gray_png(tmp_path / "big.png", (64, 64))
    assert _run([tmp_path / "big.png", "-o", tmp_path / "out", "--max-pixels", "1000"], tiny_model_path) == 1
    assert "big.png" in capsys.readouterr().err
    assert not (tmp_path / "out" / "big.png").exists()


def test_nifti_volume_to_slices_and_to_nifti(tmp_path, tiny_model_path):
    vol = np.random.default_rng(0).normal(40, 300, (24, 20, 3)).astype(np.int16)  # HU-like
    affine = np.diag([0.8, 0.8, 2.5, 1.0])
    nib.save(nib.Nifti1Image(vol, affine), tmp_path / "vol.nii.gz")
    assert _run([tmp_path / "vol.nii.gz", "-o", tmp_path / "png", "--window", "brain"], tiny_model_path) == 0
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [f"vol_z{i:03d}.png" for i in range(3)]
    assert _run([tmp_path / "vol.nii.gz", "-o", tmp_path / "nii", "--format", "nii"], tiny_model_path) == 0
    img = nib.load(tmp_path / "nii" / "vol.nii.gz")
    np.testing.assert_allclose(img.affine, affine)
    assert img.shape[:3] == (24, 20, 3)


def test_dicom_round_trip_and_lightness(tmp_path, tiny_model_path):
    src = EXAMPLES / "chest_xray_cr.dcm"
    assert _run([src, "-o", tmp_path, "--format", "dcm"], tiny_model_path) == 0
    ds = pydicom.dcmread(tmp_path / "chest_xray_cr.dcm")
    source = pydicom.dcmread(src)
    assert ds.PhotometricInterpretation == "RGB" and ds.SamplesPerPixel == 3
    assert ds.SOPInstanceUID != source.SOPInstanceUID and ds.StudyInstanceUID == source.StudyInstanceUID
    display, _ = read(src)  # the windowed, MONOCHROME1-inverted display image is the reference
    assert _max_dl(display[0], ds.pixel_array) <= 1.0


def test_unknown_model_is_a_usage_error(tmp_path, capsys):
    _gray_png(tmp_path / "a.png")
    assert main(["colorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--model", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model 'nope'" in err[0]


def test_no_inputs_found(tmp_path, tiny_model_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _run([tmp_path / "empty", "-o", tmp_path / "o"], tiny_model_path) == 2
    assert "no supported input images" in capsys.readouterr().err


def test_bad_size_is_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["colorize", str(tmp_path), "-o", str(tmp_path / "o"), "--working-size", "3"])
    assert exc.value.code == 2


def test_python_dash_m_entry_point(tmp_path, tiny_model_path):
    _gray_png(tmp_path / "a.png")
    (tmp_path / "bad.png").write_text("nope")
    proc = subprocess.run([sys.executable, "-m", "medcolor", "colorize", str(tmp_path / "a.png"),
                           str(tmp_path / "bad.png"), "-o", str(tmp_path / "o"), "--model", str(tiny_model_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "bad.png" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "o" / "a.png").is_file()
