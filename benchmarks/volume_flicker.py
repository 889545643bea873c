"""Colour flicker through a volume, with and without slice-to-slice smoothing.

    .venv/bin/python benchmarks/volume_flicker.py [--input VOLUME.nii.gz] [--model default]
        [--slices 40] [--device cpu] [--threads 1]

A central block of ``--slices`` slices of the volume (default: the MNI152 T1
brain template in ``../shared/data/medical_gray``) is colorized the way
``medcolor colorize`` does it (:func:`medcolor.batch.colorize_unit`, the model's
working size, the display mapping of the whole volume), once per row:

* ``per slice``: each slice colorized on its own (``--no-smoothing``);
* ``smoothed``: the default, a*b* smoothed along the slice axis where L* is
  similar (:class:`medcolor.volume.SliceSmoother`);
* ``reference``: the first slice's a*b* on every slice, which cannot flicker:
  what remains in the 8-bit column is rounding to 8 bits and the gamut fit.

The measure (:func:`medcolor.volume.slice_flicker`) is the mean and 90th
percentile of |Δa*b*| between adjacent slices at pixels whose L* changes by
less than 2 (black background excluded), on the chroma as colorized (full
resolution, before 8-bit rounding) and on the 8-bit RGB output.  Target: mean
at most 0.5 with smoothing.  The script prints a Markdown table for
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = ROOT.parent / "shared" / "data" / "medical_gray" / "mni152_t1.nii.gz"
TARGET = 0.5


class Recorder:
    """A ChromaHook that wraps another (or none), and measures every frame it lets out."""

    def __init__(self, inner, *, constant: bool = False) -> None:
        from medcolor.volume import FlickerMeter

        self.inner, self.constant = inner, constant
        self.chroma, self.output = FlickerMeter(), FlickerMeter()
        self._first_ab = None

    def _measure(self, ready):
        import torch

        from medcolor.color import rgb_to_lab_np
        from medcolor.recombine import recombine, upsample_ab

        out = []
        for L, ab in ready:
            if self.constant:
                self._first_ab = ab if self._first_ab is None else self._first_ab
                ab = self._first_ab
            full = upsample_ab(ab, tuple(L.shape[-2:]))
            self.chroma.add(torch.cat([L, full], 1)[0].permute(1, 2, 0).numpy())
            self.output.add(rgb_to_lab_np(recombine(L, ab)[0]))  # what colorize_unit writes
            out.append((L, ab))
        return out

    def push(self, L, ab):
        return self._measure(self.inner.push(L, ab) if self.inner is not None else [(L, ab)])

    def flush(self):
        return self._measure(self.inner.flush() if self.inner is not None else [])


def central_block(path: Path, slices: int, folder: Path) -> tuple[Path, tuple[float, float], range]:
    """Write the central ``slices`` slices (axis 2) to ``folder``; returns (file, the whole volume's window, range)."""
    import nibabel as nib

    from medcolor.io import open_image

    with open_image(path) as src:
        src.resolve_display()
        window, n = src.meta.window, src.meta.frames
    start = max(0, n // 2 - slices // 2)
    block = range(start, min(n, start + slices))
    img = nib.load(str(path))
    part = img.slicer[:, :, block.start:block.stop]
    out = folder / "block.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(part.dataobj), part.affine, part.header), str(out))
    return out, window, block


def run_row(block: Path, window, *, model: str, device: str, hook_kind: str, outdir: Path) -> dict:
    from medcolor.batch import UnitOptions, colorize_unit
    from medcolor.volume import SliceSmoother

    recorders = []

    def hook(meta):
        inner = SliceSmoother() if hook_kind == "smoothed" else None
        recorders.append(Recorder(inner, constant=hook_kind == "reference"))
        return recorders[-1]

    t0 = time.perf_counter()
    result = colorize_unit(block, [outdir / f"{hook_kind}.nii.gz"],
                           UnitOptions(model=model, fmt="nii", window=window, device=device, hook=hook))
    seconds = time.perf_counter() - t0
    rec = recorders[0]
    return {"row": hook_kind, "chroma": rec.chroma.result(), "output": rec.output.result(),
            "s_per_slice": seconds / result.frames}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="a NIfTI volume (default: MNI152 T1)")
    ap.add_argument("--model", default="default", help="model name or path (default: the shipped default)")
    ap.add_argument("--slices", type=int, default=40, help="slices in the central block (default 40)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = ap.parse_args(argv)
    if args.slices < 2:
        ap.error("--slices must be at least 2")
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="medcolor-flicker-") as tmp:
        block, window, span = central_block(args.input, args.slices, Path(tmp))
        for kind in ("per-slice", "smoothed", "reference"):
            rows.append(run_row(block, window, model=args.model, device=args.device, hook_kind=kind,
                                outdir=Path(tmp)))
            print(f"{kind}: done", file=sys.stderr)
    names = {"per-slice": "per slice (`--no-smoothing`)", "smoothed": "smoothed (default)",
             "reference": "reference: first slice's a\\*b\\* on every slice"}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Input: {args.input.name}, slices {span.start}-{span.stop - 1} of the volume, model `{args.model}`, "
          f"display window C={window[0]:.4g} W={window[1]:.4g}.")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{args.threads} thread(s), load average {load:.1f} at the end; "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")
    print()
    print("| colour | mean \\|Δa\\*b\\*\\| (chroma) | p90 (chroma) | mean (8-bit output) | p90 (8-bit output) "
          "| pixels counted | s/slice |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        c, o = r["chroma"], r["output"]
        print(f"| {names[r['row']]} | {c.mean:.3f} | {c.p90:.2f} | {o.mean:.3f} | {o.p90:.2f} | {c.pixels} "
              f"| {r['s_per_slice']:.2f} |")
    smoothed = next(r for r in rows if r["row"] == "smoothed")["chroma"].mean
    print()
    print(f"Target: mean |Δa*b*| (chroma) <= {TARGET} with smoothing: {'met' if smoothed <= TARGET else 'NOT met'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
