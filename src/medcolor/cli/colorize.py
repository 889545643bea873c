"""``medcolor colorize INPUT... -o OUTDIR``: batch colorization, a thin layer over the API.

Each input is read, colorized and written independently.  A batch never dies
of one file: a bad file, a permission problem or even an internal error prints
one line naming the file and the reason (the traceback only with ``--debug``),
the batch carries on, and a summary (done, skipped, failed) is always printed.

Inputs are grouped into units (:func:`medcolor.io.group_inputs`: the files of
one DICOM series form one unit) and each unit is colorized frame batch by frame
batch (:func:`medcolor.batch.colorize_unit`), so a long volume is never held
whole.  Output names are unique by construction (:mod:`medcolor.io.discover`; a
series is named after its first file), and a run never writes the same output
twice nor over one of its own inputs.  Under ``torchrun`` the units are split
between the ranks (:mod:`medcolor.sharding`) and rank 0 prints one summary for
all of them.

Exit code 0 when every input was written (or skipped because its output
exists, or noted as a special file), 1 when some failed, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import UsageError
from ._common import (
    add_confidence,
    add_hint_method,
    add_limits,
    add_window,
    add_working_size,
    limits_from_args,
    positive_int,
)

__all__ = ["add_parser", "run", "ColorizeOptions", "Tally"]

FORMATS = ("png", "tiff", "jpg", "dcm", "nii")
_MAX_LISTED = 20  # failed files named in the summary line (each also has its own line)


def add_parser(sub) -> argparse.ArgumentParser:
    from ..limits import DEFAULT_LIMITS

    p = sub.add_parser("colorize", help="colorize grayscale images (PNG/JPEG/TIFF/DICOM/NIfTI)",
                       description="Colorize grayscale images. INPUT is any mix of files, folders "
                                   "(searched recursively) and globs. Under torchrun the inputs are "
                                   "split between the processes.")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder")
    p.add_argument("--model", default="default",
                   help="shipped model name, run directory or .safetensors path; 'ct-tissue' colours CT from "
                        "its Hounsfield units (DICOM CT, NIfTI in HU)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--batch-size", type=positive_int, default=8, help="frames per forward pass (default 8)")
    add_working_size(p)
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="png", help="output format (default png)")
    add_window(p)
    p.add_argument("--axis", type=int, choices=(0, 1, 2), default=None, help="NIfTI slicing axis (default 2)")
    p.add_argument("--hints", type=Path, default=None,
                   help="hints image (same size as a single INPUT): coloured marks on transparent/gray")
    add_hint_method(p)
    add_confidence(p)
    p.add_argument("--backend", choices=("torch", "onnx", "auto"), default="torch",
                   help="inference backend: torch (default), onnx (ONNX Runtime, needs medcolor[export]) or auto "
                        "(the faster of the two, timed once per model and shape; the graph is cached)")
    add_limits(p, DEFAULT_LIMITS)
    p.add_argument("--no-smoothing", dest="smooth", action="store_false",
                   help="colour each slice on its own (by default the colour of NIfTI volumes and DICOM series "
                        "is smoothed along the slice axis where lightness is similar, so it does not flicker)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (never this run's own)")
    p.add_argument("--debug", action="store_true", help="print the traceback of internal errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


@dataclass(frozen=True)
class ColorizeOptions:
    """Everything one batch needs; the field names are the flags' (``--working-size`` -> ``working_size``)."""

    inputs: tuple[str, ...]
    output: Path
    model: str = "default"
    device: str = "auto"  # as asked; each rank resolves its own device
    batch_size: int = 8
    working_size: int | str | None = "auto"
    fmt: str = "png"
    window: tuple[float, float] | None = None
    axis: int | None = None
    hints: Path | None = None
    hint_method: str = "auto"
    confidence: bool = False
    backend: str = "torch"
    smooth: bool = True  # volumes and series: a*b* smoothed along the slice axis (medcolor.volume)
    limits: object = None  # medcolor.limits.Limits; None: the defaults
    overwrite: bool = False
    quiet: bool = False
    debug: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ColorizeOptions:
        given = vars(args)
        values = {f.name: given[f.name] for f in fields(cls) if f.name in given}
        return cls(**dict(values, inputs=tuple(args.inputs), model=str(args.model), limits=limits_from_args(args)))

    def check(self) -> None:
        """Raise :class:`UsageError` for a bad option before any file is read."""
        if self.output.exists() and not self.output.is_dir():
            raise UsageError(f"{self.output}: output exists and is not a folder")

    def unit_options(self):
        """The :class:`~medcolor.batch.UnitOptions` of one unit of this batch."""
        from ..batch import UnitOptions

        return UnitOptions(fmt=self.fmt, window=self.window, axis=self.axis, hints=self.hints, limits=self.limits,
                           overwrite=self.overwrite, skip_existing=not self.overwrite)


