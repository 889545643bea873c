"""Atomic, no-overwrite output in PNG, TIFF, JPEG, DICOM or NIfTI, whole or frame by frame.

``write(path, rgb, meta)`` writes an array at once.  ``open_writer(paths, meta)``
returns a :class:`FrameWriter` that takes one colorized frame at a time, so a
volume is never held whole:

* png / tiff / jpg: one path per frame;
* dcm with one path: one instance (single or multi-frame Secondary Capture);
  with one path per frame: one output *series* of single-frame instances (a
  DICOM series input), whose UIDs derive from the source's
  (:mod:`medcolor.io.dicom_writer`);
* nii: one path, the RGB24 volume.

``content="confidence"`` writes the per-pixel confidence of the colours (float
in [0, 1], 1 = sure) instead, one ``(H, W)`` frame at a time, to the paths
:func:`confidence_paths` gives beside the colour outputs: 8-bit gray PNG/TIFF/JPEG
(0 = none, 255 = full), a uint8 NIfTI volume scaled by 1/255 with the input's
affine, or a derived MONOCHROME2 DICOM series in the source's study
(:mod:`medcolor.io.dicom_writer`).

Every file appears atomically under its name when complete (hidden temporary
file + rename, see :mod:`medcolor.fileio`); existing outputs raise
:class:`~medcolor.io.formats.OutputExistsError` before anything is written
unless ``overwrite``.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import MedcolorError, UsageError
from ..fileio import TEMP_SUFFIX, atomic_write
from .formats import WRITE_FORMATS, OutputExistsError, extension_of
from .meta import ImageMeta

__all__ = ["write", "open_writer", "FrameWriter", "format_for_path", "confidence_paths", "CONFIDENCE_SUFFIX"]

#: Added to an output's stem to name its confidence map (``ct_z004.png`` -> ``ct_z004_confidence.png``).
CONFIDENCE_SUFFIX = "_confidence"

_SUFFIX_FORMATS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpg", ".jpeg": "jpg",
                   ".dcm": "dcm", ".dicom": "dcm", ".nii": "nii", ".nii.gz": "nii"}
_FORMAT_ALIASES = {"tif": "tiff", "jpeg": "jpg", "dicom": "dcm", "nifti": "nii", "nii.gz": "nii"}


def format_for_path(path: str | Path, fmt: str | None = None) -> str:
    """The output format for ``path``: ``fmt`` if given (aliases allowed), else from the suffix, else png."""
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        key = _FORMAT_ALIASES.get(key, key)
        if key not in WRITE_FORMATS:
            raise UsageError(f"unknown output format {fmt!r}; choose one of {', '.join(WRITE_FORMATS)}")
        return key
    return _SUFFIX_FORMATS.get(extension_of(path), "png")


def confidence_paths(paths: list[Path]) -> list[Path]:
    """Where the confidence map of the outputs ``paths`` goes: beside each, stem + ``_confidence`` + same suffix.

    ``.nii.gz`` counts as one suffix (``ct.nii.gz`` -> ``ct_confidence.nii.gz``); a DICOM
    series output (one file per slice) gets one file per slice likewise
    (``ct/IM0001.dcm`` -> ``ct/IM0001_confidence.dcm``).
    """
    out = []
    for path in map(Path, paths):
        ext = extension_of(path)
        if ext not in _SUFFIX_FORMATS:
            ext = path.suffix.lower()
        cut = len(path.name) - len(ext)
        out.append(path.with_name(path.name[:cut] + CONFIDENCE_SUFFIX + path.name[cut:]))
    return out


def _confidence_frame(frame: np.ndarray, shape: tuple[int, int], where: Path) -> np.ndarray:
    """An ``(H, W)`` confidence (float in [0, 1], or uint8) -> uint8, 255 = full confidence."""
    frame = np.asarray(frame)
    if frame.shape != shape or not (frame.dtype == np.uint8 or frame.dtype.kind == "f"):
        raise MedcolorError(f"{where}: expected an (H, W) = {shape} confidence map, float in [0, 1] or uint8, "
                            f"got {frame.dtype} {frame.shape}")
    if frame.dtype == np.uint8:
        return np.ascontiguousarray(frame)
    return np.rint(np.clip(np.nan_to_num(frame, nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)


def _as_meta(meta, shape) -> ImageMeta:
    """The reader's :class:`ImageMeta`; None or a plain dict (no source) gives an anonymous one."""
    if isinstance(meta, ImageMeta):
        return meta
    return ImageMeta(path=str((meta or {}).get("path", "")), format=str((meta or {}).get("format", "image")),
                     shape=tuple(shape))


