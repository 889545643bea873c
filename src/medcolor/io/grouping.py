"""Input files -> units: the single-frame DICOM files of one series together, every other file alone.

:func:`group_inputs` is made for folders as they come from PACS tools, viewers
and copies, which hold more than one clean series:

* a file whose header or pixel data cannot be read in full (a truncated copy, an
  interrupted transfer) is kept out of every series and stays a unit of its own,
  so that reading it reports it on its own line and the series loses nothing;
* the same instance twice (one SOPInstanceUID: a copy, or the same image in
  another transfer syntax) is used once, with a note naming the file left out; a
  lossless encoding is preferred over a lossy one, else the first file;
* several images at one position (echoes, phases of a dynamic series, repeated
  acquisitions) are split into one unit each by what tells them apart:
  EchoNumbers, TemporalPositionIdentifier, TemporalPositionIndex, TriggerTime or
  AcquisitionNumber, the first that leaves one image per position in every part
  (the part is named, e.g. ``echo 2``, in the notes and in the output's
  SeriesDescription, and its output gets a series UID of its own).  A series none
  of them splits stays whole and is refused when opened, with a line naming the
  files at the first shared position.

Files are DICOM by content (their first bytes), whatever their names.  Notes and
pydicom's warnings met while grouping are kept on the unit
(:attr:`DicomSeries.notes`) and given, once each, when it is opened.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from .dicom_header import FileWarnings, float_values, read_header
from .formats import detect_format

__all__ = ["DicomSeries", "group_inputs", "SPLIT_BY", "same_position"]

#: ``(attribute, how a part is named)`` tried in this order to split images that share a position.
SPLIT_BY: tuple[tuple[str, str], ...] = (
    ("EchoNumbers", "echo"),
    ("TemporalPositionIdentifier", "temporal position"),
    ("TemporalPositionIndex", "temporal position"),
    ("TriggerTime", "trigger time"),
    ("AcquisitionNumber", "acquisition"),
)
_DEPTH_TOL = 1e-4  # mm along the slice normal: closer slices are at one position


@dataclass
class DicomSeries:
    """The files of one DICOM series (or of one part of it), an input unit of its own.

    Attributes:
        uid: SeriesInstanceUID.
        paths: the files, in the order :func:`group_inputs` found them (sorted on opening).
        headers: their pydicom headers (no pixel data), same order as ``paths``.
        part: which part of a split series this is (``"echo 2"``), None for a whole series.
        notes: one-line notes, each starting with the file it is about (duplicates left out,
            pydicom's warnings), given as warnings when the unit is opened.
    """

    uid: str
    paths: list[Path]
    headers: list = field(default_factory=list, repr=False)
    part: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """The first file (names the unit in messages)."""
        return self.paths[0]

    def __len__(self) -> int:
        return len(self.paths)


def _grouping_header(path: Path):
    """``(header, warnings)`` of a DICOM file whose pixel data is complete, else ``(None, [])``."""
    caught = FileWarnings(path)
    try:
        ds = read_header(path, caught=caught)
    except InputError:
        return None, []  # read again, and reported on its own line, as a unit of its own
    return ds, [f"{path}: {m}" for m in caught.messages]


def _text(ds, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None or value == "":
        return ""
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and not isinstance(value, str)):
        return "\\".join(str(v) for v in value)
    return str(value)


def _lossy(ds) -> bool:
    from pydicom.uid import UID

    ts = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    return str(ds.get("LossyImageCompression", "00")) == "01" or "lossy" in ts.name.lower() or \
        ts in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
               "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.203")


def _encoding(ds) -> str:
    from pydicom.uid import UID

    ts = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    return ts.name if ts.name and ts.name != str(ts) else (str(ts) or "unknown transfer syntax")


def _one_per_instance(series: DicomSeries) -> None:
    """Keep one file per SOPInstanceUID (lossless before lossy, else the first); note the others."""
    by_sop: dict[str, list[int]] = {}
    for i, ds in enumerate(series.headers):
        sop = _text(ds, "SOPInstanceUID")
        by_sop.setdefault(sop or f"#{i}", []).append(i)
    keep = set()
    for sop, idx in by_sop.items():
        best = min(idx, key=lambda i: (_lossy(series.headers[i]), idx.index(i)))
        keep.add(best)
        kept, kept_ds = series.paths[best], series.headers[best]
        for i in idx:
            if i == best:
                continue
            ds = series.headers[i]
            if _encoding(ds) == _encoding(kept_ds):
                series.notes.append(f"{series.paths[i]}: the same instance as {kept} (SOP Instance UID {sop}); "
                                    "used once")
            else:
                series.notes.append(f"{series.paths[i]}: the same instance as {kept} (SOP Instance UID {sop}) in "
                                    f"another encoding ({_encoding(ds)}); {kept.name} ({_encoding(kept_ds)}) is used")
    order = sorted(keep)
    series.paths = [series.paths[i] for i in order]
    series.headers = [series.headers[i] for i in order]


def same_position(headers) -> list[list[int]] | None:
    """Indices of the images that share a position (groups of two or more), sorted by depth.

    None when the geometry is incomplete (then no position is known to be shared).  The
    position is the depth along the slice normal of the first ImageOrientationPatient.
    """
    orients = [float_values(h.get("ImageOrientationPatient") or (), 6) for h in headers]
    positions = [float_values(h.get("ImagePositionPatient") or (), 3) for h in headers]
    if any(o is None for o in orients) or any(p is None for p in positions):
        return None
    normal = np.cross(orients[0][:3], orients[0][3:])
    depth = [float(np.dot(normal, p)) for p in positions]
    order = sorted(range(len(headers)), key=lambda i: (depth[i], i))
    groups, current = [], [order[0]] if order else []
    for prev, i in zip(order, order[1:]):
        if depth[i] - depth[prev] < _DEPTH_TOL:
            current.append(i)
        else:
            groups.append(current)
            current = [i]
    groups.append(current)
    return [g for g in groups if len(g) > 1]


def _split(series: DicomSeries) -> list[DicomSeries]:
    """One series, or its parts when an attribute of :data:`SPLIT_BY` separates images at one position."""
    if len(series) < 2 or not same_position(series.headers):
        return [series]
    for keyword, label in SPLIT_BY:
        values = [_text(h, keyword) for h in series.headers]
        if len(set(values)) < 2:
            continue
        parts: dict[str, list[int]] = {}
        for i, value in enumerate(values):
            parts.setdefault(value, []).append(i)
        if any(same_position([series.headers[i] for i in idx]) for idx in parts.values()):
            continue
        out = []
        for value, idx in parts.items():
            name = f"{label} {value}" if value else f"no {label}"
            out.append(DicomSeries(uid=series.uid, paths=[series.paths[i] for i in idx],
                                   headers=[series.headers[i] for i in idx], part=name))
        for note in series.notes:  # each with the part of the file it names (a left-out copy: the first part)
            home = next((p for p in out if any(note.startswith(f"{f}:") for f in p.paths)), out[0])
            home.notes.append(note)
        summary = ", ".join(f"{p.part}: {len(p)} file(s)" for p in out)
        for p in out:
            p.notes.append(f"{p.path}: DICOM series {series.uid} holds several images per position; split by "
                           f"{keyword} into {len(out)} series ({summary}); this is the {p.part} part")
        return out
    return [series]  # refused when opened, naming the files at the first shared position


def group_inputs(paths) -> list:
    """Group input files into units: ``[Path | DicomSeries, ...]`` in the order of their first file.

    Single-frame DICOM files whose SeriesInstanceUID is shared by at least two
    inputs, once incomplete files are left out, are grouped (see the module
    docstring); every other input is returned as its ``Path``.  A group left
    with one file stays a :class:`DicomSeries` when it has notes to give (the
    duplicates it dropped), else becomes that file's ``Path``.
    """
    paths = list({Path(p).resolve(): Path(p) for p in paths}.values())  # a file named twice counts once
    units: list = []
    by_uid: dict[str, DicomSeries] = {}
    for path in paths:
        ds, notes = _grouping_header(path) if path.is_file() and detect_format(path) == "dicom" else (None, [])
        uid = _text(ds, "SeriesInstanceUID") if ds is not None else ""
        if not uid or int(ds.get("NumberOfFrames", 1) or 1) > 1:
            units.append(path)
            continue
        if uid not in by_uid:
            by_uid[uid] = DicomSeries(uid=uid, paths=[], headers=[])
            units.append(by_uid[uid])
        series = by_uid[uid]
        series.paths.append(path)
        series.headers.append(ds)
        series.notes.extend(notes)
    out: list = []
    for unit in units:
        if not isinstance(unit, DicomSeries):
            out.append(unit)
            continue
        _one_per_instance(unit)
        for part in _split(unit):
            dropped = any(not any(n.startswith(f"{p}:") for p in part.paths) for n in part.notes)
            out.append(part if len(part) > 1 or dropped or part.part else part.paths[0])
    return out
