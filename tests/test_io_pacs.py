"""DICOM folders as PACS tools write them: truncated copies, duplicate instances, UID file names, echoes."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from _dicom_series import ct_slice, write_series
from pydicom.uid import RLELossless, generate_uid

from medcolor.cli import main
from medcolor.errors import InputError
from medcolor.io import DicomSeries, discover, group_inputs, open_image, output_stem, read
from medcolor.io.dicom_writer import output_series_uid


def _truncate(src: Path, dst: Path, cut: int = 100) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) - cut])
    return dst


def _uid_name(path: Path, folder: Path, prefix: str = "CT") -> Path:
    """Rename ``path`` as dcmtk's storescp does: ``CT.<SOPInstanceUID>``, no extension."""
    target = folder / f"{prefix}.{pydicom.dcmread(path).SOPInstanceUID}"
    path.rename(target)
    return target


def test_truncated_copy_is_kept_out_of_the_series(tmp_path):
    paths, stored = write_series(tmp_path, n=4, shape=(40, 40), shuffle=False)
    bad = _truncate(paths[1], tmp_path / "copy.dcm")
    units = group_inputs([*paths, bad])
    series = [u for u in units if isinstance(u, DicomSeries)]
    assert len(series) == 1 and sorted(series[0].paths) == sorted(paths)
    assert bad in units  # a unit of its own: reading it reports it
    with pytest.raises(InputError, match=r"copy\.dcm: truncated DICOM file: its pixel data needs 3200 bytes"):
        open_image(bad)
    frames, meta = read(series[0])
    assert frames.shape == (4, 40, 40)


def test_a_file_cut_inside_its_header_is_kept_out_too(tmp_path):
    paths, _ = write_series(tmp_path, n=3, shuffle=False)
    bad = _truncate(paths[0], tmp_path / "cut.dcm", cut=paths[0].stat().st_size - 200)
    units = group_inputs([*paths, bad])
    assert bad in units and sum(isinstance(u, DicomSeries) for u in units) == 1
    with pytest.raises(InputError, match=r"cut\.dcm: "):
        read(bad)


def test_the_same_instance_twice_is_used_once_with_a_note(tmp_path):
    paths, _ = write_series(tmp_path, n=3, shuffle=False)
    copy = tmp_path / "again.dcm"
    shutil.copy(paths[2], copy)
    (series,) = group_inputs([*paths, copy])
    assert len(series) == 3 and copy not in series.paths
    with pytest.warns(UserWarning, match=r"again\.dcm: the same instance as .* used once"):
        frames, meta = read(series)
    assert frames.shape[0] == 3
    assert sum("same instance" in w for w in meta.warnings) == 1


def test_a_lossless_encoding_is_preferred_over_a_lossy_copy_of_the_same_instance(tmp_path):
    paths, _ = write_series(tmp_path / "s", n=2, shape=(16, 16), shuffle=False)
    ds = pydicom.dcmread(paths[0])
    ds.LossyImageCompression = "01"  # marked lossy (the pixels stay uncompressed, as the tag is what counts)
    lossy = tmp_path / "s" / "a_lossy.dcm"
    ds.save_as(lossy, enforce_file_format=True)
    (series,) = group_inputs([lossy, *paths])
    assert lossy not in series.paths and paths[0] in series.paths
    assert any("a_lossy.dcm: the same instance" in n for n in series.notes)


def test_an_instance_in_another_transfer_syntax_is_named_as_such(tmp_path):
    paths, _ = write_series(tmp_path, n=2, shape=(16, 16), shuffle=False)
    ds = pydicom.dcmread(paths[1])
    ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    other = tmp_path / "z_rle.dcm"
    ds.save_as(other, enforce_file_format=True)
    (series,) = group_inputs([*paths, other])
    assert len(series) == 2 and other not in series.paths
    assert any("another encoding (RLE Lossless)" in n for n in series.notes)


def test_a_series_reduced_to_one_file_still_gives_its_note(tmp_path):
    paths, _ = write_series(tmp_path, n=1, shuffle=False)
    copy = tmp_path / "copy.dcm"
    shutil.copy(paths[0], copy)
    (unit,) = group_inputs([paths[0], copy])
    assert isinstance(unit, DicomSeries) and len(unit) == 1
    with pytest.warns(UserWarning, match="copy.dcm: the same instance"):
        frames, meta = read(unit)
    assert meta.kind == "image" and frames.shape[0] == 1


