"""``medcolor classic``: the classic colorization methods from the command line.

    medcolor classic levin IMAGE --hints HINTS.png -o OUT.png
    medcolor classic welsh IMAGE --reference REF.jpg [--swatch T,L,B,R:T,L,B,R ...] -o OUT.png
    medcolor classic reinhard SOURCE --reference REF.jpg -o OUT.png
    medcolor classic lut IMAGE --lut hot-iron [--window PRESET|C,W] -o OUT.png
    medcolor classic lut --list

IMAGE is anything :func:`medcolor.io.read` reads (PNG, JPEG, TIFF, DICOM,
NIfTI); ``--window`` is passed to it (e.g. Hounsfield units for CT).  Multi-frame
inputs: ``levin``, ``welsh`` and ``reinhard`` use one frame (``--frame``); ``lut``
colours every frame and writes them as a multi-page TIFF.  Outputs are written
atomically and never replace an existing file without ``--overwrite``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError, UsageError
from ._common import add_window

__all__ = ["add_parser", "run_levin", "run_welsh", "run_reinhard", "run_lut"]

_MULTIPAGE = {".tif", ".tiff"}


def _common(p: argparse.ArgumentParser, frame: bool = True) -> None:
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (PNG, JPEG, TIFF ...)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_window(p)
    p.add_argument("--axis", type=int, default=None, help="slicing axis for 3-D volumes (passed to medcolor.io.read)")
    if frame:
        p.add_argument("--frame", type=int, default=None, metavar="N",
                       help="frame or slice of a multi-frame input to colour (default 0)")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("classic", help="classic colorization: Levin scribbles, Welsh, Reinhard, LUTs",
                                   description="Classic (non-deep) colorization methods; see docs/classic.md.")
    sub = parser.add_subparsers(dest="method", metavar="METHOD", required=True)

    p = sub.add_parser("levin", help="propagate colour scribbles (Levin et al. 2004)")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--hints", required=True, metavar="HINTS",
                   help="image of the same size with colour marks on transparent or gray pixels")
    _common(p)
    p.set_defaults(run=run_levin)

    p = sub.add_parser("welsh", help="transfer colour from a reference image (Welsh et al. 2002)")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--reference", required=True, metavar="REF", help="colour reference image")
    p.add_argument("--swatch", action="append", default=[], metavar="T,L,B,R:T,L,B,R",
                   help="target box : reference box (top,left,bottom,right in pixels); repeatable")
    p.add_argument("--samples", type=int, default=200, help="jittered reference samples (default 200)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    _common(p)
    p.set_defaults(run=run_welsh)

    p = sub.add_parser("reinhard", help="l-alpha-beta colour statistics transfer (Reinhard et al. 2001)")
    p.add_argument("image", metavar="SOURCE", help="colour or gray source image")
    p.add_argument("--reference", required=True, metavar="REF", help="colour reference image")
    _common(p)
    p.set_defaults(run=run_reinhard)

    p = sub.add_parser("lut", help="pseudo-colour with a DICOM palette or matplotlib colormap")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.add_argument("--lut", default="hot-iron", help="palette name (default hot-iron; see --list)")
    p.add_argument("--list", action="store_true", help="print the palette names and exit")
    p.add_argument("-o", "--output", metavar="OUT", help="output image; several frames need .tif")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_window(p)
    p.add_argument("--axis", type=int, default=None, help="slicing axis for 3-D volumes")
    p.set_defaults(run=run_lut)
    return parser


def _check_output(args) -> Path:
    if not args.output:
        raise UsageError("an output path is required (-o OUT)")
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise UsageError(f"{out} exists; pass --overwrite to replace it")
    return out


def _read_frames(path: str, args):
    """``medcolor.io.read`` -> float32 ``(F, H, W)`` display gray in [0, 1]."""
    from .. import io as mio

    frames, _meta = mio.read(path, window=args.window, axis=args.axis)
    return frames


def _read_gray(path: str, args):
    frames = _read_frames(path, args)
    index = 0 if args.frame is None else args.frame
    if not -frames.shape[0] <= index < frames.shape[0]:
        raise UsageError(f"--frame {index} is out of range: {path} has {frames.shape[0]} frame(s)")
    if frames.shape[0] > 1 and args.frame is None:
        print(f"medcolor classic: {path} has {frames.shape[0]} frames; using frame 0 (choose with --frame)",
              file=sys.stderr)
    return frames[index]


def _read_pil(path: str):
    """(array, is_colour): uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray, via PIL."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            colour = im.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
            arr = np.asarray(im.convert("RGB" if colour else "L"))
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(path, f"cannot read this image ({exc})") from None
    return arr, colour


