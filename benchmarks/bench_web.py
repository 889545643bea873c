"""Web app latency and throughput against a live uvicorn server.

Measures, over real HTTP on localhost:

* latency of ``POST /api/colorize`` for a 512x512 gray PNG (target < 1 s on a 2-core CPU);
* throughput (images/s) and latency percentiles with N concurrent clients
  (default 4), each sending requests back to back; the server's queue is sized
  so that none is refused.

Usage::

    python benchmarks/bench_web.py [--model default] [--requests 10] [--clients 4] [--size 256]

With no shipped model (``src/medcolor/weights`` empty) it serves an untrained
``fastcolor`` of the default widths: the same compute, meaningless colours.
"""
from __future__ import annotations

import argparse
import io
import platform
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image


def gray_png(side: int = 512, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    g = 0.5 + 0.35 * np.sin(xx / 23.0) * np.cos(yy / 31.0) + 0.05 * rng.standard_normal((side, side))
    buf = io.BytesIO()
    Image.fromarray((np.clip(g, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def start_server(model: str, queue_size: int):
    import uvicorn

    from medcolor.models import create_model
    from medcolor.web import WebConfig, create_app
    from medcolor.weights import list_pretrained

    models = None
    if model == "default" and "photo" not in list_pretrained():
        model = "fastcolor-untrained"
        models = {model: create_model("fastcolor")}
    app = create_app(WebConfig(model=model, device="cpu", queue_size=queue_size), models=models)
    app.state.engine.load_default()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}", model


OVERHEAD: list[float] = []  # client latency minus the server's own job time (X-Medcolor-Seconds)


def one_request(client, url: str, data: bytes, size: int) -> float:
    t0 = time.perf_counter()
    r = client.post(url + "/api/colorize", files={"file": ("bench.png", data, "image/png")},
                    data={"size": str(size)}, timeout=120)
    elapsed = time.perf_counter() - t0
    if r.status_code != 200:
        raise RuntimeError(f"HTTP {r.status_code}: {r.text}")
    OVERHEAD.append(elapsed - float(r.headers["x-medcolor-seconds"]))
    return elapsed


def step_split(engine, data: bytes, size: int, repeats: int = 4) -> list[tuple[float, float, float]]:
    """In-process seconds of (decode, colorize, encode) for one upload: the same steps as Engine.colorize."""
    import tempfile
    from pathlib import Path

    from medcolor.pipeline import colorize_gray
    from medcolor.web.engine import ColorizeJob, _encode_png

    _name, net = engine.get_model(None)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            frames, _meta, _fmt = engine._read_upload(ColorizeJob(data=data, filename="bench.png"), Path(tmp))
        t1 = time.perf_counter()
        rgb = colorize_gray(frames[0], model=net, size=size, device="cpu")
        t2 = time.perf_counter()
        _encode_png(rgb)
        out.append((t1 - t0, t2 - t1, time.perf_counter() - t2))
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--requests", type=int, default=10, help="sequential latency samples")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--per-client", type=int, default=5, help="requests per concurrent client")
    ap.add_argument("--size", type=int, default=256, help="working size sent with each request")
    ap.add_argument("--side", type=int, default=512, help="uploaded image is side x side")
    args = ap.parse_args()

    data = gray_png(args.side)
    server, thread, url, model = start_server(args.model, queue_size=max(args.clients, 1))
    try:
        with httpx.Client() as client:
            one_request(client, url, data, args.size)  # warm-up: model load, first allocations
            lat = [one_request(client, url, data, args.size) for _ in range(args.requests)]
        seq_overhead = OVERHEAD[1:]  # without the warm-up

        def client_loop(_i: int) -> list[float]:
            with httpx.Client() as c:
                return [one_request(c, url, data, args.size) for _ in range(args.per_client)]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            conc = [x for xs in pool.map(client_loop, range(args.clients)) for x in xs]
        wall = time.perf_counter() - t0
        split = step_split(server.config.app.state.engine, data, args.size)
    finally:
        server.should_exit = True
        thread.join(10)

    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model: {model}; upload {args.side}x{args.side} gray PNG ({len(data)} bytes); working size {args.size}")
    print(f"sequential latency over {len(lat)} requests: median {statistics.median(lat):.3f} s, "
          f"p90 {pct(lat, 90):.3f} s, min {min(lat):.3f} s")
    print(f"{args.clients} concurrent clients x {args.per_client} requests: {len(conc) / wall:.2f} images/s, "
          f"latency median {statistics.median(conc):.3f} s, p90 {pct(conc, 90):.3f} s, "
          f"max {max(conc):.3f} s (wall {wall:.2f} s)")
    print(f"HTTP + upload + decode overhead per sequential request (latency minus the server's network/"
          f"recombination/encoding time): median {statistics.median(seq_overhead) * 1000:.0f} ms")
    for name, i in (("decode (temp file, type check, header probe, io.read)", 0),
                    ("colorize_gray (network + recombination)", 1), ("PNG encode", 2)):
        vals = [row[i] for row in split]
        print(f"in-process {name}: {min(vals):.3f}-{max(vals):.3f} s over {len(vals)} runs")


if __name__ == "__main__":
    main()
