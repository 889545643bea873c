"""Expand command-line INPUTs (files, folders, globs) into input files with unique output stems.

* A file is taken as given (even with an unsupported extension, so that the
  caller reports it as a bad input); its output stem is its name without the
  extension (``.nii.gz`` counts as one extension): ``RG1_UNCI.dcm`` -> ``RG1_UNCI``;
  an all-digit "extension" is part of a UID or a number, not a type, and is kept
  (``CT.1.2.840.5`` -> ``CT.1.2.840.5``, ``IM.0001`` -> ``IM.0001``).
* A folder is searched recursively for files with a supported extension, plus
  files that are DICOM by content whatever their name: extension-less files, and
  names such as ``CT.1.2.826.0.1...`` that dcmtk's storescp/getscu write, found
  by the ``DICM`` preamble (132 bytes read, never more, from a file of unknown
  type; one that cannot be read is left out silently, as any other file of
  another type).  Hidden files and folders are skipped.  Stems keep the sub-folders
  relative to the given folder: ``data/`` + ``data/ct/a.dcm`` -> ``ct/a``.
* A glob (``*``, ``?``, ``[``; ``**`` recurses) keeps the sub-folders below its
  fixed leading part: ``data/**/*.dcm`` -> ``ct/a`` for ``data/ct/a.dcm``.
* Nothing is ever opened that is not a regular file: FIFOs, sockets and devices
  are skipped with a note (reading a FIFO would block forever).  A file or folder
  that cannot be read for lack of permission is reported as such.
* Output stems are unique by construction, whatever the order of the INPUTs
  (compared case-insensitively, for case-insensitive file systems):

  - the same file named twice is listed once (with its longest, folder-relative stem);
  - inputs that share a stem are all renamed by the folders that tell them apart,
    relative to their closest common folder (``d1/a.png`` and ``d2/a.png`` ->
    ``d1/a`` and ``d2/a``), then by their extension (``a.png`` and ``a.dcm`` ->
    ``a_png`` and ``a_dcm``), then numbered in path order (``a~1``, ``a~2``);
  - a stem that looks like a slice of another input (``vol_z001`` next to ``vol``,
    whose slices are written as ``vol_z000``, ``vol_z001`` ...) gets its extension
    appended (``vol_z001_png``), so no output can overwrite another.
"""
from __future__ import annotations

import glob
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from .formats import SUPPORTED_EXTENSIONS, detect_format, extension_of, has_dicm_preamble

__all__ = ["discover", "output_stem", "InputFile", "Skipped", "Discovery", "SLICE_SUFFIX"]

_MAGIC_CHARS = set("*?[")

#: Suffix of the per-slice outputs of a volume written as 2-D images (``name_z012.png``).
SLICE_SUFFIX = "_z{index:03d}"
_SLICE_RE = re.compile(r"^(?P<base>.+)_z\d{3,}$", re.IGNORECASE)


class InputFile(NamedTuple):
    """One input file and the relative output stem (no extension) its outputs are named after."""

    path: Path
    stem: Path


@dataclass(frozen=True)
class Skipped:
    """An input that is not processed, and why.

    ``problem`` True: a failure the caller reports and counts (permission denied,
    missing file); False: a note (a FIFO, socket or device file).
    """

    path: Path
    reason: str
    problem: bool


