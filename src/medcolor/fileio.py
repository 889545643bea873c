"""Atomic file writes, and the clean-up of what a killed writer left behind.

Every file medcolor writes (images, DICOM, NIfTI, models, checkpoints, reports)
goes through :func:`atomic_write`: the content is written to a hidden temporary
file beside the target, named ``.NAME.XXXXXXXX.medcolor-tmp``, and renamed onto
``NAME`` only once complete, so a reader never sees a partial file.

A process killed with ``kill -9`` cannot delete its temporary file.  The
recognisable suffix lets the next run in the same folder remove such leftovers
(:func:`remove_stale_temps`), without touching any other file.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "remove_stale_temps", "TEMP_SUFFIX", "is_temp_name"]

#: Suffix of every temporary file :func:`atomic_write` creates.
TEMP_SUFFIX = ".medcolor-tmp"


def is_temp_name(name: str) -> bool:
    """True for a name :func:`atomic_write` gives its temporary files (``.NAME.XXXX.medcolor-tmp``)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)``, then rename ``tmp_path`` onto ``path`` so readers never see a partial file.

    The parent folder is created if needed.  The result gets the permissions a
    plain ``open()`` would give (umask applied).  If ``write`` raises, the
    temporary file is removed and the exception propagates; ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: str | Path, *, recursive: bool = True) -> list[Path]:
    """Delete the temporary files a killed :func:`atomic_write` left under ``folder``; returns them.

    Only names matching ``.*.medcolor-tmp`` that are regular files are removed.
    Call it before a run starts writing into ``folder`` (never while another
    process may be writing there).  A missing folder, or a file that vanished
    or cannot be removed, is not an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    pattern = f".*{TEMP_SUFFIX}"
    for p in sorted(folder.rglob(pattern) if recursive else folder.glob(pattern)):
        try:
            if p.is_file() and not p.is_symlink():
                p.unlink()
                removed.append(p)
        except OSError:
            continue  # not ours to fight over: a permission problem is reported by the writer itself
    return removed
