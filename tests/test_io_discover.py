"""Expanding INPUT files, folders and globs into (path, output stem) pairs."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from medcolor.errors import InputError
from medcolor.io import discover, output_stem

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "ct" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    shutil.copy(EXAMPLES / "head_ct.dcm", root / "ct" / "a.dcm")
    shutil.copy(EXAMPLES / "head_ct.dcm", root / "ct" / "deep" / "IM0001")  # DICOM without extension
    shutil.copy(EXAMPLES / "photo_gray.jpg", root / "photo.JPG")
    shutil.copy(EXAMPLES / "head_ct_slab.nii.gz", root / "vol.nii.gz")
    shutil.copy(EXAMPLES / "photo_gray.jpg", root / ".hidden" / "skip.jpg")
    (root / "notes.txt").write_text("not an image")
    (root / "README").write_text("no extension, not DICOM")
    (root / ".DS_Store").write_bytes(b"\0" * 10)
    return root


def _pairs(inputs, **kw):
    return discover([str(i) for i in inputs], **kw).files


def test_folder_is_recursive_and_keeps_subfolders(tree):
    pairs = _pairs([tree])
    got = {p.relative_to(tree).as_posix(): s.as_posix() for p, s in pairs}
    assert got == {"ct/a.dcm": "ct/a", "ct/deep/IM0001": "ct/deep/IM0001", "photo.JPG": "photo",
                   "vol.nii.gz": "vol"}


def test_files_and_unsupported_files_given_explicitly(tree):
    pairs = _pairs([tree / "vol.nii.gz", tree / "notes.txt"])
    assert [(p.name, s.as_posix()) for p, s in pairs] == [("vol.nii.gz", "vol"), ("notes.txt", "notes")]


def test_globs(tree, monkeypatch):
    pairs = _pairs([tree / "**" / "*.dcm"])
    assert [(p.name, s.as_posix()) for p, s in pairs] == [("a.dcm", "ct/a")]
    monkeypatch.chdir(tree)
    pairs = _pairs(["*.JPG", "ct/*"])
    assert [(p.as_posix(), s.as_posix()) for p, s in pairs] == [
        ("photo.JPG", "photo"), ("ct/a.dcm", "a"), ("ct/deep/IM0001", "deep/IM0001")]


def test_duplicates_and_stem_collisions_do_not_depend_on_order(tree):
    shutil.copy(EXAMPLES / "shoulder_mr.png", tree / "ct" / "a.png")
    for inputs in ([tree / "ct", tree / "ct" / "a.dcm"], [tree / "ct" / "a.dcm", tree / "ct"]):
        got = {p.name: s.as_posix() for p, s in _pairs(inputs)}
        assert got == {"a.dcm": "a_dcm", "a.png": "a_png", "IM0001": "deep/IM0001"}


def test_same_name_in_different_folders_gets_folder_relative_stems(tmp_path):
    for d in ("d1", "d2/x"):
        (tmp_path / d).mkdir(parents=True)
        shutil.copy(EXAMPLES / "shoulder_mr.png", tmp_path / d / "a.png")
    one = _pairs([tmp_path / "d1" / "a.png", tmp_path / "d2" / "x" / "a.png"])
    two = _pairs([tmp_path / "d2" / "x" / "a.png", tmp_path / "d1" / "a.png"])
    assert {p.parent.name: s.as_posix() for p, s in one} == {"d1": "d1/a", "x": "d2/x/a"}
    assert dict(one) == dict(two)


def test_the_same_file_twice_keeps_its_folder_relative_stem(tree):
    for inputs in ([tree, tree / "ct" / "a.dcm"], [tree / "ct" / "a.dcm", tree]):
        got = {p.name: s.as_posix() for p, s in _pairs(inputs)}
        assert got["a.dcm"] == "ct/a" and len(got) == 4


def test_a_slice_like_name_yields_to_the_volume(tmp_path):
    shutil.copy(EXAMPLES / "head_ct_slab.nii.gz", tmp_path / "vol.nii.gz")
    shutil.copy(EXAMPLES / "shoulder_mr.png", tmp_path / "vol_z001.png")
    shutil.copy(EXAMPLES / "shoulder_mr.png", tmp_path / "VOL_Z002.png")  # case-insensitive file systems
    shutil.copy(EXAMPLES / "shoulder_mr.png", tmp_path / "other_z001.png")  # no volume named "other"
    got = {p.name: s.as_posix() for p, s in _pairs([tmp_path])}
    assert got == {"vol.nii.gz": "vol", "vol_z001.png": "vol_z001_png", "VOL_Z002.png": "VOL_Z002_png",
                   "other_z001.png": "other_z001"}


def test_case_only_differences_are_collisions(tmp_path):
    shutil.copy(EXAMPLES / "shoulder_mr.png", tmp_path / "a.png")
    shutil.copy(EXAMPLES / "shoulder_mr.png", tmp_path / "A.PNG")
    stems = sorted(s.as_posix() for _, s in _pairs([tmp_path]))
    assert len({s.casefold() for s in stems}) == 2, stems


def test_missing_inputs(tree):
    found = discover([str(tree / "nope.dcm"), str(tree / "vol.nii.gz")])
    assert [p.name for p, _ in found.files] == ["vol.nii.gz"]  # the others still run
    assert [(s.path.name, s.reason, s.problem) for s in found.skipped] == [
        ("nope.dcm", "no such file or directory", True)]
    with pytest.raises(InputError, match=r"\*\.bmp: no files match"):
        discover([str(tree / "*.bmp")])
    (tree / "empty").mkdir()
    assert discover([str(tree / "empty")]).files == []  # the caller decides whether that is an error


def test_output_folder_is_excluded(tree):
    (tree / "out").mkdir()
    shutil.copy(EXAMPLES / "shoulder_mr.png", tree / "out" / "old.png")
    assert "old.png" in [p.name for p, _ in _pairs([tree])]
    assert "old.png" not in [p.name for p, _ in _pairs([tree], exclude=tree / "out")]


def test_special_files_are_skipped_with_a_note_and_never_opened(tree):
    os.mkfifo(tree / "pipe.png")
    os.mkfifo(tree / "IM_FIFO")  # no extension: would be sniffed for DICOM, which would block
    found = discover([str(tree), str(tree / "pipe.png")])
    assert "pipe.png" not in [p.name for p, _ in found.files]
    notes = {(s.path.name, s.problem) for s in found.skipped}
    assert notes == {("pipe.png", False), ("IM_FIFO", False)}
    assert all("FIFO" in s.reason for s in found.skipped)


def test_device_file_given_explicitly_is_skipped():
    found = discover(["/dev/null"])
    assert found.files == [] and found.skipped[0].reason == "skipped: a device file, not a regular file"


needs_non_root = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")


@needs_non_root
def test_permission_problems_are_reported(tree):
    locked = tree / "locked"
    locked.mkdir()
    shutil.copy(EXAMPLES / "shoulder_mr.png", locked / "in_locked.png")
    shutil.copy(EXAMPLES / "shoulder_mr.png", tree / "unreadable.png")
    (tree / "unreadable.png").chmod(0)
    locked.chmod(0)
    try:
        found = discover([str(tree), str(locked / "in_locked.png")])
    finally:
        locked.chmod(0o755)
    reasons = {s.path.name: s.reason for s in found.problems}
    assert "cannot be listed" in reasons["locked"]
    assert "cannot be searched" in reasons["in_locked.png"]
    assert "cannot be read" in reasons["unreadable.png"]


def test_permission_problems_are_reported_as_such(tree, monkeypatch):
    """The same cases as above, simulated, so that they are checked when the tests run as root."""
    locked = tree / "locked"
    locked.mkdir()
    shutil.copy(EXAMPLES / "shoulder_mr.png", locked / "in_locked.png")
    real_stat, real_access, real_scandir = os.stat, os.access, os.scandir

    def stat(path, *a, **k):
        if Path(path).parent == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *a, **k)

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: Path(p).name != "photo.JPG" and real_access(p, m))
    found = discover([str(tree), str(locked / "in_locked.png")])
    reasons = {s.path.name: s.reason for s in found.problems}
    assert reasons == {"locked": "permission denied: the folder cannot be listed; its files were not processed",
                       "in_locked.png": "permission denied: a folder on its path cannot be searched",
                       "photo.JPG": "permission denied: the file cannot be read"}
    assert "photo.JPG" not in [p.name for p, _ in found.files]


def test_output_stem():
    assert output_stem("x/RG1_UNCI.dcm") == "RG1_UNCI"
    assert output_stem("scan.nii.gz") == "scan"
    assert output_stem("IM0001") == "IM0001"
    assert output_stem("a.b.png") == "a.b"
    assert os.sep not in output_stem("/tmp/a.png")
