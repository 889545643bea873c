"""Colorize one input unit (a file, a volume or a DICOM series) in bounded memory.

:func:`colorize_unit` reads a unit's headers, checks the limits and the
outputs, then colorizes it ``batch_size`` frames at a time and writes each
frame as soon as it is ready, so a 1500-slice CT or a 1200-frame DICOM never
has to fit in memory::

    from medcolor.batch import UnitOptions, colorize_unit, unit_outputs
    from medcolor.io import group_inputs, open_image

    for unit in group_inputs(paths):                       # DICOM series become one unit
        meta = open_image(unit).meta                       # headers only
        outs = unit_outputs(Path("out"), Path("ct"), meta, "dcm")
        colorize_unit(unit, outs, UnitOptions(model="photo", fmt="dcm"))

Per frame: display gray -> L* -> the model's a*b* at the working size ->
(optional) a :class:`ChromaHook` that may hold frames back and change their
a*b* using their neighbours (slice-to-slice smoothing) -> recombined with the
full-resolution L* (the structure guarantee) -> written.  A custom ``predict``
(e.g. a rendering from Hounsfield units) replaces the model; with
``needs_hu`` it receives each frame's HU as well.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .io import ImageMeta, open_image, open_writer
from .io.writer import format_for_path
from .limits import Limits

__all__ = ["UnitOptions", "UnitResult", "ChromaHook", "colorize_unit", "unit_outputs"]


class ChromaHook(Protocol):
    """Post-processes the a*b* of consecutive frames of one unit (e.g. smoothing along the slice axis).

    ``push`` receives frames in order: ``L`` ``(1, 1, H, W)`` full-resolution L* in
    [0, 100] and ``ab`` ``(1, 2, h, w)`` a*b* at the working size (CPU tensors).  It
    returns the frames now ready, in order, as ``(L, ab)`` pairs (``ab`` at any
    resolution; L must be returned unchanged); it may hold frames back.
    ``flush`` returns the frames still held at the end of the unit.  Every pushed
    frame must come out exactly once.
    """

    def push(self, L: torch.Tensor, ab: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]: ...

    def flush(self) -> list[tuple[torch.Tensor, torch.Tensor]]: ...


@dataclass
class UnitOptions:
    """How :func:`colorize_unit` reads, colorizes and writes.

    Attributes:
        model: shipped name, path or loaded module (ignored when ``predict`` is given).
        model_name: named in the outputs (default: the model's own name).
        fmt: output format (``png``/``tiff``/``jpg``/``dcm``/``nii``); from the first path's suffix when None.
        window: display window (preset, ``"C,W"`` or ``(center, width)``); None: the file's own.
        axis: NIfTI slicing axis (default 2).
        size: working size (``"auto"``: the model's; None: native).
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: frames per forward pass (memory grows with it).
        hints: user colour hints, for a one-frame unit only (see :func:`medcolor.hints.parse_hints`).
        hint_method: ``auto``, ``learned`` or ``levin`` (see :func:`medcolor.pipeline.colorize_gray`).
        limits: input size limits (default :data:`medcolor.limits.DEFAULT_LIMITS`).
        overwrite: replace existing outputs.
        skip_existing: with one output per frame, leave existing ones alone (resume) instead of raising.
        hook: ``ImageMeta -> ChromaHook`` called once per unit (a hook keeps per-unit state).
        predict: ``(L (B,1,H,W), hu (B,1,H,W) or None) -> ab (B,2,h,w)``, replacing the model.
        needs_hu: feed ``predict`` each frame's Hounsfield units (the unit must have them).
    """

    model: object = "default"
    model_name: str | None = None
    fmt: str | None = None
    window: object = None
    axis: int | None = None
    size: int | str | None = "auto"
    device: str | torch.device = "auto"
    batch_size: int = 8
    hints: object = None
    hint_method: str = "auto"
    limits: Limits | None = None
    overwrite: bool = False
    skip_existing: bool = False
    hook: Callable[[ImageMeta], ChromaHook] | None = None
    predict: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None
    needs_hu: bool = False


@dataclass
class UnitResult:
    """What :func:`colorize_unit` did: files written, existing ones skipped, frames colorized, the unit's meta."""

    outputs: list[Path]
    frames: int
    meta: ImageMeta
    skipped: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def unit_outputs(outdir: Path, rel: Path, meta: ImageMeta, fmt: str) -> list[Path]:
    """Output paths for a unit whose relative stem is ``rel``.

    ``nii``: ``rel.nii.gz``.  ``dcm``: ``rel.dcm`` for a file (multi-frame kept in
    one instance); for a DICOM series one instance per slice in the folder
    ``rel/`` (``IM0001.dcm`` ... in slice order).  png/tiff/jpg: ``rel.png`` for one
    frame, else ``rel_z000.png`` ... one per frame.
    """
    base = Path(outdir) / rel
    frames = meta.frames
    if fmt == "nii":
        return [base.parent / (base.name + ".nii.gz")]
    if fmt == "dcm":
        if meta.kind == "series":
            width = max(4, len(str(frames)))
            return [base / f"IM{k + 1:0{width}d}.dcm" for k in range(frames)]
        return [base.parent / (base.name + ".dcm")]
    if frames == 1:
        return [base.parent / f"{base.name}.{fmt}"]
    width = max(3, len(str(frames - 1)))
    return [base.parent / f"{base.name}_z{k:0{width}d}.{fmt}" for k in range(frames)]


def _batches(src, size: int, with_hu: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """``(display (B, H, W), hu (B, H, W) or None)`` in frame order, ``size`` frames at a time."""
    frames = src.frames_with_hu() if with_hu else ((g, None) for g in src.frames())
    gray, hu = [], []
    for g, h in frames:
        gray.append(g)
        hu.append(h)
        if len(gray) == size:
            yield np.stack(gray), (np.stack(hu) if with_hu else None)
            gray, hu = [], []
    if gray:
        yield np.stack(gray), (np.stack(hu) if with_hu else None)


def colorize_unit(unit, out_paths, options: UnitOptions | None = None) -> UnitResult:
    """Read ``unit``, colorize it frame batch by frame batch, write ``out_paths``; returns a :class:`UnitResult`.

    Args:
        unit: a file path or a :class:`~medcolor.io.DicomSeries` (see :func:`medcolor.io.group_inputs`).
        out_paths: the output file(s), e.g. from :func:`unit_outputs`: one for ``nii``, one or one per
            frame for ``dcm``, one per frame for png/tiff/jpg.
        options: :class:`UnitOptions`.

    Memory holds ``batch_size`` frames (plus what a hook holds back), never the
    whole unit.  Raises :class:`~medcolor.errors.InputError` for a bad or
    too-large input and :class:`~medcolor.io.formats.OutputExistsError` when an
    output exists (unless ``overwrite``), both before anything is written.
    """
    from .color import gray_to_lightness
    from .device import resolve_device
    from .pipeline import colorize_gray, get_model, model_working_size, predict_ab
    from .recombine import recombine

    o = options or UnitOptions()
    paths = [Path(p) for p in ([out_paths] if isinstance(out_paths, (str, os.PathLike)) else out_paths)]
    fmt = format_for_path(paths[0], o.fmt)
    device = resolve_device(o.device)
    net = None if o.predict is not None else get_model(o.model, device)
    model_name = o.model_name or getattr(net, "medcolor_name", None) or str(o.model)
    size = model_working_size(net) if o.size == "auto" and net is not None else o.size
    with open_image(unit, window=o.window, axis=o.axis, limits=o.limits) as src:
        meta = src.meta
        if o.hints is not None and meta.frames != 1:
            from .errors import UsageError

            raise UsageError(f"{meta.path}: hints apply to a one-frame image, this has {meta.frames} frames")
        hook = o.hook(meta) if o.hook is not None else None
        with open_writer(paths, meta, fmt=fmt, model_name=model_name, overwrite=o.overwrite,
                         skip_existing=o.skip_existing) as writer:
            for gray, hu in _batches(src, max(1, int(o.batch_size)), o.needs_hu):
                if hook is None and o.predict is None:  # the plain pipeline (with hints for one frame)
                    rgb = colorize_gray(gray, model=net, size=size, device=device, batch_size=len(gray),
                                        hints=o.hints, hint_method=o.hint_method)
                    for frame in rgb:
                        writer.add(frame)
                    continue
                L = gray_to_lightness(torch.from_numpy(gray)[:, None].to(device).float())  # (B, 1, H, W)
                if o.predict is not None:
                    hu_t = torch.from_numpy(hu)[:, None].to(device) if hu is not None else None
                    with torch.inference_mode():
                        ab = o.predict(L, hu_t).float()
                else:
                    ab = predict_ab(net, L, size)  # (B, 2, h, w)
                L, ab = L.cpu(), ab.cpu()
                for i in range(L.shape[0]):
                    ready = hook.push(L[i:i + 1], ab[i:i + 1]) if hook is not None else [(L[i:i + 1], ab[i:i + 1])]
                    for L_r, ab_r in ready:
                        writer.add(recombine(L_r, ab_r)[0])
            if hook is not None:
                for L_r, ab_r in hook.flush():
                    writer.add(recombine(L_r, ab_r)[0])
            outputs = writer.close()
    return UnitResult(outputs=outputs, frames=meta.frames, meta=meta, skipped=list(writer.skipped),
                      warnings=list(meta.warnings))
