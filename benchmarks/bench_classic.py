"""Timings of the classic methods on synthetic images (CPU).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_classic.py [--sizes 256 1024] [--repeat 3]

Levin: scribbles every ~40 px (about 0.1% of the pixels) on a textured two-region
image, solved by AMG-preconditioned CG (``auto`` picks the direct solver below
40,000 unknowns).  refine_ab: network-like chroma plus a few hint strokes.
Prints one line per method and size: best and median wall time of ``--repeat`` runs,
and the 1-minute load average (other processes share the CPU).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from medcolor.classic import apply_lut, levin_colorize, refine_ab, reinhard_transfer, welsh_transfer


def _scene(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n]
    gray = 0.3 + 0.4 * (xx > n // 2) + 0.05 * np.sin(yy / 9.0) + 0.02 * rng.standard_normal((n, n))
    gray = np.clip(gray, 0, 1)
    hints = np.zeros((n, n, 3), np.uint8)
    hints[..., 0] = 200
    hints[:, n // 2:] = (20, 40, 220)
    mask = np.zeros((n, n), bool)
    mask[::37, ::41] = True
    colour = np.stack([gray, np.roll(gray, n // 3, 1), gray[::-1]], -1)
    return gray, hints, mask, np.rint(colour * 255).astype(np.uint8)


def _time(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"cpus={os.cpu_count()} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    for n in args.sizes:
        gray, hints, mask, colour = _scene(n)
        L = 100 * gray
        ab = np.zeros((n, n, 2)) + (10.0, 20.0)
        strokes = np.zeros((n, n), bool)
        strokes[n // 4:n // 2, n // 8:n // 8 + 3] = True
        cases = {
            "levin_colorize": lambda: levin_colorize(gray, hints, mask),
            "welsh_transfer": lambda: welsh_transfer(gray, colour),
            "reinhard_transfer": lambda: reinhard_transfer(colour, colour[::-1]),
            "apply_lut": lambda: apply_lut(gray, "hot-iron"),
            "refine_ab": lambda: refine_ab(L, ab, hints, strokes),
        }
        for name, fn in cases.items():
            best, med = _time(fn, args.repeat)
            load = os.getloadavg()[0]
            print(f"{name:18s} {n}x{n}: best {best:7.3f} s  median {med:7.3f} s  (load avg {load:.2f})", flush=True)


if __name__ == "__main__":
    main()