def _read_reference(path: str):
    arr, colour = _read_pil(path)
    if not colour:
        raise InputError(path, "the reference must be a colour image")
    return arr


def _write(out: Path, rgb) -> None:
    """Write uint8 ``(H, W, 3)`` or ``(F, H, W, 3)`` RGB atomically with PIL."""
    from PIL import Image

    from ..fileio import atomic_write

    fmt = Image.registered_extensions().get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"{out}: unknown image extension {out.suffix!r} (use .png, .jpg, .tif ...)")
    frames = [rgb] if rgb.ndim == 3 else list(rgb)
    if len(frames) > 1 and out.suffix.lower() not in _MULTIPAGE:
        raise UsageError(f"{out}: {len(frames)} frames need a multi-page .tif output")
    images = [Image.fromarray(f, "RGB") for f in frames]
    atomic_write(out, lambda tmp: images[0].save(tmp, format=fmt, save_all=len(images) > 1,
                                                 append_images=images[1:]))
    print(f"wrote {out}")


def run_levin(args) -> int:
    from ..classic import levin_colorize
    from ..hints import load_hints

    out = _check_output(args)
    gray = _read_gray(args.image, args)
    hints_rgb, mask = load_hints(args.hints, gray.shape)
    if not mask.any():
        print(f"medcolor classic: {args.hints} has no colour marks; the output is gray", file=sys.stderr)
    _write(out, levin_colorize(gray, hints_rgb, mask))
    return 0


def _parse_box(text: str, what: str) -> tuple[int, int, int, int]:
    try:
        box = tuple(int(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4:
        raise UsageError(f"--swatch {what} box must be four integers top,left,bottom,right, got {text!r}")
    return box


def run_welsh(args) -> int:
    from ..classic import welsh_transfer

    out = _check_output(args)
    swatches = []
    for spec in args.swatch:
        parts = spec.split(":")
        if len(parts) != 2:
            raise UsageError(f"--swatch must be TARGET_BOX:REFERENCE_BOX, got {spec!r}")
        swatches.append((_parse_box(parts[0], "target"), _parse_box(parts[1], "reference")))
    gray = _read_gray(args.image, args)
    reference = _read_reference(args.reference)
    try:
        rgb = welsh_transfer(gray, reference, swatches=swatches or None, n_samples=args.samples, seed=args.seed)
    except ValueError as exc:  # a bad swatch box or sample count is a usage error, not a crash
        raise UsageError(str(exc)) from None
    _write(out, rgb)
    return 0


def run_reinhard(args) -> int:
    from ..classic import reinhard_transfer

    out = _check_output(args)
    reference = _read_reference(args.reference)
    source = None
    from ..io.formats import RASTER_EXTENSIONS

    if Path(args.image).suffix.lower() in RASTER_EXTENSIONS:
        arr, colour = _read_pil(args.image)
        source = arr if colour else None
    if source is None:  # gray or medical input: the windowed display gray
        source = _read_gray(args.image, args)
    _write(out, reinhard_transfer(source, reference))
    return 0


def run_lut(args) -> int:
    from ..classic import apply_lut, list_luts

    if args.list:
        print("\n".join(list_luts()))
        print("(or any matplotlib colormap name, e.g. viridis; matplotlib:NAME forces matplotlib)")
        return 0
    if not args.image:
        raise UsageError("IMAGE is required (or --list)")
    out = _check_output(args)
    try:
        from ..classic.luts import lut_table

        lut_table(args.lut)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    frames = _read_frames(args.image, args)  # (F, H, W) display values in [0, 1]
    rgb = apply_lut(frames, args.lut)  # (F, H, W, 3)
    _write(out, rgb[0] if rgb.shape[0] == 1 else rgb)
    return 0
