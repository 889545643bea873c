"""The default model's CPU speed in each inference backend, against a ResNet-18 in the same process.

For batch 1 and 8 at 224x224 (and the working size 256x256): images/s of
``torchvision.models.resnet18()`` forward (fp32, inference mode, the reference),
of the default model in PyTorch (:class:`medcolor.backend.TorchBackend`) and in
ONNX Runtime (:class:`medcolor.backend.OnnxBackend`, the graph from the cache),
and the ratio model / ResNet-18.  The three run in interleaved rounds (one timed
call each per round, the median of ``--rounds`` counts), so a varying load from
other processes falls on all three alike.  Also prints what
:func:`medcolor.backend.select_backend` picks and the largest difference between
the two backends' outputs.  Target: the chosen backend >= 0.8x ResNet-18 at 224².

    .venv/bin/python benchmarks/bench_backend.py [--model default] [--rounds 7] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime, timezone

import torch

TARGET = 0.8


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_shape(runs: dict, batch: int, side: int, rounds: int) -> dict[str, float]:
    """Median images/s of each callable in ``runs`` (name -> fn(x1, x3)) on one shape, interleaved."""
    g = torch.Generator().manual_seed(0)
    L = torch.rand(batch, 1, side, side, generator=g) * 100.0  # L* for the colorizer
    rgb = torch.rand(batch, 3, side, side, generator=g)  # an image for ResNet-18
    times: dict[str, list[float]] = {name: [] for name in runs}
    for name, fn in runs.items():  # warm-up: allocations, kernel selection
        fn(L, rgb)
    for _ in range(rounds):
        for name, fn in runs.items():
            times[name].append(_timed(lambda: fn(L, rgb)))
    return {name: batch / statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch and onnxruntime threads (default: cores)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--sides", type=int, nargs="+", default=[224, 256])
    args = ap.parse_args(argv)

    import torchvision

    from medcolor.backend import OnnxBackend, TorchBackend, select_backend
    from medcolor.device import cpu_cores
    from medcolor.weights import load_model

    threads = args.threads or cpu_cores()
    torch.set_num_threads(threads)
    net = load_model(args.model)
    resnet = torchvision.models.resnet18().eval()
    load_start = _load()
    t = time.perf_counter()
    onnx = select_backend(net, prefer="onnx", threads=threads)
    prepare_s = time.perf_counter() - t
    if not isinstance(onnx, OnnxBackend):
        print("onnxruntime is not available: only PyTorch is measured")
    chosen = select_backend(net, threads=threads, example_shape=(8, 1, 256, 256))
    torch_b = TorchBackend(net)

    def run_resnet(L, rgb):
        with torch.inference_mode():
            resnet(rgb)

    runs = {"resnet18": run_resnet, "torch": lambda L, rgb: torch_b.predict(L)}
    if isinstance(onnx, OnnxBackend):
        runs["onnx"] = lambda L, rgb: onnx.predict(L)
        L = torch.rand(2, 1, 75, 130) * 100
        diffs = [float((a - b).abs().max()) for a, b in zip(onnx.predict(L), torch_b.predict(L)) if a is not None]
        print(f"max |onnx - torch| on (2, 1, 75, 130): {max(diffs):.2e}; graph {onnx.path} "
              f"(export or cache load and check: {prepare_s:.1f} s)")
    rows = []
    for side in args.sides:
        for batch in args.batches:
            rates = bench_shape(runs, batch, side, args.rounds)
            rows.append((side, batch, rates, _load()))
    print()
    print(f"Model `{args.model}` ({type(net).__name__}); {platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {threads} threads; load average {load_start:.1f} at the start; "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; `select_backend` chose **{chosen.name}**.")
    print()
    print("| input | ResNet-18 img/s | model, PyTorch img/s | model, ONNX Runtime img/s | PyTorch / ResNet-18 "
          "| ONNX Runtime / ResNet-18 | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for side, batch, r, load in rows:
        ref = r["resnet18"]
        ox = f"{r['onnx']:.1f}" if "onnx" in r else "-"
        oratio = f"{r['onnx'] / ref:.2f}×" if "onnx" in r else "-"
        print(f"| {side}², batch {batch} | {ref:.1f} | {r['torch']:.1f} | {ox} | {r['torch'] / ref:.2f}× "
              f"| {oratio} | {load:.1f} |")
    best = min(r.get(chosen.name, r["torch"]) / r["resnet18"] for side, _, r, _ in rows if side == 224)
    print()
    print(f"Target: the chosen backend >= {TARGET}x ResNet-18 at 224²: lowest {best:.2f}x, "
          f"{'met' if best >= TARGET else 'NOT met'}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
