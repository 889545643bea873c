"""``medcolor colorize INPUT... -o OUTDIR``: batch colorization, a thin layer over the API.

Each input is read, colorized and written independently: a bad file prints one
line naming it and the batch carries on.  Exit code 0 when every input was
written (or skipped because its output exists), 1 when some failed, 2 for
usage errors.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ._common import working_size_arg

__all__ = ["add_parser", "run", "output_paths"]

FORMATS = ("png", "tiff", "jpg", "dcm", "nii")
VOLUME_FORMATS = ("dcm", "nii")  # one output file holds every frame


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("colorize", help="colorize grayscale images (PNG/JPEG/TIFF/DICOM/NIfTI)",
                       description="Colorize grayscale images. INPUT is any mix of files, folders "
                                   "(searched recursively) and globs.")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder")
    p.add_argument("--model", default="default", help="shipped model name, run directory or .safetensors path")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--batch-size", type=int, default=8, help="frames per forward pass (default 8)")
    p.add_argument("--size", type=working_size_arg, default="auto",
                   help="working size of the network, short side in pixels; 'native' for none; "
                        "default 'auto': the size the model was trained for (256 for the photo model)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="png", help="output format (default png)")
    p.add_argument("--window", default=None,
                   help="CT preset (lung, mediastinum, bone, brain, soft-tissue, abdomen) or 'C,W'")
    p.add_argument("--axis", type=int, choices=(0, 1, 2), default=None, help="NIfTI slicing axis (default 2)")
    p.add_argument("--hints", type=Path, default=None,
                   help="hints image (same size as a single INPUT): coloured marks on transparent/gray")
    p.add_argument("--max-pixels", type=int, default=None, help="refuse images with more pixels per frame")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def output_paths(outdir: Path, rel: Path, frames: int, fmt: str) -> list[Path]:
    """Output file(s) for an input whose relative stem is ``rel``.

    Volumes written as 2-D images get one file per slice, suffixed ``_z012``.
    """
    suffix = ".nii.gz" if fmt == "nii" else f".{fmt}"
    base = outdir / rel
    if fmt in VOLUME_FORMATS or frames == 1:
        return [base.parent / (base.name + suffix)]
    return [base.parent / f"{base.name}_z{i:03d}{suffix}" for i in range(frames)]


@dataclass
class _Tally:
    written: int = 0
    images: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _process(path: Path, rel: Path, args, net, tally: _Tally) -> None:
    from ..io import OutputExistsError, read, write
    from ..pipeline import colorize_gray

    read_kw = {"window": args.window, "axis": args.axis}
    if args.max_pixels:
        read_kw["max_pixels"] = args.max_pixels
    frames, meta = read(path, **read_kw)
    outs = output_paths(args.output, rel, frames.shape[0], args.fmt)
    if not args.overwrite and all(o.exists() for o in outs):
        tally.skipped.append(str(outs[0]))
        return
    rgb = colorize_gray(frames, model=net, size=args.size, device=args.device,
                        batch_size=args.batch_size, hints=args.hints)  # (F, H, W, 3) uint8
    model_name = getattr(net, "medcolor_name", str(args.model))
    pieces = [rgb] if len(outs) == 1 else [rgb[i:i + 1] for i in range(rgb.shape[0])]
    for out, piece in zip(outs, pieces):
        try:
            write(out, piece, meta, fmt=args.fmt, model_name=model_name, overwrite=args.overwrite)
        except OutputExistsError:
            tally.skipped.append(str(out))
            continue
        tally.written += 1
    tally.images += rgb.shape[0]


def run(args) -> int:
    from tqdm import tqdm

    from ..device import resolve_device
    from ..errors import MedcolorError, UnknownModelError, UsageError
    from ..io import discover, parse_window
    from ..pipeline import get_model

    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"{args.output}: output exists and is not a folder")
    if args.window is not None:
        parse_window(args.window)  # a bad --window is a usage error before any file is read
    device = resolve_device(args.device)
    try:
        net = get_model(args.model, device)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from None
    items = discover(args.inputs)
    if not items:
        raise UsageError("no supported input images found in " + " ".join(args.inputs))
    if args.hints is not None and len(items) != 1:
        raise UsageError("--hints applies to exactly one input image")
    args.device = device

    tally = _Tally()
    bar = tqdm(items, desc="colorize", unit="file", disable=args.quiet or len(items) < 2, file=sys.stderr)
    for path, rel in bar:
        try:
            _process(Path(path), Path(rel), args, net, tally)
        except MedcolorError as exc:
            tally.failed.append(str(path))
            tqdm.write(f"error: {exc}", file=sys.stderr)
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:
            # Library errors on a corrupt file must not stop the batch; name the file.
            tally.failed.append(str(path))
            tqdm.write(f"error: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
    bar.close()

    parts = [f"colorized {tally.images} image(s) into {tally.written} file(s) in {args.output}"]
    if tally.skipped:
        parts.append(f"{len(tally.skipped)} skipped (output exists; use --overwrite)")
    if tally.failed:
        parts.append(f"{len(tally.failed)} failed: " + ", ".join(tally.failed))
    print("; ".join(parts), file=sys.stderr)
    return 1 if tally.failed else 0
