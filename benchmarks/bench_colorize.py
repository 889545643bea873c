"""Speed of applying the default model.

Reports, on the current machine:
  * model forward images/s at 256x256 and 512x512 (batch 8, fp32, inference mode);
  * whole-pipeline images/s (L* conversion, network, chroma upsampling, gamut fit, uint8);
  * end-to-end seconds for a ~2k x 2k DICOM chest X-ray: decode + window + colorize + write PNG
    (in-process, excluding interpreter start-up), and the same through the CLI
    (`python -m medcolor colorize`, including start-up).

    python benchmarks/bench_colorize.py [--model default] [--threads N] [--xray PATH]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

DEFAULT_XRAY = Path(__file__).resolve().parents[2] / "shared" / "data" / "medical_gray" / "RG1_UNCI.dcm"


def _rate(fn, n_images: int, repeats: int) -> float:
    fn()  # warm-up (allocations, oneDNN kernel selection)
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return n_images * repeats / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--xray", type=Path, default=DEFAULT_XRAY)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import medcolor
    from medcolor.io import read, write
    from medcolor.pipeline import colorize_gray

    net = medcolor.load_model(args.model)
    print(f"# medcolor {medcolor.__version__}, torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, model {args.model} ({net.medcolor_meta.get('source', '')})")
    for side in (256, 512):
        x = torch.rand(8, 1, side, side) * 100
        with torch.inference_mode():
            fwd = _rate(lambda: net(x), 8, args.repeats)
        g = np.random.default_rng(0).random((8, side, side), dtype=np.float32)
        pipe = _rate(lambda: colorize_gray(g, model=net, size=side, device="cpu", batch_size=8), 8, args.repeats)
        print(f"{side}x{side}: model forward {fwd:6.1f} images/s | full pipeline {pipe:6.1f} images/s")

    if not args.xray.is_file():
        print(f"(skipping X-ray end-to-end: {args.xray} not found)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        def once(i: int) -> float:
            t = time.perf_counter()
            frames, meta = read(args.xray)
            rgb = colorize_gray(frames, model=net, size=256, device="cpu")
            write(Path(tmp) / f"x{i}.png", rgb, meta, fmt="png")
            return time.perf_counter() - t

        once(-1)
        times = [once(i) for i in range(3)]
        h, w = read(args.xray)[0].shape[1:]
        print(f"X-ray {args.xray.name} {w}x{h}: end-to-end in-process {np.median(times):.2f} s (median of 3)")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "medcolor", "colorize", str(args.xray), "-o", tmp, "--model",
                        args.model, "--overwrite", "-q"], check=True, env=dict(os.environ))
        print(f"X-ray via CLI incl. interpreter start-up and imports: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
