"""A 512x512xN NIfTI end to end: read, colour, smooth along the slices, write (.nii.gz).

    .venv/bin/python benchmarks/bench_volume.py [--slices 300 1500] [--backends torch onnx] [--cli] [--gzip-level 1]

For each N a synthetic CT-like volume is written once (int16 HU: a body outline
with lungs, organs, fat and a spine that drift slowly along z, plus noise;
gzip level 1).  Each case then runs in a fresh child process, so that its peak
resident memory is its own:

* ``api``: :func:`medcolor.batch.colorize_unit` (what ``medcolor colorize`` runs per
  input) with the default model, batch 8, slice smoothing on, ``.nii.gz`` output;
  the network runs in the backend named (``torch`` or ``onnx``,
  :mod:`medcolor.backend`), plugged in as a :class:`~medcolor.predictor.Predictor`;
* ``cli``: ``medcolor colorize IN -o OUT --format nii`` as a user types it
  (interpreter start-up and imports included; the backend is the CLI's own).

Reported per case: wall seconds of the colorization (model loading and backend
selection excluded for ``api``, given apart), slices/s, peak RSS, and the seconds
of each stage, measured in the child by wrapping the functions: the network
(the backend's ``predict``), the recombination with the full-resolution L*
(:func:`medcolor.recombine.recombine`: upsampling and the gamut fit), the slice
smoothing, and gzip: decompressing the input (``GzipFile.read``) and compressing
the output (``GzipFile.write``).  ``--gzip-level`` forces the output's level, to
size a change of the writer.
Finally the output's first slices are compressed at several zlib levels, to size
the writer's compression level.  Targets: N=300 at >= 10 slices/s; N=1500 under
180 s within 2.5 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

SIDE = 512


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def phantom_slice(z: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(SIDE, SIDE)`` int16 HU of slice ``z`` of ``n``: anatomy-like shapes that drift slowly with z."""
    t = z / max(1, n - 1)
    y, x = np.mgrid[-1:1:SIDE * 1j, -1:1:SIDE * 1j].astype(np.float32)

    def ellipse(cx, cy, rx, ry):
        return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0

    hu = np.full((SIDE, SIDE), -1000.0, dtype=np.float32)
    body_rx, body_ry = 0.85 + 0.05 * np.sin(2 * np.pi * t), 0.65 + 0.04 * np.cos(2 * np.pi * t)
    hu[ellipse(0, 0.05, body_rx, body_ry)] = -100.0  # fat
    hu[ellipse(0, 0.05, body_rx - 0.06, body_ry - 0.06)] = 40.0  # soft tissue
    lung = 0.22 + 0.08 * np.sin(np.pi * t)
    hu[ellipse(-0.38, -0.05, lung, lung * 1.5)] = -820.0
    hu[ellipse(0.38, -0.05, lung, lung * 1.5)] = -820.0
    hu[ellipse(0.1 * np.sin(3 * t), 0.1, 0.18, 0.14)] = 65.0  # an organ
    hu[ellipse(0.0, 0.5, 0.08, 0.08)] = 700.0  # vertebra
    hu += rng.normal(0.0, 12.0, hu.shape).astype(np.float32)
    return np.clip(hu, -1024, 3071).astype(np.int16)


def write_volume(path: Path, n: int) -> None:
    import nibabel as nib

    rng = np.random.default_rng(0)
    vol = np.empty((SIDE, SIDE, n), dtype=np.int16)
    for z in range(n):
        vol[:, :, z] = phantom_slice(z, n, rng).T  # NIfTI is (x, y, z)
    img = nib.Nifti1Image(vol, np.diag([0.7, 0.7, 1.0, 1.0]))
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))


# ----------------------------------------------------------------------- child
def _wrap(owner, name: str, key: str, spent: dict[str, float]) -> None:
    """Replace ``owner.name`` by a wrapper that adds its seconds to ``spent[key]``."""
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - t

    setattr(owner, name, timed)


def _stage_timers(gzip_level: int | None) -> dict[str, float]:
    """Seconds per stage: gzip in/out (``GzipFile.read``/``write``), recombination, slice smoothing.

    ``gzip_level``: force the output's gzip level (to size a change of the writer).
    """
    import gzip

    import medcolor.recombine
    import medcolor.volume

    spent = {"gzip_read_s": 0.0, "gzip_write_s": 0.0, "recombine_s": 0.0, "smooth_s": 0.0, "network_s": 0.0}
    _wrap(gzip.GzipFile, "read", "gzip_read_s", spent)
    _wrap(gzip.GzipFile, "write", "gzip_write_s", spent)
    _wrap(medcolor.recombine, "recombine", "recombine_s", spent)  # the engine looks it up per frame
    _wrap(medcolor.volume.SliceSmoother, "push", "smooth_s", spent)
    _wrap(medcolor.volume.SliceSmoother, "flush", "smooth_s", spent)
    if gzip_level is not None:
        init = gzip.GzipFile.__init__

        def forced(self, *args, **kwargs):
            if "w" in str(kwargs.get("mode", "")):
                kwargs["compresslevel"] = gzip_level
            init(self, *args, **kwargs)

        gzip.GzipFile.__init__ = forced
    return spent