def _echo_series(folder: Path, echoes=(1, 2), n=3, **extra) -> list[Path]:
    uids = {"study": generate_uid(), "series": generate_uid(), "for": generate_uid()}
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for part, echo in enumerate(echoes):
        for k in range(n):
            ds = ct_slice(np.full((8, 8), 100 * echo + k, np.int16), position=(0, 0, 2.0 * k), number=k + 1,
                          uids=uids, EchoNumbers=echo, **extra)
            path = folder / f"e{echo}_{k}_{part}.dcm"
            ds.save_as(path, enforce_file_format=True)
            out.append(path)
    return out


def test_echoes_at_one_position_are_split_into_one_unit_each(tmp_path):
    paths = _echo_series(tmp_path)
    units = group_inputs(paths)
    assert [u.part for u in units] == ["echo 1", "echo 2"] and all(len(u) == 3 for u in units)
    metas = []
    for unit in units:
        with pytest.warns(UserWarning, match=r"split by EchoNumbers into 2 series"):
            frames, meta = read(unit)
        assert frames.shape[0] == 3
        metas.append(meta)
    assert metas[0].uids.series == metas[1].uids.series  # the same source series ...
    assert output_series_uid(metas[0], "m") != output_series_uid(metas[1], "m")  # ... two output series


def test_images_at_one_position_that_nothing_tells_apart_are_refused_naming_the_files(tmp_path):
    paths = _echo_series(tmp_path, echoes=(1, 1), n=2)  # same echo, same position: new SOP UIDs though
    (series,) = group_inputs(paths)
    with pytest.raises(InputError, match=r"already taken, and nothing tells them apart.*e1_0_0\.dcm, .*e1_0_1\.dcm"):
        read(series)


def test_dicom_found_by_content_whatever_the_name(tmp_path):
    paths, _ = write_series(tmp_path, n=3, shuffle=False)
    named = [_uid_name(p, tmp_path) for p in paths[:2]]
    (tmp_path / "notes.txt").write_text("not an image " * 20)
    (tmp_path / "README.1").write_bytes(b"x" * 200)  # digits as an extension, no DICM: left out
    found = discover([str(tmp_path)])
    assert sorted(f.path for f in found.files) == sorted([*named, paths[2]])
    assert not found.skipped
    assert {output_stem(p) for p in named} == {p.name for p in named}  # the UID is the name, kept whole


def test_discovery_reads_at_most_132_bytes_of_an_unknown_file(tmp_path, monkeypatch):
    big = tmp_path / "data.bin"
    big.write_bytes(b"\0" * 100_000)
    reads = []
    real_open = open

    def spy(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if str(path) == str(big):
            read = handle.read
            handle_read = lambda n=-1: reads.append(n) or read(n)  # noqa: E731
            return _Reader(handle, handle_read)
        return handle

    monkeypatch.setattr("builtins.open", spy)
    assert discover([str(tmp_path)]).files == []
    assert reads == [132]


class _Reader:
    def __init__(self, handle, read) -> None:
        self._handle, self.read = handle, read

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def test_folder_as_pacs_tools_write_it_gives_one_good_series_end_to_end(tmp_path, capsys):
    folder = tmp_path / "in"
    paths, _ = write_series(folder, n=6, shape=(24, 24), shuffle=False)
    bad = _truncate(paths[2], folder / "copy_of_slice.dcm")
    dup = folder / "duplicate.dcm"
    shutil.copy(paths[3], dup)
    for p in paths[4:]:
        _uid_name(p, folder)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may reach the terminal as a raw Python warning
        rc = main(["colorize", str(folder), "-o", str(out), "--model", "ct-tissue", "--format", "dcm", "-q"])
    err = capsys.readouterr().err
    assert rc == 1  # the truncated copy failed ...
    written = sorted(out.rglob("*.dcm"))
    assert len(written) == 6 and len({f.parent for f in written}) == 1  # ... and the series has every slice
    positions = sorted(float(pydicom.dcmread(f).ImagePositionPatient[2]) for f in written)
    assert positions == [10.0 + 2.5 * k for k in range(6)]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0] and "truncated" in errors[0]
    notes = [line for line in err.splitlines() if "the same instance" in line]
    assert len(notes) == 1 and ("duplicate.dcm" in notes[0] or str(paths[3]) in notes[0])  # once, naming the file
    assert "Traceback" not in err and "UserWarning" not in err


def test_ct_tissue_on_a_colorized_series_says_it_is_a_colour_image(tmp_path, capsys):
    paths, _ = write_series(tmp_path / "in", n=3, shape=(16, 16))
    assert main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "once"), "--model", "ct-tissue",
                 "--format", "dcm", "-q"]) == 0
    capsys.readouterr()
    rc = main(["colorize", str(tmp_path / "once"), "-o", str(tmp_path / "twice"), "--model", "ct-tissue",
               "--format", "dcm", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "colour (RGB) DICOM CT" in err and "not Hounsfield units" in err and "not CT" not in err