class _Temp:
    """A hidden temporary file beside ``path`` (the :func:`~medcolor.fileio.atomic_write` naming), renamed on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


class FrameWriter:
    """Takes colorized frames one at a time (:meth:`add`), in source frame order; :meth:`close` commits.

    Use it as a context manager: on an exception nothing half-written is left
    under the output names (files of a per-frame format already completed stay).
    ``written`` lists the files committed so far, ``skipped`` the existing
    per-frame outputs left alone (``skip_existing``).
    """

    def __init__(self, paths: list[Path], meta: ImageMeta, *, fmt: str, model_name: str,
                 skip: frozenset = frozenset(), content: str = "colour") -> None:
        self.paths, self.meta, self.fmt, self.model_name = paths, meta, fmt, model_name
        self.content = content
        self.written: list[Path] = []
        self.skipped: list[Path] = []
        self._skip = skip
        self.count = 0
        self._temp: _Temp | None = None
        self._sink = None
        self._series_uid = None
        self._closed = False
        if fmt == "dcm":
            from .dicom_writer import output_series_uid

            self._series_uid = output_series_uid(meta, model_name, content=content)
        if len(paths) == 1 and (fmt == "nii" or (fmt == "dcm" and meta.frames > 1)):
            self._temp = _Temp(paths[0])
            if fmt == "nii":
                from .nifti import NiftiWriter

                self._sink = NiftiWriter(self._temp.tmp, meta, model_name,
                                         compress=extension_of(paths[0]) != ".nii", content=content)
            else:
                self._sink = tempfile.TemporaryFile(prefix=".medcolor-frames-")  # raw RGB, replayed on close

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def add(self, rgb: np.ndarray) -> None:
        """Write the next ``(H, W, 3)`` uint8 frame (a confidence writer: ``(H, W)`` float in [0, 1] or uint8)."""
        rgb = np.asarray(rgb)
        h, w = self.meta.shape[1:]
        if self.content == "confidence":
            rgb = _confidence_frame(rgb, (h, w), self.paths[0])
        elif rgb.shape != (h, w, 3) or rgb.dtype != np.uint8:
            raise MedcolorError(f"{self.paths[0]}: expected a uint8 RGB frame ({h}, {w}, 3), got {rgb.dtype} "
                                f"{rgb.shape}")
        if self.count >= self.meta.frames:
            raise MedcolorError(f"{self.paths[0]}: more frames than the source's {self.meta.frames}")
        k, self.count = self.count, self.count + 1
        if self._sink is not None:
            if self.fmt == "nii":
                self._sink.add(rgb)
            else:
                self._sink.write(np.ascontiguousarray(rgb).tobytes())
            return
        out = self.paths[k] if len(self.paths) > 1 else self.paths[0]
        if out in self._skip:
            self.skipped.append(out)
            return
        if self.fmt == "dcm":
            self._write_instance(out, rgb[None], frame=k)
        else:
            from .images import write_image

            atomic_write(out, lambda tmp: write_image(tmp, rgb[None], self.fmt, self.model_name))
        self.written.append(out)

    def _write_instance(self, out: Path, rgb: np.ndarray, *, frame: int | None, pixel_file=None) -> None:
        from .dicom_writer import output_instance_uid, write_dicom

        numbers = self.meta.uids.instance_numbers
        if frame is None or len(numbers) <= 1:
            number = numbers[0] if numbers and numbers[0] is not None else 1
        else:
            number = numbers[frame] if numbers[frame] is not None else frame + 1
        uid = output_instance_uid(self._series_uid, self.meta, frame)
        atomic_write(out, lambda tmp: write_dicom(tmp, rgb, self.meta, self.model_name, series_uid=self._series_uid,
                                                  sop_instance_uid=uid, instance_number=number, frame=frame,
                                                  pixel_file=pixel_file, content=self.content))

    def close(self) -> list[Path]:
        """Commit the outputs; returns every file written.  Raises when frames are missing."""
        if self._closed:
            return self.written
        self._closed = True
        if self._sink is None:
            if self.count != self.meta.frames:
                raise MedcolorError(f"{self.paths[0]}: {self.count} of {self.meta.frames} frames were written")
            return self.written
        sink, self._sink = self._sink, None
        try:
            if self.fmt == "nii":
                sink.close()
            else:
                if self.count != self.meta.frames:
                    raise MedcolorError(f"{self.paths[0]}: {self.count} of {self.meta.frames} frames were written")
                if sink.tell() % 2:
                    sink.write(b"\x00")  # OB values have even length
                sink.seek(0)
                dims = (*self.meta.shape,) + (() if self.content == "confidence" else (3,))
                shape = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), dims, (0,) * len(dims))
                from .dicom_writer import output_instance_uid, write_dicom

                numbers = self.meta.uids.instance_numbers
                number = numbers[0] if numbers and numbers[0] is not None else 1
                write_dicom(self._temp.tmp, shape, self.meta, self.model_name, series_uid=self._series_uid,
                            sop_instance_uid=output_instance_uid(self._series_uid, self.meta, None),
                            instance_number=number, frame=None, pixel_file=sink, content=self.content)
                sink.close()
            self._temp.commit()
        except BaseException:
            if hasattr(sink, "close"):
                sink.close()
            self._temp.discard()
            raise
        self.written.append(self.paths[0])
        return self.written

    def abort(self) -> None:
        """Drop what is unfinished (the temporary file of a volume output)."""
        self._closed = True
        if self._sink is not None:
            try:
                self._sink.close()
            except (OSError, MedcolorError):
                pass
            self._sink = None
        if self._temp is not None:
            self._temp.discard()


def open_writer(paths, meta: ImageMeta, *, fmt: str | None = None, model_name: str = "medcolor",
                overwrite: bool = False, skip_existing: bool = False, content: str = "colour") -> FrameWriter:
    """A :class:`FrameWriter` for ``meta.frames`` frames into ``paths`` (see the module docstring).

    ``content``: ``"colour"`` (``add`` takes ``(H, W, 3)`` uint8 RGB) or ``"confidence"``
    (``add`` takes ``(H, W)`` float in [0, 1], 1 = sure, or uint8; written as gray, see
    :func:`confidence_paths` for where).

    ``fmt`` comes from the first path's suffix when None.  ``skip_existing``: with
    one path per frame, frames whose output exists are left alone (resuming an
    interrupted run) instead of raising.  Raises
    :class:`OutputExistsError` for an existing output unless ``overwrite``, and
    :class:`~medcolor.errors.MedcolorError` for a number of paths that does not fit
    the format, both before anything is written.
    """
    from .dicom_writer import CONTENTS

    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise MedcolorError("no output path given")
    if content not in CONTENTS:
        raise UsageError(f"unknown output content {content!r}; choose one of {', '.join(CONTENTS)}")
    fmt = format_for_path(paths[0], fmt)
    frames = meta.frames
    if fmt == "nii" and len(paths) != 1:
        raise MedcolorError(f"{paths[0]}: a NIfTI output is one file, got {len(paths)} paths")
    if fmt in ("png", "tiff", "jpg") and len(paths) != frames:
        raise MedcolorError(f"{paths[0]}: {fmt} holds one frame; {frames} frames need {frames} paths "
                            f"(e.g. name_z000.{fmt}), got {len(paths)}; or use dcm/nii")
    if fmt == "dcm" and len(paths) not in (1, frames):
        raise MedcolorError(f"{paths[0]}: DICOM output is one file or one file per frame ({frames}), "
                            f"got {len(paths)} paths")
    per_frame = len(paths) > 1 or (len(paths) == 1 and fmt in ("png", "tiff", "jpg"))
    skip = set()
    for path in paths:
        if path.exists() and not path.is_file():
            raise MedcolorError(f"{path}: output path exists and is not a file")
        if path.exists() and not overwrite:
            if not (skip_existing and per_frame):
                raise OutputExistsError(path)
            skip.add(path)
    return FrameWriter(paths, meta, fmt=fmt, model_name=model_name, skip=frozenset(skip), content=content)


def write(path: str | Path, rgb: np.ndarray, meta: ImageMeta | None = None, *, fmt: str | None = None,
          model_name: str = "medcolor", overwrite: bool = False) -> Path:
    """Write colorized ``rgb`` uint8 ``(F, H, W, 3)`` (or ``(H, W, 3)``) to one file ``path``; returns it.

    ``fmt``: ``png`` | ``tiff`` | ``jpg`` | ``dcm`` | ``nii`` (``.nii.gz``); from
    the suffix when None (png when the suffix says nothing).  png/tiff/jpg take
    one frame.  ``meta`` is the reader's :class:`ImageMeta`: DICOM output copies
    the source's patient/study and derives its UIDs from the source's, NIfTI
    output keeps its affine, header and slicing axis.  The file appears
    atomically; an existing file raises :class:`OutputExistsError` unless ``overwrite``.
    """
    path = Path(path)
    rgb = np.asarray(rgb)
    if rgb.ndim == 3:
        rgb = rgb[None]
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise MedcolorError(f"{path}: expected uint8 RGB (F, H, W, 3), got {rgb.dtype} {rgb.shape}")
    meta = _as_meta(meta, rgb.shape[:3])
    fmt = format_for_path(path, fmt)
    if tuple(meta.shape) != tuple(rgb.shape[:3]) and fmt in ("png", "tiff", "jpg") and rgb.shape[0] == 1:
        # one frame of a stack written on its own: the raster formats keep no geometry
        meta = dataclasses.replace(meta, shape=tuple(rgb.shape[:3]))
    elif tuple(meta.shape) != tuple(rgb.shape[:3]):
        raise MedcolorError(f"{path}: {rgb.shape[0]} frames of {rgb.shape[2]}x{rgb.shape[1]} do not match the "
                            f"source's {meta.frames} of {meta.shape[2]}x{meta.shape[1]}")
    with open_writer([path], meta, fmt=fmt, model_name=model_name, overwrite=overwrite) as writer:
        for frame in rgb:
            writer.add(frame)
    return path