def run_child(spec: dict) -> dict:
    import resource

    import torch

    from medcolor.backend import select_backend
    from medcolor.batch import UnitOptions, colorize_unit
    from medcolor.predictor import NetworkPredictor, Prediction
    from medcolor.weights import load_model

    spent = _stage_timers(spec.get("gzip_level"))

    class BackendPredictor(NetworkPredictor):
        """The network run by a backend (how the predictor would use :mod:`medcolor.backend`)."""

        def __init__(self, net, backend) -> None:
            super().__init__(net)
            self.backend = backend

        def _run(self, small, hint_map):
            t = time.perf_counter()
            ab, conf = self.backend.predict(small, hint_map)
            spent["network_s"] += time.perf_counter() - t
            return Prediction(ab, conf)

    t0 = time.perf_counter()
    net = load_model("default")
    backend = select_backend(net, prefer=spec["backend"], example_shape=(spec["batch"], 1, 256, 256))
    setup_s = time.perf_counter() - t0
    for key in spent:
        spent[key] = 0.0
    t = time.perf_counter()
    result = colorize_unit(spec["input"], [spec["output"]],
                           UnitOptions(model=BackendPredictor(net, backend), fmt="nii", batch_size=spec["batch"],
                                       overwrite=True))
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return {"backend": backend.name, "threads": torch.get_num_threads(), "setup_s": setup_s, "wall_s": wall,
            "frames": result.frames, "peak_rss": rss, **spent}


# ---------------------------------------------------------------------- parent
def _run_case(cmd: list[str]) -> tuple[str, float, int, float]:
    """Run ``cmd``; (stdout, wall seconds, peak RSS bytes of that process, load average at the end)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"case failed ({proc.returncode}): {' '.join(cmd)}")
    return out, time.perf_counter() - t, usage.ru_maxrss * 1024, _load()


def compression_levels(path: Path, slices: int = 16) -> list[tuple[int, float, float]]:
    """(level, seconds per output slice, compressed / raw) for the first ``slices`` of the colorized volume."""
    import nibabel as nib

    img = nib.load(str(path))
    raw = np.ascontiguousarray(np.asarray(img.dataobj[:, :, :slices])).tobytes()
    per = len(raw) / slices
    out = []
    for level in (1, 3, 6):
        t = time.perf_counter()
        size = len(zlib.compress(raw, level))
        out.append((level, (time.perf_counter() - t) / slices, size / len(raw)))
    print(f"(output slice: {per / 2**20:.2f} MiB raw)", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slices", type=int, nargs="+", default=[300, 1500])
    ap.add_argument("--backends", nargs="+", default=["torch", "onnx"], choices=("torch", "onnx", "auto"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--gzip-level", type=int, default=None,
                    help="force the output's gzip level (default: the writer's own)")
    ap.add_argument("--cli", action="store_true", help="also run `medcolor colorize` on each volume")
    ap.add_argument("--workdir", type=Path, default=None, help="folder for the volumes (default: a temp folder)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))))
        return 0

    rows, levels = [], None
    with tempfile.TemporaryDirectory(prefix="medcolor-bench-volume-", dir=args.workdir) as tmp:
        tmp = Path(tmp)
        for n in args.slices:
            src = tmp / f"phantom_{n}.nii.gz"
            t = time.perf_counter()
            write_volume(src, n)
            print(f"wrote {src.name} ({src.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.0f} s",
                  file=sys.stderr)
            for backend in args.backends:
                out = tmp / f"out_{n}_{backend}.nii.gz"
                spec = {"input": str(src), "output": str(out), "backend": backend, "batch": args.batch,
                        "gzip_level": args.gzip_level}
                load0 = _load()
                stdout, _, rss, load1 = _run_case([sys.executable, __file__, "--child", json.dumps(spec)])
                r = json.loads(stdout.strip().splitlines()[-1])
                rows.append({"case": f"api, {r['backend']}", "n": n, **r, "peak_rss": rss, "load": (load0, load1)})
                print(rows[-1], file=sys.stderr)
                if levels is None:
                    levels = compression_levels(out)
                out.unlink()
            if args.cli:
                outdir = tmp / f"cli_{n}"
                load0 = _load()
                _, wall, rss, load1 = _run_case([sys.executable, "-m", "medcolor", "colorize", str(src), "-o",
                                                 str(outdir), "--format", "nii", "-q"])
                rows.append({"case": "CLI (`medcolor colorize`)", "n": n, "wall_s": wall, "setup_s": None,
                             "frames": n, "peak_rss": rss, "load": (load0, load1)})
                print(rows[-1], file=sys.stderr)
            src.unlink()

    level = "the writer's" if args.gzip_level is None else str(args.gzip_level)
    print(f"Synthetic 512×512×N CT (int16, .nii.gz in and out, output gzip level {level}), default model, "
          f"batch {args.batch}, smoothing on; "
          f"{platform.machine()}, {os.cpu_count()} CPUs; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")
    print()
    stages = (("network_s", "network"), ("recombine_s", "recombination"), ("smooth_s", "smoothing"),
              ("gzip_read_s", "gzip in"), ("gzip_write_s", "gzip out"))
    print("| N | case | slices/s | wall | setup | peak RSS | " + " | ".join(n for _, n in stages) + " | load avg |")
    print("|---:|---|---:|---:|---:|---:|" + "---:|" * len(stages) + "---|")
    for r in rows:
        setup = f"{r['setup_s']:.1f} s" if r.get("setup_s") is not None else "(in wall)"
        cells = [f"{r[k]:.1f} s ({r[k] / r['wall_s']:.0%})" if k in r else "-" for k, _ in stages]
        print(f"| {r['n']} | {r['case']} | {r['frames'] / r['wall_s']:.1f} | {r['wall_s']:.0f} s | {setup} "
              f"| {r['peak_rss'] / 2**30:.2f} GiB | " + " | ".join(cells) + f" | {r['load'][0]:.1f} → {r['load'][1]:.1f} |")
    if levels:
        print()
        print("| zlib level | s per 512² RGB slice | compressed / raw |")
        print("|---:|---:|---:|")
        for level, s, ratio in levels:
            print(f"| {level} | {s * 1000:.1f} ms | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
