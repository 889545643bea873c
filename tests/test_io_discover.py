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


def test_folder_is_recursive_and_keeps_subfolders(tree):
    pairs = discover([str(tree)])
    got = {p.relative_to(tree).as_posix(): s.as_posix() for p, s in pairs}
    assert got == {"ct/a.dcm": "ct/a", "ct/deep/IM0001": "ct/deep/IM0001", "photo.JPG": "photo",
                   "vol.nii.gz": "vol"}


def test_files_and_unsupported_files_given_explicitly(tree):
    pairs = discover([str(tree / "vol.nii.gz"), str(tree / "notes.txt")])
    assert [(p.name, s.as_posix()) for p, s in pairs] == [("vol.nii.gz", "vol"), ("notes.txt", "notes")]


def test_globs(tree, monkeypatch):
    pairs = discover([str(tree / "**" / "*.dcm")])
    assert [(p.name, s.as_posix()) for p, s in pairs] == [("a.dcm", "ct/a")]
    monkeypatch.chdir(tree)
    pairs = discover(["*.JPG", "ct/*"])
    assert [(p.as_posix(), s.as_posix()) for p, s in pairs] == [
        ("photo.JPG", "photo"), ("ct/a.dcm", "a"), ("ct/deep/IM0001", "deep/IM0001")]


def test_duplicates_and_stem_collisions(tree):
    shutil.copy(EXAMPLES / "shoulder_mr.png", tree / "ct" / "a.png")
    pairs = discover([str(tree / "ct"), str(tree / "ct" / "a.dcm")])
    stems = [s.as_posix() for _, s in pairs]
    assert len(pairs) == 3 and len(set(stems)) == 3
    assert "a" in stems and "a_png" in stems


def test_missing_inputs_raise(tree):
    with pytest.raises(InputError, match="nope.dcm: no such file"):
        discover([str(tree / "nope.dcm")])
    with pytest.raises(InputError, match=r"\*\.bmp: no files match"):
        discover([str(tree / "*.bmp")])
    (tree / "empty").mkdir()
    assert discover([str(tree / "empty")]) == []  # the caller decides whether that is an error


def test_output_stem():
    assert output_stem("x/RG1_UNCI.dcm") == "RG1_UNCI"
    assert output_stem("scan.nii.gz") == "scan"
    assert output_stem("IM0001") == "IM0001"
    assert output_stem("a.b.png") == "a.b"
    assert os.sep not in output_stem("/tmp/a.png")
