"""Colour flicker through real volumes, with and without slice-to-slice smoothing.

    .venv/bin/python benchmarks/volume_flicker.py [--inputs VOLUME.nii.gz SCAN.dcm ...] [--model default]
        [--slices 0] [--device cpu] [--threads 1] [--radius R --sigma-slices S --sigma-lightness S]

Each input (default: the head CT ``head_ct_invesalius.nii.gz``, the MNI152 T1
brain ``mni152_t1.nii.gz`` and the multi-frame DICOM MR ``emri_small.dcm`` in
``../shared/data/medical_gray``; ``--slices N``: a central block of N slices of a
NIfTI, with the whole volume's display window) is colorized once the way
``medcolor colorize`` does it (:func:`medcolor.batch.colorize_unit`, the model's
working size), with a recording hook around the slice smoother that measures
three rows in the same pass:

* ``per slice``: each slice's chroma as predicted (what ``--no-smoothing`` writes);
* ``smoothed``: the default, a*b* smoothed along the slice axis where L* is
  similar (:class:`medcolor.volume.SliceSmoother`, ``SmoothingSettings`` or the
  ``--radius``/``--sigma-*`` given);
* ``reference``: the first slice's a*b* on every slice, which cannot flicker:
  what remains in the 8-bit column is rounding to 8 bits and the gamut fit.

The measure (:func:`medcolor.volume.slice_flicker`) is the mean and 90th
percentile of |Δa*b*| between adjacent slices at pixels whose L* changes by
less than 2 (black background excluded), on the chroma as colorized (full
resolution, before 8-bit rounding) and on the 8-bit RGB output.  Target: mean
at most 0.5 with smoothing on every input.  The script prints a Markdown table
for docs/benchmarks.md.
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
DATA = ROOT.parent / "shared" / "data" / "medical_gray"
DEFAULT_INPUTS = [DATA / "head_ct_invesalius.nii.gz", DATA / "mni152_t1.nii.gz", DATA / "emri_small.dcm"]
TARGET = 0.5


class Recorder:
    """A ChromaHook around the smoother that measures, in one pass, the three rows of the table.

    ``per slice``: each frame's chroma as predicted (what ``--no-smoothing`` writes);
    ``smoothed``: the frames the inner :class:`~medcolor.volume.SliceSmoother` lets out (what
    is written by default); ``reference``: the first frame's a*b* on every frame.
    """

    def __init__(self, inner) -> None:
        from medcolor.volume import FlickerMeter

        self.inner = inner
        self.meters = {kind: (FlickerMeter(), FlickerMeter()) for kind in ROWS}  # (chroma, 8-bit output)
        self._first_ab = None

    @property
    def context(self) -> int:
        return self.inner.context

    def _measure(self, kind: str, L, ab) -> None:
        import torch

        from medcolor.color import rgb_to_lab_np
        from medcolor.recombine import recombine, upsample_ab

        chroma, output = self.meters[kind]
        full = upsample_ab(ab, tuple(L.shape[-2:]))
        chroma.add(torch.cat([L, full], 1)[0].permute(1, 2, 0).numpy())
        output.add(rgb_to_lab_np(recombine(L, ab)[0]))  # what the writer gets

    def push(self, frame):
        self._measure("per-slice", frame.L, frame.ab)
        self._first_ab = frame.ab if self._first_ab is None else self._first_ab
        self._measure("reference", frame.L, self._first_ab)
        return self._smoothed(self.inner.push(frame))

    def flush(self):
        return self._smoothed(self.inner.flush())

    def _smoothed(self, ready):
        for f in ready:
            self._measure("smoothed", f.L, f.ab)
        return ready


ROWS = ("per-slice", "smoothed", "reference")
NAMES = {"per-slice": "per slice (`--no-smoothing`)", "smoothed": "smoothed (default)",
         "reference": "reference: first slice's a\\*b\\* on every slice"}


def central_block(path: Path, slices: int, folder: Path) -> tuple[Path, tuple[float, float] | None, range]:
    """A NIfTI of the central ``slices`` slices (axis 2) in ``folder``, the whole volume's window, the range.

    ``slices`` 0 (or at least the volume's): the file itself, its own window.  DICOM: the file itself.
    """
    import nibabel as nib

    from medcolor.io import open_image

    with open_image(path) as src:
        src.resolve_display()
        window, n = src.meta.window, src.meta.frames
    if not slices or slices >= n or path.suffix.lower() == ".dcm":
        return path, None, range(0, n)
    start = max(0, n // 2 - slices // 2)
    block = range(start, min(n, start + slices))
    img = nib.load(str(path))
    part = img.slicer[:, :, block.start:block.stop]
    out = folder / f"block_{path.name.split('.')[0]}.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(part.dataobj), part.affine, part.header), str(out))
    return out, window, block


def run_volume(block: Path, window, *, model: str, device: str, settings, outdir: Path) -> dict:
    """Colorize ``block`` once with the recorder around the smoother; the three rows' statistics."""
    from medcolor.batch import UnitOptions, colorize_unit
    from medcolor.volume import SliceSmoother

    recorders = []

    def hook(meta):
        recorders.append(Recorder(SliceSmoother(settings)))
        return recorders[-1]

    t0 = time.perf_counter()
    result = colorize_unit(block, [outdir / f"{block.name.split('.')[0]}_out.nii.gz"],
                           UnitOptions(model=model, fmt="nii", window=window, device=device, hook=hook,
                                       overwrite=True))
    seconds = time.perf_counter() - t0
    meters = recorders[0].meters
    return {"rows": {kind: (meters[kind][0].result(), meters[kind][1].result()) for kind in ROWS},
            "s_per_slice": seconds / result.frames, "frames": result.frames}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=Path, nargs="+", default=DEFAULT_INPUTS,
                    help="NIfTI volumes or multi-frame DICOM (default: the real CT, the MNI152 T1 and a DICOM MR)")
    ap.add_argument("--model", default="default", help="model name or path (default: the shipped default)")
    ap.add_argument("--slices", type=int, default=0, help="central block of this many slices (default 0: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--radius", type=int, default=None, help="smoothing radius (default: SmoothingSettings')")
    ap.add_argument("--sigma-slices", type=float, default=None)
    ap.add_argument("--sigma-lightness", type=float, default=None)
    args = ap.parse_args(argv)
    if args.slices == 1 or args.slices < 0:
        ap.error("--slices must be 0 (all) or at least 2")
    import dataclasses

    import torch

    from medcolor.volume import SmoothingSettings

    changes = {k: v for k, v in (("radius", args.radius), ("sigma_slices", args.sigma_slices),
                                 ("sigma_lightness", args.sigma_lightness)) if v is not None}
    settings = dataclasses.replace(SmoothingSettings(), **changes)
    torch.set_num_threads(args.threads)
    results = []
    with tempfile.TemporaryDirectory(prefix="medcolor-flicker-") as tmp:
        for path in args.inputs:
            block, window, span = central_block(path, args.slices, Path(tmp))
            r = run_volume(block, window, model=args.model, device=args.device, settings=settings, outdir=Path(tmp))
            results.append((path, span, r))
            print(f"{path.name}: done ({r['s_per_slice']:.2f} s/slice)", file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Model `{args.model}`, {settings}. Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {args.threads} thread(s), load average {load:.1f} at the end; "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")
    print()
    print("| input (slices) | colour | mean \\|Δa\\*b\\*\\| (chroma) | p90 (chroma) | mean (8-bit output) "
          "| p90 (8-bit output) | pixels counted |")
    print("|---|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    for path, span, r in results:
        for kind in ROWS:
            c, o = r["rows"][kind]
            print(f"| {path.name} ({span.start}-{span.stop - 1}) | {NAMES[kind]} | {c.mean:.3f} | {c.p90:.2f} "
                  f"| {o.mean:.3f} | {o.p90:.2f} | {c.pixels} |")
        worst = max(worst, r["rows"]["smoothed"][0].mean)
    print()
    print(f"Target: mean |Δa*b*| (chroma) <= {TARGET} with smoothing on every input: worst {worst:.3f}, "
          f"{'met' if worst <= TARGET else 'NOT met'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
