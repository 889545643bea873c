"""Latency of a hint re-run in the web app: one 512x512 gray image plus a painted hints PNG.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_hints.py [--side 512] [--repeat 5] \\
        [--guided effcolor_lite0] [--plain fastcolor]

Times :meth:`medcolor.web.engine.Engine.colorize` (what ``POST /api/colorize``
runs on its worker thread: decode the upload and the hints PNG, colorize,
encode the PNG answer) for

* ``learned``: a model with hint input (``--guided``: a registry name builds an
  untrained model of that architecture, the same compute as a trained one; a
  shipped name or path loads it);
* ``learned+levin``: the learned colours, then Levin refinement;
* ``levin``: Levin refinement of the automatic colours, with the same model and
  with a model without hint input (``--plain``);
* ``auto``: what the web page sends by default, resolved by the model's card.

Prints the best and median wall time and the median CPU time of ``--repeat``
runs after one warm-up, and the 1-minute load average (other processes share
the CPU, so wall time can exceed CPU time).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import time

import numpy as np
import torch
from PIL import Image


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG")
    return buf.getvalue()


def scene(side: int, seed: int = 0) -> tuple[bytes, bytes]:
    """A textured gray PNG and an RGBA hints PNG with three short strokes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    g = 0.5 + 0.35 * np.sin(xx / 23.0) * np.cos(yy / 31.0) + 0.05 * rng.standard_normal((side, side))
    marks = np.zeros((side, side, 4), np.uint8)
    for (y, x), rgb in zip(((0.3, 0.3), (0.6, 0.7), (0.8, 0.2)), ((200, 40, 40), (40, 80, 210), (40, 170, 60))):
        y0, x0 = int(y * side), int(x * side)
        marks[y0:y0 + 6, x0:x0 + side // 8] = (*rgb, 255)
    return _png((np.clip(g, 0, 1) * 255).astype(np.uint8)), _png(marks, "RGBA")


def _model(spec: str):
    from medcolor.models import create_model, list_models
    from medcolor.weights import load_model

    return create_model(spec).eval() if spec in list_models() else load_model(spec)


def main() -> None:
    from medcolor.web import WebConfig
    from medcolor.web.engine import ColorizeJob, Engine

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--guided", default="effcolor_lite0", help="model with hint input (registry name or model)")
    ap.add_argument("--plain", default="fastcolor", help="model without hint input (registry name or model)")
    args = ap.parse_args()
    torch.manual_seed(0)
    engine = Engine(WebConfig(model="guided", device="cpu"),
                    models={"guided": _model(args.guided), "plain": _model(args.plain)})
    data, hints = scene(args.side)
    print(f"cpus={os.cpu_count()} torch threads={torch.get_num_threads()} image {args.side}x{args.side}")
    runs = (("guided", "learned"), ("guided", "learned+levin"), ("guided", "levin"), ("plain", "levin"),
            ("guided", "auto"))
    for model, method in runs:
        job = ColorizeJob(data=data, filename="bench.png", model=model, hints=hints, hint_method=method)
        engine.colorize(job)  # warm-up: model load, first-call costs
        walls, cpus = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            result = engine.colorize(job)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        used = result.headers["X-Medcolor-Hint-Method"]
        assert method in ("auto", used), (method, used)
        spec = args.guided if model == "guided" else args.plain
        label = f"auto ({used})" if method == "auto" else method
        print(f"{label:22s} {spec:18s}: best {min(walls):.3f} s  median {statistics.median(walls):.3f} s  "
              f"cpu {statistics.median(cpus):.3f} s  (load avg {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
