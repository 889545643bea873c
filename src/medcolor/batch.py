"""Colorize one input unit (a file, a volume or a DICOM series) in bounded memory.

:func:`colorize_unit` reads a unit's headers, checks the limits, the rules of
the engine and the outputs, then colorizes it with :class:`medcolor.engine.Engine`
``batch_size`` frames at a time and writes each frame as soon as it is ready, so
a 1500-slice CT or a 1200-frame DICOM never has to fit in memory::

    from medcolor.batch import UnitOptions, colorize_unit, unit_outputs
    from medcolor.io import group_inputs, open_image

    for unit in group_inputs(paths):                       # DICOM series become one unit
        meta = open_image(unit).meta                       # headers only
        outs = unit_outputs(Path("out"), Path("ct"), meta, "dcm")
        colorize_unit(unit, outs, UnitOptions(model="photo", fmt="dcm"))

With ``confidence=True`` each output gets a gray confidence image beside it
(:func:`medcolor.io.writer.confidence_paths`; for DICOM a derived grayscale series).
"""
from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .engine import ChromaHook, EngineOptions
from .io import ImageMeta, open_image, open_writer
from .io.writer import format_for_path
from .limits import Limits

__all__ = ["UnitOptions", "UnitResult", "ChromaHook", "colorize_unit", "unit_outputs"]


@dataclass
class UnitOptions:
    """How :func:`colorize_unit` reads, colorizes and writes.

    Attributes:
        model: shipped name, path, loaded module, ``"ct-tissue"`` or a :class:`~medcolor.predictor.Predictor`.
        model_name: named in the outputs (default: the model's own name).
        fmt: output format (``png``/``tiff``/``jpg``/``dcm``/``nii``); from the first path's suffix when None.
        window: display window (preset, ``"C,W"`` or ``(center, width)``); None: the file's own.
        axis: NIfTI slicing axis (default 2).
        working_size: working size (``"auto"``: the model's; None: native).
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: frames per forward pass (memory grows with it).
        hints: user colour hints, for a one-frame unit only (see :func:`medcolor.hints.parse_hints`).
        hint_method: ``auto``, ``learned`` or ``levin`` (see :func:`medcolor.pipeline.colorize_gray`).
        smooth: smooth the slices of a volume or series along the slice axis (:mod:`medcolor.volume`).
        confidence: also write the confidence map beside each output (models with a confidence only).
        limits: input size limits (default :data:`medcolor.limits.DEFAULT_LIMITS`).
        overwrite: replace existing outputs.
        skip_existing: with one output per frame, leave existing ones alone (resume) instead of raising.
        hook: ``ImageMeta -> ChromaHook or None`` replacing the smoothing decision (experiments).
    """

    model: object = "default"
    model_name: str | None = None
    fmt: str | None = None
    window: object = None
    axis: int | None = None
    working_size: int | str | None = "auto"
    device: str | torch.device = "auto"
    batch_size: int = 8
    hints: object = None
    hint_method: str = "auto"
    smooth: bool = True
    confidence: bool = False
    limits: Limits | None = None
    overwrite: bool = False
    skip_existing: bool = False
    hook: object = None

    def engine(self):
        """The :class:`~medcolor.engine.Engine` these options describe (the model loaded once and cached)."""
        from .device import resolve_device
        from .engine import Engine
        from .predictor import make_predictor

        device = resolve_device(self.device)
        predictor = make_predictor(self.model, device=device, working_size=self.working_size,
                                   hint_method=self.hint_method, name=self.model_name)
        return Engine(predictor, EngineOptions(batch_size=self.batch_size, smooth=self.smooth,
                                               confidence=self.confidence, hook=self.hook), device)


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


def colorize_unit(unit, out_paths, options: UnitOptions | None = None, *, engine=None) -> UnitResult:
    """Read ``unit``, colorize it frame batch by frame batch, write ``out_paths``; returns a :class:`UnitResult`.

    Args:
        unit: a file path or a :class:`~medcolor.io.DicomSeries` (see :func:`medcolor.io.group_inputs`).
        out_paths: the output file(s), e.g. from :func:`unit_outputs`: one for ``nii``, one or one per
            frame for ``dcm``, one per frame for png/tiff/jpg.
        options: :class:`UnitOptions`.
        engine: an :class:`~medcolor.engine.Engine` to reuse across units (default: ``options.engine()``).

    Memory holds ``batch_size`` frames (plus what a hook holds back), never the
    whole unit.  Raises :class:`~medcolor.errors.InputError` for a bad or
    too-large input, :class:`~medcolor.errors.UsageError` for options that do not
    fit it (hints on several frames, ct-tissue without HU...) and
    :class:`~medcolor.io.formats.OutputExistsError` when an output exists (unless
    ``overwrite``), all before anything is written.
    """
    o = options or UnitOptions()
    engine = engine or o.engine()
    paths = [Path(p) for p in ([out_paths] if isinstance(out_paths, (str, os.PathLike)) else out_paths)]
    fmt = format_for_path(paths[0], o.fmt)
    args = dict(fmt=fmt, model_name=engine.predictor.name, overwrite=o.overwrite, skip_existing=o.skip_existing)
    with open_image(unit, window=o.window, axis=o.axis, limits=o.limits) as src:
        meta = src.meta
        prepared = engine.prepare(meta, o.hints)  # the rules, before anything is written
        with ExitStack() as stack:  # on an error every writer discards what it has not committed
            colour = stack.enter_context(open_writer(paths, meta, **args))
            conf = None
            if engine.options.confidence:
                from .io.writer import confidence_paths

                conf = stack.enter_context(open_writer(confidence_paths(paths), meta, content="confidence", **args))
            for frame in engine.run(src, prepared=prepared):
                colour.add(frame.rgb)
                if conf is not None:
                    conf.add(frame.confidence)
            writers = [w for w in (colour, conf) if w is not None]
            outputs = [p for w in writers for p in w.close()]
    return UnitResult(outputs=outputs, frames=meta.frames, meta=meta,
                      skipped=[p for w in writers for p in w.skipped], warnings=list(meta.warnings))