@dataclass
class Tally:
    """What one rank did; rank 0 adds up every rank's tally for the summary."""

    units: int = 0  # inputs this rank was given
    written: int = 0  # output files
    images: int = 0  # frames colorized
    exists: int = 0  # outputs skipped because they exist
    notes: int = 0  # special files skipped
    failed: list[str] = field(default_factory=list)  # input paths
    internal: int = 0  # of the failed, how many by an internal error (a bug)

    def add(self, other: Tally) -> None:
        for name in ("units", "written", "images", "exists", "notes", "internal"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed.extend(other.failed)

    def summary(self, output: Path) -> str:
        parts = [f"colorized {self.images} image(s) into {self.written} file(s) in {output}"]
        if self.exists:
            parts.append(f"{self.exists} skipped (output exists; use --overwrite)")
        if self.notes:
            parts.append(f"{self.notes} skipped (not a regular file)")
        if self.failed:
            named = ", ".join(self.failed[:_MAX_LISTED])
            more = f" and {len(self.failed) - _MAX_LISTED} more" if len(self.failed) > _MAX_LISTED else ""
            bugs = f" ({self.internal} by an internal error)" if self.internal else ""
            parts.append(f"{len(self.failed)} failed{bugs}: {named}{more}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Unit:
    """One input unit: a file, or the files of one DICOM series, and the stem its outputs are named after."""

    source: object  # Path or medcolor.io.DicomSeries
    stem: Path
    files: tuple[Path, ...]

    @property
    def name(self) -> str:
        """How messages name the unit: its file, or a series' first file and its size."""
        first = str(self.files[0])
        return first if len(self.files) == 1 else f"{first} (series of {len(self.files)} files)"

    @property
    def cost(self) -> float:
        """Bytes on disk: what :meth:`medcolor.sharding.Shard.take` balances between ranks."""
        total = 0
        for f in self.files:
            try:
                total += f.stat().st_size
            except OSError:
                continue  # reported when the unit is processed
        return float(total)


def make_units(files) -> list[Unit]:
    """Group discovered ``InputFile``s into :class:`Unit`s (DICOM series together), in input order.

    A series takes the stem of its first file (stems are unique, so unit names are too).
    """
    from ..io import group_inputs

    stems = {f.path: f.stem for f in files}
    units = []
    for u in group_inputs([f.path for f in files]):
        paths = tuple(getattr(u, "paths", None) or [u])
        units.append(Unit(source=u, stem=stems[paths[0]], files=paths))
    return units


class _Batch:
    """Colorizes this rank's units and keeps the tally; every output is written at most once per run."""

    def __init__(self, opts: ColorizeOptions, engine, inputs: set[Path]) -> None:
        self.opts, self.engine = opts, engine
        self.inputs = inputs  # resolved input paths: never written over
        self.written: set[Path] = set()
        self.tally = Tally()

    def say(self, line: str) -> None:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)

    def fail(self, name: str, reason: str) -> None:
        self.tally.failed.append(name)
        self.say(f"error: {reason}" if reason.startswith(name) else f"error: {name}: {reason}")

    def process(self, unit: Unit) -> None:
        """One unit, with every failure turned into one line naming it and every warning into one line."""
        import warnings

        from ..errors import MedcolorError

        self.tally.units += 1
        name = unit.name
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    self._process(unit)
                finally:
                    # a unit is opened more than once (headers, then frames): each message once
                    for text in dict.fromkeys(str(w.message) for w in caught):
                        self.say(f"warning: {text}")
        except MedcolorError as exc:
            self.fail(name, str(exc))
        except PermissionError as exc:
            self.fail(name, f"permission denied ({exc.filename or unit.files[0]})")
        except MemoryError:
            self.fail(name, "out of memory while processing it; lower the size limits (--max-pixels)")
        except OSError as exc:  # the file system, not the file's content: disk full, I/O error, vanished file
            self.fail(name, f"{exc.strerror or type(exc).__name__}" + (f" ({exc.filename})" if exc.filename else ""))
        except Exception as exc:  # a bug in medcolor: report it as such, never as a bad input file
            self.tally.internal += 1
            first = str(exc).splitlines()[0] if str(exc) else ""
            how = "" if self.opts.debug else "; rerun with --debug for the traceback"
            self.fail(name, f"internal error ({type(exc).__name__}: {first}); this is a bug in medcolor, "
                            f"not necessarily a problem with the file{how}")
            if self.opts.debug:
                self.say(traceback.format_exc().rstrip())

    def _claim(self, out: Path) -> None:
        key = out.resolve()
        if key in self.inputs:
            raise UsageError(f"{out}: output would replace an input of this run; choose another output folder")
        if key in self.written:
            raise RuntimeError(f"{out}: this run already wrote this output (output names must be unique)")
        self.written.add(key)

    def _process(self, unit: Unit) -> None:
        from ..batch import colorize_unit, unit_outputs
        from ..io import open_image

        o = self.opts
        with open_image(unit.source, window=o.window, axis=o.axis, limits=o.limits) as src:  # headers only
            meta = src.meta
        outs = unit_outputs(o.output, unit.stem, meta, o.fmt)
        if o.confidence:
            from ..io.writer import confidence_paths

            outs = outs + confidence_paths(outs)
        if not o.overwrite and all(out.exists() for out in outs):
            self.tally.exists += len(outs)
            return
        for out in outs:  # before anything is written
            self._claim(out)
        colour_outs = outs[:len(outs) // 2] if o.confidence else outs
        # frame batch by frame batch; existing per-frame outputs kept
        result = colorize_unit(unit.source, colour_outs, o.unit_options(), engine=self.engine)
        self.tally.written += len(result.outputs)
        self.tally.exists += len(result.skipped)
        self.tally.images += result.frames


def run(args) -> int:
    opts = ColorizeOptions.from_args(args)
    opts.check()
    from ..sharding import shard_from_env

    shard = shard_from_env()
    try:
        return _run(opts, shard)
    finally:
        shard.close()


def _run(opts: ColorizeOptions, shard) -> int:
    from ..engine import Engine, EngineOptions
    from ..errors import UnknownModelError
    from ..fileio import remove_stale_temps
    from ..io import discover
    from ..predictor import make_predictor
    from ..progress import progress

    device = shard.device(opts.device)
    try:
        predictor = make_predictor(opts.model, device=device, working_size=opts.working_size,
                                   hint_method=opts.hint_method, backend=opts.backend, batch_size=opts.batch_size)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from None
    engine = Engine(predictor, EngineOptions(batch_size=opts.batch_size, smooth=opts.smooth,
                                             confidence=opts.confidence), device)  # no confidence: one line
    if opts.hints is not None:
        predictor.check_hints()  # ct-tissue, or 'learned' for a model without hint input: a usage error
    found = discover(list(opts.inputs), exclude=opts.output)
    if not found.files and not found.skipped:
        raise UsageError("no supported input images found in " + " ".join(opts.inputs))
    if opts.hints is not None and len(found.files) != 1:
        raise UsageError("--hints applies to exactly one input image")
    if shard.is_main:
        remove_stale_temps(opts.output)  # what a killed earlier run left; before any rank writes
    shard.barrier()

    batch = _Batch(opts, engine, inputs={f.path.resolve() for f in found.files})
    if shard.is_main:  # every rank found the same; rank 0 reports them once
        for s in found.skipped:
            if s.problem:
                batch.fail(str(s.path), s.reason)
            else:
                batch.tally.notes += 1
                batch.say(f"note: {s.path}: {s.reason}")
    units = make_units(found.files)
    mine = shard.take(units, cost=lambda u: u.cost)
    bar = progress(mine, desc="colorize", unit="file", disable=opts.quiet or len(mine) < 2 or not shard.is_main)
    try:
        for unit in bar:
            batch.process(unit)
    finally:
        bar.close()
        if not shard.enabled:  # interrupted or not, the summary is printed
            print(batch.tally.summary(opts.output), file=sys.stderr)
    return _report_all(opts, shard, batch.tally)


def _report_all(opts: ColorizeOptions, shard, tally: Tally) -> int:
    """Add up every rank's tally; rank 0 prints the one summary.  Every rank returns the same exit code."""
    tallies = shard.gather(tally)
    if shard.enabled:
        total = Tally()
        for t in tallies:
            total.add(t)
        if shard.is_main:
            per_rank = ", ".join(f"rank {r}: {t.units}" for r, t in enumerate(tallies))
            print(f"{total.summary(opts.output)} ({shard.world_size} processes; inputs per rank: {per_rank})",
                  file=sys.stderr)
        tally = total
    return 1 if tally.failed else 0