@dataclass
class Discovery:
    """What :func:`discover` found: the files to process and the inputs left out."""

    files: list[InputFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def problems(self) -> list[Skipped]:
        return [s for s in self.skipped if s.problem]

    @property
    def notes(self) -> list[Skipped]:
        return [s for s in self.skipped if not s.problem]


def output_stem(path: str | Path) -> str:
    """File name without its extension (``scan.nii.gz`` -> ``scan``; ``CT.1.2.3`` stays whole)."""
    name = Path(path).name
    ext = extension_of(name)
    return name[: len(name) - len(ext)] if ext and not ext[1:].isdigit() else name


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


class _Walker:
    """Collects files and skipped entries; never opens anything that is not a regular file."""

    def __init__(self, exclude: Path | None) -> None:
        self.found = Discovery()
        self.exclude = exclude.resolve() if exclude is not None else None

    def skip(self, path: Path, reason: str, problem: bool) -> None:
        self.found.skipped.append(Skipped(path, reason, problem))

    def regular(self, path: Path, explicit: bool) -> bool:
        """True for a readable regular file; records why anything else is skipped."""
        try:
            mode = os.stat(path).st_mode
        except PermissionError:
            self.skip(path, "permission denied: a folder on its path cannot be searched", True)
            return False
        except FileNotFoundError:
            if path.is_symlink():
                self.skip(path, "broken symbolic link", True)
            elif explicit:
                self.skip(path, "no such file or directory", True)
            return False
        except OSError as exc:
            self.skip(path, f"cannot access ({exc.strerror})", True)
            return False
        if not stat.S_ISREG(mode):
            self.skip(path, f"skipped: {_kind(mode)}, not a regular file", False)
            return False
        if not os.access(path, os.R_OK):
            self.skip(path, "permission denied: the file cannot be read", True)
            return False
        return True

    def wanted(self, path: Path) -> bool:
        """Supported extension, or no extension and DICOM by content, or the DICOM preamble whatever the name."""
        ext = extension_of(path)
        if ext not in SUPPORTED_EXTENSIONS and ext != "":
            return has_dicm_preamble(path)  # dcmtk's CT.1.2.826..., SC.1.2...; other files silently left out
        if not self.regular(path, explicit=False):
            return False
        return ext != "" or detect_format(path) == "dicom"

    def walk(self, folder: Path) -> list[Path]:
        """Supported files under ``folder``, recursively, sorted, hidden entries skipped."""
        found = []

        def unreadable(exc: OSError) -> None:
            where = Path(exc.filename) if exc.filename else folder
            if isinstance(exc, PermissionError):
                self.skip(where, "permission denied: the folder cannot be listed; its files were not processed",
                          True)
            else:
                self.skip(where, f"cannot list the folder ({exc.strerror})", True)

        for root, dirs, files in os.walk(folder, onerror=unreadable):
            if self.exclude is not None:
                dirs[:] = [d for d in dirs if Path(root, d).resolve() != self.exclude]
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith(".") and self.wanted(Path(root, name)):
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


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except PermissionError:
        return False


def discover(inputs: list[str], *, exclude: str | Path | None = None) -> Discovery:
    """Expand ``inputs`` -> :class:`Discovery` of ``InputFile(path, stem)`` plus skipped entries.

    ``exclude``: a folder never searched (the output folder, so a second run
    does not take the first run's outputs as inputs).  Raises
    :class:`~medcolor.errors.InputError` for a glob that matches nothing.  A
    missing file, a permission problem or a special file does not raise: it is
    listed in ``skipped``.  A folder holding no supported file contributes
    nothing (the caller decides whether that is an error).
    """
    walker = _Walker(Path(exclude) if exclude is not None else None)
    pairs: list[InputFile] = []
    for item in inputs:
        path = Path(item).expanduser()
        if _is_dir(path):
            pairs.extend(InputFile(f, f.relative_to(path).parent / output_stem(f)) for f in walker.walk(path))
        elif _MAGIC_CHARS & set(str(item)) and not os.path.lexists(path):
            base = _glob_base(str(path))
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise InputError(item, "no files match this pattern")
            for match in map(Path, matches):
                if _is_dir(match):
                    pairs.extend(InputFile(f, f.relative_to(base).parent / output_stem(f))
                                 for f in walker.walk(match))
                elif not match.name.startswith(".") and walker.regular(match, explicit=True):
                    pairs.append(InputFile(match, match.relative_to(base).parent / output_stem(match)))
        elif walker.regular(path, explicit=True):
            pairs.append(InputFile(path, Path(output_stem(path))))
    walker.found.files = unique_stems(pairs)
    return walker.found


# ------------------------------------------------------------------ unique output stems
def _key(stem: Path) -> str:
    return stem.as_posix().casefold()


def _dedupe_files(pairs: list[InputFile]) -> list[InputFile]:
    """One entry per file; its stem is the longest (most folder-relative) of those it was given with."""
    best: dict[Path, InputFile] = {}
    order: list[Path] = []
    for pair in pairs:
        key = pair.path.resolve()
        if key not in best:
            order.append(key)
            best[key] = pair
        elif (len(pair.stem.parts), pair.stem.as_posix()) > (len(best[key].stem.parts), best[key].stem.as_posix()):
            best[key] = InputFile(best[key].path, pair.stem)
    return [best[k] for k in order]


def _by_folders(members: list[InputFile]) -> list[Path]:
    """Stems relative to the members' closest common folder (``d1/a``, ``d2/a``)."""
    parents = [m.path.resolve().parent for m in members]
    common = Path(os.path.commonpath(parents))
    return [p.relative_to(common) / m.stem.name for p, m in zip(parents, members)]


def _by_extension(members: list[InputFile]) -> list[Path]:
    return [m.stem.with_name(f"{m.stem.name}_{extension_of(m.path).lstrip('.').replace('.', '_') or 'file'}")
            for m in members]


def _numbered(members: list[InputFile]) -> list[Path]:
    ranks = {id(m): i for i, m in enumerate(sorted(members, key=lambda m: str(m.path.resolve())), start=1)}
    return [m.stem.with_name(f"{m.stem.name}~{ranks[id(m)]}") for m in members]


def unique_stems(pairs: list[InputFile]) -> list[InputFile]:
    """Deduplicate files and make their stems unique, independently of the order they were given in.

    See the module docstring for the rules.  The order of ``pairs`` is kept.
    """
    files = _dedupe_files(pairs)
    steps = (_by_folders, _by_extension, _numbered)
    clash_rounds = 0
    while True:
        groups: dict[str, list[int]] = {}
        for i, f in enumerate(files):
            groups.setdefault(_key(f.stem), []).append(i)
        clashes = [idx for idx in groups.values() if len(idx) > 1]
        if clashes:  # every member of a colliding group is renamed, so the order of INPUTs does not matter
            step = steps[min(clash_rounds, len(steps) - 1)]
            clash_rounds += 1
            for idx in clashes:
                for i, stem in zip(idx, step([files[i] for i in idx])):
                    files[i] = InputFile(files[i].path, stem)
            continue
        shadowed = [i for i, f in enumerate(files)
                    if (m := _SLICE_RE.match(f.stem.as_posix())) and m["base"].casefold() in groups]
        if not shadowed:
            return files
        for i in shadowed:  # a slice-like name yields to the volume whose slices it mimics
            files[i] = InputFile(files[i].path, _by_extension([files[i]])[0])
