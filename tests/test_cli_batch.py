"""`medcolor colorize` over hostile batches: one bad file never stops the rest, and no output is lost."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from medcolor.cli import main
from medcolor.fileio import TEMP_SUFFIX


def _png(path: Path, shape=(24, 32), seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def _run(args, model, *extra):
    return main(["colorize", *map(str, args), "--model", str(model), "-q", *extra])


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_an_internal_error_costs_one_file_and_is_named_as_such(tmp_path, tiny_model_path, capsys, monkeypatch):
    import medcolor.batch

    real = medcolor.batch.colorize_unit

    def flaky(unit, outs, options, *, engine):
        if "bug" in str(unit):
            raise ZeroDivisionError("simulated bug")
        return real(unit, outs, options, engine=engine)

    monkeypatch.setattr(medcolor.batch, "colorize_unit", flaky)
    _png(tmp_path / "in" / "a.png")
    _png(tmp_path / "in" / "b_bug.png", (10, 13))
    _png(tmp_path / "in" / "c.png")
    assert _run([tmp_path / "in", "-o", tmp_path / "out"], tiny_model_path) == 1
    err = capsys.readouterr().err
    assert _files(tmp_path / "out") == ["a.png", "c.png"]  # the file after the failure is processed too
    line = next(x for x in err.splitlines() if "b_bug.png" in x and x.startswith("error:"))
    assert "internal error (ZeroDivisionError: simulated bug)" in line and "bug in medcolor" in line
    assert "--debug" in line and "Traceback" not in err
    assert "colorized 2 image(s) into 2 file(s)" in err and "1 failed (1 by an internal error)" in err

    assert _run([tmp_path / "in" / "b_bug.png", "-o", tmp_path / "out2", "--debug"], tiny_model_path) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "--debug for" not in err


def test_volume_slices_and_a_slice_like_input_are_all_kept(tmp_path, tiny_model_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    vol = np.random.default_rng(0).normal(40, 300, (24, 20, 3)).astype(np.int16)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), src / "vol.nii.gz")
    _png(src / "vol_z001.png", (20, 24))
    for extra in ((), ("--overwrite",)):  # the second run replaces the first run's outputs, never its own
        assert _run([src, "-o", tmp_path / "out", *extra], tiny_model_path) == 0
        err = capsys.readouterr().err
        assert _files(tmp_path / "out") == ["vol_z000.png", "vol_z001.png", "vol_z001_png.png", "vol_z002.png"]
        assert "colorized 4 image(s) into 4 file(s)" in err and "skipped" not in err
    assert _run([src, "-o", tmp_path / "out"], tiny_model_path) == 0
    assert "4 skipped (output exists" in capsys.readouterr().err
    assert Image.open(tmp_path / "out" / "vol_z001_png.png").size == (24, 20)  # the PNG input, not a slice


def test_same_name_in_two_folders_does_not_depend_on_argument_order(tmp_path, tiny_model_path):
    a, b = _png(tmp_path / "d1" / "a.png", (20, 30)), _png(tmp_path / "d2" / "a.png", (22, 33), seed=1)
    assert _run([a, b, "-o", tmp_path / "o1"], tiny_model_path) == 0
    assert _run([b, a, "-o", tmp_path / "o2"], tiny_model_path) == 0
    assert _files(tmp_path / "o1") == _files(tmp_path / "o2") == ["d1/a.png", "d2/a.png"]
    assert Image.open(tmp_path / "o2" / "d2" / "a.png").size == (33, 22)


def test_outputs_never_replace_an_input(tmp_path, tiny_model_path, capsys):
    src = _png(tmp_path / "a.png")
    before = src.read_bytes()
    assert _run([src, "-o", tmp_path, "--overwrite"], tiny_model_path) == 1
    assert "output would replace an input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_a_run_never_writes_the_same_output_twice(tmp_path, tiny_model_path):
    from medcolor.cli.colorize import ColorizeOptions, _Batch

    batch = _Batch(ColorizeOptions(inputs=(), output=tmp_path), engine=None, inputs=set())
    batch._claim(tmp_path / "x.png")
    with pytest.raises(RuntimeError, match="already wrote"):
        batch._claim(tmp_path / "x.png")


def test_a_fifo_in_the_input_folder_is_skipped_with_a_note(tmp_path, tiny_model_path):
    _png(tmp_path / "in" / "a.png")
    os.mkfifo(tmp_path / "in" / "pipe.png")
    os.mkfifo(tmp_path / "in" / "IM0002")
    proc = subprocess.run([sys.executable, "-m", "medcolor", "colorize", str(tmp_path / "in"), "-o",
                           str(tmp_path / "out"), "--model", str(tiny_model_path), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "note:" in proc.stderr and "pipe.png" in proc.stderr and "FIFO" in proc.stderr
    assert "2 skipped (not a regular file)" in proc.stderr
    assert _files(tmp_path / "out") == ["a.png"]


def test_permission_problems_are_failures_named_as_such(tmp_path, tiny_model_path, capsys, monkeypatch):
    _png(tmp_path / "in" / "a.png")
    _png(tmp_path / "in" / "locked.png")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: Path(p).name != "locked.png" and real_access(p, m))
    assert _run([tmp_path / "in", "-o", tmp_path / "out"], tiny_model_path) == 1
    err = capsys.readouterr().err
    assert "locked.png: permission denied: the file cannot be read" in err and "Traceback" not in err
    assert "1 failed" in err and _files(tmp_path / "out") == ["a.png"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_real_permission_problems(tmp_path, tiny_model_path, capsys):
    _png(tmp_path / "in" / "a.png")
    _png(tmp_path / "in" / "sub" / "b.png")
    _png(tmp_path / "in" / "c.png").chmod(0)
    (tmp_path / "in" / "sub").chmod(0)
    try:
        code = _run([tmp_path / "in", tmp_path / "in" / "sub" / "b.png", "-o", tmp_path / "out"], tiny_model_path)
    finally:
        (tmp_path / "in" / "sub").chmod(0o755)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.count("permission denied") == 3 and "3 failed" in err


def test_missing_input_does_not_stop_the_others(tmp_path, tiny_model_path, capsys):
    a = _png(tmp_path / "a.png")
    assert _run([tmp_path / "nope.png", a, "-o", tmp_path / "out"], tiny_model_path) == 1
    err = capsys.readouterr().err
    assert "nope.png: no such file or directory" in err and _files(tmp_path / "out") == ["a.png"]


def test_stale_temporary_files_are_removed_and_none_are_left(tmp_path, tiny_model_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    stale = [out / f".a.png.k2j3{TEMP_SUFFIX}", out / "sub" / f".b.png.x{TEMP_SUFFIX}"]
    for p in stale:
        p.write_bytes(b"half a file")
    (out / ".keep").write_text("not ours")
    assert _run([_png(tmp_path / "a.png"), "-o", out], tiny_model_path) == 0
    assert _files(out) == [".keep", "a.png"]


def test_a_thin_strip_is_cheap(tmp_path, tiny_model_path):
    strip = _png(tmp_path / "strip.png", (1, 1000))
    assert _run([strip, "-o", tmp_path / "out"], tiny_model_path) == 0
    assert Image.open(tmp_path / "out" / "strip.png").size == (1000, 1)


def test_the_summary_is_printed_when_interrupted(tmp_path, tiny_model_path, capsys, monkeypatch):
    import medcolor.batch

    def interrupt(unit, outs, options, *, engine):
        raise KeyboardInterrupt

    _png(tmp_path / "a.png")
    monkeypatch.setattr(medcolor.batch, "colorize_unit", interrupt)
    assert _run([tmp_path / "a.png", "-o", tmp_path / "out"], tiny_model_path) == 130
    err = capsys.readouterr().err
    assert "colorized 0 image(s)" in err and "interrupted" in err


def test_options_are_a_dataclass_and_args_are_not_mutated(tmp_path, tiny_model_path):
    from medcolor.cli import build_parser
    from medcolor.cli.colorize import ColorizeOptions

    args = build_parser().parse_args(["colorize", str(_png(tmp_path / "a.png")), "-o", str(tmp_path / "o"),
                                      "--model", str(tiny_model_path), "-q", "--device", "auto"])
    opts = ColorizeOptions.from_args(args)
    assert opts.device == "auto" and opts.inputs == (str(tmp_path / "a.png"),)
    assert args.run(args) == 0 and args.device == "auto"




def test_whole_file_limits_are_cli_options(tmp_path, tiny_model_path, capsys):
    vol = np.random.default_rng(0).normal(40, 300, (24, 20, 3)).astype(np.int16)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "vol.nii.gz")
    assert _run([tmp_path / "vol.nii.gz", "-o", tmp_path / "out", "--max-frames", "2"], tiny_model_path) == 1
    err = capsys.readouterr().err
    assert "vol.nii.gz" in err and "--max-frames" in err and not (tmp_path / "out").exists()
    assert _run([tmp_path / "vol.nii.gz", "-o", tmp_path / "out", "--max-total-pixels", "1000"],
                tiny_model_path) == 1
    assert "--max-total-pixels" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # refused by the option's type, before anything is read
        _run([tmp_path / "vol.nii.gz", "-o", tmp_path / "out", "--max-frames", "0"], tiny_model_path)
    assert exc.value.code == 2 and "--max-frames: must be positive, got 0" in capsys.readouterr().err


def test_a_dicom_series_is_one_unit_named_after_its_first_file(tmp_path, tiny_model_path, capsys):
    import pydicom
    from pydicom.uid import generate_uid

    src = tmp_path / "in" / "ct"
    src.mkdir(parents=True)
    series = generate_uid()
    for k in range(3):
        ds = pydicom.dcmread(Path(__file__).resolve().parents[1] / "examples" / "head_ct.dcm")
        ds.SeriesInstanceUID, ds.SOPInstanceUID = series, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = 3 - k  # file order is not slice order
        ds.ImagePositionPatient = [0.0, 0.0, float(10 * (3 - k))]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.save_as(src / f"s{k}.dcm")
    assert _run([tmp_path / "in", "-o", tmp_path / "out"], tiny_model_path) == 0
    err = capsys.readouterr().err
    assert _files(tmp_path / "out") == ["ct/s0_z000.png", "ct/s0_z001.png", "ct/s0_z002.png"]
    assert "colorized 3 image(s) into 3 file(s)" in err
