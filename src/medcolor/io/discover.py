"""Expand command-line INPUTs (files, folders, globs) into ``(input path, output stem)`` pairs.

* A file is taken as given (even with an unsupported extension, so that the
  caller reports it as a bad input); its output stem is its name without the
  extension (``.nii.gz`` counts as one extension): ``RG1_UNCI.dcm`` -> ``RG1_UNCI``.
* A folder is searched recursively for files with a supported extension, plus
  extension-less files that are DICOM by content (PACS exports often have no
  suffix).  Hidden files and folders are skipped.  Stems keep the sub-folders
  relative to the given folder: ``data/`` + ``data/ct/a.dcm`` -> ``ct/a``.
* A glob (``*``, ``?``, ``[``; ``**`` recurses) keeps the sub-folders below its
  fixed leading part: ``data/**/*.dcm`` -> ``ct/a`` for ``data/ct/a.dcm``.
* The same file named twice is listed once.  Two inputs that would share an
  output stem (``a.png`` and ``a.dcm``) are told apart by their extension:
  the second becomes ``a_dcm``.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from ..errors import InputError
from .formats import SUPPORTED_EXTENSIONS, detect_format, extension_of

__all__ = ["discover", "output_stem"]

_MAGIC_CHARS = set("*?[")


def output_stem(path: str | Path) -> str:
    """File name without its extension (``scan.nii.gz`` -> ``scan``)."""
    name = Path(path).name
    ext = extension_of(name)
    return name[: len(name) - len(ext)] if ext else name


def _wanted(path: Path) -> bool:
    ext = extension_of(path)
    if ext in SUPPORTED_EXTENSIONS:
        return True
    return ext == "" and detect_format(path) == "dicom"


def _walk(folder: Path) -> list[Path]:
    """Supported files under ``folder``, recursively, sorted, hidden entries skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and _wanted(Path(root, name)):
                found.append(Path(root, name))
    return found


def _glob_base(pattern: str) -> Path:
    """The leading part of a glob pattern without wildcards (relative stems start below it)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _MAGIC_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def discover(inputs: list[str]) -> list[tuple[Path, Path]]:
    """Expand ``inputs`` -> ``[(input file, relative output stem without extension), ...]``.

    Raises :class:`~medcolor.errors.InputError` for an input that does not
    exist or a glob that matches nothing.  A folder holding no supported file
    contributes nothing (the caller decides whether that is an error).
    """
    pairs: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_file():
            pairs.append((path, Path(output_stem(path))))
        elif path.is_dir():
            pairs.extend((f, f.relative_to(path).parent / output_stem(f)) for f in _walk(path))
        elif _MAGIC_CHARS & set(str(item)):
            base = _glob_base(str(path))
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise InputError(item, "no files match this pattern")
            for match in map(Path, matches):
                if match.is_dir():
                    pairs.extend((f, f.relative_to(base).parent / output_stem(f)) for f in _walk(match))
                elif match.is_file() and not match.name.startswith("."):
                    pairs.append((match, match.relative_to(base).parent / output_stem(match)))
        elif path.exists():
            raise InputError(item, "not a regular file or folder")
        else:
            raise InputError(item, "no such file or directory")
    return _dedupe(pairs)


def _dedupe(pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    seen_files: set[Path] = set()
    seen_stems: set[str] = set()
    out = []
    for path, stem in pairs:
        key = path.resolve()
        if key in seen_files:
            continue
        seen_files.add(key)
        if str(stem) in seen_stems:
            ext = extension_of(path).lstrip(".").replace(".", "_") or "file"
            stem = stem.with_name(f"{stem.name}_{ext}")
            n = 2
            while str(stem) in seen_stems:
                stem, n = stem.with_name(f"{stem.name.rsplit('~', 1)[0]}~{n}"), n + 1
        seen_stems.add(str(stem))
        out.append((path, stem))
    return out
