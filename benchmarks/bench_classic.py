"""Timings of the classic methods on synthetic images (CPU).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_classic.py [--sizes 256 1024] [--repeat 3]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_classic.py --solvers --sizes 1024 --repeat 1

Cases:

* ``levin_colorize``: scribble pixels every 37x41 px (about 0.07% of the pixels) on
  a textured two-region image;
* ``levin_colorize (2 scribbles)``: the hard case for an iterative solver, two short
  strokes (one per region, 1/8 of the side long, 4 px wide) on two large flat regions
  with noise (std 0.03 of the gray range), so the colour must travel across the
  whole image;
* ``welsh_transfer``, ``reinhard_transfer``, ``apply_lut``;
* ``refine_ab``: network-like chroma plus one hint stroke.

Prints one line per case and size: best and median wall time and the median CPU
time of ``--repeat`` runs, and the 1-minute load average (other processes share
the CPU, so wall time can exceed CPU time).

``--solvers`` instead compares ways of solving the 2-scribble Levin system at each
size: set-up and solve time (both chroma channels), CG iterations and the largest
a*b* error against a tight-tolerance solution (CG to a relative residual of 1e-10).
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


def few_scribbles(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two flat noisy regions (gray 0.35 | 0.65), one red and one blue stroke: ``(gray, hints, mask)``."""
    rng = np.random.default_rng(seed)
    xx = np.arange(n)[None, :] * np.ones((n, 1))
    gray = np.clip(0.35 + 0.3 * (xx > n // 2) + 0.03 * rng.standard_normal((n, n)), 0, 1)
    hints = np.zeros((n, n, 3), np.uint8)
    mask = np.zeros((n, n), bool)
    s = max(1, n // 16)
    for col, rgb in ((n // 4, (200, 30, 30)), (3 * n // 4, (30, 60, 220))):
        rows, cols = slice(n // 2 - s, n // 2 + s), slice(max(0, col - 2), col + 2)
        hints[rows, cols] = rgb
        mask[rows, cols] = True
    return gray, hints, mask


def _time(fn, repeat: int) -> tuple[float, float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def _cases(n: int) -> dict:
    gray, hints, mask, colour = _scene(n)
    few_gray, few_hints, few_mask = few_scribbles(n)
    L = 100 * gray
    ab = np.zeros((n, n, 2)) + (10.0, 20.0)
    strokes = np.zeros((n, n), bool)
    strokes[n // 4:n // 2, n // 8:n // 8 + 3] = True
    return {
        "levin_colorize": lambda: levin_colorize(gray, hints, mask),
        "levin_colorize (2 scribbles)": lambda: levin_colorize(few_gray, few_hints, few_mask),
        "welsh_transfer": lambda: welsh_transfer(gray, colour),
        "reinhard_transfer": lambda: reinhard_transfer(colour, colour[::-1]),
        "apply_lut": lambda: apply_lut(gray, "hot-iron"),
        "refine_ab": lambda: refine_ab(L, ab, hints, strokes),
    }


# ---------------------------------------------------------------- solver comparison
def _pyamg_solver(kind: str):
    def make(a):
        import pyamg

        gs = {"presmoother": ("gauss_seidel", {"sweep": "forward"}),
              "postsmoother": ("gauss_seidel", {"sweep": "backward"})}
        if kind == "rs":
            return pyamg.ruge_stuben_solver(a, max_coarse=500, **gs)
        return pyamg.smoothed_aggregation_solver(a, symmetry="symmetric", max_coarse=500)
    return make


def _medcolor_sa(a):
    from medcolor.classic.levin import sa_hierarchy

    return sa_hierarchy(a)


def _amg_run(make, a, b, x0, tol):
    t = time.perf_counter()
    ml = make(a)
    setup = time.perf_counter() - t
    out, iters = np.empty_like(b), 0
    for i in range(b.shape[1]):
        res: list = []
        out[:, i] = ml.solve(b[:, i], x0=x0[:, i], tol=tol, maxiter=300, accel="cg", residuals=res)
        iters += len(res) - 1
    return out, setup, iters


def _torch_cg(a, b, x0, tol, maxiter=500):
    """Jacobi-preconditioned CG in torch (CPU sparse CSR), both channels at once."""
    import warnings

    import torch

    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        A = torch.sparse_csr_tensor(torch.from_numpy(a.indptr.astype(np.int64)),
                                    torch.from_numpy(a.indices.astype(np.int64)), torch.from_numpy(a.data),
                                    size=a.shape)
    d_inv = torch.from_numpy(1.0 / a.diagonal())[:, None]
    B, x = torch.from_numpy(b), torch.from_numpy(x0.copy())
    r = B - A @ x
    z = d_inv * r
    p, rz = z.clone(), (r * z).sum(0)
    bnorm, it = B.norm(dim=0), 0
    while it < maxiter and ((r.norm(dim=0) / bnorm) > tol).any():
        ap = A @ p
        alpha = rz / (p * ap).sum(0)
        x += alpha * p
        r -= alpha * ap
        z = d_inv * r
        rz_new = (r * z).sum(0)
        p = z + (rz_new / rz) * p
        rz, it = rz_new, it + 1
    return x.numpy(), 0.0, it


def compare_solvers(n: int, tol: float = 1e-4) -> None:
    from scipy.sparse.linalg import splu

    from medcolor.classic.levin import linear_system
    from medcolor.color import gray_to_lightness, rgb_to_lab_np

    gray, hints, mask = few_scribbles(n)
    L = gray_to_lightness(gray)
    values = rgb_to_lab_np(hints / 255.0)[..., 1:]
    t = time.perf_counter()
    a, b, x0 = linear_system(L, values, mask, prior=np.zeros_like(values), prior_weight=np.zeros(L.shape))
    print(f"--- {n}x{n}, 2 scribbles: system built in {time.perf_counter() - t:.2f} s; "
          f"CG tolerance {tol:g}", flush=True)
    ref, _, _ = _amg_run(_medcolor_sa, a, b, x0, 1e-10)
    solvers = {"SA (medcolor sa_hierarchy) + CG": lambda: _amg_run(_medcolor_sa, a, b, x0, tol),
               "SA (pyamg smoothed_aggregation_solver) + CG": lambda: _amg_run(_pyamg_solver("sa"), a, b, x0, tol),
               "classical AMG (pyamg ruge_stuben_solver) + CG": lambda: _amg_run(_pyamg_solver("rs"), a, b, x0, tol),
               "Jacobi CG (torch, 500 iterations max)": lambda: _torch_cg(a, b, x0, tol)}
    if n <= 256:
        solvers["direct (SuperLU)"] = lambda: (np.column_stack([splu(a.tocsc()).solve(b[:, i]) for i in range(2)]),
                                               0.0, 0)
    for name, run in solvers.items():
        t, c = time.perf_counter(), time.process_time()
        x, setup, iters = run()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        err = np.abs(x - ref).max()
        print(f"{name:46s} total {wall:6.2f} s (cpu {cpu:6.2f} s, set-up {setup:5.2f} s)  "
              f"CG iterations {iters:5d}  max |ab error| {err:.3f}  (load avg {os.getloadavg()[0]:.2f})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=None, metavar="NAME",
                    help="run only these cases (default: all), e.g. 'levin_colorize (2 scribbles)'")
    ap.add_argument("--solvers", action="store_true", help="compare Levin solvers on the 2-scribble case")
    args = ap.parse_args()
    print(f"cpus={os.cpu_count()} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    for n in args.sizes:
        if args.solvers:
            compare_solvers(n)
            continue
        for name, fn in _cases(n).items():
            if args.cases and name not in args.cases:
                continue
            best, med, cpu = _time(fn, args.repeat)
            load = os.getloadavg()[0]
            print(f"{name:29s} {n}x{n}: best {best:7.3f} s  median {med:7.3f} s  cpu {cpu:7.3f} s  "
                  f"(load avg {load:.2f})", flush=True)


if __name__ == "__main__":
    main()
