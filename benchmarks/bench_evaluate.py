"""Cost of ``medcolor evaluate``.

Reports, on the current machine:
  * seconds to compute every per-image metric (PSNR, SSIM, CIEDE2000, ab RMSE,
    colourfulness, max |dL*|) for one image at 256x256, 512x512 and 1024x768;
  * for comparison, skimage's SSIM on the same image;
  * seconds per image of each method (zero-chroma, and the classic baselines
    that are installed) on the first N photos of photos/val at --size.

    python benchmarks/bench_evaluate.py [--threads N] [--data DIR] [--size 256] [--limit 5]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos" / "val"


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--limit", type=int, default=5)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from skimage.metrics import structural_similarity

    from medcolor.evaluate import baselines as B
    from medcolor.evaluate.metrics import compute_all, ssim
    from medcolor.evaluate.protocol import load_ground_truth, render_input

    print(f"# {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    print("| image | all metrics (s) | our SSIM (s) | skimage SSIM (s) |")
    print("|---|---:|---:|---:|")
    for h, w in ((256, 256), (512, 512), (768, 1024)):
        gt = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        pred = np.clip(gt.astype(int) + rng.integers(-20, 21, gt.shape), 0, 255).astype(np.uint8)
        gray = render_input(gt)
        t_all = _best(lambda: compute_all(gt, gray, pred))
        t_ssim = _best(lambda: ssim(gt, pred))
        t_sk = _best(lambda: structural_similarity(gt, pred, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                                   use_sample_covariance=False, data_range=255))
        print(f"| {w}x{h} | {t_all:.3f} | {t_ssim:.3f} | {t_sk:.3f} |")

    gts = load_ground_truth(args.data, size=args.size, limit=args.limit)
    names = ["zero-chroma", "levin", "welsh", "reinhard", "lut"]
    methods = []
    for n in names:
        try:
            methods += B.build_baselines([n], gts.samples)
        except Exception as exc:  # a classic method not installed: say so and go on
            print(f"# {n}: skipped ({exc})")
    print(f"\n{len(gts.samples)} images of {args.data}, short side {args.size}")
    print("| method | mean s/image |")
    print("|---|---:|")
    for m in methods:
        times = []
        for s in gts.samples:
            t = time.perf_counter()
            m(s)
            times.append(time.perf_counter() - t)
        print(f"| {m.name} | {np.mean(times):.3f} |")


if __name__ == "__main__":
    main()
