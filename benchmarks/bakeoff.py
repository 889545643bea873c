"""Equal-budget bake-off of the training recipes.

Every recipe is trained with ``medcolor train`` on the same data, for the same
number of training images seen (``--steps`` x ``--batch-size``), at the same
crop size, on the same device; then every run is scored together by one
``medcolor evaluate`` call (same inputs, same protocol). The markdown table it
prints adds parameters and GFLOPs at 256² (``medcolor.models.summary``).

    python benchmarks/bakeoff.py --data ../shared/data/photos/train --val ../shared/data/photos/val \\
        --out runs/bakeoff --steps 200 --batch-size 8 --size 128

Recipes that need pretrained weights unavailable offline are skipped and named
(``eccv16-vgg-gan`` needs VGG-19 ImageNet weights for its content loss,
``unet-fusion-mse`` a pretrained Inception-ResNet-v2 for its frozen global embedding).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_RECIPES = ("fastcolor-photo", "autoencoder-mse", "unet-mse", "unet-fusion-mse", "resnet18-unet-mse",
                   "resnet34-unet-mse", "gan-mse", "eccv16-classification", "resnet18-unet-patchgan")
NEEDS_WEIGHTS = {
    "eccv16-vgg-gan": "VGG-19 ImageNet weights (content loss); pass losses.perceptual.weights=PATH",
    # the fusion embedding is a frozen classifier: with random weights it is not the paper's method
    "unet-fusion-mse": "Inception-ResNet-v2 ImageNet weights; pass model.kwargs.weights=PATH",
}


def _run(cmd: list[str]) -> float:
    print("$ " + " ".join(cmd), flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("runs/bakeoff"))
    ap.add_argument("--recipes", nargs="*", default=list(DEFAULT_RECIPES))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--size", type=int, default=128, help="training crop size for every recipe")
    ap.add_argument("--crop-scale", default="[0.18,0.35]", help="the same random-resized-crop area for all")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    py = [sys.executable, "-m", "medcolor"]
    wall: dict[str, float] = {}
    for recipe in args.recipes:
        if recipe in NEEDS_WEIGHTS:
            print(f"skip {recipe}: needs {NEEDS_WEIGHTS[recipe]}")
            continue
        run = args.out / recipe
        if (run / "model.safetensors").is_file():
            print(f"{recipe}: {run} exists, not retrained")
            continue
        extra = []
        if recipe == "resnet18-unet-patchgan":  # keep both phases inside the budget: L1 first half, cGAN second
            extra.append(f"phases.1.start={args.steps // 2}")
        wall[recipe] = _run(py + ["train", "--recipe", recipe, "--data", str(args.data), "--val", str(args.val),
                                  "--out", str(run), "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                                  "--size", str(args.size), "--device", args.device, "--ckpt-every", str(args.steps),
                                  f"data.crop_scale={args.crop_scale}", f"val_every={args.steps}"] + extra)
    (args.out / "wall_seconds.json").write_text(json.dumps(wall, indent=2))

    runs = [str(args.out / r) for r in args.recipes if (args.out / r / "model.safetensors").is_file()]
    report = args.out / "report"
    _run(py + ["evaluate", "--data", str(args.val), "--models", *runs, "--grid", "3", "--out", str(report),
               "--overwrite", "--device", args.device])

    from medcolor.models import create_model
    from medcolor.models.summary import count_flops, count_params
    from medcolor.weights import read_config, resolve_model

    summary = json.loads((report / "summary.json").read_text())
    ci = json.loads((report / "run.json").read_text()).get("ci95", {})
    images = args.steps * args.batch_size
    print(f"\nBudget: {images} training images seen per recipe ({args.steps} steps x {args.batch_size}), "
          f"{args.size}² crops, device {args.device}.\n")
    print("| recipe | architecture | params (M) | GFLOPs @256² | train wall (min) | PSNR dB | SSIM | ΔE2000 | "
          "colourfulness ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, metrics in summary.items():
        if name == "zero-chroma":
            arch, params, gflops, minutes = "-", "-", "-", "-"
        else:
            cfg = read_config(resolve_model(name))
            net = create_model(cfg["architecture"], **cfg.get("kwargs", {}))
            arch, params = cfg["architecture"], f"{count_params(net) / 1e6:.2f}"
            gflops = f"{count_flops(net, 256) / 1e9:.1f}"
            minutes = f"{wall.get(Path(name).name, float('nan')) / 60:.1f}"

        def cell(m: str, fmt: str) -> str:
            half = ci.get(name, {}).get(m)
            return format(metrics[m], fmt) + (f" ± {format(half, fmt)}" if half is not None else "")

        print(f"| {Path(name).name} | {arch} | {params} | {gflops} | {minutes} | {cell('psnr', '.2f')} | "
              f"{cell('ssim', '.3f')} | {cell('deltae2000', '.2f')} | {cell('colorfulness_ratio', '.2f')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
